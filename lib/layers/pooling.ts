/** Keras's 2D pooling layers: MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D. */
import { invalidArgument } from '../errors';
import type { LayerSpec } from '../native/binding';
import { checkBoolean, checkIntegerPair, checkKnownOptions } from '../validation';
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

/** The mean over height and width of each channel: [h, w, c] -> [c]. */
export class GlobalAveragePooling2D extends Layer {
  readonly className = 'GlobalAveragePooling2D';
  readonly keepdims: boolean;

  constructor(args: GlobalPooling2DArgs = {}) {
    checkKnownOptions('GlobalAveragePooling2D', args, [...LAYER_ARG_KEYS, 'keepdims', 'dataFormat']);
    super(args, 'GlobalAveragePooling2D');
    this.keepdims = checkBoolean(`GlobalAveragePooling2D '${this.name}'`, 'keepdims', args.keepdims ?? false);
    if (args.dataFormat !== undefined && args.dataFormat !== 'channels_last') {
      throw invalidArgument(`GlobalAveragePooling2D '${this.name}'`, "dataFormat 'channels_last'", args.dataFormat);
    }
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    return this.keepdims ? [1, 1, inputShape[2]] : [inputShape[2]];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'global_average_pooling2d', keepDims: this.keepdims }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), keepdims: this.keepdims };
  }
}
