/**
 * What fit, evaluate and predict accept besides tensors: any source of batches that can be indexed, as
 * Keras's `Sequence` and `DirectoryIterator` are. ImageDataGenerator's iterators implement it, and so
 * can users' own loaders.
 */
import type { Tensor } from './tensor';

/** One batch: inputs, and targets (null where the source has none, as with `classMode: null`). */
export type Batch = [Tensor, Tensor | null];

export interface BatchIterator {
  /** Batches per epoch. */
  readonly length: number;
  /** Samples per epoch, when known. */
  readonly samples?: number;
  /** The shape of one input without the batch axis (`[64, 64, 3]`), checked against the model before training. */
  readonly inputShape?: readonly number[];
  /** Class name -> label index, when the source knows its classes. */
  readonly classIndices?: Record<string, number>;
  /**
   * Batch `index` of the current epoch, 0 <= index < length. Batches may be requested ahead of use. Each
   * call returns new tensors that the caller owns: fit and evaluate dispose them once the step is done.
   */
  get(index: number): Promise<Batch>;
  /** Called after each epoch's last batch: the place to reshuffle. */
  onEpochEnd?(): void;
}

export function isBatchIterator(value: unknown): value is BatchIterator {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BatchIterator).get === 'function' &&
    typeof (value as BatchIterator).length === 'number'
  );
}
