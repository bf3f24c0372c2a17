/**
 * DirectoryIterator: batches from a folder of class subfolders, as Keras's `flow_from_directory`. Files are
 * listed once, in Keras's order; each image is decoded at the target size once (JPEG files a batch at a time
 * by libjpeg-turbo in the addon, everything else by sharp) and its pixels are kept (up to `cacheLimit`
 * bytes), so that later epochs only pay for augmentation.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { TensorBatch } from '../data';
import { invalidArgument, ValueError } from '../errors';
import { Tensor, tensor } from '../tensor';
import { checkKnownOptions, checkNonNegativeInteger, checkOneOf, checkPlainObject, checkBoolean } from '../validation';
import { channelsOf, checkDecodeSettings, ColorMode, decodeImage, DecodeSettings, Interpolation, jpegFrame, PIL_MAX_PIXELS, unreadableImageFile } from './image';
import type { ImageDataGenerator } from './image-data-generator';
import { ImageIterator, IteratorOptions } from './iterator';
import { nativeDecoder } from './native';

export type ClassMode = 'categorical' | 'binary' | 'sparse' | 'input' | null;
const CLASS_MODES = ['categorical', 'binary', 'sparse', 'input'] as const;

/** The extensions Keras's flow_from_directory reads (keras_preprocessing's white_list_formats). */
export const KERAS_IMAGE_EXTENSIONS: readonly string[] = ['png', 'jpg', 'jpeg', 'bmp', 'ppm', 'tif', 'tiff'];

export interface FlowFromDirectoryOptions extends IteratorOptions {
  /** [height, width] every image is resized to; default [256, 256], as Keras. */
  targetSize?: [number, number];
  /** Default 'rgb'. */
  colorMode?: ColorMode;
  /** Class subfolders to use, in label order; default every subfolder, sorted alphabetically. */
  classes?: string[] | null;
  /** Labels: one-hot 'categorical' (default), 0/1 'binary', index 'sparse', the images ('input'), or null for none. */
  classMode?: ClassMode;
  /** Follow symbolic links to folders inside class folders; default false. */
  followLinks?: boolean;
  /** 'training' or 'validation' when the generator has a validationSplit. */
  subset?: 'training' | 'validation' | null;
  /** Resampling used to resize; default 'nearest', as Keras. */
  interpolation?: Interpolation;
  /** Crop the centre to the target's aspect ratio instead of stretching; default false. */
  keepAspectRatio?: boolean;
  /** A file that cannot be decoded is an error ('error', default) or is left out of its batch with a warning ('skip'). */
  invalidImages?: 'error' | 'skip';
  /** Bytes of decoded pixels kept across epochs; default 1 GiB; 0 decodes every image every epoch. */
  cacheLimit?: number;
}

const OPTION_NAMES = [
  'targetSize', 'colorMode', 'classes', 'classMode', 'batchSize', 'shuffle', 'seed', 'followLinks', 'subset',
  'interpolation', 'keepAspectRatio', 'invalidImages', 'cacheLimit',
] as const;

/**
 * Python's string order: by code point. JavaScript's `<` compares UTF-16 code units, which puts characters
 * above U+FFFF (stored as surrogates, 0xD800-0xDFFF) before those from U+E000 to U+FFFF.
 */
export function byCodePoint(a: string, b: string): number {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const difference = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
}

/** Subfolders of `directory`, sorted as Python sorts strings (symbolic links to folders count, as with os.path.isdir). */
export function listClassFolders(context: string, directory: string): string[] {
  return fs
    .readdirSync(directory)
    .filter((name) => {
      try {
        return fs.statSync(path.join(directory, name)).isDirectory();
      } catch {
        return false;
      }
    })
    .sort(byCodePoint);
}

/**
 * Image files under `folder`, relative to it, in Keras's order: folders by path (os.walk sorted by root),
 * then files by name; only names ending in one of `extensions` (case-insensitive).
 */
export function listImageFiles(folder: string, extensions: readonly string[], followLinks: boolean): string[] {
  const roots: { root: string; files: string[] }[] = [];
  const seen = new Set<string>();
  const walk = (root: string): void => {
    const real = fs.realpathSync(root);
    if (seen.has(real)) return; // a link cycle
    seen.add(real);
    const files: string[] = [];
    const folders: string[] = [];
    for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
      const full = path.join(root, entry.name);
      if (entry.isDirectory()) {
        folders.push(full);
      } else if (entry.isSymbolicLink()) {
        let target: fs.Stats | null = null;
        try {
          target = fs.statSync(full);
        } catch {
          target = null; // a broken link is listed as a file, as os.walk does
        }
        if (target?.isDirectory()) {
          if (followLinks) folders.push(full);
        } else {
          files.push(entry.name);
        }
      } else {
        files.push(entry.name);
      }
    }
    roots.push({ root, files });
    for (const sub of folders) walk(sub);
  };
  walk(folder);
  roots.sort((a, b) => byCodePoint(a.root, b.root));
  const suffixes = extensions.map((e) => `.${e.toLowerCase()}`);
  const out: string[] = [];
  for (const { root, files } of roots) {
    for (const name of files.sort(byCodePoint)) {
      const lower = name.toLowerCase();
      if (suffixes.some((s) => lower.endsWith(s))) out.push(path.relative(folder, path.join(root, name)));
    }
  }
  return out;
}

/**
 * Decoded pixels of fixed-size images, by sample index, up to a byte limit (no eviction: with shuffled
 * epochs every image is equally likely next, so the first images decoded keep their slots).
 */
export class PixelCache {
  private readonly slots: Int32Array;
  private readonly capacity: number;
  private storage: Uint8Array | null = null;
  private used = 0;

  constructor(
    samples: number,
    private readonly imageBytes: number,
    limitBytes: number,
  ) {
    this.slots = new Int32Array(samples).fill(-1);
    this.capacity = Math.min(samples, Math.floor(limitBytes / imageBytes));
  }

  get(index: number): Uint8Array | null {
    const slot = this.slots[index];
    return slot < 0 || !this.storage ? null : this.storage.subarray(slot * this.imageBytes, (slot + 1) * this.imageBytes);
  }

  put(index: number, pixels: Uint8Array): void {
    if (this.slots[index] >= 0 || this.used >= this.capacity) return;
    this.storage ??= new Uint8Array(this.capacity * this.imageBytes);
    this.storage.set(pixels, this.used * this.imageBytes);
    this.slots[index] = this.used++;
  }
}

/**
 * A source of fixed-size decoded images from files, shared by DirectoryIterator and imageDatasetFromDirectory:
 * assembles the uint8 pixels of a batch, decoding what is not cached.
 */
export class ImageFileReader {
  private readonly cache: PixelCache;
  private readonly invalid = new Set<number>();
  readonly imageShape: [number, number, number];

  constructor(
    private readonly context: string,
    private readonly filepaths: readonly string[],
    private readonly settings: DecodeSettings & { targetSize: [number, number] },
    private readonly invalidImages: 'error' | 'skip',
    cacheLimit: number,
  ) {
    this.imageShape = [settings.targetSize[0], settings.targetSize[1], channelsOf(settings.colorMode)];
    const imageBytes = this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
    this.cache = new PixelCache(filepaths.length, imageBytes, cacheLimit);
  }

  /**
   * Decodes files that are all JPEG or PNG at the target size with the same band layout in one sharp call
   * (`join` stacks them vertically: exactly the batch's channels-last layout), which saves sharp's per-call
   * cost. Resolves null when the files do not qualify or the joint decode fails (each is then decoded alone,
   * so that an error names its file).
   */
  private async decodeJoined(indices: number[]): Promise<Map<number, Uint8Array> | null> {
    if (indices.length < 2) return null;
    const [height, width, channels] = this.imageShape;
    let buffers: Buffer[];
    try {
      // Only plausible files are read whole; anything else is left to the one-by-one path, which names it.
      const reasons = await Promise.all(indices.map((i) => unreadableImageFile(this.filepaths[i])));
      if (reasons.some((reason) => reason !== null)) return null;
      buffers = await Promise.all(indices.map((i) => fs.promises.readFile(this.filepaths[i])));
    } catch {
      return null;
    }
    const layouts = buffers.map(headerLayout);
    const first = layouts[0];
    if (!first || layouts.some((l) => !l || l.width !== width || l.height !== height || l.key !== first.key)) return null;
    try {
      const pixels = await decodeImage(buffers, { ...this.settings, targetSize: null }, this.context);
      if (pixels.width !== width || pixels.height !== height * indices.length || pixels.channels !== channels) return null;
      const imageBytes = height * width * channels;
      return new Map(indices.map((index, k) => [index, pixels.data.subarray(k * imageBytes, (k + 1) * imageBytes)]));
    } catch {
      return null;
    }
  }

  /**
   * Decodes JPEG files in one native call (libjpeg-turbo, converted and resized as PIL does). Files it
   * declines (other formats, other resampling, a libjpeg error, CMYK) are left out of the map for sharp;
   * files it found invalid (truncated, a decompression bomb) are null there, never decoded a second time.
   */
  private async decodeNative(indices: number[]): Promise<Map<number, Uint8Array | null>> {
    const decoded = new Map<number, Uint8Array | null>();
    const decode = nativeDecoder();
    if (decode === null || indices.length === 0) return decoded;
    const [height, width, channels] = this.imageShape;
    const imageBytes = height * width * channels;
    const result = await decode(
      indices.map((i) => this.filepaths[i]),
      { height, width, channels, interpolation: this.settings.interpolation, keepAspectRatio: this.settings.keepAspectRatio },
    );
    indices.forEach((index, k) => {
      const status = result.decoded[k];
      if (status === 1) decoded.set(index, result.pixels.subarray(k * imageBytes, (k + 1) * imageBytes));
      else if (status === 2) decoded.set(index, this.invalidImage(index, 'image file is truncated'));
      else if (status === 3) decoded.set(index, this.invalidImage(index, `Input image exceeds pixel limit (${PIL_MAX_PIXELS} pixels, PIL's)`));
    });
    return decoded;
  }

  /** An image that does not decode: an Error naming the file, or null (with a warning) when such files are skipped. */
  private invalidImage(index: number, reason: string | Error): null {
    const error = typeof reason === 'string' ? new Error(`${this.context}: could not decode ${JSON.stringify(this.filepaths[index])}: ${reason}`) : reason;
    if (this.invalidImages === 'error') throw error;
    this.invalid.add(index);
    process.emitWarning(`${error.message}; the file is skipped`);
    return null;
  }

  /** Decodes one file with sharp, or null when it is invalid and such files are skipped. */
  private async decodeWithSharp(index: number): Promise<Uint8Array | null> {
    try {
      return (await decodeImage(this.filepaths[index], this.settings, this.context)).data;
    } catch (error) {
      return this.invalidImage(index, error as Error);
    }
  }

  /** The pixels of `indices` in one buffer, and the indices actually present (skipped files left out). */
  async read(indices: Int32Array): Promise<{ pixels: Uint8Array; kept: Int32Array }> {
    const imageBytes = this.imageShape[0] * this.imageShape[1] * this.imageShape[2];
    const images: (Uint8Array | null)[] = new Array(indices.length).fill(null);
    const missing: number[] = [];
    indices.forEach((index, k) => {
      if (this.invalid.has(index)) return;
      const cached = this.cache.get(index);
      if (cached) images[k] = cached;
      else missing.push(k);
    });
    if (missing.length > 0) {
      const native = await this.decodeNative(missing.map((k) => indices[k]));
      const rest = missing.filter((k) => !native.has(indices[k]));
      const joined = await this.decodeJoined(rest.map((k) => indices[k]));
      const fromSharp = await Promise.all(
        rest.map((k) => (joined?.get(indices[k]) ? Promise.resolve(joined.get(indices[k]) as Uint8Array) : this.decodeWithSharp(indices[k]))),
      );
      for (const k of missing) images[k] = native.get(indices[k]) ?? null;
      rest.forEach((k, j) => {
        images[k] = fromSharp[j];
      });
      for (const k of missing) {
        const image = images[k];
        if (image) this.cache.put(indices[k], image);
      }
    }
    const kept = indices.filter((_, k) => images[k] !== null);
    if (kept.length === 0) {
      throw new Error(`${this.context}: every image of the batch failed to decode (${indices.length} files, e.g. ${JSON.stringify(this.filepaths[indices[0]])})`);
    }
    const pixels = new Uint8Array(kept.length * imageBytes);
    let offset = 0;
    for (const image of images) {
      if (image === null) continue;
      pixels.set(image, offset);
      offset += imageBytes;
    }
    return { pixels, kept };
  }
}

/** PNG chunks that change how a file's samples map to colours: files with them are decoded alone. */
const PNG_COLOUR_CHUNKS = new Set(['iCCP', 'sRGB', 'gAMA', 'cHRM', 'cICP', 'mDCv', 'cLLi']);

/**
 * Width, height and band layout from a JPEG's SOF or a PNG's IHDR header, without decoding, for files that
 * decode the same in a joint decode as alone; null for other formats, for anything unexpected, and for
 * files whose colours depend on their own metadata (a PNG's ICC profile or gamma, a CMYK JPEG).
 */
export function headerLayout(bytes: Buffer): { width: number; height: number; key: string } | null {
  if (bytes.length > 26 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.toString('latin1', 12, 16) === 'IHDR') {
    let transparency = false;
    // The chunks before the image data: length, type, data, CRC.
    for (let offset = 8; offset + 8 <= bytes.length; ) {
      const type = bytes.toString('latin1', offset + 4, offset + 8);
      if (type === 'IDAT') {
        return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), key: `png:${bytes[24]}:${bytes[25]}:${transparency}` };
      }
      if (PNG_COLOUR_CHUNKS.has(type)) return null;
      if (type === 'tRNS') transparency = true;
      offset += 12 + bytes.readUInt32BE(offset);
    }
    return null;
  }
  const frame = jpegFrame(bytes);
  if (frame === null || (frame.components !== 1 && frame.components !== 3)) return null;
  return { width: frame.width, height: frame.height, key: `jpeg:${frame.components}` };
}

export class DirectoryIterator extends ImageIterator {
  readonly directory: string;
  /** Class name -> label index. */
  readonly classIndices: Record<string, number>;
  readonly numClasses: number;
  /** The label index of every sample, in `filenames` order. */
  readonly classes: Int32Array;
  /** Paths relative to `directory` ("cats/cat001.jpg"), in sample order. */
  readonly filenames: string[];
  readonly samples: number;
  readonly classMode: ClassMode;
  readonly targetSize: [number, number];
  readonly colorMode: ColorMode;
  readonly imageShape: [number, number, number];
  readonly subset: 'training' | 'validation' | null;
  private readonly reader: ImageFileReader;

  constructor(directory: string, readonly imageDataGenerator: ImageDataGenerator, options: FlowFromDirectoryOptions = {}) {
    const context = 'flowFromDirectory';
    checkPlainObject(context, 'options', options);
    checkKnownOptions(context, options, OPTION_NAMES);
    super(context, options);
    if (typeof directory !== 'string' || !fs.existsSync(directory) || !fs.statSync(directory).isDirectory()) {
      throw invalidArgument(context, 'directory to be an existing folder', directory);
    }
    this.directory = directory;
    const settings = checkDecodeSettings(context, options, { targetSize: [256, 256], interpolation: 'nearest' });
    this.targetSize = settings.targetSize as [number, number];
    this.colorMode = settings.colorMode;
    this.classMode = options.classMode === undefined ? 'categorical' : options.classMode === null ? null : checkOneOf(context, 'classMode', options.classMode, CLASS_MODES);
    const followLinks = checkBoolean(context, 'followLinks', options.followLinks ?? false);
    this.subset = options.subset == null ? null : checkOneOf(context, 'subset', options.subset, ['training', 'validation'] as const);
    const invalidImages = checkOneOf(context, 'invalidImages', options.invalidImages ?? 'error', ['error', 'skip'] as const);
    const cacheLimit = checkNonNegativeInteger(context, 'cacheLimit', options.cacheLimit ?? 2 ** 30);

    let classNames: string[];
    if (options.classes == null || (Array.isArray(options.classes) && options.classes.length === 0)) {
      classNames = listClassFolders(context, directory);
    } else {
      if (!Array.isArray(options.classes) || !options.classes.every((c) => typeof c === 'string' && c.length > 0)) {
        throw invalidArgument(context, 'classes to be an array of folder names', options.classes);
      }
      classNames = options.classes.slice();
      // As Keras: a class whose folder is absent has no images here (a test set may lack a class the
      // training set has, and its labels must still mean the training set's); a file of that name is a mistake.
      for (const name of classNames) {
        const folder = path.join(directory, name);
        if (fs.existsSync(folder) && !fs.statSync(folder).isDirectory()) {
          throw invalidArgument(context, `classes to name subfolders of ${JSON.stringify(directory)} ("${name}" is a file)`, options.classes);
        }
      }
    }
    if (this.classMode === 'binary' && classNames.length > 2) {
      throw new ValueError(
        `${context}: expected at most 2 classes for classMode 'binary' but found ${classNames.length} (${classNames.join(', ')}); use 'categorical' or 'sparse'`,
      );
    }
    this.numClasses = classNames.length;
    this.classIndices = Object.fromEntries(classNames.map((name, i) => [name, i]));

    const split = this.subset === null ? null : this.subset === 'validation' ? [0, imageDataGenerator.validationSplit] : [imageDataGenerator.validationSplit, 1];
    const filenames: string[] = [];
    const labels: number[] = [];
    classNames.forEach((name, label) => {
      if (!fs.existsSync(path.join(directory, name))) return;
      let files = listImageFiles(path.join(directory, name), KERAS_IMAGE_EXTENSIONS, followLinks);
      if (split) files = files.slice(Math.trunc(split[0] * files.length), Math.trunc(split[1] * files.length));
      for (const file of files) {
        filenames.push(path.join(path.basename(path.join(directory, name)), file));
        labels.push(label);
      }
    });
    this.filenames = filenames;
    this.classes = Int32Array.from(labels);
    this.samples = filenames.length;
    console.log(`Found ${this.samples} images belonging to ${this.numClasses} classes.`);
    this.reader = new ImageFileReader(
      context,
      this.filepaths,
      { ...settings, targetSize: this.targetSize },
      invalidImages,
      cacheLimit,
    );
    this.imageShape = this.reader.imageShape;
  }

  /** Absolute-or-as-given paths of the samples, in sample order. */
  get filepaths(): string[] {
    return this.filenames.map((f) => path.join(this.directory, f));
  }

  /** The same as `classes`, as Keras's `labels`. */
  get labels(): Int32Array {
    return this.classes;
  }

  get inputShape(): readonly number[] {
    return this.imageShape;
  }

  protected async batch(indices: Int32Array, seed: number): Promise<TensorBatch> {
    const { pixels, kept } = await this.reader.read(indices);
    const x = await this.imageDataGenerator.transformBatch(pixels, [kept.length, ...this.imageShape], seed);
    return [x, labelBatch(this.classMode, this.classes, kept, this.numClasses, x)];
  }
}

/** Keras's label arrays: float32 one-hot [n, K], float32 [n] for binary and sparse, the images for 'input'. */
export function labelBatch(classMode: ClassMode, classes: Int32Array, indices: Int32Array, numClasses: number, x: Tensor): Tensor | null {
  switch (classMode) {
    case 'categorical': {
      const y = new Float32Array(indices.length * numClasses);
      indices.forEach((sample, i) => {
        y[i * numClasses + classes[sample]] = 1;
      });
      return tensor(y, [indices.length, numClasses]);
    }
    case 'binary':
    case 'sparse':
      return tensor(Float32Array.from(indices, (sample) => classes[sample]), [indices.length]);
    case 'input':
      return x;
    default:
      return null;
  }
}
