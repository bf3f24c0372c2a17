/**
 * Keras 3's image preprocessing layers, run inside the model on the whole batch (native/preprocessing.cc):
 * Resizing and CenterCrop always; the Random* augmentation layers in training only (fit), as Keras's, and
 * as the identity in predict and evaluate (RandomCrop centre-crops and resizes there instead). Each random
 * layer draws from a stream of its own, seeded by its `seed` or, without one, from setSeed's generator when
 * it is made; fit restarts it at each epoch from that seed and the epoch, as it does Dropout's.
 */
import { invalidArgument } from '../errors';
import type { LayerSpec } from '../native/binding';
import type { FillMode } from '../preprocessing/image-data-generator';
import { checkBoolean, checkFiniteNumber, checkKnownOptions, checkOneOf, checkPositiveInteger } from '../validation';
import { RandomLayer, RandomLayerArgs } from './core';
import { isOptionsObject, Layer, LayerArgs, LAYER_ARG_KEYS, optionsAfterPositional } from './layer';

const FILL_MODES: readonly FillMode[] = ['reflect', 'wrap', 'constant', 'nearest'];
export type ResizeInterpolation = 'bilinear' | 'nearest' | 'bicubic' | 'area';
const RESIZE_INTERPOLATIONS: readonly ResizeInterpolation[] = ['bilinear', 'nearest', 'bicubic', 'area'];
export type AffineInterpolation = 'bilinear' | 'nearest';
const AFFINE_INTERPOLATIONS: readonly AffineInterpolation[] = ['bilinear', 'nearest'];

/** A factor as Keras reads it: a number `f` is the range [-|f|, |f|], a pair [lower, upper] is sorted. */
export type Factor = number | [number, number];

/** Keras's _set_factor: each bound within [min, max]. */
function factorRange(context: string, name: string, value: unknown, min: number, max: number, { minExclusive = false } = {}): [number, number] {
  const inRange = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && (minExclusive ? v > min : v >= min) && v <= max;
  if (inRange(value)) return [-Math.abs(value), Math.abs(value)];
  if (Array.isArray(value) && value.length === 2 && value.every(inRange)) return [Math.min(value[0], value[1]), Math.max(value[0], value[1])];
  throw invalidArgument(context, `${name} to be a number or a pair of numbers in ${minExclusive ? '(' : '['}${min}, ${max}]`, value);
}

/** Keras's value_range: two numbers, sorted. */
function valueRange(context: string, value: unknown): [number, number] {
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return [Math.min(value[0], value[1]), Math.max(value[0], value[1])];
  }
  throw invalidArgument(context, 'valueRange to be a pair of finite numbers [low, high]', value);
}

/** Images [height, width, channels]: what every layer here takes. */
function requireImages(layer: { inputError(expected: string, inputShape: readonly number[]): Error }, inputShape: readonly number[]): void {
  if (inputShape.length !== 3) throw layer.inputError('rank 3 ([height, width, channels])', inputShape);
}

/** The size arguments of Resizing, CenterCrop and RandomCrop: positional, or in the options object. */
function sizeArguments<T extends object>(className: string, first: number | (T & { height?: number; width?: number }), width: number | undefined, options: T): T & { height?: number; width?: number } {
  if (isOptionsObject(first)) return first as T & { height?: number; width?: number };
  return { ...optionsAfterPositional(className, options), height: first, width };
}

abstract class ImageLayer extends Layer {
  /** @internal Public for the shared rank check. */
  override inputError(expected: string, inputShape: readonly number[]): Error {
    return super.inputError(expected, inputShape);
  }
}

export interface ResizingArgs extends LayerArgs {
  height?: number;
  width?: number;
  /** Default 'bilinear' (half-pixel centres, as Keras); 'area' averages (TensorFlow's area for whole factors). */
  interpolation?: ResizeInterpolation;
  /** Crop the largest centred window of the target's aspect ratio first, so nothing is stretched. Default false. */
  cropToAspectRatio?: boolean;
  /** Pad with `fillValue` to the target's aspect ratio first. Default false. */
  padToAspectRatio?: boolean;
  /** Only 'constant', as Keras. */
  fillMode?: 'constant';
  /** The padding's value. Default 0. */
  fillValue?: number;
  /** Low-pass filter when downsampling (bilinear and bicubic). Default false. */
  antialias?: boolean;
}

/** Resizes images to `height` x `width`, in training and inference. */
export class Resizing extends ImageLayer {
  readonly className = 'Resizing';
  readonly height: number;
  readonly width: number;
  readonly interpolation: ResizeInterpolation;
  readonly cropToAspectRatio: boolean;
  readonly padToAspectRatio: boolean;
  readonly fillValue: number;
  readonly antialias: boolean;

  constructor(height: number, width: number, args?: ResizingArgs);
  constructor(args: ResizingArgs);
  constructor(heightOrArgs: number | ResizingArgs, width?: number, maybeArgs: ResizingArgs = {}) {
    const args = sizeArguments('Resizing', heightOrArgs, width, maybeArgs);
    checkKnownOptions('Resizing', args, [...LAYER_ARG_KEYS, 'height', 'width', 'interpolation', 'cropToAspectRatio', 'padToAspectRatio', 'fillMode', 'fillValue', 'antialias']);
    super(args, 'Resizing');
    const context = `Resizing '${this.name}'`;
    this.height = checkPositiveInteger(context, 'height', args.height);
    this.width = checkPositiveInteger(context, 'width', args.width);
    this.interpolation = checkOneOf(context, 'interpolation', args.interpolation ?? 'bilinear', RESIZE_INTERPOLATIONS);
    this.cropToAspectRatio = checkBoolean(context, 'cropToAspectRatio', args.cropToAspectRatio ?? false);
    this.padToAspectRatio = checkBoolean(context, 'padToAspectRatio', args.padToAspectRatio ?? false);
    if (this.cropToAspectRatio && this.padToAspectRatio) {
      throw invalidArgument(context, 'cropToAspectRatio or padToAspectRatio, not both', args);
    }
    checkOneOf(context, 'fillMode', args.fillMode ?? 'constant', ['constant']);
    this.fillValue = checkFiniteNumber(context, 'fillValue', args.fillValue ?? 0);
    this.antialias = checkBoolean(context, 'antialias', args.antialias ?? false);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    requireImages(this, inputShape);
    return [this.height, this.width, inputShape[2]];
  }

  toSpecs(): LayerSpec[] {
    const { height, width, interpolation, cropToAspectRatio, padToAspectRatio, fillValue, antialias } = this;
    return [{ kind: 'resizing', height, width, interpolation, cropToAspectRatio, padToAspectRatio, fillValue, antialias }];
  }

  override getConfig(): Record<string, unknown> {
    const { height, width, interpolation, cropToAspectRatio, padToAspectRatio, fillValue, antialias } = this;
    return { ...super.getConfig(), height, width, interpolation, cropToAspectRatio, padToAspectRatio, fillMode: 'constant', fillValue, antialias };
  }
}

export interface CenterCropArgs extends LayerArgs {
  height?: number;
  width?: number;
}

/**
 * The central `height` x `width` window of each image, in training and inference; an image smaller than
 * that on either axis is resized as Keras's smart_resize does (its centred window of the target's aspect
 * ratio, resized bilinearly).
 */
export class CenterCrop extends ImageLayer {
  readonly className = 'CenterCrop';
  readonly height: number;
  readonly width: number;

  constructor(height: number, width: number, args?: CenterCropArgs);
  constructor(args: CenterCropArgs);
  constructor(heightOrArgs: number | CenterCropArgs, width?: number, maybeArgs: CenterCropArgs = {}) {
    const args = sizeArguments('CenterCrop', heightOrArgs, width, maybeArgs);
    checkKnownOptions('CenterCrop', args, [...LAYER_ARG_KEYS, 'height', 'width']);
    super(args, 'CenterCrop');
    this.height = checkPositiveInteger(`CenterCrop '${this.name}'`, 'height', args.height);
    this.width = checkPositiveInteger(`CenterCrop '${this.name}'`, 'width', args.width);
  }

  computeOutputShape(inputShape: readonly number[]): number[] {
    requireImages(this, inputShape);
    return [this.height, this.width, inputShape[2]];
  }

  toSpecs(): LayerSpec[] {
    return [{ kind: 'center_crop', height: this.height, width: this.width }];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}

const RANDOM_ARG_KEYS = [...LAYER_ARG_KEYS, 'seed'] as const;

/**
 * A random augmentation layer: a RandomLayer (its seeded stream, which fit restarts each epoch, as
 * Dropout's) that takes images.
 */
abstract class RandomImageLayer extends RandomLayer {
  /** @internal Public for the shared rank check. */
  override inputError(expected: string, inputShape: readonly number[]): Error {
    return super.inputError(expected, inputShape);
  }

  override computeOutputShape(inputShape: readonly number[]): number[] {
    requireImages(this, inputShape);
    return [...inputShape];
  }

  /** The spec of the native module, with the stream's seed. */
  protected randomSpec(kind: string, options: Record<string, unknown>): LayerSpec[] {
    return [{ kind, seed: this.streamSeed, ...options }];
  }
}

export type FlipMode = 'horizontal' | 'vertical' | 'horizontal_and_vertical';
const FLIP_MODES: readonly FlipMode[] = ['horizontal', 'vertical', 'horizontal_and_vertical'];

export interface RandomFlipArgs extends RandomLayerArgs {
  /** Default 'horizontal_and_vertical' (as Keras: one coin per image flips both axes, or neither). */
  mode?: FlipMode;
}

/** Flips each image left-right and/or up-down with probability 1/2, in training. */
export class RandomFlip extends RandomImageLayer {
  readonly className = 'RandomFlip';
  readonly mode: FlipMode;

  constructor(mode?: FlipMode, args?: RandomFlipArgs);
  constructor(args: RandomFlipArgs);
  constructor(modeOrArgs?: FlipMode | RandomFlipArgs, maybeArgs: RandomFlipArgs = {}) {
    const args = isOptionsObject(modeOrArgs) ? modeOrArgs : { ...optionsAfterPositional('RandomFlip', maybeArgs), ...(modeOrArgs === undefined ? {} : { mode: modeOrArgs }) };
    checkKnownOptions('RandomFlip', args, [...RANDOM_ARG_KEYS, 'mode']);
    super(args, 'RandomFlip');
    this.mode = checkOneOf(`RandomFlip '${this.name}'`, 'mode', args.mode ?? 'horizontal_and_vertical', FLIP_MODES);
  }

  toSpecs(): LayerSpec[] {
    return this.randomSpec('random_flip', { mode: this.mode });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), mode: this.mode };
  }
}

/** Options of RandomRotation, RandomZoom and RandomTranslation. */
export interface RandomAffineArgs extends RandomLayerArgs {
  /** How points outside the image are filled: 'reflect' (default, d c b a | a b c d), 'wrap', 'constant', 'nearest'. */
  fillMode?: FillMode;
  /** Default 'bilinear'. */
  interpolation?: AffineInterpolation;
  /** The value of 'constant' fill. Default 0. */
  fillValue?: number;
}

const AFFINE_ARG_KEYS = [...RANDOM_ARG_KEYS, 'fillMode', 'interpolation', 'fillValue'] as const;

/** The geometric layers: sampled as Keras 3's affine_transform does, one transform per image. */
abstract class RandomAffineLayer extends RandomImageLayer {
  readonly fillMode: FillMode;
  readonly interpolation: AffineInterpolation;
  readonly fillValue: number;

  constructor(args: RandomAffineArgs, className: string) {
    super(args, className);
    const context = `${className} '${this.name}'`;
    this.fillMode = checkOneOf(context, 'fillMode', args.fillMode ?? 'reflect', FILL_MODES);
    this.interpolation = checkOneOf(context, 'interpolation', args.interpolation ?? 'bilinear', AFFINE_INTERPOLATIONS);
    this.fillValue = checkFiniteNumber(context, 'fillValue', args.fillValue ?? 0);
  }

  protected affineSpec(kind: string, options: Record<string, unknown>): LayerSpec[] {
    return this.randomSpec(kind, { fillMode: this.fillMode, interpolation: this.interpolation, fillValue: this.fillValue, ...options });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), fillMode: this.fillMode, interpolation: this.interpolation, fillValue: this.fillValue };
  }
}

export interface RandomRotationArgs extends RandomAffineArgs {
  factor?: Factor;
}

/**
 * Rotates each image about its centre by a random fraction of a full turn in [lower, upper] (`factor`
 * 0.1 is up to 36 degrees either way; positive is counter-clockwise), in training.
 */
export class RandomRotation extends RandomAffineLayer {
  readonly className = 'RandomRotation';
  readonly factor: Factor;
  private readonly range: [number, number];

  constructor(factor: Factor, args?: RandomRotationArgs);
  constructor(args: RandomRotationArgs);
  constructor(factorOrArgs: Factor | RandomRotationArgs, maybeArgs: RandomRotationArgs = {}) {
    const args = isOptionsObject(factorOrArgs) ? factorOrArgs : { ...optionsAfterPositional('RandomRotation', maybeArgs), factor: factorOrArgs };
    checkKnownOptions('RandomRotation', args, [...AFFINE_ARG_KEYS, 'factor']);
    super(args, 'RandomRotation');
    this.range = factorRange(`RandomRotation '${this.name}'`, 'factor', args.factor, -1, 1);
    this.factor = Array.isArray(args.factor) ? [args.factor[0], args.factor[1]] : (args.factor as number);
  }

  toSpecs(): LayerSpec[] {
    return this.affineSpec('random_rotation', { lower: this.range[0], upper: this.range[1] });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), factor: this.factor };
  }
}

export interface RandomZoomArgs extends RandomAffineArgs {
  /** Fractions of the height: positive zooms out, negative in (0.2 is [-20%, +20%]); each in (-1, 1]. */
  heightFactor?: Factor;
  /** The same for the width; default null: the height's zoom, keeping the aspect ratio. */
  widthFactor?: Factor | null;
}

/** Zooms each image in or out about its centre by a random amount, in training. */
export class RandomZoom extends RandomAffineLayer {
  readonly className = 'RandomZoom';
  readonly heightFactor: Factor;
  readonly widthFactor: Factor | null;
  private readonly heightRange: [number, number];
  private readonly widthRange?: [number, number];

  constructor(heightFactor: Factor, args?: RandomZoomArgs);
  constructor(args: RandomZoomArgs);
  constructor(heightOrArgs: Factor | RandomZoomArgs, maybeArgs: RandomZoomArgs = {}) {
    const args = isOptionsObject(heightOrArgs) ? heightOrArgs : { ...optionsAfterPositional('RandomZoom', maybeArgs), heightFactor: heightOrArgs };
    checkKnownOptions('RandomZoom', args, [...AFFINE_ARG_KEYS, 'heightFactor', 'widthFactor']);
    super(args, 'RandomZoom');
    const context = `RandomZoom '${this.name}'`;
    this.heightRange = factorRange(context, 'heightFactor', args.heightFactor, -1, 1, { minExclusive: true });
    this.heightFactor = copyFactor(args.heightFactor as Factor);
    const widthFactor = args.widthFactor === undefined || args.widthFactor === null ? null : (args.widthFactor as Factor);
    if (widthFactor !== null) this.widthRange = factorRange(context, 'widthFactor', widthFactor, -1, 1, { minExclusive: true });
    this.widthFactor = widthFactor === null ? null : copyFactor(widthFactor);
  }

  toSpecs(): LayerSpec[] {
    const width = this.widthRange ? { widthLower: this.widthRange[0], widthUpper: this.widthRange[1] } : {};
    return this.affineSpec('random_zoom', { heightLower: this.heightRange[0], heightUpper: this.heightRange[1], ...width });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), heightFactor: this.heightFactor, widthFactor: this.widthFactor };
  }
}

export interface RandomTranslationArgs extends RandomAffineArgs {
  /** Fractions of the height: positive moves down (0.2 is [-20%, +20%]); each in [-1, 1]. */
  heightFactor?: Factor;
  /** Fractions of the width: positive moves right. */
  widthFactor?: Factor;
}

/** Shifts each image by a random fraction of its height and width, in training. */
export class RandomTranslation extends RandomAffineLayer {
  readonly className = 'RandomTranslation';
  readonly heightFactor: Factor;
  readonly widthFactor: Factor;
  private readonly heightRange: [number, number];
  private readonly widthRange: [number, number];

  constructor(heightFactor: Factor, widthFactor: Factor, args?: RandomTranslationArgs);
  constructor(args: RandomTranslationArgs);
  constructor(heightOrArgs: Factor | RandomTranslationArgs, widthFactor?: Factor, maybeArgs: RandomTranslationArgs = {}) {
    const args = isOptionsObject(heightOrArgs)
      ? heightOrArgs
      : { ...optionsAfterPositional('RandomTranslation', maybeArgs), heightFactor: heightOrArgs, widthFactor };
    checkKnownOptions('RandomTranslation', args, [...AFFINE_ARG_KEYS, 'heightFactor', 'widthFactor']);
    super(args, 'RandomTranslation');
    const context = `RandomTranslation '${this.name}'`;
    this.heightRange = factorRange(context, 'heightFactor', args.heightFactor, -1, 1);
    this.widthRange = factorRange(context, 'widthFactor', args.widthFactor, -1, 1);
    this.heightFactor = copyFactor(args.heightFactor as Factor);
    this.widthFactor = copyFactor(args.widthFactor as Factor);
  }

  toSpecs(): LayerSpec[] {
    const [heightLower, heightUpper] = this.heightRange;
    const [widthLower, widthUpper] = this.widthRange;
    return this.affineSpec('random_translation', { heightLower, heightUpper, widthLower, widthUpper });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), heightFactor: this.heightFactor, widthFactor: this.widthFactor };
  }
}

export interface RandomColorArgs extends RandomLayerArgs {
  factor?: Factor;
  /** The range of the incoming values, [0, 255] by default ([0, 1] after a Rescaling(1 / 255)); outputs are clipped to it. */
  valueRange?: [number, number];
}

/**
 * Scales each image's contrast by a random factor in [1 - lower, 1 + upper] (`factor` 0.2 is [0.8, 1.2],
 * as Keras documents it; each bound in [0, 1]): `(x - mean) * factor + mean` per channel, the mean over the
 * image, clipped to `valueRange`; in training.
 */
export class RandomContrast extends RandomImageLayer {
  readonly className = 'RandomContrast';
  readonly factor: Factor;
  readonly valueRange: [number, number];
  private readonly bounds: [number, number];

  constructor(factor: Factor, args?: RandomColorArgs);
  constructor(args: RandomColorArgs);
  constructor(factorOrArgs: Factor | RandomColorArgs, maybeArgs: RandomColorArgs = {}) {
    const args = isOptionsObject(factorOrArgs) ? factorOrArgs : { ...optionsAfterPositional('RandomContrast', maybeArgs), factor: factorOrArgs };
    checkKnownOptions('RandomContrast', args, [...RANDOM_ARG_KEYS, 'factor', 'valueRange']);
    super(args, 'RandomContrast');
    const context = `RandomContrast '${this.name}'`;
    const inUnit = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
    if (inUnit(args.factor)) {
      this.bounds = [args.factor as number, args.factor as number];
    } else if (Array.isArray(args.factor) && args.factor.length === 2 && args.factor.every(inUnit)) {
      this.bounds = [args.factor[0], args.factor[1]];
    } else {
      throw invalidArgument(context, 'factor to be a number or a pair of numbers in [0, 1]', args.factor);
    }
    this.factor = copyFactor(args.factor as Factor);
    this.valueRange = valueRange(context, args.valueRange ?? [0, 255]);
  }

  toSpecs(): LayerSpec[] {
    return this.randomSpec('random_contrast', { lower: this.bounds[0], upper: this.bounds[1], low: this.valueRange[0], high: this.valueRange[1] });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), factor: this.factor, valueRange: [...this.valueRange] };
  }
}

/**
 * Adds to each image a random shift in [lower, upper] times the width of `valueRange` (`factor` 0.2 is up
 * to a fifth of the range either way; each bound in [-1, 1]), clipped to `valueRange`; in training.
 */
export class RandomBrightness extends RandomImageLayer {
  readonly className = 'RandomBrightness';
  readonly factor: Factor;
  readonly valueRange: [number, number];
  private readonly bounds: [number, number];

  constructor(factor: Factor, args?: RandomColorArgs);
  constructor(args: RandomColorArgs);
  constructor(factorOrArgs: Factor | RandomColorArgs, maybeArgs: RandomColorArgs = {}) {
    const args = isOptionsObject(factorOrArgs) ? factorOrArgs : { ...optionsAfterPositional('RandomBrightness', maybeArgs), factor: factorOrArgs };
    checkKnownOptions('RandomBrightness', args, [...RANDOM_ARG_KEYS, 'factor', 'valueRange']);
    super(args, 'RandomBrightness');
    const context = `RandomBrightness '${this.name}'`;
    this.bounds = factorRange(context, 'factor', args.factor, -1, 1);
    this.factor = copyFactor(args.factor as Factor);
    this.valueRange = valueRange(context, args.valueRange ?? [0, 255]);
  }

  toSpecs(): LayerSpec[] {
    return this.randomSpec('random_brightness', { lower: this.bounds[0], upper: this.bounds[1], low: this.valueRange[0], high: this.valueRange[1] });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), factor: this.factor, valueRange: [...this.valueRange] };
  }
}

export interface RandomCropArgs extends RandomLayerArgs {
  height?: number;
  width?: number;
}

/**
 * A random `height` x `width` window of the batch's images in training (one window for the batch, as
 * Keras); in inference, and in training when an image is not larger on both axes, the largest centred
 * window of the target's aspect ratio, resized bilinearly (Keras's documented behaviour).
 */
export class RandomCrop extends RandomImageLayer {
  readonly className = 'RandomCrop';
  readonly height: number;
  readonly width: number;

  constructor(height: number, width: number, args?: RandomCropArgs);
  constructor(args: RandomCropArgs);
  constructor(heightOrArgs: number | RandomCropArgs, width?: number, maybeArgs: RandomCropArgs = {}) {
    const args = sizeArguments('RandomCrop', heightOrArgs, width, maybeArgs);
    checkKnownOptions('RandomCrop', args, [...RANDOM_ARG_KEYS, 'height', 'width']);
    super(args, 'RandomCrop');
    this.height = checkPositiveInteger(`RandomCrop '${this.name}'`, 'height', args.height);
    this.width = checkPositiveInteger(`RandomCrop '${this.name}'`, 'width', args.width);
  }

  override computeOutputShape(inputShape: readonly number[]): number[] {
    requireImages(this, inputShape);
    return [this.height, this.width, inputShape[2]];
  }

  toSpecs(): LayerSpec[] {
    return this.randomSpec('random_crop', { height: this.height, width: this.width });
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}

function copyFactor(factor: Factor): Factor {
  return Array.isArray(factor) ? [factor[0], factor[1]] : factor;
}
