/** Keras's 2D convolution, with Keras 1's `Convolution2D(filters, rows, cols)` spelling. */
import { ActivationIdentifier, getActivation } from '../activations';
import { invalidArgument } from '../errors';
import { getInitializer, InitializerConfig, InitializerIdentifier } from '../initializers';
import type { LayerSpec } from '../native/binding';
import { checkBoolean, checkIntegerPair, checkKnownOptions, checkPositiveInteger } from '../validation';
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
import { checkPadding, outputSize, PaddingMode, paddingAmounts } from './padding';

export interface Conv2DArgs extends LayerArgs, KernelAndBiasRegularizationArgs {
  filters?: number;
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
  /** Default 'glorot_uniform'. */
  kernelInitializer?: InitializerIdentifier;
  /** Default 'zeros'. */
  biasInitializer?: InitializerIdentifier;
}

const CONV_KEYS = [
  ...LAYER_ARG_KEYS,
  ...weightOptionKeys(KERNEL_AND_BIAS),
  'filters',
  'kernelSize',
  'strides',
  'padding',
  'dataFormat',
  'dilationRate',
  'activation',
  'useBias',
  'kernelInitializer',
  'biasInitializer',
];

/** A 2D convolution over channels-last images: `new Conv2D(32, [3, 3], {activation: 'relu'})`. */
export class Conv2D extends Layer {
  readonly className: string = 'Conv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: PaddingMode;
  readonly dilationRate: [number, number];
  readonly activation: string;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerConfig;
  readonly biasInitializer: InitializerConfig;

  constructor(filters: number, kernelSize: number | [number, number], args?: Conv2DArgs);
  constructor(args: Conv2DArgs);
  constructor(filtersOrArgs: number | Conv2DArgs, kernelSize?: number | [number, number], maybeArgs: Conv2DArgs = {}) {
    const args = isOptionsObject(filtersOrArgs) ? filtersOrArgs : { ...optionsAfterPositional('Conv2D', maybeArgs), filters: filtersOrArgs, kernelSize };
    checkKnownOptions('Conv2D', args, CONV_KEYS);
    super(args, 'Conv2D');
    const context = `Conv2D '${this.name}'`;
    this.filters = checkPositiveInteger(context, 'filters', args.filters);
    this.kernelSize = checkIntegerPair(context, 'kernelSize', args.kernelSize);
    this.strides = checkIntegerPair(context, 'strides', args.strides ?? 1);
    this.padding = checkPadding(context, args.padding);
    this.dilationRate = checkIntegerPair(context, 'dilationRate', args.dilationRate ?? 1);
    if (args.dataFormat !== undefined && args.dataFormat !== 'channels_last') {
      throw invalidArgument(context, "dataFormat 'channels_last' (images are channels-last at the API)", args.dataFormat);
    }
    if ((this.strides[0] > 1 || this.strides[1] > 1) && (this.dilationRate[0] > 1 || this.dilationRate[1] > 1)) {
      throw invalidArgument(context, 'strides of 1 when dilationRate is above 1 (as Keras requires)', args.strides);
    }
    this.activation = getActivation(context, args.activation);
    this.useBias = checkBoolean(context, 'useBias', args.useBias ?? true);
    this.kernelInitializer = getInitializer(context, 'kernelInitializer', args.kernelInitializer ?? 'glorot_uniform');
    this.biasInitializer = getInitializer(context, 'biasInitializer', args.biasInitializer ?? 'zeros');
    this.regularizeWeights(args, KERNEL_AND_BIAS);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    const height = outputSize(inputShape[0], this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding);
    const width = outputSize(inputShape[1], this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding);
    if (height < 1 || width < 1) {
      const extent = this.kernelSize.map((k, i) => (k - 1) * this.dilationRate[i] + 1);
      throw this.inputError(`at least the kernel's extent ${extent[0]}x${extent[1]} in height and width`, inputShape);
    }
    return [height, width, this.filters];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const [top, bottom] = paddingAmounts(inputShape[0], this.kernelSize[0], this.strides[0], this.dilationRate[0], this.padding);
    const [left, right] = paddingAmounts(inputShape[1], this.kernelSize[1], this.strides[1], this.dilationRate[1], this.padding);
    const spec = {
      kind: 'conv2d',
      inChannels: inputShape[2],
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      dilationRate: this.dilationRate,
      padding: [top, bottom, left, right],
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
    return this.withActivation(spec, this.activation);
  }

  override weightInfo(inputShape: readonly number[]): WeightInfo[] {
    return this.kernelAndBias([...this.kernelSize, inputShape[2], this.filters], this.filters, this.useBias);
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
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
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
