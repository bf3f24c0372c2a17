/**
 * Keras's optimizers with Keras's defaults, by name (`'adam'`) or as instances (`new Adam({learningRate})`).
 * The update rules are libtorch's (torch.optim); the learning rate can be read and changed at any time
 * between steps, e.g. by a scheduler between epochs.
 */
import { invalidArgument } from './errors';
import type { NativeModel, OptimizerSpec } from './native/binding';
import { checkBoolean, checkKnownOptions, checkNumberInRange, checkPlainObject } from './validation';

export abstract class Optimizer {
  /** Keras's class name ('Adam', 'SGD', ...). */
  readonly className: string;
  /** The checked hyper-parameters, Keras's defaults filled in. */
  private readonly options: Record<string, number | boolean>;
  private rate: number;
  private bound?: NativeModel;

  /** Checks `args` against the options the subclass knows (with their defaults). */
  protected constructor(className: string, args: object, defaults: Record<string, number | boolean>) {
    this.className = className;
    this.options = readOptions(className, args as Record<string, unknown>, defaults);
    this.rate = this.options.learningRate as number;
  }

  /** The current learning rate. */
  get learningRate(): number {
    return this.bound ? this.bound.getLearningRate() : this.rate;
  }
  set learningRate(value: number) {
    checkNumberInRange(this.className, 'learningRate', value, 0, Infinity);
    this.rate = value;
    this.bound?.setLearningRate(value);
  }

  /** Keras's constructor arguments, for configs and saving. */
  getConfig(): Record<string, unknown> {
    return { ...this.options, learningRate: this.learningRate };
  }

  /** @internal What the native side builds the torch optimizer from. */
  toSpec(): OptimizerSpec {
    return { name: this.className.toLowerCase() as OptimizerSpec['name'], ...this.getConfig(), learningRate: this.learningRate };
  }

  /** @internal Attaches to the compiled model whose native optimizer now holds the learning rate. */
  bind(model: NativeModel): void {
    this.bound = model;
  }
}

/** Reads `learningRate` (or Keras's legacy `lr`) and the listed numeric options, checking each. */
function readOptions(
  className: string,
  options: Record<string, unknown>,
  defaults: Record<string, number | boolean>,
): Record<string, number | boolean> {
  checkPlainObject(className, 'options', options);
  checkKnownOptions(className, options, ['learningRate', 'lr', ...Object.keys(defaults)]);
  const values: Record<string, number | boolean> = {};
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = options[key] ?? (key === 'learningRate' ? options.lr : undefined) ?? fallback;
    values[key] =
      typeof fallback === 'boolean'
        ? checkBoolean(className, key, value)
        : checkNumberInRange(className, key, value, 0, key.startsWith('beta') || key === 'rho' ? 1 : Infinity, {
            maxExclusive: key.startsWith('beta'),
          });
  }
  return values;
}

export interface AdamArgs {
  /** Default 0.001. */
  learningRate?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (Keras's; PyTorch's is 1e-8). */
  epsilon?: number;
  /** Default false. */
  amsgrad?: boolean;
}

export class Adam extends Optimizer {
  constructor(args: AdamArgs = {}) {
    super('Adam', args, {
      learningRate: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      amsgrad: false,
    });
  }
}

export interface AdamWArgs extends AdamArgs {
  /** Decoupled weight decay. Default 0.004 (Keras's). */
  weightDecay?: number;
}

export class AdamW extends Optimizer {
  constructor(args: AdamWArgs = {}) {
    super('AdamW', args, {
      learningRate: 0.001,
      weightDecay: 0.004,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      amsgrad: false,
    });
  }
}

export interface SGDArgs {
  /** Default 0.01. */
  learningRate?: number;
  /** Default 0. */
  momentum?: number;
  /** Default false. */
  nesterov?: boolean;
}

export class SGD extends Optimizer {
  constructor(args: SGDArgs = {}) {
    super('SGD', args, { learningRate: 0.01, momentum: 0, nesterov: false });
    const config = this.getConfig();
    if (config.nesterov && config.momentum === 0) {
      throw invalidArgument('SGD', 'a positive momentum when nesterov is true', config.momentum);
    }
  }
}

export interface RMSpropArgs {
  /** Default 0.001. */
  learningRate?: number;
  /** Discounting factor of the squared-gradient average. Default 0.9. */
  rho?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 1e-7. */
  epsilon?: number;
  /** Default false. */
  centered?: boolean;
}

export class RMSprop extends Optimizer {
  constructor(args: RMSpropArgs = {}) {
    super('RMSprop', args, {
      learningRate: 0.001,
      rho: 0.9,
      momentum: 0,
      epsilon: 1e-7,
      centered: false,
    });
  }
}

export interface AdagradArgs {
  /** Default 0.001. */
  learningRate?: number;
  /** Default 0.1. */
  initialAccumulatorValue?: number;
  /** Default 1e-7. */
  epsilon?: number;
}

export class Adagrad extends Optimizer {
  constructor(args: AdagradArgs = {}) {
    super('Adagrad', args, {
      learningRate: 0.001,
      initialAccumulatorValue: 0.1,
      epsilon: 1e-7,
    });
  }
}

export type OptimizerIdentifier = 'adam' | 'adamw' | 'sgd' | 'rmsprop' | 'adagrad' | Optimizer;

const BY_NAME: Record<string, () => Optimizer> = {
  adam: () => new Adam(),
  adamw: () => new AdamW(),
  sgd: () => new SGD(),
  rmsprop: () => new RMSprop(),
  adagrad: () => new Adagrad(),
};

/** Keras's `optimizers.get`: a name (any case) or an instance. */
export function getOptimizer(identifier: unknown): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  if (typeof identifier === 'string' && BY_NAME[identifier.toLowerCase()]) return BY_NAME[identifier.toLowerCase()]();
  throw invalidArgument('compile', `optimizer to be one of ${Object.keys(BY_NAME).map((n) => `'${n}'`).join(', ')} or an Optimizer instance`, identifier);
}

const BY_CLASS_NAME: Record<string, new (config: never) => Optimizer> = { Adam, AdamW, SGD, RMSprop, Adagrad };

/** Recreates an optimizer from the className and config a model file stores. */
export function getOptimizerFromConfig(stored: { className: string; config: Record<string, unknown> }): Optimizer {
  const constructor = stored && Object.hasOwn(BY_CLASS_NAME, stored.className) ? BY_CLASS_NAME[stored.className] : undefined;
  if (!constructor) throw invalidArgument('optimizer config', `className to be one of ${Object.keys(BY_CLASS_NAME).join(', ')}`, stored?.className);
  return new constructor(stored.config as never);
}
