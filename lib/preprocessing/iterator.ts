/**
 * What every image iterator shares, as Keras's `Iterator`: batches by index over an order that is shuffled
 * anew each epoch, `for await` over one epoch with the next batches prepared while the current one is used,
 * and seeds that make both the order and the random augmentation reproducible.
 */
import type { TensorBatch, BatchIterator } from '../data';
import { invalidArgument } from '../errors';
import { batchSeed, forkSeed, SeededRandom } from '../random';
import { checkBoolean, checkNonNegativeInteger, checkPositiveInteger } from '../validation';

export interface IteratorOptions {
  /** Images per batch; default 32. */
  batchSize?: number;
  /** Visit the samples in a new random order each epoch; default true. */
  shuffle?: boolean;
  /** Seed for the order and the augmentation: the same seed gives the same batches. Default random. */
  seed?: number;
}

/** Batches prepared ahead while `for await` consumers work on the current one. */
const PREFETCH = 3;

export abstract class ImageIterator implements BatchIterator, AsyncIterable<TensorBatch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  /** The seed in use (drawn from the global generator, which `setSeed` seeds, when none was given). */
  readonly seed: number;
  /** Samples per epoch. */
  abstract readonly samples: number;
  /** The shape of one input image, [height, width, channels]. */
  abstract readonly inputShape: readonly number[];
  /** Epochs completed (each `onEpochEnd` call counts one). */
  protected epoch = 0;
  private order: Int32Array | null = null;

  protected constructor(
    protected readonly context: string,
    options: IteratorOptions,
  ) {
    this.batchSize = checkPositiveInteger(context, 'batchSize', options.batchSize ?? 32);
    this.shuffle = checkBoolean(context, 'shuffle', options.shuffle ?? true);
    this.seed =
      options.seed === undefined || options.seed === null
        ? forkSeed()
        : checkNonNegativeInteger(context, 'seed', options.seed);
  }

  /** Batches per epoch. */
  get length(): number {
    return Math.ceil(this.samples / this.batchSize);
  }

  /** The sample order of the current epoch. */
  get indexArray(): Int32Array {
    if (this.order === null) {
      if (this.shuffle) {
        this.order = new SeededRandom(batchSeed(this.seed, this.epoch, 0xffffffff)).permutation(this.samples);
      } else {
        this.order = Int32Array.from({ length: this.samples }, (_, i) => i);
      }
    }
    return this.order;
  }

  /** Batch `index` of the current epoch, as Keras's `iterator[index]`. */
  async get(index: number): Promise<TensorBatch> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw invalidArgument(`${this.context}.get`, `index to be an integer in [0, ${this.length})`, index);
    }
    const indices = this.indexArray.subarray(index * this.batchSize, Math.min((index + 1) * this.batchSize, this.samples));
    return this.batch(indices, batchSeed(this.seed, this.epoch, index));
  }

  /** Starts a new epoch: a new order when shuffling, new augmentation either way. */
  onEpochEnd(): void {
    this.epoch += 1;
    this.order = null;
  }

  /** Starts epoch `epoch` with the order and augmentation it gets after that many epochs. */
  setEpoch(epoch: number): void {
    this.epoch = checkNonNegativeInteger(`${this.context}.setEpoch`, 'epoch', epoch);
    this.order = null;
  }

  /** One epoch of batches; the next batches are prepared while the current one is in use. */
  async *[Symbol.asyncIterator](): AsyncGenerator<TensorBatch, void, undefined> {
    const total = this.length;
    const pending: Promise<TensorBatch>[] = [];
    let requested = 0;
    try {
      for (let i = 0; i < total; i++) {
        while (requested < total && pending.length < PREFETCH) {
          const promise = this.get(requested++);
          promise.catch(() => undefined); // rejections surface when awaited below
          pending.push(promise);
        }
        yield await (pending.shift() as Promise<TensorBatch>);
      }
      this.onEpochEnd();
    } finally {
      pending.length = 0;
    }
  }

  /** Builds the batch of the given samples; `seed` drives its random augmentation. */
  protected abstract batch(indices: Int32Array, seed: number): Promise<TensorBatch>;
}
