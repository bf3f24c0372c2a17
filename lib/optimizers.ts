/**
 * Keras's optimizers with Keras's defaults, by name (`'adam'`) or as instances (`new Adam({learningRate})`).
 * The update rules are libtorch's (torch.optim) where Keras's match them and Keras 3's own otherwise
 * (Nadam, Adamax, Lion). Every optimizer takes Keras's base options: gradient clipping (`clipnorm`,
 * `globalClipnorm`, `clipvalue`) and decoupled `weightDecay`. The learning rate is a number, which can be
 * read and changed between steps (e.g. by a callback between epochs), or a schedule (`optimizers.schedules`)
 * that sets it at every step.
 */
import { invalidArgument, ValueError } from './errors';
import type { NativeModel, OptimizerSpec } from './native/binding';
import { deserialize, LearningRateSchedule, serialize } from './schedules';
import { checkBoolean, checkKnownOptions, checkNumberInRange, checkPlainObject } from './validation';

export * as schedules from './schedules';

/** What every optimizer accepts besides its own hyper-parameters (Keras's base optimizer arguments). */
export interface BaseOptimizerArgs {
  /** A number, or a schedule that sets the rate at each step. */
  learningRate?: number | LearningRateSchedule;
  /** Scales each weight's gradient down to this norm when it is longer. Default none. */
  clipnorm?: number;
  /** Scales all gradients together down to this global norm when it is longer. Default none. */
  globalClipnorm?: number;
  /** Clips each gradient element to [-clipvalue, clipvalue]. Default none. */
  clipvalue?: number;
  /** Decoupled weight decay: each weight loses weightDecay * learning rate of itself before each update. Default none. */
  weightDecay?: number;
}

const BASE_OPTIONS = ['clipnorm', 'globalClipnorm', 'clipvalue', 'weightDecay'] as const;
const CLIPPING_OPTIONS = ['clipnorm', 'globalClipnorm', 'clipvalue'] as const;

type OptionValues = Record<string, number | boolean>;

export abstract class Optimizer {
  /** Keras's class name ('Adam', 'SGD', ...). */
  readonly className: string;
  /** The schedule the learning rate follows, when it was given one. */
  readonly learningRateSchedule?: LearningRateSchedule;
  /** The checked hyper-parameters, Keras's defaults filled in (the learning rate apart). */
  private readonly options: OptionValues;
  private rate: number;
  private bound?: NativeModel;

  /** Checks `args` against the options the subclass knows (with their defaults) and Keras's base options. */
  protected constructor(className: string, args: object, defaults: OptionValues & { learningRate: number }) {
    this.className = className;
    const { learningRate, options } = readOptions(className, args as Record<string, unknown>, defaults);
    this.options = options;
    if (learningRate instanceof LearningRateSchedule) {
      this.learningRateSchedule = learningRate;
      this.rate = learningRate.call(0);
    } else {
      this.rate = learningRate;
    }
  }

  /** The current learning rate (a schedule's value at the current step). */
  get learningRate(): number {
    return this.bound ? this.bound.getLearningRate() : this.rate;
  }
  set learningRate(value: number) {
    if (this.learningRateSchedule) {
      throw new ValueError(
        `${this.className}: the learning rate follows the ${this.learningRateSchedule.className} schedule and cannot be set; ` +
          'give the optimizer a number as learningRate to change it during training',
      );
    }
    checkNumberInRange(this.className, 'learningRate', value, 0, Infinity);
    this.rate = value;
    this.bound?.setLearningRate(value);
  }

  /** The training updates applied since the model was compiled (Keras's `optimizer.iterations`). */
  get iterations(): number {
    return this.bound ? this.bound.getIterations() : 0;
  }

  /** Keras's constructor arguments, for configs and saving; a schedule as its class name and config. */
  getConfig(): Record<string, unknown> {
    return {
      ...this.options,
      learningRate: this.learningRateSchedule ? serialize(this.learningRateSchedule) : this.learningRate,
    };
  }

  /** @internal What the native side builds the optimizer from. */
  toSpec(): OptimizerSpec {
    return {
      ...this.options,
      name: this.className.toLowerCase() as OptimizerSpec['name'],
      learningRate: this.learningRate,
      ...(this.learningRateSchedule ? { schedule: this.learningRateSchedule.toSpec() } : {}),
    };
  }

  /** @internal Attaches to the compiled model whose native optimizer now holds the learning rate. */
  bind(model: NativeModel): void {
    this.bound = model;
  }
}

/**
 * Reads `learningRate` (or Keras's legacy `lr`; a number or a schedule, or its stored config), the listed
 * options and the base options that are set, checking each.
 */
function readOptions(
  className: string,
  options: Record<string, unknown>,
  defaults: OptionValues & { learningRate: number },
): { options: OptionValues; learningRate: number | LearningRateSchedule } {
  checkPlainObject(className, 'options', options);
  checkKnownOptions(className, options, ['learningRate', 'lr', ...Object.keys(defaults), ...BASE_OPTIONS]);
  const values: OptionValues = {};
  for (const [key, fallback] of Object.entries(defaults)) {
    if (key === 'learningRate') continue;
    const value = options[key] ?? fallback;
    values[key] =
      typeof fallback === 'boolean'
        ? checkBoolean(className, key, value)
        : checkNumberInRange(className, key, value, 0, key.startsWith('beta') || key === 'rho' ? 1 : Infinity, {
            maxExclusive: key.startsWith('beta'),
          });
  }
  for (const key of BASE_OPTIONS) {
    if (options[key] === undefined || options[key] === null || Object.hasOwn(defaults, key)) continue;
    values[key] = checkNumberInRange(className, key, options[key], 0, Infinity, { minExclusive: key !== 'weightDecay' });
  }
  const clipping = CLIPPING_OPTIONS.filter((key) => options[key] !== undefined && options[key] !== null);
  if (clipping.length > 1) {
    throw invalidArgument(className, 'only one of clipnorm, globalClipnorm and clipvalue', clipping.join(' and '));
  }
  const rate = options.learningRate ?? options.lr ?? defaults.learningRate;
  if (rate instanceof LearningRateSchedule) return { options: values, learningRate: rate };
  // A schedule's stored config (a model file's compile options).
  if (rate !== null && typeof rate === 'object' && 'className' in rate) {
    return { options: values, learningRate: deserialize(rate as { className: string; config: Record<string, unknown> }) };
  }
  return { options: values, learningRate: checkNumberInRange(className, 'learningRate', rate, 0, Infinity) };
}

export interface AdamArgs extends BaseOptimizerArgs {
  /** Default 0.001. */
  learningRate?: number | LearningRateSchedule;
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
  /** Default 0.004 (Keras's). */
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

export interface SGDArgs extends BaseOptimizerArgs {
  /** Default 0.01. */
  learningRate?: number | LearningRateSchedule;
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

export interface RMSpropArgs extends BaseOptimizerArgs {
  /** Default 0.001. */
  learningRate?: number | LearningRateSchedule;
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

export interface AdagradArgs extends BaseOptimizerArgs {
  /** Default 0.001. */
  learningRate?: number | LearningRateSchedule;
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

export interface NadamArgs extends BaseOptimizerArgs {
  /** Default 0.001. */
  learningRate?: number | LearningRateSchedule;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7. */
  epsilon?: number;
}

/** Adam with Nesterov momentum, with Keras's momentum schedule beta1 * (1 - 0.5 * 0.96^step) (not PyTorch's NAdam's). */
export class Nadam extends Optimizer {
  constructor(args: NadamArgs = {}) {
    super('Nadam', args, { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  }
}

export interface AdamaxArgs extends NadamArgs {}

/** Adam with the infinity norm of the gradients in place of their second moment (Keras's formula). */
export class Adamax extends Optimizer {
  constructor(args: AdamaxArgs = {}) {
    super('Adamax', args, { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  }
}

export interface LionArgs extends BaseOptimizerArgs {
  /** Default 0.001. */
  learningRate?: number | LearningRateSchedule;
  /** How much of the momentum the update's sign is taken with. Default 0.9; must be above 0. */
  beta1?: number;
  /** The momentum's decay. Default 0.99. */
  beta2?: number;
}

/** Lion: each weight moves by the learning rate against the sign of its interpolated momentum. */
export class Lion extends Optimizer {
  constructor(args: LionArgs = {}) {
    super('Lion', args, { learningRate: 0.001, beta1: 0.9, beta2: 0.99 });
    // Keras's check: with beta1 0 the update degenerates to signSGD.
    checkNumberInRange('Lion', 'beta1', this.getConfig().beta1, 0, 1, { minExclusive: true, maxExclusive: true });
  }
}

export type OptimizerIdentifier = 'adam' | 'adamw' | 'sgd' | 'rmsprop' | 'adagrad' | 'nadam' | 'adamax' | 'lion' | Optimizer;

const BY_NAME: Record<string, () => Optimizer> = {
  adam: () => new Adam(),
  adamw: () => new AdamW(),
  sgd: () => new SGD(),
  rmsprop: () => new RMSprop(),
  adagrad: () => new Adagrad(),
  nadam: () => new Nadam(),
  adamax: () => new Adamax(),
  lion: () => new Lion(),
};
/** Keras's `optimizers.get`: a name (any case) or an instance. */
export function getOptimizer(identifier: unknown): Optimizer {
  if (identifier instanceof Optimizer) return identifier;
  if (typeof identifier === 'string' && BY_NAME[identifier.toLowerCase()]) return BY_NAME[identifier.toLowerCase()]();
  throw invalidArgument('compile', `optimizer to be one of ${Object.keys(BY_NAME).map((n) => `'${n}'`).join(', ')} or an Optimizer instance`, identifier);
}

const BY_CLASS_NAME: Record<string, new (config: never) => Optimizer> = { Adam, AdamW, SGD, RMSprop, Adagrad, Nadam, Adamax, Lion };

/** Recreates an optimizer from the className and config a model file stores. */
export function getOptimizerFromConfig(stored: { className: string; config: Record<string, unknown> }): Optimizer {
  const constructor = stored && Object.hasOwn(BY_CLASS_NAME, stored.className) ? BY_CLASS_NAME[stored.className] : undefined;
  if (!constructor) throw invalidArgument('optimizer config', `className to be one of ${Object.keys(BY_CLASS_NAME).join(', ')}`, stored?.className);
  return new constructor(stored.config as never);
}
