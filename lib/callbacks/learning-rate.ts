/** Reading and setting the learning rate of the model a callback is attached to. */
import { ValueError } from '../errors';
import type { CallbackModel, CallbackOptimizer, Logs } from './callback';

export function optimizerOf(context: string, model: CallbackModel | undefined): CallbackOptimizer {
  const optimizer = model?.optimizer;
  if (!optimizer) throw new ValueError(`${context}: the model has no optimizer; compile it and pass the callback to fit`);
  return optimizer;
}

/**
 * The optimizer of a callback that changes the learning rate, refused (as Keras does) when the rate
 * follows a schedule, before training starts rather than when the first change comes.
 */
export function settableOptimizerOf(context: string, model: CallbackModel | undefined): CallbackOptimizer {
  const optimizer = optimizerOf(context, model);
  if (optimizer.learningRateSchedule) {
    throw new ValueError(
      `${context}: the optimizer's learning rate follows the ${optimizer.learningRateSchedule.className} schedule, which this ` +
        'callback cannot change; give the optimizer a number as learningRate, or use the schedule alone',
    );
  }
  return optimizer;
}

/** Logs the learning rate under Keras 3's name and Keras 2's, so History and CSVLogger record it. */
export function logLearningRate(logs: Logs | undefined, learningRate: number): void {
  if (!logs) return;
  logs.learning_rate = learningRate;
  logs.lr = learningRate;
}
