/** LambdaCallback: a callback from plain functions, for one-off hooks. */
import { invalidArgument } from '../errors';
import { checkKnownOptions, checkPlainObject } from '../validation';
import { Callback, Logs } from './callback';

type Hook<A extends unknown[]> = (...args: A) => void | Promise<void>;

export interface LambdaCallbackArgs {
  onTrainBegin?: Hook<[logs?: Logs]>;
  onTrainEnd?: Hook<[logs?: Logs]>;
  onEpochBegin?: Hook<[epoch: number, logs?: Logs]>;
  onEpochEnd?: Hook<[epoch: number, logs?: Logs]>;
  onBatchBegin?: Hook<[batch: number, logs?: Logs]>;
  onBatchEnd?: Hook<[batch: number, logs?: Logs]>;
}

const HOOKS = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd'] as const;

export class LambdaCallback extends Callback {
  // Only the hooks given exist on the object, so fit builds batch logs only when a batch hook is given.
  declare onTrainBegin?: LambdaCallbackArgs['onTrainBegin'];
  declare onTrainEnd?: LambdaCallbackArgs['onTrainEnd'];
  declare onEpochBegin?: LambdaCallbackArgs['onEpochBegin'];
  declare onEpochEnd?: LambdaCallbackArgs['onEpochEnd'];
  declare onBatchBegin?: LambdaCallbackArgs['onBatchBegin'];
  declare onBatchEnd?: LambdaCallbackArgs['onBatchEnd'];

  constructor(args: LambdaCallbackArgs = {}) {
    super();
    checkPlainObject('LambdaCallback', 'options', args);
    checkKnownOptions('LambdaCallback', args, HOOKS);
    for (const hook of HOOKS) {
      const fn = args[hook];
      if (fn === undefined) continue;
      if (typeof fn !== 'function') throw invalidArgument('LambdaCallback', `${hook} to be a function`, fn);
      (this as Record<string, unknown>)[hook] = fn;
    }
  }
}
