/** Keras's core layers: InputLayer, Dense, Flatten, Dropout, Activation. */
import { ActivationIdentifier, getActivation } from '../activations';
import { invalidArgument, ValueError } from '../errors';
import { getInitializer, InitializerConfig, InitializerIdentifier } from '../initializers';
import type { LayerSpec } from '../native/binding';
import { batchSeed, forkSeed } from '../random';
import { checkBoolean, checkKnownOptions, checkNonNegativeInteger, checkNumberInRange, checkPositiveInteger, formatShape } from '../validation';
import {
  isOptionsObject,
  KERNEL_AND_BIAS,
  KernelAndBiasRegularizationArgs,
  Layer,
  LayerArgs,
  LAYER_ARG_KEYS,
  optionsAfterPositional,
  WeightInfo,
  weightOptionKeys,
} from './layer';
import { Node, SymbolicTensor } from './symbolic';

export interface InputLayerArgs extends LayerArgs {
  /** Keras 3's spelling of inputShape. */
  shape?: number[];
}

/** Declares the model's input shape; adds no computation. */
export class InputLayer extends Layer {
  readonly className = 'InputLayer';

  constructor(args: InputLayerArgs) {
    checkKnownOptions('InputLayer', args ?? {}, [...LAYER_ARG_KEYS.filter((key) => key !== 'activityRegularizer'), 'shape']);
    const { shape, ...rest } = args ?? {};
    super({ ...rest, inputShape: rest.inputShape ?? shape }, 'InputLayer');
    if (!this.batchInputShape) throw invalidArgument('InputLayer', 'inputShape (or shape)', args);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    const expected = this.batchInputShape!;
    if (inputShape.length !== expected.length || inputShape.some((d, i) => d !== expected[i])) {
      throw this.inputError(`shape ${formatShape(expected)}`, inputShape);
    }
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return [];
  }

  /** The symbolic tensor this input stands for (made once, by Input() or a Sequential). */
  get output(): SymbolicTensor {
    if (this.inboundNodes.length === 0) {
      const node = new Node(this, []);
      node.outputs = [new SymbolicTensor([null, ...this.batchInputShape!], node, 0)];
      this.inboundNodes.push(node);
    }
    return this.inboundNodes[0].outputs[0];
  }
}

export interface InputArgs {
  /** The shape of one sample, without the batch axis: `[64, 64, 3]`. */
  shape?: number[];
  /** The shape with a leading batch axis (`[null, 64, 64, 3]`); the batch size itself is not fixed here. */
  batchShape?: (number | null)[];
  /** Names the input; fit, evaluate and predict take data keyed by it. Default `input_layer`, `input_layer_1`, ... */
  name?: string;
  /** Only 'float32' (images and features reach the model as float32). */
  dtype?: 'float32';
}

/** The functional API's entry point: a symbolic tensor standing for a model input (Keras's `keras.Input`). */
export function Input(args: InputArgs): SymbolicTensor {
  checkKnownOptions('Input', args ?? {}, ['shape', 'batchShape', 'name', 'dtype']);
  const { shape, batchShape, name, dtype } = args ?? {};
  if (shape !== undefined && batchShape !== undefined) throw invalidArgument('Input', 'either shape or batchShape, not both', args);
  if (dtype !== undefined && dtype !== 'float32') throw invalidArgument('Input', "dtype 'float32'", dtype);
  let sample = shape;
  if (batchShape !== undefined) {
    if (!Array.isArray(batchShape) || batchShape.length < 2) throw invalidArgument('Input', 'batchShape with a batch axis and at least one more', batchShape);
    sample = batchShape.slice(1) as number[];
  }
  if (sample === undefined) throw invalidArgument('Input', 'shape (the shape of one sample, e.g. [64, 64, 3])', undefined);
  return new InputLayer({ inputShape: sample, name: name ?? inputLayerName() }).output;
}

let inputCounter = 0;
/** Keras 3's names for inputs: input_layer, input_layer_1, ... */
function inputLayerName(): string {
  return inputCounter++ === 0 ? 'input_layer' : `input_layer_${inputCounter - 1}`;
}

export interface DenseArgs extends LayerArgs, KernelAndBiasRegularizationArgs {
  units?: number;
  /** Keras 1's name for units. */
  outputDim?: number;
  /** Default none (linear). */
  activation?: ActivationIdentifier;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorot_uniform'. */
  kernelInitializer?: InitializerIdentifier;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
}

const DENSE_KEYS = [
  ...LAYER_ARG_KEYS,
  ...weightOptionKeys(KERNEL_AND_BIAS),
  'units',
  'outputDim',
  'activation',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
];

/** A fully connected layer: `activation(x · kernel + bias)` on the last axis of inputs of any rank. */
export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: string;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerConfig;
  readonly biasInitializer: InitializerConfig;

  constructor(units: number, args?: DenseArgs);
  constructor(args: DenseArgs);
  constructor(unitsOrArgs: number | DenseArgs, maybeArgs: DenseArgs = {}) {
    const args = isOptionsObject(unitsOrArgs) ? unitsOrArgs : { ...optionsAfterPositional('Dense', maybeArgs), units: unitsOrArgs };
    checkKnownOptions('Dense', args, DENSE_KEYS);
    super(args, 'Dense');
    const context = `Dense '${this.name}'`;
    if (args.units !== undefined && args.outputDim !== undefined) {
      throw invalidArgument(context, 'either units or outputDim, not both', args);
    }
    this.units = checkPositiveInteger(context, 'units', args.units ?? args.outputDim);
    this.activation = getActivation(context, args.activation);
    this.useBias = checkBoolean(context, 'useBias', args.useBias ?? true);
    this.kernelInitializer = getInitializer(context, 'kernelInitializer', args.kernelInitializer ?? 'glorot_uniform');
    this.biasInitializer = getInitializer(context, 'biasInitializer', args.biasInitializer ?? 'zeros');
    this.regularizeWeights(args, KERNEL_AND_BIAS);
  }

  /** Maps the last axis, as Keras's Dense: [batch, a, b, features] -> [batch, a, b, units]. */
  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape.slice(0, -1), this.units];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const spec = {
      kind: 'dense',
      inFeatures: inputShape[inputShape.length - 1],
      rank: inputShape.length + 1,
      units: this.units,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
    return this.withActivation(spec, this.activation);
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    return this.kernelAndBias([inputShape[inputShape.length - 1], this.units], this.units, this.useBias);
  }

  override get finalActivation(): string {
    return this.activation;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
  }
}

/** Flattens each sample to one axis, in channels-last order as Keras does. */
export class Flatten extends Layer {
  readonly className = 'Flatten';

  constructor(args: LayerArgs = {}) {
    checkKnownOptions('Flatten', args, LAYER_ARG_KEYS);
    super(args, 'Flatten');
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [product(inputShape)];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'flatten' }];
  }
}

export interface ReshapeArgs extends LayerArgs {
  /** Each sample's shape after the reshape, without the batch axis; one entry may be -1 (inferred). */
  targetShape?: number[];
}

/**
 * Reshapes each sample to `targetShape`, reading and writing its elements in channels-last order as Keras
 * does: `new Reshape([1, 1, channels])` turns pooled features into a 1x1 image.
 */
export class Reshape extends Layer {
  readonly className = 'Reshape';
  readonly targetShape: number[];

  constructor(targetShape: number[], args?: ReshapeArgs);
  constructor(args: ReshapeArgs);
  constructor(shapeOrArgs: number[] | ReshapeArgs, maybeArgs: ReshapeArgs = {}) {
    const args = isOptionsObject(shapeOrArgs) ? shapeOrArgs : { ...optionsAfterPositional('Reshape', maybeArgs), targetShape: shapeOrArgs };
    checkKnownOptions('Reshape', args, [...LAYER_ARG_KEYS, 'targetShape']);
    super(args, 'Reshape');
    const target = args.targetShape;
    const valid =
      Array.isArray(target) &&
      target.length > 0 &&
      target.every((d) => Number.isInteger(d) && (d >= 1 || d === -1)) &&
      target.filter((d) => d === -1).length <= 1;
    if (!valid) throw invalidArgument(`Reshape '${this.name}'`, 'targetShape to be a non-empty array of positive integers with at most one -1', target);
    this.targetShape = [...target];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    const size = product(inputShape);
    const known = product(this.targetShape.filter((d) => d !== -1));
    const unknown = this.targetShape.indexOf(-1);
    if (unknown < 0) {
      if (size !== known) throw this.inputError(`${known} elements per sample (targetShape ${listText(this.targetShape)})`, inputShape);
      return [...this.targetShape];
    }
    if (size % known !== 0) {
      throw this.inputError(`a number of elements per sample divisible by ${known} (targetShape ${listText(this.targetShape)})`, inputShape);
    }
    return this.targetShape.map((d) => (d === -1 ? size / known : d));
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    return [{ kind: 'reshape', targetShape: this.computeOutputShape(inputShape) }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: [...this.targetShape] };
  }
}

export interface PermuteArgs extends LayerArgs {
  /** The new order of the axes after the batch axis, counted from 1 as Keras does: `[2, 1]` swaps two axes. */
  dims?: number[];
}

/** Permutes the axes of each sample, as Keras's Permute (channels-last axes, counted from 1). */
export class Permute extends Layer {
  readonly className = 'Permute';
  readonly dims: number[];

  constructor(dims: number[], args?: PermuteArgs);
  constructor(args: PermuteArgs);
  constructor(dimsOrArgs: number[] | PermuteArgs, maybeArgs: PermuteArgs = {}) {
    const args = isOptionsObject(dimsOrArgs) ? dimsOrArgs : { ...optionsAfterPositional('Permute', maybeArgs), dims: dimsOrArgs };
    checkKnownOptions('Permute', args, [...LAYER_ARG_KEYS, 'dims']);
    super(args, 'Permute');
    const dims = args.dims;
    const valid = Array.isArray(dims) && dims.length > 0 && [...dims].sort((a, b) => a - b).every((d, i) => d === i + 1);
    if (!valid) throw invalidArgument(`Permute '${this.name}'`, 'dims to be a permutation of 1, ..., n (the axes after the batch axis)', dims);
    this.dims = [...dims];
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, this.dims.length, `dims ${listText(this.dims)}`);
    return this.dims.map((d) => inputShape[d - 1]);
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'permute', dims: this.dims }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dims: [...this.dims] };
  }
}

/** `[5, 3]`, as an option's value reads. */
function listText(values: readonly number[]): string {
  return `[${values.join(', ')}]`;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Options of the layers that draw from a random stream of their own. */
export interface RandomLayerArgs extends LayerArgs {
  /**
   * Seed of the layer's own random stream (its draws depend on it and on its own steps only); drawn from
   * the process-wide generator (setSeed) when the layer is made if left out.
   */
  seed?: number | null;
}

/**
 * A layer drawing from a random stream of its own, as Keras 3's layers hold a SeedGenerator: Dropout,
 * SpatialDropout2D, GaussianNoise. Each is active in training only.
 */
export abstract class RandomLayer extends Layer {
  /** The seed given to the constructor, or null. */
  readonly seed: number | null;
  /** The seed the layer's native stream starts from: `seed`, or one forked from setSeed's generator. */
  protected readonly streamSeed: number;

  constructor(args: RandomLayerArgs, className: string) {
    super(args, className);
    this.seed = args.seed === undefined || args.seed === null ? null : checkNonNegativeInteger(`${className} '${this.name}'`, 'seed', args.seed);
    this.streamSeed = this.seed ?? forkSeed();
  }

  /** @internal Restarts the layer's stream at a seed of its own seed and `epoch`. */
  reseedForEpoch(epoch: number): void {
    for (const native of this.builtNatives()) native.reseedRandomStreams(batchSeed(this.streamSeed, epoch, 0));
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), seed: this.seed };
  }
}

export interface DropoutArgs extends RandomLayerArgs {
  rate?: number;
  /**
   * The shape of the mask, with the batch axis: null where it follows the input, 1 where one draw is shared
   * along the axis (Keras's noise_shape: `[null, 1, 1, 1]` drops whole samples, as stochastic depth does).
   * Default: the input's shape.
   */
  noiseShape?: (number | null)[] | null;
}

/** Zeroes a fraction `rate` of inputs during training (scaling the rest by 1/(1-rate)); identity otherwise. */
export class Dropout extends RandomLayer {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly noiseShape: (number | null)[] | null;

  constructor(rate: number, args?: DropoutArgs);
  constructor(args: DropoutArgs);
  constructor(rateOrArgs: number | DropoutArgs, maybeArgs: DropoutArgs = {}) {
    const args = isOptionsObject(rateOrArgs) ? rateOrArgs : { ...optionsAfterPositional('Dropout', maybeArgs), rate: rateOrArgs };
    checkKnownOptions('Dropout', args, [...LAYER_ARG_KEYS, 'rate', 'seed', 'noiseShape']);
    super(args, 'Dropout');
    const context = `Dropout '${this.name}'`;
    this.rate = checkRate(context, args.rate);
    if (args.noiseShape === undefined || args.noiseShape === null) {
      this.noiseShape = null;
    } else if (Array.isArray(args.noiseShape) && args.noiseShape.length > 0 && args.noiseShape.every((d) => d === null || (Number.isInteger(d) && (d as number) >= 1))) {
      this.noiseShape = [...args.noiseShape];
    } else {
      throw invalidArgument(context, 'noiseShape to be an array of positive integers or null (with the batch axis)', args.noiseShape);
    }
  }

  override computeOutputShape(inputShape: readonly number[]): number[] {
    if (this.noiseShape) {
      const shape = this.noiseShape;
      const expected = `noiseShape ${formatShape(shape.slice(1), shape[0])}: rank ${shape.length - 1} after the batch axis, each axis 1 or the input's size`;
      if (shape.length !== inputShape.length + 1 || shape.slice(1).some((d, i) => d !== null && d !== 1 && d !== inputShape[i])) {
        throw this.inputError(`a shape that fits ${expected}`, inputShape);
      }
      if (shape[0] !== null && shape[0] !== 1) {
        throw new ValueError(`${this.className} '${this.name}': expected noiseShape[0] (the batch axis) to be null or 1 but received ${shape[0]}`);
      }
    }
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    // 0: the mask follows the input along the axis.
    const noiseShape = this.noiseShape?.map((d) => d ?? 0);
    return [{ kind: 'dropout', rate: this.rate, seed: this.streamSeed, ...(noiseShape ? { noiseShape } : {}) }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, noiseShape: this.noiseShape };
  }
}

/** Keras's rate check for the dropout layers: [0, 1). */
function checkRate(context: string, rate: unknown): number {
  return checkNumberInRange(context, 'rate', rate, 0, 1, { maxExclusive: true });
}

export interface SpatialDropout2DArgs extends RandomLayerArgs {
  rate?: number;
}

/**
 * Drops whole feature maps (channels) of images during training, as Keras's SpatialDropout2D: Dropout with
 * one draw per sample and channel.
 */
export class SpatialDropout2D extends RandomLayer {
  readonly className = 'SpatialDropout2D';
  readonly rate: number;

  constructor(rate: number, args?: RandomLayerArgs);
  constructor(args: SpatialDropout2DArgs);
  constructor(rateOrArgs: number | SpatialDropout2DArgs, maybeArgs: RandomLayerArgs = {}) {
    const args = isOptionsObject(rateOrArgs) ? rateOrArgs : { ...optionsAfterPositional('SpatialDropout2D', maybeArgs), rate: rateOrArgs };
    checkKnownOptions('SpatialDropout2D', args, [...LAYER_ARG_KEYS, 'rate', 'seed']);
    super(args, 'SpatialDropout2D');
    this.rate = checkRate(`SpatialDropout2D '${this.name}'`, args.rate);
  }

  override computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'dropout', rate: this.rate, seed: this.streamSeed, noiseShape: [0, 1, 1, 0] }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate };
  }
}

/**
 * @internal Restarts the stream of every random layer among `layers` (and in nested models) for `epoch`,
 * as fit does when each epoch begins.
 */
export function reseedRandomLayersForEpoch(layers: readonly Layer[], epoch: number): void {
  for (const layer of layers) {
    if (layer instanceof RandomLayer) layer.reseedForEpoch(epoch);
    const nested = (layer as { layers?: readonly Layer[] }).layers;
    if (Array.isArray(nested)) reseedRandomLayersForEpoch(nested, epoch);
  }
}

export interface ActivationArgs extends LayerArgs {
  activation?: ActivationIdentifier;
}

/** Applies an activation function. */
export class Activation extends Layer {
  readonly className = 'Activation';
  readonly activation: string;

  constructor(activation: ActivationIdentifier, args?: ActivationArgs);
  constructor(args: ActivationArgs);
  constructor(activationOrArgs: ActivationIdentifier | ActivationArgs, maybeArgs: ActivationArgs = {}) {
    const args = isOptionsObject(activationOrArgs) ? activationOrArgs : { ...optionsAfterPositional('Activation', maybeArgs), activation: activationOrArgs };
    checkKnownOptions('Activation', args, [...LAYER_ARG_KEYS, 'activation']);
    super(args, 'Activation');
    if (args.activation === undefined) throw invalidArgument(`Activation '${this.name}'`, 'an activation', undefined);
    this.activation = getActivation(`Activation '${this.name}'`, args.activation);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return this.activation === 'linear' ? [] : [{ kind: 'activation', activation: this.activation }];
  }

  override get finalActivation(): string {
    return this.activation;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: this.activation };
  }
}
