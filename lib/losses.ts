/**
 * Keras's losses, by name or as objects with their options (`new losses.Huber({ delta: 2 })`), resolved
 * to what native/losses.cc computes. Each class is one row of LOSS_CLASSES: its Keras name, its options
 * with their defaults, and the names Keras accepts for it in `compile`.
 */
import { invalidArgument } from './errors';
import type { LossSpec } from './native/binding';
import { checkBoolean, checkKnownOptions, checkNumberInRange, checkPlainObject } from './validation';

export const LOSSES = [
  'binary_crossentropy',
  'categorical_crossentropy',
  'sparse_categorical_crossentropy',
  'binary_focal_crossentropy',
  'mse',
  'mae',
  'mape',
  'msle',
  'huber',
  'log_cosh',
  'hinge',
  'squared_hinge',
  'categorical_hinge',
  'kl_divergence',
  'poisson',
  'cosine_similarity',
] as const;
export type LossName = (typeof LOSSES)[number];

/** @internal How each option of a loss or metric is checked (the option's name is its key). */
export const OPTION_CHECKS: Record<string, (context: string, name: string, value: unknown) => unknown> = {
  fromLogits: checkBoolean,
  applyClassBalancing: checkBoolean,
  labelSmoothing: (context, name, value) => checkNumberInRange(context, name, value, 0, 1),
  delta: (context, name, value) => checkNumberInRange(context, name, value, 0, Infinity, { minExclusive: true }),
  gamma: (context, name, value) => checkNumberInRange(context, name, value, 0, Infinity),
  alpha: (context, name, value) => checkNumberInRange(context, name, value, 0, 1),
};

/** @internal Validated options: the defaults, overridden by the given ones, each checked by OPTION_CHECKS. */
export function readOptions<T extends Record<string, unknown>>(context: string, args: unknown, defaults: T): T {
  const given = checkPlainObject(context, 'options', args ?? {});
  checkKnownOptions(context, given, Object.keys(defaults));
  const options: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined) continue;
    options[key] = OPTION_CHECKS[key] ? OPTION_CHECKS[key](context, key, value) : value;
  }
  return options as T;
}

interface LossClassInfo {
  name: LossName;
  defaults: Record<string, number | boolean>;
  /** Other names compile accepts for it: Keras's long and short names, tfjs's camelCase ones. */
  aliases: string[];
}

const CROSSENTROPY = { fromLogits: false, labelSmoothing: 0 };

const LOSS_CLASSES: Record<string, LossClassInfo> = {
  BinaryCrossentropy: { name: 'binary_crossentropy', defaults: CROSSENTROPY, aliases: ['bce', 'BCE', 'binaryCrossentropy'] },
  CategoricalCrossentropy: { name: 'categorical_crossentropy', defaults: CROSSENTROPY, aliases: ['categoricalCrossentropy'] },
  SparseCategoricalCrossentropy: {
    name: 'sparse_categorical_crossentropy',
    defaults: { fromLogits: false },
    aliases: ['sparseCategoricalCrossentropy'],
  },
  BinaryFocalCrossentropy: {
    name: 'binary_focal_crossentropy',
    defaults: { applyClassBalancing: false, alpha: 0.25, gamma: 2, fromLogits: false, labelSmoothing: 0 },
    aliases: ['binaryFocalCrossentropy'],
  },
  MeanSquaredError: { name: 'mse', defaults: {}, aliases: ['mean_squared_error', 'meanSquaredError', 'MSE'] },
  MeanAbsoluteError: { name: 'mae', defaults: {}, aliases: ['mean_absolute_error', 'meanAbsoluteError', 'MAE'] },
  MeanAbsolutePercentageError: {
    name: 'mape',
    defaults: {},
    aliases: ['mean_absolute_percentage_error', 'meanAbsolutePercentageError', 'MAPE'],
  },
  MeanSquaredLogarithmicError: {
    name: 'msle',
    defaults: {},
    aliases: ['mean_squared_logarithmic_error', 'meanSquaredLogarithmicError', 'MSLE'],
  },
  Huber: { name: 'huber', defaults: { delta: 1 }, aliases: ['huberLoss'] },
  LogCosh: { name: 'log_cosh', defaults: {}, aliases: ['logcosh', 'logCosh'] },
  Hinge: { name: 'hinge', defaults: {}, aliases: [] },
  SquaredHinge: { name: 'squared_hinge', defaults: {}, aliases: ['squaredHinge'] },
  CategoricalHinge: { name: 'categorical_hinge', defaults: {}, aliases: ['categoricalHinge'] },
  KLDivergence: { name: 'kl_divergence', defaults: {}, aliases: ['kld', 'KLD', 'kullback_leibler_divergence', 'klDivergence'] },
  Poisson: { name: 'poisson', defaults: {}, aliases: [] },
  CosineSimilarity: { name: 'cosine_similarity', defaults: {}, aliases: ['cosineSimilarity', 'cosineProximity'] },
};

/** A Keras loss with its options; compile takes one (or its name) per output. */
export abstract class Loss {
  /** Keras's name of the loss function: 'binary_crossentropy', 'huber', ... */
  readonly name: LossName;
  readonly className: string;
  protected readonly options: Record<string, number | boolean>;

  protected constructor(className: string, args: object | undefined) {
    const info = LOSS_CLASSES[className];
    this.className = className;
    this.name = info.name;
    this.options = readOptions(className, args, info.defaults);
  }

  /** Whether the loss reads the model's output as logits (its `fromLogits` option). */
  get fromLogits(): boolean {
    return this.options.fromLogits === true;
  }

  getConfig(): Record<string, number | boolean> {
    return { ...this.options };
  }

  /** @internal What native/losses.cc reads. */
  toSpec(): LossSpec {
    return { name: this.name, ...this.options };
  }
}

export interface CrossentropyArgs {
  /** The model's output holds logits, not probabilities. Default false. */
  fromLogits?: boolean;
  /** Pulls the labels towards 1/2 (binary) or 1/classes (categorical) by this fraction. Default 0. */
  labelSmoothing?: number;
}
export class BinaryCrossentropy extends Loss {
  constructor(args?: CrossentropyArgs) {
    super('BinaryCrossentropy', args);
  }
}
export class CategoricalCrossentropy extends Loss {
  constructor(args?: CrossentropyArgs) {
    super('CategoricalCrossentropy', args);
  }
}
export class SparseCategoricalCrossentropy extends Loss {
  constructor(args?: { fromLogits?: boolean }) {
    super('SparseCategoricalCrossentropy', args);
  }
}
export interface BinaryFocalCrossentropyArgs extends CrossentropyArgs {
  /** Weighs positives by alpha and negatives by 1 - alpha. Default false. */
  applyClassBalancing?: boolean;
  /** Default 0.25. */
  alpha?: number;
  /** The focusing exponent of (1 - p_t). Default 2. */
  gamma?: number;
}
export class BinaryFocalCrossentropy extends Loss {
  constructor(args?: BinaryFocalCrossentropyArgs) {
    super('BinaryFocalCrossentropy', args);
  }
}
export class MeanSquaredError extends Loss {
  constructor() {
    super('MeanSquaredError', undefined);
  }
}
export class MeanAbsoluteError extends Loss {
  constructor() {
    super('MeanAbsoluteError', undefined);
  }
}
export class MeanAbsolutePercentageError extends Loss {
  constructor() {
    super('MeanAbsolutePercentageError', undefined);
  }
}
export class MeanSquaredLogarithmicError extends Loss {
  constructor() {
    super('MeanSquaredLogarithmicError', undefined);
  }
}
export class Huber extends Loss {
  /** `delta`: where the loss turns from quadratic to linear. Default 1. */
  constructor(args?: { delta?: number }) {
    super('Huber', args);
  }
}
export class LogCosh extends Loss {
  constructor() {
    super('LogCosh', undefined);
  }
}
/** Labels -1 or 1 (0/1 labels are converted, as Keras does). */
export class Hinge extends Loss {
  constructor() {
    super('Hinge', undefined);
  }
}
export class SquaredHinge extends Loss {
  constructor() {
    super('SquaredHinge', undefined);
  }
}
export class CategoricalHinge extends Loss {
  constructor() {
    super('CategoricalHinge', undefined);
  }
}
export class KLDivergence extends Loss {
  constructor() {
    super('KLDivergence', undefined);
  }
}
export class Poisson extends Loss {
  constructor() {
    super('Poisson', undefined);
  }
}
/** The negative cosine similarity along the last axis (-1 when the vectors point the same way). */
export class CosineSimilarity extends Loss {
  constructor() {
    super('CosineSimilarity', undefined);
  }
}

const CLASSES: Record<string, new (args?: never) => Loss> = {
  BinaryCrossentropy,
  CategoricalCrossentropy,
  SparseCategoricalCrossentropy,
  BinaryFocalCrossentropy,
  MeanSquaredError,
  MeanAbsoluteError,
  MeanAbsolutePercentageError,
  MeanSquaredLogarithmicError,
  Huber,
  LogCosh,
  Hinge,
  SquaredHinge,
  CategoricalHinge,
  KLDivergence,
  Poisson,
  CosineSimilarity,
};

/** Every name compile accepts -> the class. */
const BY_NAME: Record<string, string> = {};
for (const [className, info] of Object.entries(LOSS_CLASSES)) {
  for (const name of [className, info.name, ...info.aliases]) BY_NAME[name] = className;
}

/** A loss as a model file stores it: `{ className, config }`. */
export interface SerializedLoss {
  className: string;
  config: Record<string, unknown>;
}

/** @internal */
export function isSerializedLoss(value: unknown): value is SerializedLoss {
  if (typeof value !== 'object' || value === null) return false;
  const { className, config } = value as Record<string, unknown>;
  return typeof className === 'string' && Object.hasOwn(CLASSES, className) && typeof config === 'object' && config !== null;
}

/** Keras's `losses.get`: a name, a Loss, or a stored `{ className, config }`. */
export function getLoss(identifier: unknown): Loss {
  if (identifier instanceof Loss) return identifier;
  if (typeof identifier === 'string' && Object.hasOwn(BY_NAME, identifier)) return new CLASSES[BY_NAME[identifier]]();
  if (isSerializedLoss(identifier)) return new CLASSES[identifier.className](identifier.config as never);
  throw invalidArgument('compile', `loss to be one of ${LOSSES.map((l) => `'${l}'`).join(', ')} or a Loss object`, identifier);
}

/** @internal A loss as compile options and model files keep it: names stay names, objects become `{ className, config }`. */
export function serializeLoss(loss: unknown): unknown {
  return loss instanceof Loss ? { className: loss.className, config: loss.getConfig() } : loss;
}

/**
 * @internal The activation a loss folds in, computing on logits for numerical stability, as Keras and PyTorch do;
 * none when the loss already reads logits.
 */
export function foldableActivation(loss: Loss): string | undefined {
  if (loss.fromLogits) return undefined;
  if (loss.name === 'binary_crossentropy' || loss.name === 'binary_focal_crossentropy') return 'sigmoid';
  if (loss.name === 'categorical_crossentropy' || loss.name === 'sparse_categorical_crossentropy') return 'softmax';
  return undefined;
}
