/**
 * Any Iterable or AsyncIterable of batches (a generator, a Dataset, a stream of database records) as the
 * BatchIterator the epoch loop walks: batches are pulled in order, whatever index is asked for. As in
 * Keras and TensorFlow.js's fitDataset, with stepsPerEpoch one iterator runs on across epochs; without,
 * each epoch is a fresh pass over a re-iterable source of known size. A source that runs dry ends the
 * walk with EndOfData (loop.ts stops training with a warning).
 */
import type { Batch, BatchIterator } from '../data';
import { openIterator } from '../data/dataset';

/** Thrown by get() when the source has no more batches. */
export class EndOfData extends Error {
  override name = 'EndOfData';
}

export type BatchSource = Iterable<unknown> | AsyncIterable<unknown>;

/** An iterable that is not one of the values fit takes as tensor data (arrays, typed arrays). */
export function isBatchSource(value: unknown): value is BatchSource {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  const candidate = value as Partial<Record<typeof Symbol.asyncIterator | typeof Symbol.iterator, unknown>>;
  return typeof candidate[Symbol.asyncIterator] === 'function' || typeof candidate[Symbol.iterator] === 'function';
}

/** The number of batches in one pass, when the source says (a Dataset's `size`). */
export function knownLength(source: BatchSource): number | undefined {
  const size = (source as { size?: unknown }).size;
  return typeof size === 'number' && size >= 0 ? size : undefined;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

export class IterableBatches implements BatchIterator {
  private iterator?: AnyIterator;

  /**
   * `length`: batches per epoch (Infinity: until the source runs dry). `convert` turns one yielded value
   * into a batch of tensors that the caller owns.
   */
  constructor(
    private readonly source: BatchSource,
    readonly length: number,
    private readonly freshPassEachEpoch: boolean,
    private readonly convert: (value: unknown) => Batch,
  ) {}

  async get(): Promise<Batch> {
    this.iterator ??= openIterator(this.source);
    const result = await this.iterator.next();
    if (result.done) throw new EndOfData();
    return this.convert(result.value);
  }

  onEpochEnd(): void {
    if (this.freshPassEachEpoch) this.restart();
  }

  /**
   * The next batch comes from a fresh pass, when the source can make one. A generator object is its own
   * iterator: it is left open and goes on where it stopped.
   */
  restart(): void {
    const iterator = this.iterator;
    this.iterator = undefined;
    if (iterator && iterator !== (this.source as unknown)) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
