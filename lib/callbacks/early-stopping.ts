/** EarlyStopping: ends training once a monitored value has stopped improving, as Keras's does. */
import { invalidArgument } from '../errors';
import { checkBoolean, checkFiniteNumber, checkKnownOptions, checkNonNegativeInteger, checkPlainObject } from '../validation';
import { Callback, Logs } from './callback';
import { checkMonitor, isImprovement, monitoredValue, MonitorMode, resolveMode } from './monitor';

export interface EarlyStoppingArgs {
  /** The logged value to watch. Default 'val_loss'. */
  monitor?: string;
  /** Changes smaller than this (in absolute value) do not count as improvement. Default 0. */
  minDelta?: number;
  /** Epochs without improvement after which training stops. Default 0. */
  patience?: number;
  /** 0 silent, 1 says when it stops and when it restores weights. Default 0. */
  verbose?: 0 | 1;
  /** 'min', 'max', or 'auto' (max for accuracy-like names, min otherwise). Default 'auto'. */
  mode?: MonitorMode;
  /** Training stops after `patience` epochs unless the value beats this baseline. Default none. */
  baseline?: number;
  /** At the end of training, set the weights of the best epoch seen. Default false. */
  restoreBestWeights?: boolean;
  /** Epochs to wait before watching at all (a warm-up). Default 0. */
  startFromEpoch?: number;
}

const KEYS = ['monitor', 'minDelta', 'patience', 'verbose', 'mode', 'baseline', 'restoreBestWeights', 'startFromEpoch'];

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly verbose: 0 | 1;
  readonly mode: 'min' | 'max';
  readonly baseline?: number;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  /** The (0-based) epoch at which training was stopped; 0 when it ran to the end. */
  stoppedEpoch = 0;
  /** The (0-based) epoch with the best monitored value. */
  bestEpoch = 0;
  /** The best monitored value seen, once one was. */
  best?: number;
  private wait = 0;
  private bestWeights?: unknown[];

  constructor(args: EarlyStoppingArgs = {}) {
    super();
    checkPlainObject('EarlyStopping', 'options', args);
    checkKnownOptions('EarlyStopping', args, KEYS);
    this.monitor = checkMonitor('EarlyStopping', args.monitor ?? 'val_loss');
    this.minDelta = Math.abs(checkFiniteNumber('EarlyStopping', 'minDelta', args.minDelta ?? 0));
    this.patience = checkNonNegativeInteger('EarlyStopping', 'patience', args.patience ?? 0);
    const verbose = args.verbose ?? 0;
    if (verbose !== 0 && verbose !== 1) throw invalidArgument('EarlyStopping', 'verbose to be 0 or 1', verbose);
    this.verbose = verbose;
    this.mode = resolveMode('EarlyStopping', this.monitor, args.mode ?? 'auto');
    if (args.baseline !== undefined) this.baseline = checkFiniteNumber('EarlyStopping', 'baseline', args.baseline);
    this.restoreBestWeights = checkBoolean('EarlyStopping', 'restoreBestWeights', args.restoreBestWeights ?? false);
    this.startFromEpoch = checkNonNegativeInteger('EarlyStopping', 'startFromEpoch', args.startFromEpoch ?? 0);
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.bestEpoch = 0;
    this.best = undefined;
    this.bestWeights = undefined;
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    const current = monitoredValue(logs, this.monitor, 'Early stopping');
    if (current === undefined || epoch < this.startFromEpoch) return;
    if (this.restoreBestWeights && this.bestWeights === undefined) {
      // Whatever happens, there are weights to restore: the first epoch watched is the first "best".
      this.bestWeights = this.model?.getWeights();
      this.bestEpoch = epoch;
    }
    this.wait += 1;
    if (this.best === undefined || isImprovement(this.mode, current, this.best, this.minDelta)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.bestWeights = this.model?.getWeights();
      // The wait restarts only when the value beats both the previous best and the baseline.
      if (this.baseline === undefined || isImprovement(this.mode, current, this.baseline, this.minDelta)) this.wait = 0;
      return;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      if (this.model) this.model.stopTraining = true;
    }
  }

  onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    if (this.restoreBestWeights && this.bestWeights !== undefined && this.model) {
      if (this.verbose > 0) console.log(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
      this.model.setWeights(this.bestWeights as never[]);
    }
  }
}
