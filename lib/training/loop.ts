/**
 * The epoch loop behind fit, evaluate and predict, over any BatchIterator. Each step is one native call
 * on a worker thread; while it runs, the next batch is already being fetched (decoding overlaps compute)
 * and the event loop is free.
 */
import { CallbackList, Logs } from '../callbacks/callback';
import { Batch, BatchIterator, batchSize, disposeBatch } from '../data';
import { ValueError } from '../errors';

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
 * fetching batch i+1 while batch i is processed.
 */
export async function forEachBatch(
  source: BatchIterator,
  steps: number,
  cursor: { next: number },
  /** Resolves true to end the walk after this batch. */
  visit: (batch: Batch, step: number) => Promise<boolean | void>,
  signal?: AbortSignal,
  operation = 'fit',
): Promise<void> {
  const fetch = (): Promise<Batch> => {
    const index = cursor.next;
    cursor.next += 1;
    if (cursor.next >= source.length) {
      cursor.next = 0;
    }
    return source.get(index).then((batch) => {
      if (index === source.length - 1) source.onEpochEnd?.();
      return batch;
    });
  };
  let pending = fetch();
  for (let step = 0; step < steps; step++) {
    if (signal?.aborted) {
      pending.catch(() => undefined);
      throw abortError(signal, operation);
    }
    const batch = await pending;
    if (step + 1 < steps) pending = fetch();
    try {
      if ((await visit(batch, step)) === true) {
        if (step + 1 < steps) pending.catch(() => undefined);
        return;
      }
    } catch (error) {
      if (step + 1 < steps) pending.catch(() => undefined);
      throw error;
    } finally {
      // Batches are consumed once: free their memory now rather than at the next GC.
      disposeBatch(batch);
    }
  }
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
  for (let epoch = options.initialEpoch; epoch < options.epochs; epoch++) {
    await callbacks.call('onEpochBegin', epoch, {});
    const means = new RunningMeans(names, options.lossCount);
    await forEachBatch(
      source,
      options.steps,
      cursor,
      async (batch, batchIndex) => {
        const size = batchSize(batch[0]);
        if (batchEvents) await callbacks.call('onBatchBegin', batchIndex, { batch: batchIndex, size });
        const values = await step(batch, batchIndex === 0);
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
    const logs = means.logs();
    if (options.validate && !options.shouldStop()) Object.assign(logs, await options.validate());
    // Aborted during validation: the epoch did not end, so its callbacks are not told it did.
    if (options.signal?.aborted) throw abortError(options.signal, 'fit');
    await callbacks.call('onEpochEnd', epoch, logs);
    if (options.shouldStop()) break;
  }
  await callbacks.call('onTrainEnd', {});
}
