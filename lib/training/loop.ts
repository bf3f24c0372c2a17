/**
 * The epoch loop behind fit, evaluate and predict, over any BatchIterator. Each step is one native call
 * on a worker thread; while it runs, the next batch is already being fetched (decoding overlaps compute)
 * and the event loop is free.
 */
import { CallbackList, Logs } from '../callbacks/callback';
import { Batch, BatchIterator, batchSize, disposeBatch } from '../data';
import { ValueError } from '../errors';
import { EndOfData } from './iterable-batches';

/**
 * Runs one batch natively and resolves [...losses, ...metrics]; `resetMetrics` starts the metrics' totals
 * afresh (the first batch of an epoch or of an evaluation).
 */
export type StepFunction = (batch: Batch, resetMetrics: boolean) => Promise<number[]>;

/**
 * A step's values over an epoch, as Keras's trackers keep them: the losses as means weighted by batch
 * size, the metrics as the native side streams them (each step's value is already the epoch's so far).
 */
export class RunningMeans {
  private readonly sums: number[];
  private latest: number[] = [];
  private count = 0;

  /** `names`: the losses' names (the first `lossCount`), then the metrics'. */
  constructor(private readonly names: string[], private readonly lossCount: number) {
    this.sums = names.slice(0, lossCount).map(() => 0);
  }

  add(values: number[], samples: number): void {
    for (let i = 0; i < this.lossCount; i++) this.sums[i] += values[i] * samples;
    this.latest = values;
    this.count += samples;
  }

  logs(prefix = ''): Logs {
    const logs: Logs = {};
    this.names.forEach((name, i) => {
      const value = i < this.lossCount ? this.sums[i] / this.count : this.latest[i];
      logs[prefix + name] = this.count > 0 ? value : NaN;
    });
    return logs;
  }
}

export function abortError(signal: AbortSignal, operation: string): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error(`${operation} was aborted`);
  error.name = 'AbortError';
  return error;
}

/**
 * Walks `steps` batches of `source` (wrapping around, with onEpochEnd, when steps exceed its length),
 * fetching batch i+1 while batch i is processed. Resolves true when the source ran out of batches first.
 */
export async function forEachBatch(
  source: BatchIterator,
  steps: number,
  cursor: { next: number },
  /** Resolves true to end the walk after this batch. */
  visit: (batch: Batch, step: number) => Promise<boolean | void>,
  signal?: AbortSignal,
  operation = 'fit',
): Promise<boolean> {
  const fetch = (): Promise<Batch> => {
    const index = cursor.next;
    cursor.next += 1;
    if (cursor.next >= source.length) {
      cursor.next = 0;
    }
    const batch = source.get(index).then((fetched) => {
      if (index === source.length - 1) source.onEpochEnd?.();
      return fetched;
    });
    // A batch fetched ahead may fail (or find the data at its end) while the current step runs: the
    // failure is the await's below, not an unhandled rejection meanwhile.
    batch.catch(() => undefined);
    return batch;
  };
  let pending = fetch();
  for (let step = 0; step < steps; step++) {
    if (signal?.aborted) throw abortError(signal, operation);
    let batch: Batch;
    try {
      batch = await pending;
    } catch (error) {
      if (error instanceof EndOfData) return true;
      throw error;
    }
    if (step + 1 < steps) pending = fetch();
    try {
      if ((await visit(batch, step)) === true) return false;
    } finally {
      // Batches are consumed once: free their memory now rather than at the next GC.
      disposeBatch(batch);
    }
  }
  return false;
}

export interface EpochLoopOptions {
  epochs: number;
  initialEpoch: number;
  steps: number;
  names: string[];
  /** How many of `names` are losses (the rest are metrics). */
  lossCount: number;
  callbacks: CallbackList;
  signal?: AbortSignal;
  shouldStop: () => boolean;
  /** Runs validation after an epoch (stopping at the next batch when `signal` aborts); resolves the val_ logs. */
  validate?: () => Promise<Logs>;
}

export async function runEpochs(source: BatchIterator, step: StepFunction, options: EpochLoopOptions): Promise<void> {
  const { callbacks, names } = options;
  const batchEvents = callbacks.wantsBatchEvents;
  const cursor = { next: 0 };
  await callbacks.call('onTrainBegin', {});
  let firstEpoch = options.initialEpoch;
  const resume = callbacks.resumeEpoch();
  if (resume !== undefined && resume > firstEpoch) {
    firstEpoch = resume;
    source.setEpoch?.(resume);
  }
  for (let epoch = firstEpoch; epoch < options.epochs; epoch++) {
    await callbacks.call('onEpochBegin', epoch, {});
    const means = new RunningMeans(names, options.lossCount);
    let stepsDone = 0;
    const ranOut = await forEachBatch(
      source,
      options.steps,
      cursor,
      async (batch, batchIndex) => {
        const size = batchSize(batch[0]);
        if (batchEvents) await callbacks.call('onBatchBegin', batchIndex, { batch: batchIndex, size });
        const values = await step(batch, batchIndex === 0);
        stepsDone += 1;
        means.add(values, size);
        if (batchEvents) await callbacks.call('onBatchEnd', batchIndex, { batch: batchIndex, size, ...means.logs() });
        if (options.shouldStop()) return true;
        // A diverged run is reported, never trained on silently; a callback that stops on NaN
        // (TerminateOnNaN) has had its say above and ends training quietly instead.
        if (!Number.isFinite(values[0])) {
          throw new ValueError(`fit: the loss became ${values[0]} at epoch ${epoch + 1}, batch ${batchIndex + 1}`);
        }
        return false;
      },
      options.signal,
    );
    if (ranOut) {
      // Keras's words and behaviour: the epoch ends with the batches it had, and training stops.
      console.warn(
        `fit: the training data ran out of batches at epoch ${epoch + 1}, after ${stepsDone} of ${options.steps} steps; interrupting training. ` +
          `Make sure it can yield at least stepsPerEpoch * epochs batches (${options.steps} * ${options.epochs - options.initialEpoch}); ` +
          'a Dataset can repeat() its data.',
      );
      if (stepsDone === 0) break;
    }
    const logs = means.logs();
    if (options.validate && !options.shouldStop()) Object.assign(logs, await options.validate());
    // Aborted during validation: the epoch did not end, so its callbacks are not told it did.
    if (options.signal?.aborted) throw abortError(options.signal, 'fit');
    await callbacks.call('onEpochEnd', epoch, logs);
    if (ranOut || options.shouldStop()) break;
  }
  await callbacks.call('onTrainEnd', {});
}
