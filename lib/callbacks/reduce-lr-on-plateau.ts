/** ReduceLROnPlateau: multiplies the learning rate by `factor` once a monitored value stops improving. */
import { invalidArgument } from '../errors';
import {
  checkFiniteNumber,
  checkKnownOptions,
  checkNonNegativeInteger,
  checkNumberInRange,
  checkPlainObject,
} from '../validation';
import { Callback, Logs } from './callback';
import { logLearningRate, optimizerOf, settableOptimizerOf } from './learning-rate';
import { checkMonitor, isImprovement, monitoredValue, MonitorMode, resolveMode } from './monitor';

export interface ReduceLROnPlateauArgs {
  /** The logged value to watch. Default 'val_loss'. */
  monitor?: string;
  /** The new rate is `rate * factor`; in (0, 1). Default 0.1. */
  factor?: number;
  /** Epochs without improvement before the rate is reduced. Default 10. */
  patience?: number;
  /** 0 silent, 1 a line per reduction. Default 0. */
  verbose?: 0 | 1;
  /** 'min', 'max', or 'auto' (max for accuracy-like names, min otherwise). Default 'auto'. */
  mode?: MonitorMode;
  /** Changes smaller than this do not count as improvement. Default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again. Default 0. */
  cooldown?: number;
  /** The rate is never reduced below this. Default 0. */
  minLr?: number;
}

const KEYS = ['monitor', 'factor', 'patience', 'verbose', 'mode', 'minDelta', 'cooldown', 'minLr'];

export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly verbose: 0 | 1;
  readonly mode: 'min' | 'max';
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  best = Infinity;
  private wait = 0;
  private cooldownCounter = 0;

  constructor(args: ReduceLROnPlateauArgs = {}) {
    super();
    checkPlainObject('ReduceLROnPlateau', 'options', args);
    checkKnownOptions('ReduceLROnPlateau', args, KEYS);
    this.monitor = checkMonitor('ReduceLROnPlateau', args.monitor ?? 'val_loss');
    this.factor = checkNumberInRange('ReduceLROnPlateau', 'factor', args.factor ?? 0.1, 0, 1, {
      minExclusive: true,
      maxExclusive: true,
    });
    this.patience = checkNonNegativeInteger('ReduceLROnPlateau', 'patience', args.patience ?? 10);
    const verbose = args.verbose ?? 0;
    if (verbose !== 0 && verbose !== 1) throw invalidArgument('ReduceLROnPlateau', 'verbose to be 0 or 1', verbose);
    this.verbose = verbose;
    this.mode = resolveMode('ReduceLROnPlateau', this.monitor, args.mode ?? 'auto');
    this.minDelta = Math.abs(checkFiniteNumber('ReduceLROnPlateau', 'minDelta', args.minDelta ?? 1e-4));
    this.cooldown = checkNonNegativeInteger('ReduceLROnPlateau', 'cooldown', args.cooldown ?? 0);
    this.minLr = checkNumberInRange('ReduceLROnPlateau', 'minLr', args.minLr ?? 0, 0, Infinity);
    this.reset();
  }

  private reset(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.wait = 0;
    this.cooldownCounter = 0;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  onTrainBegin(): void {
    if (this.model?.optimizer) settableOptimizerOf('ReduceLROnPlateau', this.model);
    this.reset();
  }

  onEpochEnd(epoch: number, logs?: Logs): void {
    const optimizer = optimizerOf('ReduceLROnPlateau', this.model);
    // The rate this epoch trained with, before any reduction below.
    logLearningRate(logs, optimizer.learningRate);
    const current = monitoredValue(logs, this.monitor, 'Learning rate reduction');
    if (current === undefined) return;
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (isImprovement(this.mode, current, this.best, this.minDelta)) {
      this.best = current;
      this.wait = 0;
      return;
    }
    if (this.inCooldown) return;
    this.wait += 1;
    if (this.wait < this.patience) return;
    const oldRate = optimizer.learningRate;
    // Compared in float32, as Keras does, so a rate already at minLr (after rounding) is left alone.
    if (oldRate > Math.fround(this.minLr)) {
      const newRate = Math.max(oldRate * this.factor, this.minLr);
      optimizer.learningRate = newRate;
      if (this.verbose > 0) console.log(`\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${newRate}.`);
      this.cooldownCounter = this.cooldown;
      this.wait = 0;
    }
  }
}
