/**
 * Dynamic batching, as Triton's and TorchServe's servers do it: `predict` calls that arrive close together
 * (many requests of a server, each with a few rows) are joined into one native predict, and each caller
 * gets its own rows back. One native call of 32 rows costs far less than 32 calls of one row: the thread
 * hand-offs, the kernels' set-up and the weights' trip through the cache are paid once.
 *
 * A batch starts when `maxBatchSize` rows are waiting, when the first waiting call has waited `maxDelayMs`,
 * or, while a batch is running, as soon as it ends (the calls queued meanwhile have waited as long as it
 * ran). Each call's inputs are checked on their own before they join a batch, so a bad call is refused
 * alone; should a joined batch fail in libtorch, each of its calls is run again alone, so that only the call
 * at fault sees the error.
 */
import { invalidArgument, ValueError } from '../errors';
import { concat, Tensor } from '../tensor';
import type { DataLike } from '../training/data-adapter';
import type { Prediction } from '../training/trainer';
import { checkKnownOptions, checkPlainObject, checkPositiveInteger } from '../validation';
import type { ImageBatchOptions } from '../preprocessing/image-buffers';
import { imagesToBatch } from '../preprocessing/image-buffers';

export interface PredictorOptions {
  /** The most rows one native predict takes; default 32. A call with more rows runs alone, in batches of this size. */
  maxBatchSize?: number;
  /** How long the first waiting call waits for others to join it, in milliseconds; default 2. 0: calls made in the same turn of the event loop are joined. */
  maxDelayMs?: number;
}

/** What a Predictor has done so far. */
export interface PredictorStats {
  /** predict calls accepted. */
  calls: number;
  /** Native predicts run (each of at most maxBatchSize rows). */
  batches: number;
  /** Rows predicted. */
  rows: number;
  /** The rows of the largest native predict. */
  largestBatch: number;
  /** Calls waiting for a batch now. */
  waiting: number;
}

/** What a Predictor needs of a model (Model provides it). */
export interface BatchedPredictionHost {
  readonly name: string;
  readonly inputShape: number[] | undefined;
  predictionInputs(operation: string, x: DataLike): Tensor[];
  predictTensors(operation: string, xs: Tensor[]): Promise<Tensor[]>;
  structuredPrediction(outputs: Tensor[]): Prediction;
}

interface WaitingCall {
  inputs: Tensor[];
  rows: number;
  resolve: (outputs: Tensor[]) => void;
  reject: (error: unknown) => void;
}

const OPERATION = 'Predictor.predict';

export class Predictor<P = Prediction> {
  readonly maxBatchSize: number;
  readonly maxDelayMs: number;
  private readonly waiting: WaitingCall[] = [];
  private waitingRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  private readonly drained: (() => void)[] = [];
  private readonly counts = { calls: 0, batches: 0, rows: 0, largestBatch: 0 };

  constructor(
    private readonly model: BatchedPredictionHost,
    options: PredictorOptions = {},
  ) {
    if (!model || typeof model.predictTensors !== 'function') throw invalidArgument('Predictor', 'a Model', model);
    checkPlainObject('Predictor', 'options', options);
    checkKnownOptions('Predictor', options, ['maxBatchSize', 'maxDelayMs']);
    this.maxBatchSize = checkPositiveInteger('Predictor', 'maxBatchSize', options.maxBatchSize ?? 32);
    const delay = options.maxDelayMs ?? 2;
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw invalidArgument('Predictor', 'maxDelayMs to be a number of milliseconds >= 0', delay);
    }
    this.maxDelayMs = delay;
  }

  /** What the predictor has done: calls, native predicts (batches), rows, the largest batch, calls waiting. */
  get stats(): PredictorStats {
    return { ...this.counts, waiting: this.waiting.length };
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * The model's outputs for `x` (any number of rows), as `model.predict(x)` returns them, computed in one
   * native predict with the calls that arrive within the window.
   */
  predict(x: DataLike): Promise<P> {
    if (this.closed) return Promise.reject(new ValueError(`${OPERATION}: the predictor of model '${this.model.name}' was closed; make a new Predictor`));
    let inputs: Tensor[];
    try {
      inputs = this.model.predictionInputs(OPERATION, x);
    } catch (error) {
      return Promise.reject(error);
    }
    const rows = inputs[0].shape[0];
    this.counts.calls++;
    return new Promise<Tensor[]>((resolve, reject) => {
      this.waiting.push({ inputs, rows, resolve, reject });
      this.waitingRows += rows;
      this.schedule();
    }).then((outputs) => this.model.structuredPrediction(outputs) as P);
  }

  /**
   * Decodes JPEG or PNG images (Buffers, as an HTTP body arrives), resizes and rescales them as
   * `model.predictImages` does, then predicts them through this predictor's batches.
   */
  async predictImages(buffers: Uint8Array[], options: ImageBatchOptions = {}): Promise<P> {
    if (this.closed) throw new ValueError(`Predictor.predictImages: the predictor of model '${this.model.name}' was closed; make a new Predictor`);
    const batch = await imagesToBatch('Predictor.predictImages', buffers, options, this.model.inputShape);
    return this.predict(batch);
  }

  /** Stops taking calls: those already waiting run now, and the Promise resolves once they are done. */
  close(): Promise<void> {
    this.closed = true;
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.drained.push(resolve));
    this.dispatch();
    return done;
  }

  private schedule(): void {
    if (this.running) return; // the running batch starts the next one as it ends
    if (this.waitingRows >= this.maxBatchSize) {
      this.dispatch();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.dispatch(), this.maxDelayMs);
    }
  }

  private dispatch(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return;
    if (this.waiting.length === 0) {
      for (const resolve of this.drained.splice(0)) resolve();
      return;
    }
    // The oldest call always goes; the next ones join while the rows fit.
    let rows = this.waiting[0].rows;
    let count = 1;
    while (count < this.waiting.length && rows + this.waiting[count].rows <= this.maxBatchSize) rows += this.waiting[count++].rows;
    const calls = this.waiting.splice(0, count);
    this.waitingRows -= rows;
    this.running = true;
    void this.run(calls).finally(() => {
      this.running = false;
      if (this.waiting.length > 0) this.dispatch();
      else for (const resolve of this.drained.splice(0)) resolve();
    });
  }

  /** One batch of calls: joined, predicted, and each call's rows handed back. */
  private async run(calls: WaitingCall[]): Promise<void> {
    if (calls.length === 1) {
      await this.settle(calls[0], () => this.predictRows(calls[0].inputs));
      return;
    }
    let outputs: Tensor[];
    try {
      const joined = calls[0].inputs.map((_, i) => concat(calls.map((call) => call.inputs[i])));
      try {
        outputs = await this.predictRows(joined);
      } finally {
        joined.forEach((t) => t.dispose());
      }
    } catch {
      // Whatever failed (a caller's tensor disposed meanwhile, libtorch refusing one call's values): each
      // call alone, so that the error reaches the call at fault and the others get their rows.
      for (const call of calls) await this.settle(call, () => this.predictRows(call.inputs));
      return;
    }
    let start = 0;
    for (const call of calls) {
      call.resolve(outputs.map((output) => new Tensor(output.native.narrow(start, call.rows))));
      start += call.rows;
    }
    outputs.forEach((output) => output.dispose()); // the callers' rows are views that keep the values
  }

  private async settle(call: WaitingCall, work: () => Promise<Tensor[]>): Promise<void> {
    try {
      call.resolve(await work());
    } catch (error) {
      call.reject(error);
    }
  }

  /** Native predicts of at most maxBatchSize rows each, joined again when a call had more. */
  private async predictRows(inputs: Tensor[]): Promise<Tensor[]> {
    const rows = inputs[0].shape[0];
    if (rows <= this.maxBatchSize) return this.predictOnce(inputs);
    const parts: Tensor[][] = [];
    for (let start = 0; start < rows; start += this.maxBatchSize) {
      const count = Math.min(this.maxBatchSize, rows - start);
      parts.push(await this.predictOnce(inputs.map((t) => new Tensor(t.native.narrow(start, count)))));
    }
    return parts[0].map((_, i) => {
      const joined = concat(parts.map((outputs) => outputs[i]));
      parts.forEach((outputs) => outputs[i].dispose());
      return joined;
    });
  }

  private async predictOnce(inputs: Tensor[]): Promise<Tensor[]> {
    const rows = inputs[0].shape[0];
    const outputs = await this.model.predictTensors(OPERATION, inputs);
    this.counts.batches++;
    this.counts.rows += rows;
    this.counts.largestBatch = Math.max(this.counts.largestBatch, rows);
    return outputs;
  }
}
