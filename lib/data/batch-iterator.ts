/**
 * What fit, evaluate and predict accept besides tensors: any source of batches that can be indexed, as
 * Keras's `Sequence` and `DirectoryIterator` are. ImageDataGenerator's iterators implement it, and so
 * can users' own loaders.
 */
import { Tensor } from '../tensor';

/**
 * The inputs or targets of one batch: a Tensor for a model with one input (output), or one per input
 * (output) in the model's order, or keyed by their names.
 */
export type BatchData = Tensor | Tensor[] | Record<string, Tensor>;

/**
 * One batch: inputs, targets (null where the source has none, as with `classMode: null`), and optionally
 * one weight per sample (Keras's `sample_weight`, shape [batch]).
 */
export type Batch = [BatchData, BatchData | null, Tensor?];

/** A batch of a one-input, one-output source, as the image iterators yield. */
export type TensorBatch = [Tensor, Tensor | null];

/** The tensors of a batch's inputs or targets. */
export function batchTensors(data: BatchData): Tensor[] {
  if (data instanceof Tensor) return [data];
  return Array.isArray(data) ? data : Object.values(data);
}

/** The number of samples in a batch. */
export function batchSize(data: BatchData): number {
  return batchTensors(data)[0]?.shape[0] ?? 0;
}

export function disposeBatch([x, y, sampleWeight]: Batch): void {
  for (const tensor of batchTensors(x)) tensor.dispose();
  if (y) for (const tensor of batchTensors(y)) tensor.dispose();
  sampleWeight?.dispose();
}

export interface BatchIterator {
  /** Batches per epoch. */
  readonly length: number;
  /** Samples per epoch, when known. */
  readonly samples?: number;
  /** The shape of one input without the batch axis (`[64, 64, 3]`), checked against a one-input model before training. */
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
  /** Starts epoch `epoch` (0-based) as it would have started after that many epochs: a resumed fit calls it. */
  setEpoch?(epoch: number): void;
}

export function isBatchIterator(value: unknown): value is BatchIterator {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BatchIterator).get === 'function' &&
    typeof (value as BatchIterator).length === 'number'
  );
}
