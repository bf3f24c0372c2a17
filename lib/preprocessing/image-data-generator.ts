/**
 * ImageDataGenerator: Keras's real-time image augmentation (keras_preprocessing 1.1), with the same options,
 * random parameters and order of operations. Random parameters are drawn per image in TypeScript; the
 * pixel work runs batch-wise in the addon (native/augment.cc), off the event loop.
 */
import { invalidArgument, ValueError } from '../errors';
import { forkSeed, random, SeededRandom } from '../random';
import { Tensor, tensor } from '../tensor';
import {
  checkBoolean,
  checkFiniteNumber,
  checkKnownOptions,
  checkNumberInRange,
  checkOneOf,
  checkPlainObject,
} from '../validation';
import { ArrayIterator, FlowOptions } from './array-iterator';
import { DirectoryIterator, FlowFromDirectoryOptions } from './directory-iterator';
import { DataFrameIterator, DataFrameRecord, FlowFromDataframeOptions } from './dataframe-iterator';
import { augmentBinding, NativeAugmentOptions, PARAM_INDEX, PARAMS_PER_IMAGE } from './native';

export type FillMode = 'nearest' | 'constant' | 'reflect' | 'wrap';
export const FILL_MODES: readonly FillMode[] = ['nearest', 'constant', 'reflect', 'wrap'];

/** A shift range: a fraction of the size (< 1) or pixels (>= 1; an integer draws whole pixels), or values to pick from. */
export type ShiftRange = number | number[];

export interface ImageDataGeneratorOptions {
  /** Subtract the dataset's per-channel mean (from `fit`); default false. */
  featurewiseCenter?: boolean;
  /** Subtract each image's own mean; default false. */
  samplewiseCenter?: boolean;
  /** Divide by the dataset's per-channel std (from `fit`); implies featurewiseCenter; default false. */
  featurewiseStdNormalization?: boolean;
  /** Divide each image by its own std; implies samplewiseCenter; default false. */
  samplewiseStdNormalization?: boolean;
  /** Not supported; accepted only as false. */
  zcaWhitening?: boolean;
  /** Degrees of random rotation, drawn from [-r, r]; default 0. */
  rotationRange?: number;
  /** Random horizontal shift; default 0. */
  widthShiftRange?: ShiftRange;
  /** Random vertical shift; default 0. */
  heightShiftRange?: ShiftRange;
  /** [low, high] of a random brightness factor (PIL's ImageEnhance.Brightness); default none. */
  brightnessRange?: [number, number] | null;
  /** Shear angle in degrees (counter-clockwise), drawn from [-s, s]; default 0. */
  shearRange?: number;
  /** z for [1 - z, 1 + z], or [low, high]; zoom is drawn independently for the two axes; default 0. */
  zoomRange?: number | [number, number];
  /** Random channel shift, drawn from [-r, r]; default 0. */
  channelShiftRange?: number;
  /** How points outside the image are filled; default 'nearest'. */
  fillMode?: FillMode;
  /** The value of outside points when fillMode is 'constant' (in the input's scale, before rescale); default 0. */
  cval?: number;
  /** Flip half of the images left-right; default false. */
  horizontalFlip?: boolean;
  /** Flip half of the images upside down; default false. */
  verticalFlip?: boolean;
  /** Multiply every value by this after augmentation (1 / 255 for [0, 1] inputs); default none. */
  rescale?: number | null;
  /**
   * Runs on each image [height, width, channels] after augmentation and before `rescale`, as Keras's
   * `preprocessing_function`; returns a tensor of the same shape (or a Promise of one).
   */
  preprocessingFunction?: ((image: Tensor) => Tensor | Promise<Tensor>) | null;
  /** Only 'channels_last' (the only layout the API uses). */
  dataFormat?: 'channels_last';
  /** Fraction of images held out for `subset: 'validation'`, in [0, 1); default 0. */
  validationSplit?: number;
  /** Only 1 (bilinear), the Keras default. */
  interpolationOrder?: 1;
  /** Only 'float32'. */
  dtype?: 'float32';
}

/** The random parameters of one image's transformation, Keras's `get_random_transform` dictionary. */
export interface TransformParameters {
  /** Rotation, degrees. */
  theta: number;
  /** Shift along rows (height), pixels. */
  tx: number;
  /** Shift along columns (width), pixels. */
  ty: number;
  /** Shear, degrees. */
  shear: number;
  /** Zoom of the row axis. */
  zx: number;
  /** Zoom of the column axis. */
  zy: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
  channelShiftIntensity: number | null;
  brightness: number | null;
}

export interface FitOptions {
  /** Fit on randomly augmented copies; default false. */
  augment?: boolean;
  /** Augmentation passes when `augment`; default 1. */
  rounds?: number;
  /** Seed for the augmentation; default random. */
  seed?: number;
}

const OPTION_NAMES = [
  'featurewiseCenter', 'samplewiseCenter', 'featurewiseStdNormalization', 'samplewiseStdNormalization', 'zcaWhitening',
  'rotationRange', 'widthShiftRange', 'heightShiftRange', 'brightnessRange', 'shearRange', 'zoomRange',
  'channelShiftRange', 'fillMode', 'cval', 'horizontalFlip', 'verticalFlip', 'rescale', 'preprocessingFunction',
  'dataFormat', 'validationSplit', 'interpolationOrder', 'dtype',
] as const;

const CONTEXT = 'ImageDataGenerator';

function checkShiftRange(name: string, value: unknown): ShiftRange {
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw invalidArgument(CONTEXT, `${name} to be a non-negative number or a non-empty array of numbers`, value);
    }
    return value.slice();
  }
  return checkNumberInRange(CONTEXT, name, value, 0, Infinity);
}

function checkPair(name: string, value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalidArgument(CONTEXT, `${name} to be a number or an array of two numbers`, value);
  }
  return [value[0], value[1]];
}

export class ImageDataGenerator {
  readonly featurewiseCenter: boolean;
  readonly samplewiseCenter: boolean;
  readonly featurewiseStdNormalization: boolean;
  readonly samplewiseStdNormalization: boolean;
  readonly rotationRange: number;
  readonly widthShiftRange: ShiftRange;
  readonly heightShiftRange: ShiftRange;
  readonly brightnessRange: [number, number] | null;
  readonly shearRange: number;
  /** [low, high], as Keras stores it. */
  readonly zoomRange: [number, number];
  readonly channelShiftRange: number;
  readonly fillMode: FillMode;
  readonly cval: number;
  readonly horizontalFlip: boolean;
  readonly verticalFlip: boolean;
  readonly rescale: number | null;
  readonly preprocessingFunction: ((image: Tensor) => Tensor | Promise<Tensor>) | null;
  readonly validationSplit: number;
  /** Per-channel mean from `fit`, or null. */
  mean: Float32Array | null = null;
  /** Per-channel std from `fit`, or null. */
  std: Float32Array | null = null;

  constructor(options: ImageDataGeneratorOptions = {}) {
    checkPlainObject(CONTEXT, 'options', options);
    checkKnownOptions(CONTEXT, options, OPTION_NAMES);
    const flag = (name: keyof ImageDataGeneratorOptions) => checkBoolean(CONTEXT, name, options[name] ?? false);
    this.featurewiseCenter = flag('featurewiseCenter');
    this.samplewiseCenter = flag('samplewiseCenter');
    this.featurewiseStdNormalization = flag('featurewiseStdNormalization');
    this.samplewiseStdNormalization = flag('samplewiseStdNormalization');
    if (flag('zcaWhitening')) {
      throw invalidArgument(CONTEXT, 'zcaWhitening to be false (ZCA whitening is not supported)', true);
    }
    // Keras turns the centering on when the matching normalization is asked for (with a warning).
    if (this.featurewiseStdNormalization) this.featurewiseCenter = true;
    if (this.samplewiseStdNormalization) this.samplewiseCenter = true;
    this.rotationRange = checkNumberInRange(CONTEXT, 'rotationRange', options.rotationRange ?? 0, 0, Infinity);
    this.widthShiftRange = checkShiftRange('widthShiftRange', options.widthShiftRange ?? 0);
    this.heightShiftRange = checkShiftRange('heightShiftRange', options.heightShiftRange ?? 0);
    this.brightnessRange = options.brightnessRange == null ? null : checkPair('brightnessRange', options.brightnessRange);
    if (this.brightnessRange && (this.brightnessRange[0] < 0 || this.brightnessRange[1] < this.brightnessRange[0])) {
      throw invalidArgument(CONTEXT, 'brightnessRange to be [low, high] with 0 <= low <= high', options.brightnessRange);
    }
    this.shearRange = checkNumberInRange(CONTEXT, 'shearRange', options.shearRange ?? 0, 0, Infinity);
    const zoom = options.zoomRange ?? 0;
    if (typeof zoom === 'number') {
      checkNumberInRange(CONTEXT, 'zoomRange', zoom, 0, 1, { maxExclusive: true });
      this.zoomRange = [1 - zoom, 1 + zoom];
    } else {
      this.zoomRange = checkPair('zoomRange', zoom);
      if (this.zoomRange[0] <= 0 || this.zoomRange[1] < this.zoomRange[0]) {
        throw invalidArgument(CONTEXT, 'zoomRange to be [low, high] with 0 < low <= high', zoom);
      }
    }
    this.channelShiftRange = checkNumberInRange(CONTEXT, 'channelShiftRange', options.channelShiftRange ?? 0, 0, Infinity);
    this.fillMode = checkOneOf(CONTEXT, 'fillMode', options.fillMode ?? 'nearest', FILL_MODES);
    this.cval = checkFiniteNumber(CONTEXT, 'cval', options.cval ?? 0);
    this.horizontalFlip = flag('horizontalFlip');
    this.verticalFlip = flag('verticalFlip');
    const rescale = options.rescale ?? null;
    this.rescale = rescale === null ? null : checkFiniteNumber(CONTEXT, 'rescale', rescale);
    const fn = options.preprocessingFunction ?? null;
    if (fn !== null && typeof fn !== 'function') throw invalidArgument(CONTEXT, 'preprocessingFunction to be a function', fn);
    this.preprocessingFunction = fn;
    checkOneOf(CONTEXT, 'dataFormat', options.dataFormat ?? 'channels_last', ['channels_last']);
    this.validationSplit = checkNumberInRange(CONTEXT, 'validationSplit', options.validationSplit ?? 0, 0, 1, { maxExclusive: true });
    if ((options.interpolationOrder ?? 1) !== 1) {
      throw invalidArgument(CONTEXT, 'interpolationOrder to be 1 (bilinear, the only order supported)', options.interpolationOrder);
    }
    checkOneOf(CONTEXT, 'dtype', options.dtype ?? 'float32', ['float32']);
  }

  /** Whether any random transformation is configured (when none, batches skip the transform step). */
  get augments(): boolean {
    return (
      this.rotationRange !== 0 ||
      isNonZeroRange(this.widthShiftRange) ||
      isNonZeroRange(this.heightShiftRange) ||
      this.shearRange !== 0 ||
      !(this.zoomRange[0] === 1 && this.zoomRange[1] === 1) ||
      this.channelShiftRange !== 0 ||
      this.brightnessRange !== null ||
      this.horizontalFlip ||
      this.verticalFlip
    );
  }

  /** Random parameters for one image of shape [height, width, channels], as Keras's `get_random_transform`. */
  getRandomTransform(imageShape: readonly number[], seed?: number): TransformParameters {
    if (!Array.isArray(imageShape) || imageShape.length !== 3) {
      throw invalidArgument('getRandomTransform', 'imageShape [height, width, channels]', imageShape);
    }
    const rng = seed === undefined ? random() : new SeededRandom(seed);
    return this.drawTransform(rng, imageShape[0], imageShape[1]);
  }

  /** @internal */
  drawTransform(rng: SeededRandom, height: number, width: number): TransformParameters {
    const uniform = (low: number, high: number) => low + (high - low) * rng.next();
    const shift = (range: ShiftRange, size: number): number => {
      if (!isNonZeroRange(range)) return 0;
      let value: number;
      if (Array.isArray(range)) {
        value = range[rng.nextInt(range.length)] * (rng.next() < 0.5 ? -1 : 1);
      } else if (Number.isInteger(range)) {
        // numpy's choice(n): a whole number of pixels in [0, n), then a random sign.
        value = rng.nextInt(range) * (rng.next() < 0.5 ? -1 : 1);
      } else {
        value = uniform(-range, range);
      }
      const largest = Array.isArray(range) ? Math.max(...range) : range;
      return largest < 1 ? value * size : value;
    };
    const theta = this.rotationRange ? uniform(-this.rotationRange, this.rotationRange) : 0;
    const tx = shift(this.heightShiftRange, height);
    const ty = shift(this.widthShiftRange, width);
    const shear = this.shearRange ? uniform(-this.shearRange, this.shearRange) : 0;
    let zx = 1;
    let zy = 1;
    if (!(this.zoomRange[0] === 1 && this.zoomRange[1] === 1)) {
      zx = uniform(this.zoomRange[0], this.zoomRange[1]);
      zy = uniform(this.zoomRange[0], this.zoomRange[1]);
    }
    const flipHorizontal = this.horizontalFlip && rng.next() < 0.5;
    const flipVertical = this.verticalFlip && rng.next() < 0.5;
    const channelShiftIntensity = this.channelShiftRange !== 0 ? uniform(-this.channelShiftRange, this.channelShiftRange) : null;
    const brightness = this.brightnessRange ? uniform(this.brightnessRange[0], this.brightnessRange[1]) : null;
    return { theta, tx, ty, shear, zx, zy, flipHorizontal, flipVertical, channelShiftIntensity, brightness };
  }

  /** Applies given parameters to one image [height, width, channels], as Keras's `apply_transform`. */
  async applyTransform(x: Tensor, parameters: Partial<TransformParameters>): Promise<Tensor> {
    const [values, shape] = this.imageValues('applyTransform', x);
    checkPlainObject('applyTransform', 'parameters', parameters);
    const full: TransformParameters = {
      theta: 0, tx: 0, ty: 0, shear: 0, zx: 1, zy: 1, flipHorizontal: false, flipVertical: false,
      channelShiftIntensity: null, brightness: null, ...parameters,
    };
    for (const key of ['theta', 'tx', 'ty', 'shear', 'zx', 'zy'] as const) checkFiniteNumber('applyTransform', key, full[key]);
    const native = await augmentBinding().augmentImages(values, [1, ...shape], packParameters([full]), this.nativeOptions(false));
    return new Tensor(native).reshape(shape);
  }

  /** A randomly transformed copy of one image, as Keras's `random_transform`. */
  async randomTransform(x: Tensor, seed?: number): Promise<Tensor> {
    const [, shape] = this.imageValues('randomTransform', x);
    return this.applyTransform(x, this.getRandomTransform(shape, seed));
  }

  /**
   * Applies the normalization (preprocessingFunction, rescale, samplewise and featurewise statistics) to an
   * image [h, w, c] or a batch [n, h, w, c], as Keras's `standardize`; returns a new tensor.
   */
  async standardize(x: Tensor): Promise<Tensor> {
    if (!(x instanceof Tensor) || (x.rank !== 3 && x.rank !== 4)) {
      throw invalidArgument('standardize', 'an image tensor [height, width, channels] or a batch [n, height, width, channels]', x instanceof Tensor ? x.shape : x);
    }
    const batch = x.rank === 3 ? x.reshape([1, ...x.shape]) : x;
    const shape = batch.shape as unknown as [number, number, number, number];
    const values = Float32Array.from(batch.dataSync() as ArrayLike<number>);
    return (await this.transformBatch(values, shape, null)).reshape([...x.shape]);
  }

  /**
   * Computes the per-channel mean and std of `x` [n, h, w, c] for featurewiseCenter and
   * featurewiseStdNormalization, as Keras's `fit` (on the values as given: rescale is not applied first).
   */
  async fit(x: Tensor, options: FitOptions = {}): Promise<void> {
    if (!(x instanceof Tensor) || x.rank !== 4) {
      throw invalidArgument('ImageDataGenerator.fit', 'a tensor of rank 4 [n, height, width, channels]', x instanceof Tensor ? x.shape : x);
    }
    checkPlainObject('ImageDataGenerator.fit', 'options', options);
    checkKnownOptions('ImageDataGenerator.fit', options, ['augment', 'rounds', 'seed']);
    const augment = checkBoolean('ImageDataGenerator.fit', 'augment', options.augment ?? false);
    const rounds = options.rounds ?? 1;
    if (!Number.isInteger(rounds) || rounds < 1) throw invalidArgument('ImageDataGenerator.fit', 'rounds to be a positive integer', rounds);
    const [n, height, width, channels] = x.shape;
    let values = Float32Array.from(x.dataSync() as ArrayLike<number>);
    if (augment) {
      // Its own stream: the rounds' draws, between awaits, do not interleave with other consumers'.
      const rng = new SeededRandom(options.seed ?? forkSeed());
      const parts: Float32Array[] = [];
      for (let r = 0; r < rounds; r++) {
        const params = packParameters(Array.from({ length: n }, () => this.drawTransform(rng, height, width)));
        const out = await augmentBinding().augmentImages(values, [n, height, width, channels], params, this.nativeOptions(false));
        parts.push(out.dataSync() as Float32Array);
      }
      values = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
      let offset = 0;
      for (const part of parts) {
        values.set(part, offset);
        offset += part.length;
      }
    }
    const sums = new Float64Array(channels);
    const count = values.length / channels;
    for (let i = 0; i < values.length; i++) sums[i % channels] += values[i];
    const mean = Float32Array.from(sums, (s) => s / count);
    if (this.featurewiseCenter) this.mean = mean;
    if (this.featurewiseStdNormalization) {
      const squares = new Float64Array(channels);
      for (let i = 0; i < values.length; i++) {
        const d = values[i] - mean[i % channels];
        squares[i % channels] += d * d;
      }
      this.std = Float32Array.from(squares, (s) => Math.sqrt(s / count));
    }
  }

  /** Batches of augmented images from class subfolders of `directory`, as Keras's `flow_from_directory`. */
  flowFromDirectory(directory: string, options: FlowFromDirectoryOptions = {}): DirectoryIterator {
    return new DirectoryIterator(directory, this, options);
  }

  /**
   * Batches of augmented images listed in records (`{ filename: 'cat.0.jpg', class: 'cat' }`) or a CSV file
   * with a header row, as Keras's `flow_from_dataframe`.
   */
  flowFromDataframe(dataframe: readonly DataFrameRecord[] | string, options: FlowFromDataframeOptions = {}): DataFrameIterator {
    return new DataFrameIterator(dataframe, this, options);
  }

  /** Batches of augmented images from a tensor [n, h, w, c] and optional labels, as Keras's `flow`. */
  flow(x: Tensor, y?: Tensor | ArrayLike<number> | null, options: FlowOptions = {}): ArrayIterator {
    return new ArrayIterator(x, y ?? null, this, options);
  }

  /**
   * @internal The whole per-batch pipeline: random transform (drawn from `seed`, or none when null),
   * preprocessingFunction, standardize. Resolves a float32 tensor [n, h, w, c].
   */
  async transformBatch(
    pixels: Uint8Array | Float32Array,
    shape: [number, number, number, number],
    seed: number | null,
  ): Promise<Tensor> {
    const [n, height, width] = shape;
    let params: Float64Array | null = null;
    if (seed !== null && this.augments) {
      const rng = new SeededRandom(seed);
      params = packParameters(Array.from({ length: n }, () => this.drawTransform(rng, height, width)));
    }
    const ops = augmentBinding();
    if (!this.preprocessingFunction) {
      return new Tensor(await ops.augmentImages(pixels, shape, params, this.nativeOptions(true)));
    }
    const augmented = new Tensor(await ops.augmentImages(pixels, shape, params, this.nativeOptions(false)));
    const imageSize = shape[1] * shape[2] * shape[3];
    const flat = augmented.dataSync() as Float32Array;
    const processed = new Float32Array(flat.length);
    for (let i = 0; i < n; i++) {
      const image = tensor(new Float32Array(flat.buffer, flat.byteOffset + i * imageSize * 4, imageSize), shape.slice(1));
      const result = await this.preprocessingFunction(image);
      if (!(result instanceof Tensor) || result.shape.join() !== image.shape.join()) {
        throw new ValueError(
          `ImageDataGenerator: expected preprocessingFunction to return a Tensor of shape [${image.shape.join(', ')}] but received ${result instanceof Tensor ? `shape [${result.shape.join(', ')}]` : typeof result}`,
        );
      }
      processed.set(Float32Array.from(result.dataSync() as ArrayLike<number>), i * imageSize);
    }
    return new Tensor(await ops.augmentImages(processed, shape, null, this.nativeOptions(true)));
  }

  private nativeOptions(standardize: boolean): NativeAugmentOptions {
    return {
      fillMode: this.fillMode,
      cval: this.cval,
      rescale: standardize && this.rescale ? this.rescale : 0,
      samplewiseCenter: standardize && this.samplewiseCenter,
      samplewiseStdNormalization: standardize && this.samplewiseStdNormalization,
      mean: standardize && this.featurewiseCenter ? this.featurewiseStatistic(this.mean, 'featurewiseCenter') : null,
      std: standardize && this.featurewiseStdNormalization ? this.featurewiseStatistic(this.std, 'featurewiseStdNormalization') : null,
    };
  }

  private warnedUnfit = false;

  private featurewiseStatistic(value: Float32Array | null, option: string): Float32Array | null {
    if (value === null && !this.warnedUnfit) {
      this.warnedUnfit = true;
      process.emitWarning(`ImageDataGenerator specifies ${option}, but it has not been fit on any training data. Fit it first by calling .fit(x).`);
    }
    return value;
  }

  private imageValues(context: string, x: Tensor): [Float32Array, [number, number, number]] {
    if (!(x instanceof Tensor) || x.rank !== 3) {
      throw invalidArgument(context, 'an image tensor of rank 3 [height, width, channels]', x instanceof Tensor ? x.shape : x);
    }
    return [Float32Array.from(x.dataSync() as ArrayLike<number>), x.shape as unknown as [number, number, number]];
  }
}

function isNonZeroRange(range: ShiftRange): boolean {
  return Array.isArray(range) ? range.length > 0 : range !== 0;
}

/** Packs parameters in the layout native/augment.cc reads. */
export function packParameters(list: TransformParameters[]): Float64Array {
  const out = new Float64Array(list.length * PARAMS_PER_IMAGE);
  list.forEach((p, i) => {
    const o = i * PARAMS_PER_IMAGE;
    out[o + PARAM_INDEX.theta] = p.theta;
    out[o + PARAM_INDEX.tx] = p.tx;
    out[o + PARAM_INDEX.ty] = p.ty;
    out[o + PARAM_INDEX.shear] = p.shear;
    out[o + PARAM_INDEX.zx] = p.zx;
    out[o + PARAM_INDEX.zy] = p.zy;
    out[o + PARAM_INDEX.flipHorizontal] = p.flipHorizontal ? 1 : 0;
    out[o + PARAM_INDEX.flipVertical] = p.flipVertical ? 1 : 0;
    out[o + PARAM_INDEX.channelShiftIntensity] = p.channelShiftIntensity ?? NaN;
    out[o + PARAM_INDEX.brightness] = p.brightness ?? NaN;
  });
  return out;
}
