/**
 * Keras's optimizers with Keras's defaults, by name (`'adam'`) or as instances (`new Adam({learningRate})`).
 * The update rules are libtorch's (torch.optim); the learning rate can be read and changed at any time
 * between steps, e.g. by a scheduler between epochs.
 */
import { invalidArgument } from './errors';
import type { NativeModel, OptimizerSpec } from './native/binding';
import { checkBoolean, checkKnownOptions, checkNumberInRange, checkPlainObject } from './validation';

export abstract class Optimizer {
  abstract readonly className: string;
  private rate: number;
  private bound?: NativeModel;

  protected constructor(learningRate: number) {
    this.rate = learningRate;
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
  abstract getConfig(): Record<string, unknown>;

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
  readonly className: string = 'Adam';
  private readonly options: Record<string, number | boolean>;
  constructor(args: AdamArgs = {}) {
    const options = readOptions('Adam', args as Record<string, unknown>, {
      learningRate: 0.001,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      amsgrad: false,
    });
    super(options.learningRate as number);
    this.options = options;
  }
  getConfig(): Record<string, unknown> {
    return { ...this.options, learningRate: this.learningRate };
  }
}

export interface AdamWArgs extends AdamArgs {
  /** Decoupled weight decay. Default 0.004 (Keras's). */
  weightDecay?: number;
}

export class AdamW extends Optimizer {
  readonly className = 'AdamW';
  private readonly options: Record<string, number | boolean>;
  constructor(args: AdamWArgs = {}) {
    const options = readOptions('AdamW', args as Record<string, unknown>, {
      learningRate: 0.001,
      weightDecay: 0.004,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      amsgrad: false,
    });
    super(options.learningRate as number);
    this.options = options;
  }
  getConfig(): Record<string, unknown> {
    return { ...this.options, learningRate: this.learningRate };
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
  readonly className = 'SGD';
  private readonly options: Record<string, number | boolean>;
  constructor(args: SGDArgs = {}) {
    const options = readOptions('SGD', args as Record<string, unknown>, { learningRate: 0.01, momentum: 0, nesterov: false });
    if (options.nesterov && options.momentum === 0) {
      throw invalidArgument('SGD', 'a positive momentum when nesterov is true', options.momentum);
    }
    super(options.learningRate as number);
    this.options = options;
  }
  getConfig(): Record<string, unknown> {
    return { ...this.options, learningRate: this.learningRate };
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
  readonly className = 'RMSprop';
  private readonly options: Record<string, number | boolean>;
  constructor(args: RMSpropArgs = {}) {
    const options = readOptions('RMSprop', args as Record<string, unknown>, {
      learningRate: 0.001,
      rho: 0.9,
      momentum: 0,
      epsilon: 1e-7,
      centered: false,
    });
    super(options.learningRate as number);
    this.options = options;
  }
  getConfig(): Record<string, unknown> {
    return { ...this.options, learningRate: this.learningRate };
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
  readonly className = 'Adagrad';
  private readonly options: Record<string, number | boolean>;
  constructor(args: AdagradArgs = {}) {
    const options = readOptions('Adagrad', args as Record<string, unknown>, {
      learningRate: 0.001,
      initialAccumulatorValue: 0.1,
      epsilon: 1e-7,
    });
    super(options.learningRate as number);
    this.options = options;
  }
  getConfig(): Record<string, unknown> {
    return { ...this.options, learningRate: this.learningRate };
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
