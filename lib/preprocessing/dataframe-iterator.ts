/**
 * DataFrameIterator: batches of images listed in records (or a CSV file) rather than sorted into class
 * folders, as Keras's `flow_from_dataframe`: one flat folder such as Kaggle's dogs-vs-cats (`cat.0.jpg`,
 * `dog.0.jpg`, ...) with a label per file. Decoding, caching, augmentation and the batch order are
 * DirectoryIterator's; what differs is where the file list and the labels come from:
 * - files that do not exist or are not images are left out with a warning (`validateFilenames`);
 * - class names are the sorted distinct labels (or the given `classes`, sorted; rows with other labels are
 *   left out); 'categorical' also takes a list of labels per file (multi-hot targets);
 * - 'raw' takes the label column(s) as numbers (regression, several targets);
 * - `subset` splits the rows that remain, validation first, by the generator's validationSplit.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { TensorBatch } from '../data';
import { invalidArgument, ValueError } from '../errors';
import { readCsvFile } from '../io/csv';
import { Tensor, tensor } from '../tensor';
import { checkBoolean, checkKnownOptions, checkNonNegativeInteger, checkOneOf, checkPlainObject } from '../validation';
import { checkDecodeSettings, ColorMode, Interpolation } from './image';
import { byCodePoint, ImageFileReader, KERAS_IMAGE_EXTENSIONS, labelBatch } from './directory-iterator';
import type { ImageDataGenerator } from './image-data-generator';
import { ImageIterator, IteratorOptions } from './iterator';

export type DataFrameClassMode = 'categorical' | 'binary' | 'sparse' | 'input' | 'raw' | null;
const CLASS_MODES = ['categorical', 'binary', 'sparse', 'input', 'raw'] as const;

/** One row: the file name under `xCol`, the label(s) under `yCol`. */
export type DataFrameRecord = Record<string, unknown>;

export interface FlowFromDataframeOptions extends IteratorOptions {
  /** The folder the file names are relative to; default none (the names are paths). */
  directory?: string | null;
  /** The column of file names; default 'filename'. */
  xCol?: string;
  /** The column of labels; default 'class'. With classMode 'raw', a list of columns gives several targets per image. */
  yCol?: string | string[];
  /** [height, width] every image is resized to; default [256, 256], as Keras. */
  targetSize?: [number, number];
  /** Default 'rgb'. */
  colorMode?: ColorMode;
  /** The class names to use (sorted, as Keras sorts them); rows with other labels are left out. Default every label found. */
  classes?: string[] | null;
  /**
   * One-hot (multi-hot for lists of labels) 'categorical' (default), 0/1 'binary', index 'sparse', the
   * label column(s) as numbers 'raw', the images ('input'), or null for none.
   */
  classMode?: DataFrameClassMode;
  /** 'training' or 'validation' when the generator has a validationSplit. */
  subset?: 'training' | 'validation' | null;
  /** Resampling used to resize; default 'nearest', as Keras. */
  interpolation?: Interpolation;
  /** Crop the centre to the target's aspect ratio instead of stretching; default false. */
  keepAspectRatio?: boolean;
  /** Leave out rows whose file is missing or not an image, with a warning; default true. */
  validateFilenames?: boolean;
  /** A file that cannot be decoded is an error ('error', default) or is left out of its batch with a warning ('skip'). */
  invalidImages?: 'error' | 'skip';
  /** Bytes of decoded pixels kept across epochs; default 1 GiB; 0 decodes every image every epoch. */
  cacheLimit?: number;
}

const OPTION_NAMES = [
  'directory', 'xCol', 'yCol', 'targetSize', 'colorMode', 'classes', 'classMode', 'batchSize', 'shuffle', 'seed', 'subset',
  'interpolation', 'keepAspectRatio', 'validateFilenames', 'invalidImages', 'cacheLimit',
] as const;

const CONTEXT = 'flowFromDataframe';

export class DataFrameIterator extends ImageIterator {
  readonly directory: string;
  readonly xCol: string;
  readonly yCol: string | string[];
  /** Class name -> label index (empty for 'raw', 'input' and null). */
  readonly classIndices: Record<string, number>;
  readonly numClasses: number;
  /** The label index of every sample (a list of them for multi-label rows), in `filenames` order. */
  readonly classes: Int32Array | number[][];
  /** The file names as the records give them, in sample order. */
  readonly filenames: string[];
  readonly samples: number;
  readonly classMode: DataFrameClassMode;
  readonly targetSize: [number, number];
  readonly colorMode: ColorMode;
  readonly imageShape: [number, number, number];
  readonly subset: 'training' | 'validation' | null;
  /** With 'raw': the targets, one row of `rawWidth` values per sample. */
  private readonly rawTargets?: Float32Array;
  private readonly rawWidth: number = 1;
  private readonly reader: ImageFileReader;

  constructor(dataframe: readonly DataFrameRecord[] | string, readonly imageDataGenerator: ImageDataGenerator, options: FlowFromDataframeOptions = {}) {
    checkPlainObject(CONTEXT, 'options', options);
    checkKnownOptions(CONTEXT, options, OPTION_NAMES);
    super(CONTEXT, options);
    const records = readRecords(dataframe);
    const directory = options.directory ?? '';
    if (typeof directory !== 'string' || (directory !== '' && (!fs.existsSync(directory) || !fs.statSync(directory).isDirectory()))) {
      throw invalidArgument(CONTEXT, 'directory to be an existing folder', directory);
    }
    this.directory = directory;
    const settings = checkDecodeSettings(CONTEXT, options, { targetSize: [256, 256], interpolation: 'nearest' });
    this.targetSize = settings.targetSize as [number, number];
    this.colorMode = settings.colorMode;
    this.classMode = options.classMode === undefined ? 'categorical' : options.classMode === null ? null : checkOneOf(CONTEXT, 'classMode', options.classMode, CLASS_MODES);
    this.subset = options.subset == null ? null : checkOneOf(CONTEXT, 'subset', options.subset, ['training', 'validation'] as const);
    const validateFilenames = checkBoolean(CONTEXT, 'validateFilenames', options.validateFilenames ?? true);
    const invalidImages = checkOneOf(CONTEXT, 'invalidImages', options.invalidImages ?? 'error', ['error', 'skip'] as const);
    const cacheLimit = checkNonNegativeInteger(CONTEXT, 'cacheLimit', options.cacheLimit ?? 2 ** 30);
    this.xCol = checkColumn('xCol', options.xCol ?? 'filename');
    const yCol = options.yCol ?? 'class';
    this.yCol = Array.isArray(yCol) && this.classMode === 'raw' ? yCol.map((c) => checkColumn('yCol', c)) : checkColumn('yCol', yCol as string);
    const labelled = this.classMode !== null && this.classMode !== 'input';

    records.forEach((record, r) => {
      if (typeof record !== 'object' || record === null) throw invalidArgument(CONTEXT, `records to be objects (record ${r})`, record);
      if (typeof record[this.xCol] !== 'string') {
        throw invalidArgument(CONTEXT, `a file name (a string) in column xCol="${this.xCol}" of every record (record ${r})`, record[this.xCol]);
      }
      if (labelled) for (const column of [this.yCol].flat()) {
        if (!Object.hasOwn(record, column)) throw invalidArgument(CONTEXT, `a label in column yCol="${column}" of every record (record ${r})`, record);
      }
    });

    // Keras's order: drop invalid files, drop rows of other classes, then split what remains.
    let rows = [...records];
    if (validateFilenames) {
      const suffixes = KERAS_IMAGE_EXTENSIONS.map((e) => `.${e}`);
      const valid = rows.filter((record) => {
        const file = path.join(directory, record[this.xCol] as string);
        return suffixes.some((s) => file.toLowerCase().endsWith(s)) && fs.existsSync(file) && fs.statSync(file).isFile();
      });
      if (valid.length < rows.length) {
        process.emitWarning(`Found ${rows.length - valid.length} invalid image filename(s) in xCol="${this.xCol}". These filename(s) will be ignored.`);
      }
      rows = valid;
    }
    let classNames: string[] = [];
    let labels: (string | string[])[] = [];
    if (labelled && this.classMode !== 'raw') {
      ({ rows, classNames, labels } = filterClasses(rows, this.yCol as string, this.classMode, options.classes));
    }
    if (this.subset !== null) {
      const split = imageDataGenerator.validationSplit;
      const [start, stop] = this.subset === 'validation' ? [0, split] : [split, 1];
      const first = Math.trunc(start * rows.length);
      const last = Math.trunc(stop * rows.length);
      rows = rows.slice(first, last);
      labels = labels.slice(first, last);
    }
    this.filenames = rows.map((record) => record[this.xCol] as string);
    this.samples = rows.length;
    this.numClasses = classNames.length;
    this.classIndices = Object.fromEntries(classNames.map((name, i) => [name, i]));
    const indexOf = (label: string) => this.classIndices[label];
    this.classes = labels.some(Array.isArray)
      ? labels.map((label) => [label].flat().map(indexOf))
      : Int32Array.from(labels as string[], indexOf);
    if (this.classMode === 'raw') {
      const columns = [this.yCol].flat();
      this.rawWidth = columns.length;
      this.rawTargets = new Float32Array(rows.length * columns.length);
      rows.forEach((record, r) =>
        columns.forEach((column, c) => {
          const value = record[column];
          const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
          if (!Number.isFinite(number)) {
            throw invalidArgument(CONTEXT, `numbers in column yCol="${column}" for classMode 'raw' (file ${JSON.stringify(record[this.xCol])})`, value);
          }
          this.rawTargets![r * columns.length + c] = number;
        }),
      );
    }
    const validated = validateFilenames ? 'validated' : 'non-validated';
    console.log(
      labelled && this.classMode !== 'raw'
        ? `Found ${this.samples} ${validated} image filenames belonging to ${this.numClasses} classes.`
        : `Found ${this.samples} ${validated} image filenames.`,
    );
    this.reader = new ImageFileReader(CONTEXT, this.filepaths, { ...settings, targetSize: this.targetSize }, invalidImages, cacheLimit);
    this.imageShape = this.reader.imageShape;
  }

  /** The paths of the samples (the directory joined to each file name), in sample order. */
  get filepaths(): string[] {
    return this.filenames.map((f) => path.join(this.directory, f));
  }

  /** The same as `classes`, as Keras's `labels`. */
  get labels(): Int32Array | number[][] {
    return this.classes;
  }

  get inputShape(): readonly number[] {
    return this.imageShape;
  }

  protected async batch(indices: Int32Array, seed: number): Promise<TensorBatch> {
    const { pixels, kept } = await this.reader.read(indices);
    const x = await this.imageDataGenerator.transformBatch(pixels, [kept.length, ...this.imageShape], seed);
    return [x, this.targets(kept, x)];
  }

  private targets(indices: Int32Array, x: Tensor): Tensor | null {
    if (this.classMode === 'raw') {
      const y = new Float32Array(indices.length * this.rawWidth);
      indices.forEach((sample, i) => y.set(this.rawTargets!.subarray(sample * this.rawWidth, (sample + 1) * this.rawWidth), i * this.rawWidth));
      return tensor(y, this.rawWidth === 1 && typeof this.yCol === 'string' ? [indices.length] : [indices.length, this.rawWidth]);
    }
    if (!(this.classes instanceof Int32Array)) {
      // Lists of labels (classMode 'categorical' only): multi-hot rows.
      const y = new Float32Array(indices.length * this.numClasses);
      const classes = this.classes;
      indices.forEach((sample, i) => classes[sample].forEach((label) => (y[i * this.numClasses + label] = 1)));
      return tensor(y, [indices.length, this.numClasses]);
    }
    return labelBatch(this.classMode, this.classes, indices, this.numClasses, x);
  }
}

function readRecords(dataframe: readonly DataFrameRecord[] | string): readonly DataFrameRecord[] {
  if (typeof dataframe === 'string') {
    if (!fs.existsSync(dataframe) || !fs.statSync(dataframe).isFile()) throw invalidArgument(CONTEXT, 'dataframe to be an array of records or the path of a CSV file', dataframe);
    return readCsvFile(dataframe);
  }
  if (!Array.isArray(dataframe)) throw invalidArgument(CONTEXT, 'dataframe to be an array of records or the path of a CSV file', dataframe);
  return dataframe;
}

function checkColumn(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidArgument(CONTEXT, `${option} to be a column name`, value);
  return value;
}

/**
 * Keras's `_filter_classes`: labels must be class names (strings; lists of them for 'categorical'); the
 * classes are the given ones or every label found, sorted; rows left without a known label are dropped.
 */
function filterClasses(
  rows: DataFrameRecord[],
  yCol: string,
  classMode: 'categorical' | 'binary' | 'sparse',
  given: string[] | null | undefined,
): { rows: DataFrameRecord[]; classNames: string[]; labels: (string | string[])[] } {
  for (const record of rows) {
    const label = record[yCol];
    const ok = typeof label === 'string' || (classMode === 'categorical' && Array.isArray(label) && label.every((l) => typeof l === 'string'));
    if (!ok) {
      throw invalidArgument(
        CONTEXT,
        `yCol="${yCol}" values to be class names (strings${classMode === 'categorical' ? ' or lists of strings' : ''}) for classMode '${classMode}' ` +
          `(numbers are targets of classMode 'raw')`,
        label,
      );
    }
  }
  let classNames: string[];
  if (given != null && !(Array.isArray(given) && given.length === 0)) {
    if (!Array.isArray(given) || !given.every((c) => typeof c === 'string')) throw invalidArgument(CONTEXT, 'classes to be an array of class names', given);
    classNames = [...new Set(given)].sort(byCodePoint);
  } else {
    classNames = [...new Set(rows.flatMap((record) => [record[yCol] as string | string[]].flat()))].sort(byCodePoint);
  }
  if (classMode === 'binary' && classNames.length !== 2) {
    throw new ValueError(`${CONTEXT}: classMode 'binary' needs 2 classes but ${given ? 'classes gives' : 'the labels hold'} ${classNames.length} (${classNames.join(', ')})`);
  }
  const known = new Set(classNames);
  const kept: DataFrameRecord[] = [];
  const labels: (string | string[])[] = [];
  for (const record of rows) {
    const label = record[yCol] as string | string[];
    const remaining = Array.isArray(label) ? label.filter((l) => known.has(l)) : known.has(label) ? label : null;
    if (remaining === null || (Array.isArray(remaining) && remaining.length === 0)) continue;
    kept.push(record);
    labels.push(remaining);
  }
  return { rows: kept, classNames, labels };
}
