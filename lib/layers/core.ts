/** Keras's core layers: InputLayer, Dense, Flatten, Dropout, Activation. */
import { ActivationIdentifier, getActivation } from '../activations';
import { invalidArgument } from '../errors';
import { getInitializer, InitializerConfig, InitializerIdentifier } from '../initializers';
import type { LayerSpec } from '../native/binding';
import { batchSeed, forkSeed } from '../random';
import { checkBoolean, checkKnownOptions, checkNonNegativeInteger, checkNumberInRange, checkPositiveInteger, formatShape } from '../validation';
import { isOptionsObject, Layer, LayerArgs, LAYER_ARG_KEYS, WeightInfo, optionsAfterPositional } from './layer';
import { Node, SymbolicTensor } from './symbolic';

export interface InputLayerArgs extends LayerArgs {
  /** Keras 3's spelling of inputShape. */
  shape?: number[];
}

/** Declares the model's input shape; adds no computation. */
export class InputLayer extends Layer {
  readonly className = 'InputLayer';

  constructor(args: InputLayerArgs) {
    checkKnownOptions('InputLayer', args ?? {}, [...LAYER_ARG_KEYS, 'shape']);
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

export interface DenseArgs extends LayerArgs {
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

const DENSE_KEYS = [...LAYER_ARG_KEYS, 'units', 'outputDim', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer'];

/** A fully connected layer: `activation(x · kernel + bias)`, on inputs of shape [batch, features]. */
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
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    // Keras's Dense also maps the last axis of higher-rank inputs; here it takes flat features only.
    this.requireRank(inputShape, 1, '[features]; add a Flatten layer before Dense');
    return [this.units];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const spec = {
      kind: 'dense',
      inFeatures: inputShape[0],
      units: this.units,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
    return this.withActivation(spec, this.activation);
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    return this.kernelAndBias([inputShape[0], this.units], this.units, this.useBias);
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
    return [inputShape.reduce((a, b) => a * b, 1)];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'flatten' }];
  }
}

export interface DropoutArgs extends LayerArgs {
  rate?: number;
  /**
   * Seed of the layer's own random stream (its masks depend on it and on its own steps only); drawn from
   * the process-wide generator (setSeed) when the layer is made if left out.
   */
  seed?: number;
}

/** Zeroes a fraction `rate` of inputs during training (scaling the rest by 1/(1-rate)); identity otherwise. */
export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly rate: number;

  constructor(rate: number, args?: DropoutArgs);
  constructor(args: DropoutArgs);
  constructor(rateOrArgs: number | DropoutArgs, maybeArgs: DropoutArgs = {}) {
    const args = isOptionsObject(rateOrArgs) ? rateOrArgs : { ...optionsAfterPositional('Dropout', maybeArgs), rate: rateOrArgs };
    checkKnownOptions('Dropout', args, [...LAYER_ARG_KEYS, 'rate', 'seed']);
    super(args, 'Dropout');
    this.rate = checkNumberInRange(`Dropout '${this.name}'`, 'rate', args.rate, 0, 1, { maxExclusive: true });
    this.seed = args.seed === undefined || args.seed === null ? null : checkNonNegativeInteger(`Dropout '${this.name}'`, 'seed', args.seed);
    this.streamSeed = this.seed ?? forkSeed();
  }

  /** The seed given to the constructor, or null. */
  readonly seed: number | null;
  private readonly streamSeed: number;

  /** @internal Restarts the layer's stream at a seed of its own seed and `epoch`. */
  reseedForEpoch(epoch: number): void {
    for (const native of this.builtNatives()) native.reseedRandomStreams(batchSeed(this.streamSeed, epoch, 0));
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'dropout', rate: this.rate, seed: this.streamSeed }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}

/**
 * @internal Restarts the stream of every layer with one (Dropout, the random preprocessing layers) among
 * `layers` (and in nested models) for `epoch`, as fit does when each epoch begins.
 */
export function reseedRandomLayersForEpoch(layers: readonly Layer[], epoch: number): void {
  for (const layer of layers) {
    const seeded = layer as Partial<{ reseedForEpoch(epoch: number): void }>;
    if (typeof seeded.reseedForEpoch === 'function') seeded.reseedForEpoch(epoch);
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
