/**
 * What Keras's applications share (keras/src/applications/imagenet_utils.py): the options every
 * constructor takes and their checks, the input shape each family accepts, the padding of its strided
 * convolutions, the classifier or pooling on top, the weights file, and preprocess_input's three modes.
 */
import { invalidArgument, ValueError } from '../errors';
import { ActivationIdentifier, ActivationName, ACTIVATIONS } from '../activations';
import type { InitializerIdentifier } from '../initializers';
import { Dense, Input } from '../layers/core';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from '../layers/pooling';
import type { SymbolicTensor } from '../layers/symbolic';
import { Model } from '../models/model';
import { tensor, Tensor, TensorLike } from '../tensor';
import { checkBoolean, checkKnownOptions, checkOneOf, checkPlainObject, checkPositiveInteger } from '../validation';

/** Keras's constructor options, shared by every application. */
export interface ApplicationArgs {
  /** [height, width, channels]; defaults to the family's size (224x224x3). Required to differ from it only without the top. */
  inputShape?: number[];
  /** Whether to end with the classifier (global pooling or flatten, then `classes` units). Default true. */
  includeTop?: boolean;
  /**
   * null (random initialisation) or the path of a weights file (keras-torch's .safetensors, as `save` or
   * `saveWeights` writes it, matched by layer and weight names). Nothing is downloaded. Default null.
   */
  weights?: string | null;
  /** Without the top: 'avg' or 'max' global pooling at the end, or null for the last feature map. Default null. */
  pooling?: 'avg' | 'max' | null;
  /** Units of the classifier (with the top). Default 1000. */
  classes?: number;
  /** The classifier's activation; null for logits. Default 'softmax'. */
  classifierActivation?: ActivationIdentifier | null;
  /** The model's name; defaults to Keras's for the family. */
  name?: string;
}

export const APPLICATION_ARG_KEYS = ['inputShape', 'includeTop', 'weights', 'pooling', 'classes', 'classifierActivation', 'name'] as const;

/** The checked options, with Keras's defaults filled in. */
export interface CheckedApplicationArgs {
  inputShape: number[];
  includeTop: boolean;
  weights: string | null;
  pooling: 'avg' | 'max' | null;
  classes: number;
  classifierActivation: ActivationName;
}

/**
 * Checks the options and fixes the input shape as Keras's obtain_input_shape does: with the top, the
 * family's default size only unless given; at least `minSize` in height and width; `extraKeys` are the
 * family's own options (MobileNetV2's alpha).
 */
export function checkApplicationArgs(
  family: string,
  args: ApplicationArgs | undefined,
  { defaultSize, minSize, extraKeys = [] }: { defaultSize: number; minSize: number; extraKeys?: readonly string[] },
): CheckedApplicationArgs {
  const options = checkPlainObject(family, 'options', args ?? {}) as ApplicationArgs;
  checkKnownOptions(family, options, [...APPLICATION_ARG_KEYS, ...extraKeys]);
  const includeTop = checkBoolean(family, 'includeTop', options.includeTop ?? true);
  const weights = options.weights ?? null;
  if (weights !== null && (typeof weights !== 'string' || weights.length === 0)) {
    throw invalidArgument(family, "weights to be null or the path of a weights file ('imagenet' weights are not downloaded: see the README)", weights);
  }
  if (weights === 'imagenet') {
    throw invalidArgument(family, "weights to be null or the path of a weights file (nothing is downloaded; the README says where to get ImageNet weights)", weights);
  }
  const pooling = options.pooling ?? null;
  if (pooling !== null) checkOneOf(family, 'pooling', pooling, ['avg', 'max'] as const);
  const classes = checkPositiveInteger(family, 'classes', options.classes ?? 1000);
  const activation = options.classifierActivation === undefined ? 'softmax' : options.classifierActivation;
  if (activation !== null && !(ACTIVATIONS as readonly unknown[]).includes(activation)) {
    throw invalidArgument(family, `classifierActivation to be null or one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`, activation);
  }
  const defaultShape = [defaultSize, defaultSize, 3];
  let inputShape = defaultShape;
  if (options.inputShape !== undefined) {
    const shape = options.inputShape;
    if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw invalidArgument(family, 'inputShape to be [height, width, channels] of positive integers', shape);
    }
    if (shape[0] < minSize || shape[1] < minSize) {
      throw invalidArgument(family, `inputShape of at least ${minSize}x${minSize} in height and width`, shape);
    }
    inputShape = [...shape];
  }
  return {
    inputShape,
    includeTop,
    weights,
    pooling,
    classes,
    classifierActivation: activation === null ? 'linear' : activation === 'leakyRelu' ? 'leaky_relu' : activation,
  };
}

/** The application's input tensor. */
export function applicationInput(args: CheckedApplicationArgs): SymbolicTensor {
  return Input({ shape: args.inputShape });
}

/**
 * Keras's correct_pad: the zero padding before a stride-2 convolution with "valid" padding, which lands
 * the kernel where TensorFlow's "same" would, one row and column less at the top/left on even sizes.
 */
export function correctPad(featureShape: readonly (number | null)[], kernelSize: number): [[number, number], [number, number]] {
  const [height, width] = [featureShape[1], featureShape[2]] as number[];
  const correct = Math.floor(kernelSize / 2);
  return [
    [correct - (1 - (height % 2)), correct],
    [correct - (1 - (width % 2)), correct],
  ];
}

/**
 * The end of every application: the family's classifier (`top`) with the top, else the chosen global
 * pooling (or none); then the model, with the weights file loaded when given.
 */
export async function finishApplication(
  family: string,
  args: CheckedApplicationArgs,
  input: SymbolicTensor,
  features: SymbolicTensor,
  { name, top, poolingNames = {} }: { name: string; top: (x: SymbolicTensor) => SymbolicTensor; poolingNames?: { avg?: string; max?: string } },
): Promise<Model<SymbolicTensor>> {
  let output = features;
  if (args.includeTop) {
    output = top(features);
  } else if (args.pooling === 'avg') {
    output = new GlobalAveragePooling2D({ name: poolingNames.avg }).apply(features);
  } else if (args.pooling === 'max') {
    output = new GlobalMaxPooling2D({ name: poolingNames.max }).apply(features);
  }
  const model = new Model({ inputs: input, outputs: output, name });
  if (args.weights !== null) {
    try {
      await model.loadWeights(args.weights);
    } catch (error) {
      model.dispose();
      throw new ValueError(`${family}: could not load weights from ${args.weights}: ${(error as Error).message}`);
    }
  }
  return model;
}

/** The classifier most families end with: Dense(classes) with the classifier's activation, named 'predictions'. */
export function predictions(args: CheckedApplicationArgs, x: SymbolicTensor, kernelInitializer: InitializerIdentifier = 'glorot_uniform'): SymbolicTensor {
  return new Dense(args.classes, { activation: args.classifierActivation, kernelInitializer, name: 'predictions' }).apply(x);
}

/** Keras's preprocess_input modes: 'tf' scales to [-1, 1], 'torch' to ImageNet's mean and std, 'caffe' to BGR minus ImageNet's mean. */
export type PreprocessMode = 'tf' | 'torch' | 'caffe';

const IMAGENET_MEAN_RGB = [0.485, 0.456, 0.406];
const IMAGENET_STD_RGB = [0.229, 0.224, 0.225];
/** caffe's per-channel means, in BGR order (the channels after the swap). */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];

/**
 * preprocess_input for one mode: pixels in [0, 255], channels-last with 3 channels last (any rank), to a new
 * float32 tensor. One pass over the values, on the calling thread: the cost of the copy read back from libtorch.
 */
export function preprocessInput(context: string, x: TensorLike, mode: PreprocessMode): Tensor {
  const input = x instanceof Tensor ? x : tensor(x);
  const shape = input.shape;
  const channels = shape[shape.length - 1];
  if (shape.length < 1 || (mode !== 'tf' && channels !== 3)) {
    throw invalidArgument(context, 'images with 3 channels last (RGB, values 0-255)', input);
  }
  if (input.dtype === 'bool' || input.dtype === 'int64') throw invalidArgument(context, 'a numeric tensor (float32, float64, int32 or uint8)', input);
  const source = input.dataSync() as Float32Array | Float64Array | Int32Array | Uint8Array;
  const result = new Float32Array(source.length);
  if (mode === 'tf') {
    for (let i = 0; i < source.length; i++) result[i] = source[i] / 127.5 - 1;
  } else if (mode === 'torch') {
    for (let i = 0; i < source.length; i += 3) {
      for (let c = 0; c < 3; c++) result[i + c] = (source[i + c] / 255 - IMAGENET_MEAN_RGB[c]) / IMAGENET_STD_RGB[c];
    }
  } else {
    for (let i = 0; i < source.length; i += 3) {
      for (let c = 0; c < 3; c++) result[i + c] = source[i + 2 - c] - CAFFE_MEAN_BGR[c];
    }
  }
  return tensor(result, [...shape]);
}
