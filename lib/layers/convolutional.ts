/**
 * Keras's convolutions: Conv2D (with groups, and Keras 1's `Convolution2D(filters, rows, cols)` spelling),
 * DepthwiseConv2D, SeparableConv2D, Conv2DTranspose and Conv1D.
 */
import { ActivationIdentifier, getActivation } from '../activations';
import { invalidArgument } from '../errors';
import { getInitializer, InitializerConfig, InitializerIdentifier } from '../initializers';
import type { LayerSpec } from '../native/binding';
import {
  checkBoolean,
  checkIntegerPair,
  checkKnownOptions,
  checkNonNegativeInteger,
  checkOneOf,
  checkPositiveInteger,
  checkSingleInteger,
} from '../validation';
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
import { checkPadding, effectiveSize, outputSize, PaddingMode, paddingAmounts } from './padding';

/** The options every 2D convolution shares. */
interface BaseConv2DArgs extends LayerArgs, KernelAndBiasRegularizationArgs {
  kernelSize?: number | [number, number];
  /** Default 1. */
  strides?: number | [number, number];
  /** Default 'valid'. */
  padding?: PaddingMode;
  /** Only 'channels_last' (Keras's default); tensors are [batch, height, width, channels] at the API. */
  dataFormat?: 'channels_last';
  /** Default 1. */
  dilationRate?: number | [number, number];
  /** Default none (linear). */
  activation?: ActivationIdentifier;
  /** Default true. */
  useBias?: boolean;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
}

const BASE_CONV_KEYS = [
  ...LAYER_ARG_KEYS,
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'dilationRate',
  'activation',
  'useBias',
  'biasInitializer',
];

function checkChannelsLast(context: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'channels_last') {
    throw invalidArgument(context, "dataFormat 'channels_last' (images are channels-last at the API)", dataFormat);
  }
}

function checkStridesWithDilation(context: string, strides: number[], dilationRate: number[], received: unknown): void {
  if (strides.some((s) => s > 1) && dilationRate.some((d) => d > 1)) {
    throw invalidArgument(context, 'strides of 1 when dilationRate is above 1 (as Keras requires)', received);
  }
}

/** Kernel size, strides, padding, dilation, activation and bias: what every 2D convolution has. */
abstract class BaseConv2D extends Layer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: PaddingMode;
  readonly dilationRate: [number, number];
  readonly activation: string;
  readonly useBias: boolean;
  readonly biasInitializer: InitializerConfig;
  /** `Conv2D 'conv2d_1'`, how errors name the layer. */
  protected readonly context: string;

  /** `weightPrefixes`: the option prefix of each weight's regularizer and constraint (`kernel` -> 'kernel'). */
  constructor(className: string, args: BaseConv2DArgs, ownKeys: readonly string[], weightPrefixes: Record<string, string> = KERNEL_AND_BIAS) {
    checkKnownOptions(className, args, [...BASE_CONV_KEYS, ...ownKeys, ...weightOptionKeys(weightPrefixes)]);
    super(args, className);
    const context = `${className} '${this.name}'`;
    this.context = context;
    this.kernelSize = checkIntegerPair(context, 'kernelSize', args.kernelSize);
    this.strides = checkIntegerPair(context, 'strides', args.strides ?? 1);
    this.padding = checkPadding(context, args.padding);
    this.dilationRate = checkIntegerPair(context, 'dilationRate', args.dilationRate ?? 1);
    checkChannelsLast(context, args.dataFormat);
    checkStridesWithDilation(context, this.strides, this.dilationRate, args.strides);
    this.activation = getActivation(context, args.activation);
    this.useBias = checkBoolean(context, 'useBias', args.useBias ?? true);
    this.biasInitializer = getInitializer(context, 'biasInitializer', args.biasInitializer ?? 'zeros');
    this.regularizeWeights(args, weightPrefixes);
  }

  /** The output channels for `inputChannels`. */
  protected abstract outputChannels(inputChannels: number): number;

  /** Checks the input's channels (groups must divide them); nothing by default. */
  protected checkInputChannels(_inputShape: readonly number[]): void {}

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    this.checkInputChannels(inputShape);
    const height = outputSize(inputShape[0], this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding);
    const width = outputSize(inputShape[1], this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding);
    if (height < 1 || width < 1) {
      const extent = this.kernelSize.map((k, i) => effectiveSize(k, this.dilationRate[i]));
      throw this.inputError(`at least the kernel's extent ${extent[0]}x${extent[1]} in height and width`, inputShape);
    }
    return [height, width, this.outputChannels(inputShape[2])];
  }

  /** The spec of a convolution module of kind `kind` on `inputShape`, with this layer's window. */
  protected convolutionSpec(kind: string, inputShape: readonly number[], options: Record<string, unknown>): LayerSpec {
    const [top, bottom] = paddingAmounts(inputShape[0], this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding);
    const [left, right] = paddingAmounts(inputShape[1], this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding);
    return {
      kind,
      inChannels: inputShape[2],
      kernelSize: this.kernelSize,
      strides: this.strides,
      dilationRate: this.dilationRate,
      padding: [top, bottom, left, right],
      useBias: this.useBias,
      biasInitializer: this.biasInitializer,
      ...options,
    };
  }

  override get finalActivation(): string {
    return this.activation;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      activation: this.activation,
      useBias: this.useBias,
      biasInitializer: this.biasInitializer,
    };
  }
}

export interface Conv2DArgs extends BaseConv2DArgs {
  filters?: number;
  /** Channels split into this many groups, each convolved on its own (Keras's `groups`). Default 1. */
  groups?: number;
  /** Default 'glorot_uniform'. */
  kernelInitializer?: InitializerIdentifier;
}

/** A 2D convolution over channels-last images: `new Conv2D(32, [3, 3], {activation: 'relu'})`. */
export class Conv2D extends BaseConv2D {
  readonly className: string = 'Conv2D';
  readonly filters: number;
  readonly groups: number;
  readonly kernelInitializer: InitializerConfig;

  constructor(filters: number, kernelSize: number | [number, number], args?: Conv2DArgs);
  constructor(args: Conv2DArgs);
  constructor(filtersOrArgs: number | Conv2DArgs, kernelSize?: number | [number, number], maybeArgs: Conv2DArgs = {}) {
    const args = isOptionsObject(filtersOrArgs) ? filtersOrArgs : { ...optionsAfterPositional('Conv2D', maybeArgs), filters: filtersOrArgs, kernelSize };
    super('Conv2D', args, ['filters', 'groups', 'kernelInitializer']);
    const context = this.context;
    this.filters = checkPositiveInteger(context, 'filters', args.filters);
    this.groups = checkPositiveInteger(context, 'groups', args.groups ?? 1);
    if (this.filters % this.groups !== 0) {
      throw invalidArgument(context, `filters divisible by groups (${this.groups})`, this.filters);
    }
    this.kernelInitializer = getInitializer(context, 'kernelInitializer', args.kernelInitializer ?? 'glorot_uniform');
  }

  protected outputChannels(): number {
    return this.filters;
  }

  protected override checkInputChannels(inputShape: readonly number[]): void {
    if (inputShape[2] % this.groups !== 0) throw this.inputError(`channels divisible by groups (${this.groups})`, inputShape);
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const spec = this.convolutionSpec('conv2d', inputShape, { filters: this.filters, groups: this.groups, kernelInitializer: this.kernelInitializer });
    return this.withActivation(spec, this.activation);
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    return this.kernelAndBias([...this.kernelSize, inputShape[2] / this.groups, this.filters], this.filters, this.useBias);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), filters: this.filters, groups: this.groups, kernelInitializer: this.kernelInitializer };
  }
}

export interface Convolution2DArgs extends Conv2DArgs {
  /** Keras 1's name for strides. */
  subsample?: [number, number];
  /** Keras 1's name for padding. */
  borderMode?: PaddingMode;
}

/** Keras 1's spelling, as the seed tutorial writes it: `new Convolution2D(32, 3, 3, {...})`. */
export class Convolution2D extends Conv2D {
  constructor(filters: number, rows: number, columns: number, args: Convolution2DArgs = {}) {
    const { subsample, borderMode, ...rest } = args;
    super(filters, [rows, columns], {
      ...rest,
      strides: rest.strides ?? subsample,
      padding: rest.padding ?? borderMode,
    });
  }
}

export interface DepthwiseConv2DArgs extends BaseConv2DArgs {
  /** Output channels per input channel. Default 1. */
  depthMultiplier?: number;
  /** Default 'glorot_uniform' (with Keras's fans of the [kh, kw, in, multiplier] kernel). */
  depthwiseInitializer?: InitializerIdentifier;
}

/**
 * Each input channel convolved with its own `depthMultiplier` filters (MobileNet's building block):
 * `new DepthwiseConv2D(3, {strides: 2, padding: 'same'})`. Weights `depthwise_kernel` [kh, kw, in,
 * multiplier] and `bias` [in * multiplier]; output channel `c * multiplier + m` comes from input channel `c`.
 */
export class DepthwiseConv2D extends BaseConv2D {
  readonly className = 'DepthwiseConv2D';
  readonly depthMultiplier: number;
  readonly depthwiseInitializer: InitializerConfig;

  constructor(kernelSize: number | [number, number], args?: DepthwiseConv2DArgs);
  constructor(args: DepthwiseConv2DArgs);
  constructor(kernelSizeOrArgs: number | [number, number] | DepthwiseConv2DArgs, maybeArgs: DepthwiseConv2DArgs = {}) {
    const args = isOptionsObject(kernelSizeOrArgs)
      ? kernelSizeOrArgs
      : { ...optionsAfterPositional('DepthwiseConv2D', maybeArgs), kernelSize: kernelSizeOrArgs };
    super('DepthwiseConv2D', args, ['depthMultiplier', 'depthwiseInitializer'], { depthwise: 'depthwise_kernel', bias: 'bias' });
    this.depthMultiplier = checkPositiveInteger(this.context, 'depthMultiplier', args.depthMultiplier ?? 1);
    this.depthwiseInitializer = getInitializer(this.context, 'depthwiseInitializer', args.depthwiseInitializer ?? 'glorot_uniform');
  }

  protected outputChannels(inputChannels: number): number {
    return inputChannels * this.depthMultiplier;
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    return this.withActivation(depthwiseSpec(this, inputShape, this.depthwiseInitializer, this.useBias), this.activation);
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    const weights = [{ name: 'depthwise_kernel', shape: [...this.kernelSize, inputShape[2], this.depthMultiplier], trainable: this.trainable }];
    if (this.useBias) weights.push({ name: 'bias', shape: [inputShape[2] * this.depthMultiplier], trainable: this.trainable });
    return weights;
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), depthMultiplier: this.depthMultiplier, depthwiseInitializer: this.depthwiseInitializer };
  }
}

/** The native depthwise convolution: a grouped convolution with one group per input channel. */
function depthwiseSpec(
  layer: DepthwiseConv2D | SeparableConv2D,
  inputShape: readonly number[],
  initializer: InitializerConfig,
  useBias: boolean,
): LayerSpec {
  const channels = inputShape[2];
  const [top, bottom] = paddingAmounts(inputShape[0], layer.kernelSize[0], layer.strides[0], layer.dilationRate[0], layer.padding);
  const [left, right] = paddingAmounts(inputShape[1], layer.kernelSize[1], layer.strides[1], layer.dilationRate[1], layer.padding);
  return {
    kind: 'depthwise_conv2d',
    inChannels: channels,
    filters: channels * layer.depthMultiplier,
    groups: channels,
    kernelSize: layer.kernelSize,
    strides: layer.strides,
    dilationRate: layer.dilationRate,
    padding: [top, bottom, left, right],
    useBias,
    kernelInitializer: initializer,
    biasInitializer: layer.biasInitializer,
  };
}

export interface SeparableConv2DArgs extends BaseConv2DArgs {
  filters?: number;
  /** Default 1. */
  depthMultiplier?: number;
  /** Default 'glorot_uniform'. */
  depthwiseInitializer?: InitializerIdentifier;
  /** Default 'glorot_uniform'. */
  pointwiseInitializer?: InitializerIdentifier;
}

/**
 * A depthwise convolution followed by a 1x1 convolution to `filters` channels (Xception's block):
 * `new SeparableConv2D(64, 3, {padding: 'same'})`. Weights `depthwise_kernel` [kh, kw, in, multiplier],
 * `pointwise_kernel` [1, 1, in * multiplier, filters] and `bias` [filters].
 */
export class SeparableConv2D extends BaseConv2D {
  readonly className = 'SeparableConv2D';
  readonly filters: number;
  readonly depthMultiplier: number;
  readonly depthwiseInitializer: InitializerConfig;
  readonly pointwiseInitializer: InitializerConfig;

  constructor(filters: number, kernelSize: number | [number, number], args?: SeparableConv2DArgs);
  constructor(args: SeparableConv2DArgs);
  constructor(filtersOrArgs: number | SeparableConv2DArgs, kernelSize?: number | [number, number], maybeArgs: SeparableConv2DArgs = {}) {
    const args = isOptionsObject(filtersOrArgs)
      ? filtersOrArgs
      : { ...optionsAfterPositional('SeparableConv2D', maybeArgs), filters: filtersOrArgs, kernelSize };
    super('SeparableConv2D', args, ['filters', 'depthMultiplier', 'depthwiseInitializer', 'pointwiseInitializer'], {
      depthwise: 'depthwise_kernel',
      pointwise: 'pointwise_kernel',
      bias: 'bias',
    });
    const context = this.context;
    this.filters = checkPositiveInteger(context, 'filters', args.filters);
    this.depthMultiplier = checkPositiveInteger(context, 'depthMultiplier', args.depthMultiplier ?? 1);
    this.depthwiseInitializer = getInitializer(context, 'depthwiseInitializer', args.depthwiseInitializer ?? 'glorot_uniform');
    this.pointwiseInitializer = getInitializer(context, 'pointwiseInitializer', args.pointwiseInitializer ?? 'glorot_uniform');
  }

  protected outputChannels(): number {
    return this.filters;
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const depthwise = depthwiseSpec(this, inputShape, this.depthwiseInitializer, false);
    const pointwise: LayerSpec = {
      kind: 'conv2d',
      inChannels: inputShape[2] * this.depthMultiplier,
      filters: this.filters,
      groups: 1,
      kernelSize: [1, 1],
      strides: [1, 1],
      dilationRate: [1, 1],
      padding: [0, 0, 0, 0],
      useBias: this.useBias,
      kernelInitializer: this.pointwiseInitializer,
      biasInitializer: this.biasInitializer,
    };
    return [depthwise, ...this.withActivation(pointwise, this.activation)];
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    const channels = inputShape[2];
    return [
      { name: 'depthwise_kernel', shape: [...this.kernelSize, channels, this.depthMultiplier], trainable: this.trainable },
      { name: 'pointwise_kernel', shape: [1, 1, channels * this.depthMultiplier, this.filters], trainable: this.trainable },
      ...(this.useBias ? [{ name: 'bias', shape: [this.filters], trainable: this.trainable }] : []),
    ];
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      filters: this.filters,
      depthMultiplier: this.depthMultiplier,
      depthwiseInitializer: this.depthwiseInitializer,
      pointwiseInitializer: this.pointwiseInitializer,
    };
  }
}

export interface Conv2DTransposeArgs extends BaseConv2DArgs {
  filters?: number;
  /** Extra rows/columns at the bottom/right of the output, each less than its stride. Default none (Keras's None). */
  outputPadding?: number | [number, number] | null;
  /** Default 'glorot_uniform'. */
  kernelInitializer?: InitializerIdentifier;
}

/** Keras's deconv_output_length along one axis. */
function transposedLength(input: number, kernel: number, stride: number, dilation: number, padding: PaddingMode, outputPadding: number | null): number {
  const extent = effectiveSize(kernel, dilation);
  if (outputPadding === null) return padding === 'valid' ? input * stride + Math.max(extent - stride, 0) : input * stride;
  const pad = padding === 'same' ? Math.floor(extent / 2) : 0;
  return (input - 1) * stride + extent - 2 * pad + outputPadding;
}

/**
 * The transpose (gradient) of a convolution, upsampling by its strides: `new Conv2DTranspose(16, 3,
 * {strides: 2, padding: 'same'})`. Weights `kernel` [kh, kw, filters, in] and `bias` [filters].
 */
export class Conv2DTranspose extends BaseConv2D {
  readonly className = 'Conv2DTranspose';
  readonly filters: number;
  readonly outputPadding: [number, number] | null;
  readonly kernelInitializer: InitializerConfig;

  constructor(filters: number, kernelSize: number | [number, number], args?: Conv2DTransposeArgs);
  constructor(args: Conv2DTransposeArgs);
  constructor(filtersOrArgs: number | Conv2DTransposeArgs, kernelSize?: number | [number, number], maybeArgs: Conv2DTransposeArgs = {}) {
    const args = isOptionsObject(filtersOrArgs)
      ? filtersOrArgs
      : { ...optionsAfterPositional('Conv2DTranspose', maybeArgs), filters: filtersOrArgs, kernelSize };
    super('Conv2DTranspose', args, ['filters', 'outputPadding', 'kernelInitializer']);
    const context = this.context;
    this.filters = checkPositiveInteger(context, 'filters', args.filters);
    this.kernelInitializer = getInitializer(context, 'kernelInitializer', args.kernelInitializer ?? 'glorot_uniform');
    this.outputPadding = null;
    if (args.outputPadding !== undefined && args.outputPadding !== null) {
      const pair = typeof args.outputPadding === 'number' ? [args.outputPadding, args.outputPadding] : args.outputPadding;
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw invalidArgument(context, 'outputPadding to be a non-negative integer or a pair of them', args.outputPadding);
      }
      pair.forEach((value, axis) => {
        checkNonNegativeInteger(context, 'outputPadding', value);
        if (value >= this.strides[axis]) {
          throw invalidArgument(context, `outputPadding less than strides (${this.strides.join(', ')}), as Keras requires`, args.outputPadding);
        }
      });
      this.outputPadding = [pair[0], pair[1]];
    }
  }

  protected outputChannels(): number {
    return this.filters;
  }

  override computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    const [height, width] = [0, 1].map((axis) => this.outputLength(inputShape, axis));
    // Only 'same' with an even kernel, no outputPadding and one row or column can come out empty.
    if (height < 1 || width < 1) throw this.inputError(`a size giving a non-empty output (this one gives ${height}x${width})`, inputShape);
    return [height, width, this.filters];
  }

  private outputLength(inputShape: readonly number[], axis: number): number {
    return transposedLength(
      inputShape[axis],
      this.kernelSize[axis],
      this.strides[axis],
      this.dilationRate[axis],
      this.padding,
      this.outputPadding === null ? null : this.outputPadding[axis],
    );
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    // Torch computes the full transposed output, (input - 1) * stride + extent; TensorFlow's is Keras's
    // output length, starting where "same" padding of the forward convolution would start.
    const padding = [0, 1].flatMap((axis) => {
      const full = (inputShape[axis] - 1) * this.strides[axis] + effectiveSize(this.kernelSize[axis], this.dilationRate[axis]);
      const output = this.outputLength(inputShape, axis);
      const before = this.padding === 'same' ? Math.floor(Math.max(full - output, 0) / 2) : 0;
      return [-before, output - full + before];
    });
    const spec = {
      ...this.convolutionSpec('conv2d_transpose', inputShape, { filters: this.filters, kernelInitializer: this.kernelInitializer }),
      padding,
    };
    return this.withActivation(spec, this.activation);
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    return this.kernelAndBias([...this.kernelSize, this.filters, inputShape[2]], this.filters, this.useBias);
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), filters: this.filters, outputPadding: this.outputPadding, kernelInitializer: this.kernelInitializer };
  }
}

export type Conv1DPadding = 'valid' | 'same' | 'causal';

export interface Conv1DArgs extends LayerArgs {
  filters?: number;
  kernelSize?: number | [number];
  /** Default 1. */
  strides?: number | [number];
  /** Default 'valid'; 'causal' pads only before, so no output sees later steps. */
  padding?: Conv1DPadding;
  /** Only 'channels_last': inputs are [batch, steps, channels]. */
  dataFormat?: 'channels_last';
  /** Default 1. */
  dilationRate?: number | [number];
  /** Default 1. */
  groups?: number;
  /** Default none (linear). */
  activation?: ActivationIdentifier;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorot_uniform'. */
  kernelInitializer?: InitializerIdentifier;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
}

const CONV1D_KEYS = [
  ...LAYER_ARG_KEYS,
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'dilationRate',
  'groups',
  'activation',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
];

/** A convolution over the steps of [batch, steps, channels] sequences: `new Conv1D(16, 3, {padding: 'causal'})`. */
export class Conv1D extends Layer {
  readonly className = 'Conv1D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: Conv1DPadding;
  readonly dilationRate: number;
  readonly groups: number;
  readonly activation: string;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerConfig;
  readonly biasInitializer: InitializerConfig;

  constructor(filters: number, kernelSize: number | [number], args?: Conv1DArgs);
  constructor(args: Conv1DArgs);
  constructor(filtersOrArgs: number | Conv1DArgs, kernelSize?: number | [number], maybeArgs: Conv1DArgs = {}) {
    const args = isOptionsObject(filtersOrArgs) ? filtersOrArgs : { ...optionsAfterPositional('Conv1D', maybeArgs), filters: filtersOrArgs, kernelSize };
    checkKnownOptions('Conv1D', args, CONV1D_KEYS);
    super(args, 'Conv1D');
    const context = `Conv1D '${this.name}'`;
    this.filters = checkPositiveInteger(context, 'filters', args.filters);
    this.kernelSize = checkSingleInteger(context, 'kernelSize', args.kernelSize);
    this.strides = checkSingleInteger(context, 'strides', args.strides ?? 1);
    this.padding = checkOneOf(context, 'padding', args.padding ?? 'valid', ['valid', 'same', 'causal'] as const);
    this.dilationRate = checkSingleInteger(context, 'dilationRate', args.dilationRate ?? 1);
    this.groups = checkPositiveInteger(context, 'groups', args.groups ?? 1);
    if (this.filters % this.groups !== 0) throw invalidArgument(context, `filters divisible by groups (${this.groups})`, this.filters);
    if (args.dataFormat !== undefined && args.dataFormat !== 'channels_last') {
      throw invalidArgument(context, "dataFormat 'channels_last' (sequences are [batch, steps, channels] at the API)", args.dataFormat);
    }
    checkStridesWithDilation(context, [this.strides], [this.dilationRate], args.strides);
    this.activation = getActivation(context, args.activation);
    this.useBias = checkBoolean(context, 'useBias', args.useBias ?? true);
    this.kernelInitializer = getInitializer(context, 'kernelInitializer', args.kernelInitializer ?? 'glorot_uniform');
    this.biasInitializer = getInitializer(context, 'biasInitializer', args.biasInitializer ?? 'zeros');
  }

  /** Padding [before, after] of the steps. */
  private stepPadding(steps: number): [number, number] {
    if (this.padding === 'causal') return [effectiveSize(this.kernelSize, this.dilationRate) - 1, 0];
    return paddingAmounts(steps, this.kernelSize, this.strides, this.dilationRate, this.padding);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 2, '[steps, channels]');
    if (inputShape[1] % this.groups !== 0) throw this.inputError(`channels divisible by groups (${this.groups})`, inputShape);
    const [before, after] = this.stepPadding(inputShape[0]);
    const steps = outputSize(inputShape[0] + before + after, this.kernelSize, this.strides, this.dilationRate, 'valid');
    if (steps < 1) throw this.inputError(`at least the kernel's extent ${effectiveSize(this.kernelSize, this.dilationRate)} in steps`, inputShape);
    return [steps, this.filters];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const spec = {
      kind: 'conv1d',
      inChannels: inputShape[1],
      filters: this.filters,
      groups: this.groups,
      kernelSize: this.kernelSize,
      strides: this.strides,
      dilationRate: this.dilationRate,
      padding: this.stepPadding(inputShape[0]),
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
    return this.withActivation(spec, this.activation);
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    return this.kernelAndBias([this.kernelSize, inputShape[1] / this.groups, this.filters], this.filters, this.useBias);
  }

  override get finalActivation(): string {
    return this.activation;
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dilationRate: this.dilationRate,
      groups: this.groups,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
  }
}
