/**
 * Keras's metrics, by name or as objects with their options (`new metrics.AUC({ curve: 'PR' })`). They
 * stream over an epoch as Keras's do: native/metrics.cc keeps each metric's running totals (weighted
 * sums, confusion counts) on the model's device, so an epoch's AUC is the AUC of all its predictions,
 * not a mean of batch values. Each class is one row of METRIC_CLASSES.
 */
import { described, invalidArgument } from './errors';
import { Loss, readOptions } from './losses';
import type { MetricSpec } from './native/binding';
import { checkBoolean, checkFiniteNumber, checkNumberInRange, checkOneOf, checkPositiveInteger } from './validation';

type Options = Record<string, number | boolean | string | undefined>;

interface MetricClassInfo {
  /** What native/metrics.cc computes. */
  kind: string;
  /** Keras's default name: the key of the metric in logs. */
  defaultName: string;
  defaults: Options;
  /** Names of Keras's metric functions (and tfjs's camelCase ones) that mean this metric. */
  aliases: string[];
}

const CROSSENTROPY = { fromLogits: false, labelSmoothing: 0 };

const METRIC_CLASSES: Record<string, MetricClassInfo> = {
  BinaryAccuracy: { kind: 'binary_accuracy', defaultName: 'binary_accuracy', defaults: { threshold: 0.5 }, aliases: ['binaryAccuracy'] },
  CategoricalAccuracy: { kind: 'categorical_accuracy', defaultName: 'categorical_accuracy', defaults: {}, aliases: ['categoricalAccuracy'] },
  SparseCategoricalAccuracy: {
    kind: 'sparse_categorical_accuracy',
    defaultName: 'sparse_categorical_accuracy',
    defaults: {},
    aliases: ['sparseCategoricalAccuracy'],
  },
  TopKCategoricalAccuracy: {
    kind: 'top_k_categorical_accuracy',
    defaultName: 'top_k_categorical_accuracy',
    defaults: { k: 5 },
    aliases: ['topKCategoricalAccuracy', 'topk'],
  },
  SparseTopKCategoricalAccuracy: {
    kind: 'sparse_top_k_categorical_accuracy',
    defaultName: 'sparse_top_k_categorical_accuracy',
    defaults: { k: 5 },
    aliases: ['sparseTopKCategoricalAccuracy'],
  },
  Precision: { kind: 'precision', defaultName: 'precision', defaults: { thresholds: 0.5, classId: undefined }, aliases: [] },
  Recall: { kind: 'recall', defaultName: 'recall', defaults: { thresholds: 0.5, classId: undefined }, aliases: [] },
  AUC: {
    kind: 'auc',
    defaultName: 'auc',
    defaults: { numThresholds: 200, curve: 'ROC', summationMethod: 'interpolation', fromLogits: false },
    aliases: [],
  },
  F1Score: { kind: 'f1_score', defaultName: 'f1_score', defaults: { average: 'macro', threshold: undefined }, aliases: [] },
  FBetaScore: { kind: 'f1_score', defaultName: 'fbeta_score', defaults: { average: 'macro', beta: 1, threshold: undefined }, aliases: [] },
  MeanIoU: {
    kind: 'mean_iou',
    defaultName: 'mean_io_u',
    defaults: { numClasses: undefined, sparseYTrue: true, sparseYPred: true },
    aliases: ['mean_iou'],
  },
  MeanSquaredError: { kind: 'mse', defaultName: 'mean_squared_error', defaults: {}, aliases: ['mse', 'MSE', 'meanSquaredError'] },
  MeanAbsoluteError: { kind: 'mae', defaultName: 'mean_absolute_error', defaults: {}, aliases: ['mae', 'MAE', 'meanAbsoluteError'] },
  MeanAbsolutePercentageError: {
    kind: 'mape',
    defaultName: 'mean_absolute_percentage_error',
    defaults: {},
    aliases: ['mape', 'MAPE', 'meanAbsolutePercentageError'],
  },
  MeanSquaredLogarithmicError: {
    kind: 'msle',
    defaultName: 'mean_squared_logarithmic_error',
    defaults: {},
    aliases: ['msle', 'MSLE', 'meanSquaredLogarithmicError'],
  },
  BinaryCrossentropy: { kind: 'binary_crossentropy', defaultName: 'binary_crossentropy', defaults: CROSSENTROPY, aliases: ['bce', 'BCE', 'binaryCrossentropy'] },
  CategoricalCrossentropy: {
    kind: 'categorical_crossentropy',
    defaultName: 'categorical_crossentropy',
    defaults: CROSSENTROPY,
    aliases: ['categoricalCrossentropy'],
  },
  SparseCategoricalCrossentropy: {
    kind: 'sparse_categorical_crossentropy',
    defaultName: 'sparse_categorical_crossentropy',
    defaults: { fromLogits: false },
    aliases: ['sparseCategoricalCrossentropy'],
  },
  KLDivergence: { kind: 'kl_divergence', defaultName: 'kl_divergence', defaults: {}, aliases: ['kld', 'KLD', 'kullback_leibler_divergence'] },
  Poisson: { kind: 'poisson', defaultName: 'poisson', defaults: {}, aliases: [] },
  Hinge: { kind: 'hinge', defaultName: 'hinge', defaults: {}, aliases: [] },
  SquaredHinge: { kind: 'squared_hinge', defaultName: 'squared_hinge', defaults: {}, aliases: [] },
  CategoricalHinge: { kind: 'categorical_hinge', defaultName: 'categorical_hinge', defaults: {}, aliases: [] },
  LogCoshError: { kind: 'log_cosh', defaultName: 'log_cosh_error', defaults: {}, aliases: ['logcosh', 'log_cosh'] },
  CosineSimilarity: { kind: 'cosine_similarity', defaultName: 'cosine_similarity', defaults: {}, aliases: ['cosineProximity'] },
};

/** Metric options beyond the losses' (OPTION_CHECKS in losses.ts has those). */
const METRIC_OPTION_CHECKS: Record<string, (context: string, value: unknown) => unknown> = {
  threshold: (context, value) => checkFiniteNumber(context, 'threshold', value),
  k: (context, value) => checkPositiveInteger(context, 'k', value),
  numThresholds: (context, value) => {
    if (checkPositiveInteger(context, 'numThresholds', value) < 2) throw invalidArgument(context, 'numThresholds to be at least 2', value);
    return value;
  },
  curve: (context, value) => checkOneOf(context, 'curve', value, ['ROC', 'PR']),
  summationMethod: (context, value) => checkOneOf(context, 'summationMethod', value, ['interpolation', 'minoring', 'majoring']),
  average: (context, value) => checkOneOf(context, 'average', value, ['micro', 'macro', 'weighted']),
  beta: (context, value) => checkNumberInRange(context, 'beta', value, 0, Infinity, { minExclusive: true }),
  numClasses: (context, value) => {
    if (checkPositiveInteger(context, 'numClasses', value) < 2) throw invalidArgument(context, 'numClasses to be at least 2', value);
    return value;
  },
  classId: (context, value) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw invalidArgument(context, 'classId to be a non-negative integer', value);
    return value;
  },
  sparseYTrue: (context, value) => checkBoolean(context, 'sparseYTrue', value),
  sparseYPred: (context, value) => checkBoolean(context, 'sparseYPred', value),
  // Keras takes a list of thresholds and reports one value per threshold; logs hold one number per metric.
  thresholds: (context, value) => {
    const single = Array.isArray(value) && value.length === 1 ? value[0] : value;
    if (typeof single !== 'number') throw invalidArgument(context, 'thresholds to be one number in [0, 1] (one value per metric in the logs)', value);
    return checkNumberInRange(context, 'thresholds', single, 0, 1);
  },
};

/** A Keras metric with its options; compile takes them (or their names) in `metrics`. */
export abstract class Metric {
  /** The metric's key in logs and in evaluate's returnDict. */
  readonly name: string;
  readonly className: string;
  protected readonly options: Options;

  protected constructor(className: string, args: ({ name?: string } & object) | undefined) {
    const info = METRIC_CLASSES[className];
    this.className = className;
    const { name, ...rest } = (args ?? {}) as { name?: unknown };
    if (name !== undefined && (typeof name !== 'string' || name.length === 0)) throw invalidArgument(className, 'name to be a non-empty string', name);
    this.name = (name as string | undefined) ?? info.defaultName;
    const options = readOptions(className, rest, info.defaults);
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined && METRIC_OPTION_CHECKS[key]) options[key] = METRIC_OPTION_CHECKS[key](className, value) as never;
    }
    if (className === 'MeanIoU' && options.numClasses === undefined) {
      throw invalidArgument(className, 'numClasses (the number of classes)', undefined);
    }
    this.options = options;
  }

  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = { name: this.name };
    for (const [key, value] of Object.entries(this.options)) if (value !== undefined) config[key] = value;
    return config;
  }

  /** @internal What native/metrics.cc reads, for an output trained with `loss` that has `outputUnits` units. */
  toSpec({ outputUnits }: { loss: Loss; outputUnits: number }): MetricSpec {
    const { classId, numClasses, sparseYPred } = this.options;
    if (typeof classId === 'number' && classId >= outputUnits) {
      throw invalidArgument(this.className, `classId below the output's ${outputUnits} units`, classId);
    }
    if (sparseYPred === false && numClasses !== outputUnits) {
      throw invalidArgument(this.className, `numClasses equal to the output's ${outputUnits} units (one score per class)`, numClasses);
    }
    const spec: MetricSpec = { kind: METRIC_CLASSES[this.className].kind };
    for (const [key, value] of Object.entries(this.options)) {
      if (value !== undefined) spec[key === 'thresholds' ? 'threshold' : key] = value;
    }
    return spec;
  }
}

export class BinaryAccuracy extends Metric {
  /** `threshold`: predictions above it count as 1. Default 0.5. */
  constructor(args?: { threshold?: number; name?: string }) {
    super('BinaryAccuracy', args);
  }
}
export class CategoricalAccuracy extends Metric {
  constructor(args?: { name?: string }) {
    super('CategoricalAccuracy', args);
  }
}
export class SparseCategoricalAccuracy extends Metric {
  constructor(args?: { name?: string }) {
    super('SparseCategoricalAccuracy', args);
  }
}
export class TopKCategoricalAccuracy extends Metric {
  /** `k`: the true class among the k highest scores counts as right. Default 5. */
  constructor(args?: { k?: number; name?: string }) {
    super('TopKCategoricalAccuracy', args);
  }
}
export class SparseTopKCategoricalAccuracy extends Metric {
  constructor(args?: { k?: number; name?: string }) {
    super('SparseTopKCategoricalAccuracy', args);
  }
}
export interface PrecisionRecallArgs {
  /** Predictions above it count as positive. Default 0.5. */
  thresholds?: number | [number];
  /** Measures this column (class) of the predictions only. Default: all of them. */
  classId?: number;
  name?: string;
}
export class Precision extends Metric {
  constructor(args?: PrecisionRecallArgs) {
    super('Precision', args);
  }
}
export class Recall extends Metric {
  constructor(args?: PrecisionRecallArgs) {
    super('Recall', args);
  }
}
export interface AUCArgs {
  /** Thresholds the curve is sampled at. Default 200. */
  numThresholds?: number;
  /** 'ROC' (default) or 'PR' (precision-recall). */
  curve?: 'ROC' | 'PR';
  /** 'interpolation' (default), 'minoring' or 'majoring': the Riemann sum's heights. */
  summationMethod?: 'interpolation' | 'minoring' | 'majoring';
  /** The predictions are logits (a sigmoid is applied first). Default false. */
  fromLogits?: boolean;
  name?: string;
}
export class AUC extends Metric {
  constructor(args?: AUCArgs) {
    super('AUC', args);
  }
}
export interface FBetaScoreArgs {
  /**
   * 'macro' (default here: logs hold one number; Keras's default reports one value per class), 'micro'
   * (over all classes' counts) or 'weighted' (by each class's support).
   */
  average?: 'micro' | 'macro' | 'weighted';
  /** Predictions above it count as positive; default: each row's highest score. */
  threshold?: number;
  name?: string;
}
export class F1Score extends Metric {
  constructor(args?: FBetaScoreArgs) {
    super('F1Score', args);
  }
}
export class FBetaScore extends Metric {
  /** `beta`: recall weighs beta times as much as precision. Default 1. */
  constructor(args?: FBetaScoreArgs & { beta?: number }) {
    super('FBetaScore', args);
  }
}
export interface MeanIoUArgs {
  numClasses: number;
  /** Labels are class indices (default) rather than one score per class. */
  sparseYTrue?: boolean;
  /** Predictions are class indices (default, as Keras) rather than one score per class (argmax taken). */
  sparseYPred?: boolean;
  name?: string;
}
export class MeanIoU extends Metric {
  constructor(args: MeanIoUArgs) {
    super('MeanIoU', args);
  }
}
export class MeanSquaredError extends Metric {
  constructor(args?: { name?: string }) {
    super('MeanSquaredError', args);
  }
}
export class MeanAbsoluteError extends Metric {
  constructor(args?: { name?: string }) {
    super('MeanAbsoluteError', args);
  }
}
export class MeanAbsolutePercentageError extends Metric {
  constructor(args?: { name?: string }) {
    super('MeanAbsolutePercentageError', args);
  }
}
export class MeanSquaredLogarithmicError extends Metric {
  constructor(args?: { name?: string }) {
    super('MeanSquaredLogarithmicError', args);
  }
}
export class BinaryCrossentropy extends Metric {
  constructor(args?: { fromLogits?: boolean; labelSmoothing?: number; name?: string }) {
    super('BinaryCrossentropy', args);
  }
}
export class CategoricalCrossentropy extends Metric {
  constructor(args?: { fromLogits?: boolean; labelSmoothing?: number; name?: string }) {
    super('CategoricalCrossentropy', args);
  }
}
export class SparseCategoricalCrossentropy extends Metric {
  constructor(args?: { fromLogits?: boolean; name?: string }) {
    super('SparseCategoricalCrossentropy', args);
  }
}
export class KLDivergence extends Metric {
  constructor(args?: { name?: string }) {
    super('KLDivergence', args);
  }
}
export class Poisson extends Metric {
  constructor(args?: { name?: string }) {
    super('Poisson', args);
  }
}
export class Hinge extends Metric {
  constructor(args?: { name?: string }) {
    super('Hinge', args);
  }
}
export class SquaredHinge extends Metric {
  constructor(args?: { name?: string }) {
    super('SquaredHinge', args);
  }
}
export class CategoricalHinge extends Metric {
  constructor(args?: { name?: string }) {
    super('CategoricalHinge', args);
  }
}
export class LogCoshError extends Metric {
  constructor(args?: { name?: string }) {
    super('LogCoshError', args);
  }
}
/** The cosine similarity of labels and predictions along the last axis (1: the same direction). */
export class CosineSimilarity extends Metric {
  constructor(args?: { name?: string }) {
    super('CosineSimilarity', args);
  }
}

/**
 * Keras's 'accuracy' (or 'acc'): the accuracy that fits the output's loss, and for other losses binary
 * accuracy when the output has one unit, categorical otherwise. Resolved once the output's shape is known.
 */
class LossMatchedAccuracy extends Metric {
  constructor(name: string) {
    super('CategoricalAccuracy', { name });
  }

  override toSpec({ loss, outputUnits }: { loss: Loss; outputUnits: number }): MetricSpec {
    if (loss.name === 'binary_crossentropy' || loss.name === 'binary_focal_crossentropy') {
      // Logits cross zero where probabilities cross 1/2.
      return { kind: 'binary_accuracy', threshold: loss.fromLogits ? 0 : 0.5 };
    }
    if (loss.name === 'categorical_crossentropy') return { kind: 'categorical_accuracy' };
    if (loss.name === 'sparse_categorical_crossentropy') return { kind: 'sparse_categorical_accuracy' };
    return outputUnits === 1 ? { kind: 'binary_accuracy', threshold: 0.5 } : { kind: 'categorical_accuracy' };
  }
}

const CLASSES: Record<string, new (args: never) => Metric> = {
  BinaryAccuracy,
  CategoricalAccuracy,
  SparseCategoricalAccuracy,
  TopKCategoricalAccuracy,
  SparseTopKCategoricalAccuracy,
  Precision,
  Recall,
  AUC,
  F1Score,
  FBetaScore,
  MeanIoU,
  MeanSquaredError,
  MeanAbsoluteError,
  MeanAbsolutePercentageError,
  MeanSquaredLogarithmicError,
  BinaryCrossentropy,
  CategoricalCrossentropy,
  SparseCategoricalCrossentropy,
  KLDivergence,
  Poisson,
  Hinge,
  SquaredHinge,
  CategoricalHinge,
  LogCoshError,
  CosineSimilarity,
};

/** Every name compile accepts -> the class: class names, their snake_case forms, the function names. */
const BY_NAME: Record<string, string> = {};
for (const [className, info] of Object.entries(METRIC_CLASSES)) {
  for (const name of [className, info.defaultName, info.kind, ...info.aliases]) {
    if (!Object.hasOwn(BY_NAME, name)) BY_NAME[name] = className;
  }
}
// Keras's function names, shared with losses of the same meaning.
BY_NAME.mean_squared_error = 'MeanSquaredError';

/** A metric as a model file stores it: `{ className, config }`. */
function isSerializedMetric(value: unknown): value is { className: string; config: Record<string, unknown> } {
  if (typeof value !== 'object' || value === null) return false;
  const { className, config } = value as Record<string, unknown>;
  return typeof className === 'string' && Object.hasOwn(CLASSES, className) && typeof config === 'object' && config !== null;
}

/**
 * Keras's `metrics.get`: a name, a Metric, or a stored `{ className, config }`. A metric named by its
 * class ('AUC') is logged under the class's default name ('auc'), any other name ('mse', 'auc',
 * 'binary_accuracy') under itself, as Keras logs them.
 */
export function getMetric(identifier: unknown, context = 'compile'): Metric {
  if (identifier instanceof Metric) return identifier;
  if (identifier === 'accuracy' || identifier === 'acc') return new LossMatchedAccuracy(identifier);
  if (typeof identifier === 'string' && Object.hasOwn(BY_NAME, identifier)) {
    const isClassName = Object.hasOwn(CLASSES, identifier);
    return new CLASSES[BY_NAME[identifier]]((isClassName ? {} : { name: identifier }) as never);
  }
  if (isSerializedMetric(identifier)) return new CLASSES[identifier.className](identifier.config as never);
  if (typeof identifier === 'string') {
    throw invalidArgument(context, `metrics to hold 'accuracy', a Keras metric name (${Object.keys(CLASSES).join(', ')}, or their snake_case names) or a Metric object`, identifier);
  }
  throw invalidArgument(context, 'metrics to hold metric names or Metric objects', typeof identifier === 'object' ? described(`a ${(identifier as object)?.constructor?.name ?? 'value'}`) : identifier);
}

/** @internal A metric as compile options and model files keep it: names stay names, objects become `{ className, config }`. */
export function serializeMetric(metric: unknown): unknown {
  if (metric instanceof LossMatchedAccuracy) return metric.name;
  return metric instanceof Metric ? { className: metric.className, config: metric.getConfig() } : metric;
}
