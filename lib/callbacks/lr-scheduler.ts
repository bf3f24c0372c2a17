/** LearningRateScheduler: sets the learning rate at the start of each epoch from `schedule(epoch, rate)`. */
import { invalidArgument } from '../errors';
import { Callback, Logs } from './callback';
import { logLearningRate, optimizerOf, settableOptimizerOf } from './learning-rate';

/** The new learning rate for a (0-based) epoch, given the current one. May be async. */
export type Schedule = (epoch: number, learningRate: number) => number | Promise<number>;

export class LearningRateScheduler extends Callback {
  readonly schedule: Schedule;
  readonly verbose: 0 | 1;

  /** `verbose`: 0 silent (default), 1 a line per epoch. */
  constructor(schedule: Schedule, verbose: 0 | 1 = 0) {
    super();
    if (typeof schedule !== 'function') {
      throw invalidArgument('LearningRateScheduler', 'schedule to be a function (epoch, learningRate) => learningRate', schedule);
    }
    if (verbose !== 0 && verbose !== 1) throw invalidArgument('LearningRateScheduler', 'verbose to be 0 or 1', verbose);
    this.schedule = schedule;
    this.verbose = verbose;
  }

  onTrainBegin(): void {
    if (this.model?.optimizer) settableOptimizerOf('LearningRateScheduler', this.model);
  }

  async onEpochBegin(epoch: number): Promise<void> {
    const optimizer = settableOptimizerOf('LearningRateScheduler', this.model);
    const rate = await this.schedule(epoch, optimizer.learningRate);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0) {
      throw invalidArgument('LearningRateScheduler', `schedule to return a non-negative finite number at epoch ${epoch + 1}`, rate);
    }
    optimizer.learningRate = rate;
    if (this.verbose > 0) console.log(`\nEpoch ${epoch + 1}: LearningRateScheduler setting learning rate to ${rate}.`);
  }

  onEpochEnd(_epoch: number, logs?: Logs): void {
    logLearningRate(logs, optimizerOf('LearningRateScheduler', this.model).learningRate);
  }
}
