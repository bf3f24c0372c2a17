/**
 * What fit, evaluate and predict accept as data, turned into one Tensor per model input (output) in the
 * model's order: a Tensor or nested array for a one-input model, an array of them in the order of the
 * model's inputs, or an object keyed by the inputs' names (Keras's dicts).
 */
import type { BatchData } from '../data';
import { described, invalidArgument, ValueError } from '../errors';
import { Tensor, tensor, TensorLike } from '../tensor';
import { formatShape } from '../validation';

/** Data for a model's inputs or outputs, as users give it. */
export type DataLike = TensorLike | Tensor | (TensorLike | Tensor)[] | Record<string, TensorLike | Tensor> | BatchData;

function isTensorValue(value: unknown): boolean {
  return value instanceof Tensor || ArrayBuffer.isView(value);
}

/** A disposed Tensor given as data is the caller's mistake; name it before libtorch is asked to read it. */
export function checkAlive(operation: string, argument: string, value: unknown): void {
  if (value instanceof Tensor && value.isDisposed) {
    throw invalidArgument(operation, `${argument} to be a live Tensor`, described('a disposed Tensor'));
  }
}

function toTensor(operation: string, argument: string, value: unknown): Tensor {
  checkAlive(operation, argument, value);
  try {
    return value instanceof Tensor ? value : tensor(value as TensorLike);
  } catch (error) {
    throw new ValueError(`${operation}: ${argument}: ${(error as Error).message}`);
  }
}

/**
 * One Tensor per name, in `names`' order. `argument` is 'x' or 'y'; `kind` says what the names are
 * ('input' or 'output') for messages.
 */
export function toTensorList(operation: string, argument: string, value: unknown, names: readonly string[], kind: string): Tensor[] {
  const several = names.length > 1;
  const list = (items: unknown[]) => items.map((item, i) => toTensor(operation, several ? `${argument}[${i}] (${kind} '${names[i]}')` : argument, item));
  if (isTensorValue(value)) {
    if (several) throw multipleExpected(operation, argument, names, kind, value);
    return list([value]);
  }
  if (Array.isArray(value)) {
    // An array of tensors is one per input; a nested number array is the data of a single input.
    const ofTensors = value.length > 0 && value.every(isTensorValue);
    if (!several) return list([ofTensors && value.length === 1 ? value[0] : value]);
    if (!ofTensors || value.length !== names.length) throw multipleExpected(operation, argument, names, kind, value);
    return list(value);
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const missing = names.filter((name) => !Object.hasOwn(record, name));
    const unknown = Object.keys(record).filter((key) => !names.includes(key));
    if (missing.length > 0 || unknown.length > 0) {
      throw invalidArgument(
        operation,
        `${argument} keyed by the model's ${kind} names (${names.map((n) => `'${n}'`).join(', ')})`,
        described(`keys ${Object.keys(record).map((k) => `'${k}'`).join(', ') || '(none)'}`),
      );
    }
    return list(names.map((name) => record[name]));
  }
  return list([value]);
}

function multipleExpected(operation: string, argument: string, names: readonly string[], kind: string, value: unknown): Error {
  return invalidArgument(
    operation,
    `${argument} for each of the model's ${names.length} ${kind}s (${names.map((n) => `'${n}'`).join(', ')}): an array of ${names.length} tensors or an object keyed by those names`,
    value,
  );
}

/**
 * Inputs checked against the model's sample shapes (where known): a batch axis, a numeric dtype, equal
 * batch sizes; a flat typed array for a one-input model is reshaped into samples.
 */
export function checkInputs(operation: string, xs: Tensor[], expected: readonly (readonly number[] | undefined)[], names: readonly string[]): Tensor[] {
  const checked = xs.map((x, i) => {
    const argument = names.length > 1 ? `x[${i}] (input '${names[i]}')` : 'x';
    const shape = expected[i];
    let input = x;
    if (shape && input.rank === 1 && shape.length > 1) {
      const per = shape.reduce((a, b) => a * b, 1);
      if (input.size % per !== 0) {
        throw invalidArgument(operation, `${argument} with a multiple of ${per} values (samples of shape ${formatShape(shape)})`, described(`${input.size} values`));
      }
      input = input.reshape([input.size / per, ...shape]);
    }
    if (input.rank < 2) throw invalidArgument(operation, `${argument} with a batch axis (rank 2 or more)`, described(`shape [${input.shape.join(', ')}]`));
    if (input.shape[0] === 0) throw invalidArgument(operation, `${argument} with at least one sample`, described('an empty batch'));
    if (input.dtype === 'int64' || input.dtype === 'bool') throw invalidArgument(operation, `${argument} of a numeric dtype`, input.dtype);
    checkSampleShape(operation, argument, input.shape, shape);
    return input;
  });
  const count = checked[0].shape[0];
  checked.forEach((x, i) => {
    if (x.shape[0] !== count) {
      throw invalidArgument(operation, `every input with ${count} samples (as x[0])`, described(`${x.shape[0]} samples in x[${i}]`));
    }
  });
  return checked;
}

/** `shape` (batch axis first) against a sample shape, when the model knows it. */
export function checkSampleShape(operation: string, argument: string, shape: readonly number[], expected: readonly number[] | undefined): void {
  if (!expected) return;
  const received = shape.slice(1);
  if (received.length !== expected.length || received.some((d, i) => d !== expected[i])) {
    const what = argument === 'x' ? 'input' : argument;
    throw new ValueError(`${operation}: expected ${what} of shape ${formatShape(expected)} but received ${formatShape(received, shape[0])}`);
  }
}

/** Targets with as many samples as the inputs. */
export function checkTargets(operation: string, ys: Tensor[], samples: number, names: readonly string[]): void {
  ys.forEach((y, i) => {
    if (y.rank === 0 || y.shape[0] !== samples) {
      const argument = names.length > 1 ? `y[${i}] (output '${names[i]}')` : 'y';
      throw invalidArgument(operation, `${argument} with as many samples as x (${samples})`, described(`shape [${y.shape.join(', ')}]`));
    }
  });
}

/**
 * Keras's `sample_weight`: one weight per sample (shape [samples] or [samples, 1]), each sample's share of
 * the loss and the metrics. Returned as a Tensor of shape [samples].
 */
export function checkSampleWeight(operation: string, value: unknown, samples: number): Tensor {
  const weights = toTensor(operation, 'sampleWeight', value);
  const shape = weights.shape;
  const perSample = (shape.length === 1 || (shape.length === 2 && shape[1] === 1)) && shape[0] === samples;
  if (!perSample) {
    throw invalidArgument(operation, `sampleWeight of shape [${samples}] (one weight per sample)`, described(`shape [${shape.join(', ')}]`));
  }
  return shape.length === 1 ? weights : weights.reshape([samples]);
}
