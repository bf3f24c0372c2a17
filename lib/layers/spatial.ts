/** Keras's weightless layers that change an image's height and width: ZeroPadding2D, Cropping2D, UpSampling2D. */
import { invalidArgument } from '../errors';
import type { LayerSpec } from '../native/binding';
import { checkIntegerPair, checkKnownOptions, checkOneOf } from '../validation';
import { isOptionsObject, Layer, LayerArgs, LAYER_ARG_KEYS, optionsAfterPositional } from './layer';

/** Amounts per side: `n` (all four), `[rows, columns]`, or `[[top, bottom], [left, right]]`. */
export type SideAmounts = number | [number, number] | [[number, number], [number, number]];

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Keras's three spellings of ZeroPadding2D's padding and Cropping2D's cropping, as [[top, bottom], [left, right]]. */
function checkSideAmounts(context: string, name: string, value: unknown): [[number, number], [number, number]] {
  if (isNonNegativeInteger(value)) return [[value, value], [value, value]];
  if (Array.isArray(value) && value.length === 2) {
    if (value.every(isNonNegativeInteger)) return [[value[0], value[0]], [value[1], value[1]]];
    if (value.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isNonNegativeInteger))) {
      return [[value[0][0], value[0][1]], [value[1][0], value[1][1]]];
    }
  }
  throw invalidArgument(context, `${name} to be a non-negative integer, [rows, columns] or [[top, bottom], [left, right]]`, value);
}

function checkChannelsLast(context: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'channels_last') throw invalidArgument(context, "dataFormat 'channels_last'", dataFormat);
}

export interface ZeroPadding2DArgs extends LayerArgs {
  /** Default 1. */
  padding?: SideAmounts;
  /** Only 'channels_last'. */
  dataFormat?: 'channels_last';
}

/** Rows and columns of zeros around each image: `new ZeroPadding2D([[0, 1], [0, 1]])` (MobileNet's stride-2 padding). */
export class ZeroPadding2D extends Layer {
  readonly className = 'ZeroPadding2D';
  /** [[top, bottom], [left, right]]. */
  readonly padding: [[number, number], [number, number]];

  constructor(padding?: SideAmounts, args?: ZeroPadding2DArgs);
  constructor(args?: ZeroPadding2DArgs);
  constructor(paddingOrArgs?: SideAmounts | ZeroPadding2DArgs, maybeArgs: ZeroPadding2DArgs = {}) {
    const args: ZeroPadding2DArgs = isOptionsObject(paddingOrArgs)
      ? paddingOrArgs
      : { ...optionsAfterPositional('ZeroPadding2D', maybeArgs), padding: paddingOrArgs ?? maybeArgs.padding };
    checkKnownOptions('ZeroPadding2D', args, [...LAYER_ARG_KEYS, 'padding', 'dataFormat']);
    super(args, 'ZeroPadding2D');
    const context = `ZeroPadding2D '${this.name}'`;
    this.padding = checkSideAmounts(context, 'padding', args.padding ?? 1);
    checkChannelsLast(context, args.dataFormat);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    const [[top, bottom], [left, right]] = this.padding;
    return [inputShape[0] + top + bottom, inputShape[1] + left + right, inputShape[2]];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'zero_padding2d', padding: this.padding.flat() }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), padding: this.padding };
  }
}

export interface Cropping2DArgs extends LayerArgs {
  /** Default 0. */
  cropping?: SideAmounts;
  /** Only 'channels_last'. */
  dataFormat?: 'channels_last';
}

/** Rows and columns cut from each side of each image: `new Cropping2D([[2, 2], [4, 4]])`. */
export class Cropping2D extends Layer {
  readonly className = 'Cropping2D';
  /** [[top, bottom], [left, right]]. */
  readonly cropping: [[number, number], [number, number]];

  constructor(cropping?: SideAmounts, args?: Cropping2DArgs);
  constructor(args?: Cropping2DArgs);
  constructor(croppingOrArgs?: SideAmounts | Cropping2DArgs, maybeArgs: Cropping2DArgs = {}) {
    const args: Cropping2DArgs = isOptionsObject(croppingOrArgs)
      ? croppingOrArgs
      : { ...optionsAfterPositional('Cropping2D', maybeArgs), cropping: croppingOrArgs ?? maybeArgs.cropping };
    checkKnownOptions('Cropping2D', args, [...LAYER_ARG_KEYS, 'cropping', 'dataFormat']);
    super(args, 'Cropping2D');
    const context = `Cropping2D '${this.name}'`;
    this.cropping = checkSideAmounts(context, 'cropping', args.cropping ?? 0);
    checkChannelsLast(context, args.dataFormat);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    const [[top, bottom], [left, right]] = this.cropping;
    const height = inputShape[0] - top - bottom;
    const width = inputShape[1] - left - right;
    if (height < 1 || width < 1) {
      throw this.inputError(`more than the cropping's ${top + bottom} rows and ${left + right} columns`, inputShape);
    }
    return [height, width, inputShape[2]];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'cropping2d', cropping: this.cropping.flat() }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), cropping: this.cropping };
  }
}

export interface UpSampling2DArgs extends LayerArgs {
  /** Factors for rows and columns. Default 2. */
  size?: number | [number, number];
  /** Only 'channels_last'. */
  dataFormat?: 'channels_last';
  /** 'nearest' repeats each pixel; 'bilinear' interpolates with half-pixel centres, as TensorFlow's resize. Default 'nearest'. */
  interpolation?: 'nearest' | 'bilinear';
}

/** Each image enlarged by integer factors: `new UpSampling2D({size: 2, interpolation: 'bilinear'})`. */
export class UpSampling2D extends Layer {
  readonly className = 'UpSampling2D';
  readonly size: [number, number];
  readonly interpolation: 'nearest' | 'bilinear';

  constructor(size?: number | [number, number], args?: UpSampling2DArgs);
  constructor(args?: UpSampling2DArgs);
  constructor(sizeOrArgs?: number | [number, number] | UpSampling2DArgs, maybeArgs: UpSampling2DArgs = {}) {
    const args: UpSampling2DArgs = isOptionsObject(sizeOrArgs)
      ? sizeOrArgs
      : { ...optionsAfterPositional('UpSampling2D', maybeArgs), size: sizeOrArgs ?? maybeArgs.size };
    checkKnownOptions('UpSampling2D', args, [...LAYER_ARG_KEYS, 'size', 'dataFormat', 'interpolation']);
    super(args, 'UpSampling2D');
    const context = `UpSampling2D '${this.name}'`;
    this.size = checkIntegerPair(context, 'size', args.size ?? 2);
    this.interpolation = checkOneOf(context, 'interpolation', args.interpolation ?? 'nearest', ['nearest', 'bilinear'] as const);
    checkChannelsLast(context, args.dataFormat);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    this.requireRank(inputShape, 3, '[height, width, channels]');
    return [inputShape[0] * this.size[0], inputShape[1] * this.size[1], inputShape[2]];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'up_sampling2d', size: this.size, interpolation: this.interpolation }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), size: this.size, interpolation: this.interpolation };
  }
}
