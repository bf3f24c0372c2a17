/**
 * In-memory tensors as a BatchIterator: what fit(x, y) trains on, shuffled every epoch. A model with one
 * input (output) gets Tensors, one with several gets arrays of them in the model's order.
 */
import type { Batch, BatchData, BatchIterator } from '../data';
import { forkSeed, SeededRandom } from '../random';
import { Tensor, tensor } from '../tensor';

export class TensorBatches implements BatchIterator {
  readonly length: number;
  readonly samples: number;
  readonly inputShape?: readonly number[];
  private order?: Int32Array;
  private readonly xs: Tensor[];
  private readonly ys: Tensor[] | null;

  constructor(
    x: Tensor | Tensor[],
    y: Tensor | Tensor[] | null,
    private readonly batchSize: number,
    private readonly shuffle: boolean,
    /** One weight per sample ([samples]), batched along with the samples. */
    private readonly sampleWeight: Tensor | null = null,
  ) {
    this.xs = Array.isArray(x) ? x : [x];
    this.ys = y === null ? null : Array.isArray(y) ? y : [y];
    this.samples = this.xs[0].shape[0];
    this.length = Math.ceil(this.samples / batchSize);
    if (!Array.isArray(x)) this.inputShape = x.shape.slice(1);
    // A stream of its own: its shuffles do not depend on what else draws meanwhile (another model training).
    this.rng = new SeededRandom(forkSeed());
    if (shuffle) this.order = this.rng.permutation(this.samples);
    this.singleX = !Array.isArray(x);
    this.singleY = !Array.isArray(y);
  }

  private readonly rng: SeededRandom;
  private readonly singleX: boolean;
  private readonly singleY: boolean;

  async get(index: number): Promise<Batch> {
    const start = index * this.batchSize;
    const count = Math.min(this.batchSize, this.samples - start);
    const shape = (tensors: Tensor[], single: boolean): BatchData => (single ? tensors[0] : tensors);
    if (!this.order) {
      // In order: views of the caller's memory, no copy.
      const slice = (tensors: Tensor[]) => tensors.map((t) => new Tensor(t.native.narrow(start, count)));
      const batch: Batch = [shape(slice(this.xs), this.singleX), this.ys ? shape(slice(this.ys), this.singleY) : null];
      if (this.sampleWeight) batch.push(slice([this.sampleWeight])[0]);
      return batch;
    }
    const indices = tensor(this.order.subarray(start, start + count));
    const take = (tensors: Tensor[]) => tensors.map((t) => new Tensor(t.native.take(indices.native)));
    const batch: Batch = [shape(take(this.xs), this.singleX), this.ys ? shape(take(this.ys), this.singleY) : null];
    if (this.sampleWeight) batch.push(take([this.sampleWeight])[0]);
    indices.dispose();
    return batch;
  }

  onEpochEnd(): void {
    if (this.shuffle) this.order = this.rng.permutation(this.samples);
  }
}
