/**
 * Training callbacks: Keras's hooks, called by fit between steps (never during one). Hooks may be async;
 * fit awaits them. Plain objects with some of the hooks work as well as Callback subclasses.
 */
import { plotHistory, PlotHistoryOptions } from '../plot';

export type Logs = Record<string, number>;

/** What fit tells callbacks before training starts. */
export interface TrainingParams {
  epochs: number;
  steps: number;
  verbose: number;
  /** The names of the values each epoch logs, e.g. ['loss', 'accuracy', 'val_loss', 'val_accuracy']. */
  metrics: string[];
}

/** The model as callbacks see it. */
export interface CallbackModel {
  stopTraining: boolean;
  getWeights(): unknown[];
  setWeights(weights: never[]): void;
  readonly optimizer?: CallbackOptimizer;
}

/** The optimizer as callbacks see it. */
export interface CallbackOptimizer {
  learningRate: number;
  /** Set when the rate follows a schedule, which callbacks must not override. */
  readonly learningRateSchedule?: { readonly className: string };
}

export interface CallbackHooks {
  setModel?(model: CallbackModel): void;
  setParams?(params: TrainingParams): void;
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs?: Logs): void | Promise<void>;
  onBatchBegin?(batch: number, logs?: Logs): void | Promise<void>;
  onBatchEnd?(batch: number, logs?: Logs): void | Promise<void>;
  /**
   * Asked after onTrainBegin: the epoch this fit should start from, when the callback restored an
   * interrupted run (BackupAndRestore); undefined to leave it.
   */
  resumeEpoch?(): number | undefined;
  /**
   * With several ranks (data-parallel fit), run on rank 0 alone: set by the callbacks that write what a
   * run writes once (progress, logs, event files, checkpoints). Every rank holds the same weights and the
   * logs averaged over the ranks, so rank 0's output is the run's; from every rank, files would be written
   * over and lines repeated.
   */
  readonly rankZeroOnly?: boolean;
}

export abstract class Callback implements CallbackHooks {
  protected model?: CallbackModel;
  protected params?: TrainingParams;

  setModel(model: CallbackModel): void {
    this.model = model;
  }

  setParams(params: TrainingParams): void {
    this.params = params;
  }
}

/** Records each epoch's logs; fit returns it. */
export class History extends Callback {
  /** The epochs recorded (counting from initialEpoch). */
  readonly epoch: number[] = [];
  /** Each logged value per epoch: `history.history.loss[3]` is the fourth epoch's loss. */
  readonly history: Record<string, number[]> = {};

  /**
   * Draws the loss and accuracy curves, training and validation, to an .svg or .png file; resolves the
   * paths written.
   */
  async plot(file: string, options?: PlotHistoryOptions): Promise<string[]> {
    return plotHistory(this, file, options);
  }

  onEpochEnd(epoch: number, logs: Logs = {}): void {
    this.epoch.push(epoch);
    for (const [key, value] of Object.entries(logs)) {
      (this.history[key] ??= []).push(value);
    }
  }
}

type HookName = keyof Omit<CallbackHooks, 'setModel' | 'setParams' | 'resumeEpoch'>;

/** Calls each hook on every callback, in order, awaiting async ones. */
export class CallbackList {
  constructor(private readonly callbacks: CallbackHooks[]) {}

  configure(model: CallbackModel, params: TrainingParams): void {
    for (const callback of this.callbacks) {
      callback.setModel?.(model);
      callback.setParams?.(params);
    }
  }

  /** Whether any callback listens to batch events (so fit can skip building per-batch logs). */
  get wantsBatchEvents(): boolean {
    return this.callbacks.some((c) => c.onBatchBegin || c.onBatchEnd);
  }

  /** The latest epoch any callback asks to resume from, if any does. */
  resumeEpoch(): number | undefined {
    const epochs = this.callbacks.map((c) => c.resumeEpoch?.()).filter((e): e is number => e !== undefined);
    return epochs.length > 0 ? Math.max(...epochs) : undefined;
  }

  async call(hook: HookName, ...args: unknown[]): Promise<void> {
    for (const callback of this.callbacks) {
      const method = callback[hook] as ((...a: unknown[]) => void | Promise<void>) | undefined;
      if (method) await method.apply(callback, args);
    }
  }
}
