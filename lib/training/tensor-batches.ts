/** In-memory tensors as a BatchIterator: what fit(x, y) trains on, shuffled every epoch. */
import type { Batch, BatchIterator } from '../data';
import { random } from '../random';
import { Tensor, tensor } from '../tensor';

export class TensorBatches implements BatchIterator {
  readonly length: number;
  readonly samples: number;
  readonly inputShape: readonly number[];
  private order?: Int32Array;

  constructor(
    private readonly x: Tensor,
    private readonly y: Tensor | null,
    private readonly batchSize: number,
    private readonly shuffle: boolean,
  ) {
    this.samples = x.shape[0];
    this.length = Math.ceil(this.samples / batchSize);
    this.inputShape = x.shape.slice(1);
    if (shuffle) this.order = random().permutation(this.samples);
  }

  async get(index: number): Promise<Batch> {
    const start = index * this.batchSize;
    const count = Math.min(this.batchSize, this.samples - start);
    if (!this.order) {
      // In order: views of the caller's memory, no copy.
      return [this.x.native.narrow(start, count), this.y?.native.narrow(start, count) ?? null].map((n) =>
        n ? new Tensor(n) : null,
      ) as Batch;
    }
    const indices = tensor(this.order.subarray(start, start + count));
    const batch: Batch = [new Tensor(this.x.native.take(indices.native)), this.y ? new Tensor(this.y.native.take(indices.native)) : null];
    indices.dispose();
    return batch;
  }

  onEpochEnd(): void {
    if (this.shuffle) this.order = random().permutation(this.samples);
  }
}
