/**
 * In-memory tensors as a BatchIterator: what fit(x, y) trains on, shuffled every epoch. A model with one
 * input (output) gets Tensors, one with several gets arrays of them in the model's order.
 */
import type { Batch, BatchData, BatchIterator } from '../data';
import { batchSeed, forkSeed, SeededRandom } from '../random';
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
    // A seed of its own, drawn in program order: its shuffles do not depend on what else draws from the
    // global stream meanwhile (another model training at the same time). Each epoch's order depends on
    // this seed and the epoch alone, so a resumed fit (BackupAndRestore) shuffles as the interrupted one would have.
    this.seed = forkSeed();
    this.setEpoch(0);
    this.singleX = !Array.isArray(x);
    this.singleY = !Array.isArray(y);
  }

  private readonly seed: number;
  private epoch = 0;
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
    this.setEpoch(this.epoch + 1);
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
    if (this.shuffle) this.order = new SeededRandom(batchSeed(this.seed, epoch, 0xffffffff)).permutation(this.samples);
  }
}
