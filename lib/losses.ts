/** Keras's loss and metric identifiers, resolved to what the native side computes (native/losses.cc). */
import { invalidArgument } from './errors';

export const LOSSES = [
  'binary_crossentropy',
  'categorical_crossentropy',
  'sparse_categorical_crossentropy',
  'mse',
  'mae',
] as const;
export type LossName = (typeof LOSSES)[number];

const LOSS_ALIASES: Record<string, LossName> = {
  binaryCrossentropy: 'binary_crossentropy',
  categoricalCrossentropy: 'categorical_crossentropy',
  sparseCategoricalCrossentropy: 'sparse_categorical_crossentropy',
  mean_squared_error: 'mse',
  meanSquaredError: 'mse',
  mean_absolute_error: 'mae',
  meanAbsoluteError: 'mae',
};

export function getLoss(identifier: unknown): LossName {
  if (typeof identifier === 'string') {
    if ((LOSSES as readonly string[]).includes(identifier)) return identifier as LossName;
    if (LOSS_ALIASES[identifier]) return LOSS_ALIASES[identifier];
  }
  throw invalidArgument('compile', `loss to be one of ${LOSSES.map((l) => `'${l}'`).join(', ')}`, identifier);
}

/** The activation a loss folds in, computing on logits for numerical stability, as Keras and PyTorch do. */
export function foldableActivation(loss: LossName): string | undefined {
  if (loss === 'binary_crossentropy') return 'sigmoid';
  if (loss === 'categorical_crossentropy' || loss === 'sparse_categorical_crossentropy') return 'softmax';
  return undefined;
}

export type NativeMetric = 'binary_accuracy' | 'categorical_accuracy' | 'sparse_categorical_accuracy' | 'mse' | 'mae';

const METRIC_ALIASES: Record<string, NativeMetric> = {
  binary_accuracy: 'binary_accuracy',
  binaryAccuracy: 'binary_accuracy',
  categorical_accuracy: 'categorical_accuracy',
  categoricalAccuracy: 'categorical_accuracy',
  sparse_categorical_accuracy: 'sparse_categorical_accuracy',
  sparseCategoricalAccuracy: 'sparse_categorical_accuracy',
  mse: 'mse',
  mean_squared_error: 'mse',
  meanSquaredError: 'mse',
  mae: 'mae',
  mean_absolute_error: 'mae',
  meanAbsoluteError: 'mae',
};

/**
 * Resolves a metric as Keras does: 'accuracy' (or 'acc') becomes the accuracy that fits the loss, and
 * for other losses binary accuracy when the model has one output unit, categorical otherwise.
 */
export function getMetric(identifier: unknown, loss: LossName, outputUnits: number): NativeMetric {
  if (identifier === 'accuracy' || identifier === 'acc') {
    if (loss === 'binary_crossentropy') return 'binary_accuracy';
    if (loss === 'categorical_crossentropy') return 'categorical_accuracy';
    if (loss === 'sparse_categorical_crossentropy') return 'sparse_categorical_accuracy';
    return outputUnits === 1 ? 'binary_accuracy' : 'categorical_accuracy';
  }
  if (typeof identifier === 'string' && METRIC_ALIASES[identifier]) return METRIC_ALIASES[identifier];
  throw invalidArgument(
    'compile',
    `metrics to hold 'accuracy', 'binary_accuracy', 'categorical_accuracy', 'sparse_categorical_accuracy', 'mse' or 'mae'`,
    identifier,
  );
}
