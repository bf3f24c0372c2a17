/** Keras's pooling layers: windowed (MaxPooling1D/2D, AveragePooling1D/2D) and global (GlobalAverage/MaxPooling1D/2D). */
import { invalidArgument } from '../errors';
import type { LayerSpec } from '../native/binding';
import { checkBoolean, checkIntegerPair, checkKnownOptions, checkSingleInteger } from '../validation';
import { isOptionsObject, Layer, LayerArgs, LAYER_ARG_KEYS, optionsAfterPositional } from './layer';
import { checkPadding, outputSize, PaddingMode, paddingAmounts } from './padding';

export interface Pooling2DArgs extends LayerArgs {
  /** Default [2, 2]. */
  poolSize?: number | [number, number];
  /** Default poolSize. */
  strides?: number | [number, number] | null;
  /** Default 'valid'. */
  padding?: PaddingMode;
  /** Only 'channels_last'. */
  dataFormat?: 'channels_last';
}

const POOLING_KEYS = [...LAYER_ARG_KEYS, 'poolSize', 'strides', 'padding', 'dataFormat'];

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: PaddingMode;
  protected abstract readonly kind: string;

  constructor(className: string, poolSizeOrArgs: number | [number, number] | Pooling2DArgs | undefined, maybeArgs: Pooling2DArgs) {
    const args: Pooling2DArgs = isOptionsObject(poolSizeOrArgs)
      ? poolSizeOrArgs
      : { ...optionsAfterPositional(className, maybeArgs), poolSize: poolSizeOrArgs ?? maybeArgs.poolSize };
    checkKnownOptions(className, args, POOLING_KEYS);
    super(args, className);
    const context = `${className} '${this.name}'`;
    this.poolSize = checkIntegerPair(context, 'poolSize', args.poolSize ?? 2);
    this.strides = checkIntegerPair(context, 'strides', args.strides ?? this.poolSize);
    this.padding = checkPadding(context, args.padding);
    if (args.dataFormat !== undefined && args.dataFormat !== 'channels_last') {
      throw invalidArgument(context, "dataFormat 'channels_last'", args.dataFormat);
    }
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    const height = outputSize(inputShape[0], this.poolSize[0], this.strides[0], 1, this.padding);
    const width = outputSize(inputShape[1], this.poolSize[1], this.strides[1], 1, this.padding);
    if (height < 1 || width < 1) {
      throw this.inputError(`at least the pool's size ${this.poolSize[0]}x${this.poolSize[1]} in height and width`, inputShape);
    }
    return [height, width, inputShape[2]];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    const [top, bottom] = paddingAmounts(inputShape[0], this.poolSize[0], this.strides[0], 1, this.padding);
    const [left, right] = paddingAmounts(inputShape[1], this.poolSize[1], this.strides[1], 1, this.padding);
    return [{ kind: this.kind, poolSize: this.poolSize, strides: this.strides, padding: [top, bottom, left, right] }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

/** The maximum over each window: `new MaxPooling2D({poolSize: [2, 2]})`. */
export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  protected readonly kind = 'max_pooling2d';

  constructor(poolSize?: number | [number, number], args?: Pooling2DArgs);
  constructor(args?: Pooling2DArgs);
  constructor(poolSizeOrArgs?: number | [number, number] | Pooling2DArgs, maybeArgs: Pooling2DArgs = {}) {
    super('MaxPooling2D', poolSizeOrArgs, maybeArgs);
  }
}

/** The mean over each window (over the cells inside the image, with "same" padding, as Keras). */
export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  protected readonly kind = 'average_pooling2d';

  constructor(poolSize?: number | [number, number], args?: Pooling2DArgs);
  constructor(args?: Pooling2DArgs);
  constructor(poolSizeOrArgs?: number | [number, number] | Pooling2DArgs, maybeArgs: Pooling2DArgs = {}) {
    super('AveragePooling2D', poolSizeOrArgs, maybeArgs);
  }
}

export interface GlobalPooling2DArgs extends LayerArgs {
  /** Keep the spatial axes as size 1 ([1, 1, channels]). Default false. */
  keepdims?: boolean;
  dataFormat?: 'channels_last';
}

/** A reduction over the steps ([steps, channels]) or over height and width ([h, w, channels]) of each channel. */
abstract class GlobalPooling extends Layer {
  readonly keepdims: boolean;
  protected abstract readonly spatialAxes: 1 | 2;

  constructor(className: string, args: GlobalPooling2DArgs) {
    checkKnownOptions(className, args, [...LAYER_ARG_KEYS, 'keepdims', 'dataFormat']);
    super(args, className);
    this.keepdims = checkBoolean(`${className} '${this.name}'`, 'keepdims', args.keepdims ?? false);
    if (args.dataFormat !== undefined && args.dataFormat !== 'channels_last') {
      throw invalidArgument(`${className} '${this.name}'`, "dataFormat 'channels_last'", args.dataFormat);
    }
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    const axes = this.spatialAxes;
    this.requireRank(inputShape, axes + 1, axes === 1 ? '[steps, channels]' : '[height, width, channels]');
    const channels = inputShape[axes];
    return this.keepdims ? [...new Array<number>(axes).fill(1), channels] : [channels];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), keepdims: this.keepdims };
  }
}

/** The mean over height and width of each channel: [h, w, c] -> [c]. */
export class GlobalAveragePooling2D extends GlobalPooling {
  readonly className = 'GlobalAveragePooling2D';
  protected readonly spatialAxes = 2;

  constructor(args: GlobalPooling2DArgs = {}) {
    super('GlobalAveragePooling2D', args);
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'global_average_pooling2d', keepDims: this.keepdims }];
  }
}

/** The maximum over height and width of each channel: [h, w, c] -> [c]. */
export class GlobalMaxPooling2D extends GlobalPooling {
  readonly className = 'GlobalMaxPooling2D';
  protected readonly spatialAxes = 2;

  constructor(args: GlobalPooling2DArgs = {}) {
    super('GlobalMaxPooling2D', args);
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'global_max_pooling2d', keepDims: this.keepdims }];
  }
}

export interface GlobalPooling1DArgs extends LayerArgs {
  /** Keep the steps axis as size 1 ([1, channels]). Default false. */
  keepdims?: boolean;
  dataFormat?: 'channels_last';
}

/** The mean over the steps of each channel: [steps, c] -> [c]. */
export class GlobalAveragePooling1D extends GlobalPooling {
  readonly className = 'GlobalAveragePooling1D';
  protected readonly spatialAxes = 1;

  constructor(args: GlobalPooling1DArgs = {}) {
    super('GlobalAveragePooling1D', args);
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'global_pooling1d', operation: 'mean', keepDims: this.keepdims }];
  }
}

/** The maximum over the steps of each channel: [steps, c] -> [c]. */
export class GlobalMaxPooling1D extends GlobalPooling {
  readonly className = 'GlobalMaxPooling1D';
  protected readonly spatialAxes = 1;

  constructor(args: GlobalPooling1DArgs = {}) {
    super('GlobalMaxPooling1D', args);
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'global_pooling1d', operation: 'max', keepDims: this.keepdims }];
  }
}

export interface Pooling1DArgs extends LayerArgs {
  /** Default 2. */
  poolSize?: number | [number];
  /** Default poolSize. */
  strides?: number | [number] | null;
  /** Default 'valid'. */
  padding?: PaddingMode;
  /** Only 'channels_last': inputs are [batch, steps, channels]. */
  dataFormat?: 'channels_last';
}

abstract class Pooling1D extends Layer {
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: PaddingMode;
  protected abstract readonly kind: string;

  constructor(className: string, poolSizeOrArgs: number | [number] | Pooling1DArgs | undefined, maybeArgs: Pooling1DArgs) {
    const args: Pooling1DArgs = isOptionsObject(poolSizeOrArgs)
      ? poolSizeOrArgs
      : { ...optionsAfterPositional(className, maybeArgs), poolSize: poolSizeOrArgs ?? maybeArgs.poolSize };
    checkKnownOptions(className, args, POOLING_KEYS);
    super(args, className);
    const context = `${className} '${this.name}'`;
    this.poolSize = checkSingleInteger(context, 'poolSize', args.poolSize ?? 2);
    this.strides = checkSingleInteger(context, 'strides', args.strides ?? this.poolSize);
    this.padding = checkPadding(context, args.padding);
    if (args.dataFormat !== undefined && args.dataFormat !== 'channels_last') {
      throw invalidArgument(context, "dataFormat 'channels_last'", args.dataFormat);
    }
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 2, '[steps, channels]');
    const steps = outputSize(inputShape[0], this.poolSize, this.strides, 1, this.padding);
    if (steps < 1) throw this.inputError(`at least the pool's size ${this.poolSize} in steps`, inputShape);
    return [steps, inputShape[1]];
  }

  toSpecs(inputShape: readonly number[]): LayerSpec[] {
    // Native code pools [batch, channels, 1, steps] with the 2D pooling: the added axis has pool 1 and no padding.
    const [before, after] = paddingAmounts(inputShape[0], this.poolSize, this.strides, 1, this.padding);
    return [{ kind: this.kind, poolSize: [1, this.poolSize], strides: [1, this.strides], padding: [0, 0, before, after] }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

/** The maximum over each window of steps: `new MaxPooling1D(2)` on [steps, channels]. */
export class MaxPooling1D extends Pooling1D {
  readonly className = 'MaxPooling1D';
  protected readonly kind = 'max_pooling1d';

  constructor(poolSize?: number | [number], args?: Pooling1DArgs);
  constructor(args?: Pooling1DArgs);
  constructor(poolSizeOrArgs?: number | [number] | Pooling1DArgs, maybeArgs: Pooling1DArgs = {}) {
    super('MaxPooling1D', poolSizeOrArgs, maybeArgs);
  }
}

/** The mean over each window of steps (over the steps inside the sequence, with "same" padding, as Keras). */
export class AveragePooling1D extends Pooling1D {
  readonly className = 'AveragePooling1D';
  protected readonly kind = 'average_pooling1d';

  constructor(poolSize?: number | [number], args?: Pooling1DArgs);
  constructor(args?: Pooling1DArgs);
  constructor(poolSizeOrArgs?: number | [number] | Pooling1DArgs, maybeArgs: Pooling1DArgs = {}) {
    super('AveragePooling1D', poolSizeOrArgs, maybeArgs);
  }
}
