/**
 * imageDatasetFromDirectory: modern Keras's `image_dataset_from_directory`. Images come as float32 values
 * 0-255 (no rescaling), resized with bilinear interpolation by default, labels as `labelMode` says.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { TensorBatch } from '../data';
import { invalidArgument, ValueError } from '../errors';
import { forkSeed, SeededRandom } from '../random';
import { tensor } from '../tensor';
import {
  checkBoolean,
  checkIntegerPair,
  checkKnownOptions,
  checkNonNegativeInteger,
  checkNumberInRange,
  checkOneOf,
  checkPlainObject,
} from '../validation';
import { checkDecodeSettings, ColorMode, Interpolation } from './image';
import { ImageFileReader, listClassFolders, listImageFiles } from './directory-iterator';
import { ImageDataGenerator } from './image-data-generator';
import { ImageIterator } from './iterator';

/** The extensions image_dataset_from_directory reads. */
export const DATASET_IMAGE_EXTENSIONS: readonly string[] = ['bmp', 'gif', 'jpeg', 'jpg', 'png'];

export type LabelMode = 'int' | 'categorical' | 'binary' | null;

export interface ImageDatasetOptions {
  /** 'inferred' (from the subfolders, default) or null for no labels. */
  labels?: 'inferred' | null;
  /** int32 indices 'int' (default), float32 one-hot 'categorical', float32 [n, 1] 'binary', or null. */
  labelMode?: LabelMode;
  /** Subfolders to use, in label order; default all, sorted alphabetically. */
  classNames?: string[] | null;
  /** Default 'rgb'. */
  colorMode?: ColorMode;
  /** Default 32. */
  batchSize?: number;
  /** [height, width]; default [256, 256]. */
  imageSize?: [number, number];
  /** Shuffle the files (and every epoch's order); default true. */
  shuffle?: boolean;
  /** Needed with validationSplit and shuffle, so that both subsets split the same shuffled list. */
  seed?: number;
  /** Fraction of the files held out for validation, in (0, 1). */
  validationSplit?: number | null;
  /** 'training' or 'validation' (with validationSplit). */
  subset?: 'training' | 'validation' | null;
  /** Default 'bilinear'. */
  interpolation?: Interpolation;
  /** Default false. */
  followLinks?: boolean;
  /** Crop to the target's aspect ratio instead of stretching; default false. */
  cropToAspectRatio?: boolean;
  /** Bytes of decoded pixels kept across epochs; default 1 GiB. */
  cacheLimit?: number;
}

const OPTION_NAMES = [
  'labels', 'labelMode', 'classNames', 'colorMode', 'batchSize', 'imageSize', 'shuffle', 'seed', 'validationSplit',
  'subset', 'interpolation', 'followLinks', 'cropToAspectRatio', 'cacheLimit',
] as const;

/** The iterator imageDatasetFromDirectory returns: a BatchIterator and one epoch per `for await`. */
export class ImageDataset extends ImageIterator {
  readonly samples: number;
  readonly inputShape: readonly number[];
  readonly classNames: string[];
  readonly classIndices: Record<string, number>;
  /** File paths in dataset order (after the seeded shuffle and the split). */
  readonly filePaths: string[];
  /** The label index of every file, in `filePaths` order. */
  readonly labels: Int32Array;
  readonly labelMode: LabelMode;
  private readonly reader: ImageFileReader;
  private readonly generator = new ImageDataGenerator();

  /** @internal Use imageDatasetFromDirectory. */
  constructor(directory: string, options: ImageDatasetOptions) {
    const context = 'imageDatasetFromDirectory';
    super(context, { batchSize: options.batchSize, shuffle: options.shuffle, seed: options.seed });
    if (typeof directory !== 'string' || !fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) {
      throw invalidArgument(context, 'directory to be an existing folder', directory);
    }
    const labelsOption = options.labels === undefined ? 'inferred' : options.labels;
    if (labelsOption !== 'inferred' && labelsOption !== null) throw invalidArgument(context, "labels to be 'inferred' or null", options.labels);
    this.labelMode =
      labelsOption === null || options.labelMode === null
        ? null
        : checkOneOf(context, 'labelMode', options.labelMode ?? 'int', ['int', 'categorical', 'binary'] as const);
    const imageSize = checkIntegerPair(context, 'imageSize', options.imageSize ?? [256, 256]);
    const settings = checkDecodeSettings(
      context,
      { colorMode: options.colorMode, interpolation: options.interpolation, keepAspectRatio: options.cropToAspectRatio },
      { targetSize: imageSize, interpolation: 'bilinear' },
    );
    const followLinks = checkBoolean(context, 'followLinks', options.followLinks ?? false);
    const validationSplit = options.validationSplit == null ? null : checkNumberInRange(context, 'validationSplit', options.validationSplit, 0, 1, { minExclusive: true, maxExclusive: true });
    const subset = options.subset == null ? null : checkOneOf(context, 'subset', options.subset, ['training', 'validation'] as const);
    if ((validationSplit === null) !== (subset === null)) {
      throw new ValueError(`${context}: validationSplit and subset go together; received validationSplit ${validationSplit} and subset ${subset}`);
    }
    if (validationSplit !== null && this.shuffle && options.seed == null) {
      throw new ValueError(
        `${context}: expected a seed with validationSplit and shuffle, so that the training and validation subsets do not overlap`,
      );
    }
    const cacheLimit = checkNonNegativeInteger(context, 'cacheLimit', options.cacheLimit ?? 2 ** 30);

    const classNames = options.classNames ?? listClassFolders(context, directory);
    for (const name of classNames) {
      if (typeof name !== 'string' || !fs.existsSync(path.join(directory, name))) {
        throw invalidArgument(context, `classNames to name subfolders of ${JSON.stringify(directory)}`, options.classNames);
      }
    }
    if (this.labelMode === 'binary' && classNames.length !== 2) {
      throw new ValueError(`${context}: expected 2 classes for labelMode 'binary' but found ${classNames.length} (${classNames.join(', ')})`);
    }
    let files: string[] = [];
    let labels: number[] = [];
    classNames.forEach((name, label) => {
      for (const file of listImageFiles(path.join(directory, name), DATASET_IMAGE_EXTENSIONS, followLinks)) {
        files.push(path.join(directory, name, file));
        labels.push(label);
      }
    });
    console.log(`Found ${files.length} files belonging to ${classNames.length} classes.`);
    if (this.shuffle) {
      const order = new SeededRandom(options.seed ?? forkSeed()).permutation(files.length);
      files = Array.from(order, (i) => files[i]);
      labels = Array.from(order, (i) => labels[i]);
    }
    if (validationSplit !== null) {
      const validationCount = Math.trunc(validationSplit * files.length);
      const [start, end] = subset === 'training' ? [0, files.length - validationCount] : [files.length - validationCount, files.length];
      files = files.slice(start, end);
      labels = labels.slice(start, end);
      console.log(`Using ${files.length} files for ${subset}.`);
    }
    this.classNames = classNames.slice();
    this.classIndices = Object.fromEntries(classNames.map((name, i) => [name, i]));
    this.filePaths = files;
    this.labels = Int32Array.from(labels);
    this.samples = files.length;
    this.reader = new ImageFileReader(context, files, { ...settings, targetSize: imageSize }, 'error', cacheLimit);
    this.inputShape = this.reader.imageShape;
  }

  protected async batch(indices: Int32Array, seed: number): Promise<TensorBatch> {
    const { pixels, kept } = await this.reader.read(indices);
    const x = await this.generator.transformBatch(pixels, [kept.length, ...this.reader.imageShape], seed);
    const n = kept.length;
    switch (this.labelMode) {
      case 'int':
        return [x, tensor(Int32Array.from(kept, (i) => this.labels[i]), [n])];
      case 'binary':
        return [x, tensor(Float32Array.from(kept, (i) => this.labels[i]), [n, 1])];
      case 'categorical': {
        const k = this.classNames.length;
        const y = new Float32Array(n * k);
        kept.forEach((sample, row) => {
          y[row * k + this.labels[sample]] = 1;
        });
        return [x, tensor(y, [n, k])];
      }
      default:
        return [x, null];
    }
  }
}

/** Batches of images from class subfolders, as Keras's `image_dataset_from_directory`. */
export function imageDatasetFromDirectory(directory: string, options: ImageDatasetOptions = {}): ImageDataset {
  checkPlainObject('imageDatasetFromDirectory', 'options', options);
  checkKnownOptions('imageDatasetFromDirectory', options, OPTION_NAMES);
  return new ImageDataset(directory, options);
}
