/** Reading and setting the learning rate of the model a callback is attached to. */
import { ValueError } from '../errors';
import type { CallbackModel, Logs } from './callback';

export function optimizerOf(context: string, model: CallbackModel | undefined): { learningRate: number } {
  const optimizer = model?.optimizer;
  if (!optimizer) throw new ValueError(`${context}: the model has no optimizer; compile it and pass the callback to fit`);
  return optimizer;
}

/** Logs the learning rate under Keras 3's name and Keras 2's, so History and CSVLogger record it. */
export function logLearningRate(logs: Logs | undefined, learningRate: number): void {
  if (!logs) return;
  logs.learning_rate = learningRate;
  logs.lr = learningRate;
}
