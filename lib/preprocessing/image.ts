/**
 * Image files in and out, as Keras's `load_img`, `img_to_array`, `array_to_img` and `save_img`, decoded and
 * encoded by sharp (libvips) in its thread pool: every format sharp reads (JPEG, PNG, WebP, TIFF, GIF, AVIF,
 * SVG...), and BMP and PPM/PGM/PBM (in Keras's list of image extensions) read here (./bitmap-formats.ts).
 */
import * as fs from 'fs';
import sharp from 'sharp';
import { invalidArgument, ValueError } from '../errors';
import { Tensor, tensor } from '../tensor';
import { checkBoolean, checkIntegerPair, checkKnownOptions, checkOneOf, checkPlainObject } from '../validation';
import { decodeBitmapFormats } from './bitmap-formats';
import { resizePil, ResampleFilter, ResizeBox } from './pil-resample';

export type ColorMode = 'grayscale' | 'rgb' | 'rgba';
export type Interpolation = 'nearest' | ResampleFilter;

export const COLOR_MODES: readonly ColorMode[] = ['grayscale', 'rgb', 'rgba'];
/** Keras's names of PIL's filters (keras_preprocessing's _PIL_INTERPOLATION_METHODS). */
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic', 'lanczos', 'box', 'hamming'];


/** The number of channels each color mode decodes to. */
export function channelsOf(colorMode: ColorMode): number {
  return colorMode === 'grayscale' ? 1 : colorMode === 'rgb' ? 3 : 4;
}

/**
 * A decoded image: 8-bit pixels, row-major, channels interleaved (what Keras's `load_img` returns as a PIL
 * image). Turn it into a float32 tensor with `imgToArray`.
 */
export class Image {
  constructor(
    readonly data: Uint8Array,
    readonly width: number,
    readonly height: number,
    readonly channels: number,
  ) {
    if (data.length !== width * height * channels) {
      throw invalidArgument('Image', `${width * height * channels} bytes for ${height}x${width}x${channels} pixels`, data);
    }
  }

  /** PIL's `size`: [width, height]. */
  get size(): [number, number] {
    return [this.width, this.height];
  }

  /** PIL's mode name: 'L', 'RGB' or 'RGBA'. */
  get mode(): 'L' | 'RGB' | 'RGBA' | string {
    return ({ 1: 'L', 3: 'RGB', 4: 'RGBA' } as Record<number, string>)[this.channels] ?? `${this.channels} channels`;
  }
}

export interface LoadImgOptions {
  /** [height, width] to resize to; the image's own size when left out. */
  targetSize?: [number, number] | null;
  /** Default 'rgb'. */
  colorMode?: ColorMode;
  /** Resampling used when resizing; default 'nearest', as Keras's `load_img`. */
  interpolation?: Interpolation;
  /** Crop the centre to the target's aspect ratio before resizing instead of stretching; default false. */
  keepAspectRatio?: boolean;
}

/** Validated decode settings, shared by loadImg and the directory iterators. */
export interface DecodeSettings {
  targetSize: [number, number] | null;
  colorMode: ColorMode;
  interpolation: Interpolation;
  keepAspectRatio: boolean;
}

export function checkDecodeSettings(context: string, options: LoadImgOptions, defaults: Partial<DecodeSettings> = {}): DecodeSettings {
  const targetSize = options.targetSize ?? defaults.targetSize ?? null;
  return {
    targetSize: targetSize === null ? null : checkIntegerPair(context, 'targetSize', targetSize),
    colorMode: checkOneOf(context, 'colorMode', options.colorMode ?? defaults.colorMode ?? 'rgb', COLOR_MODES),
    interpolation: checkOneOf(context, 'interpolation', options.interpolation ?? defaults.interpolation ?? 'nearest', INTERPOLATIONS),
    keepAspectRatio: checkBoolean(context, 'keepAspectRatio', options.keepAspectRatio ?? defaults.keepAspectRatio ?? false),
  };
}

/** The file name or "a buffer", for error messages. */
function sourceName(source: string | Buffer | Buffer[]): string {
  if (Array.isArray(source)) return `${source.length} joined images`;
  return typeof source === 'string' ? JSON.stringify(source) : 'the image buffer';
}

/**
 * The most bytes an image file may have: far above any photo, and what keeps a file named .jpg that is a
 * link to /dev/zero, or gigabytes of something else, from being read whole.
 */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/**
 * PIL's decompression-bomb limit (2 * Image.MAX_IMAGE_PIXELS): above it Keras's load_img raises, and so do
 * we (the addon's JPEG path, native/jpeg_decode.h's kPilMaxPixels, too).
 */
export const PIL_MAX_PIXELS = 2 * 89478485;

/**
 * How sharp reads inputs for load_img's pixels: as PIL, embedded ICC profiles are not applied (PIL keeps
 * them unused) and a truncated file is an error ("image file is truncated").
 */
const SHARP_INPUT = { failOn: 'truncated', limitInputPixels: PIL_MAX_PIXELS, ignoreIcc: true } as const;

/** Checks, before anything is read, that `file` is a regular file of a plausible size; the reason otherwise. */
export async function unreadableImageFile(file: string): Promise<string | null> {
  let stats: fs.Stats;
  try {
    stats = await fs.promises.stat(file);
  } catch (error) {
    return fileErrorReason(error as NodeJS.ErrnoException);
  }
  if (!stats.isFile()) return 'not a regular file (a device, a pipe or a folder)';
  if (stats.size > MAX_IMAGE_FILE_BYTES) return `${stats.size} bytes, more than the ${MAX_IMAGE_FILE_BYTES} an image file may have`;
  return null;
}

/** Why a file could not be read, in words: "no such file (ENOENT)". */
export function fileErrorReason(error: NodeJS.ErrnoException): string {
  const reasons: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'a folder', ELOOP: 'too many symbolic links' };
  return error.code ? `${reasons[error.code] ?? error.message} (${error.code})` : error.message;
}

/** The bytes of an image file, checked by unreadableImageFile first; the error names the file and the reason. */
async function readImageFile(file: string, context: string): Promise<Buffer> {
  let reason = await unreadableImageFile(file);
  if (reason === null) {
    try {
      return await fs.promises.readFile(file);
    } catch (error) {
      reason = fileErrorReason(error as NodeJS.ErrnoException);
    }
  }
  throw new Error(`${context}: cannot read ${JSON.stringify(file)} as an image: ${reason}`);
}

/**
 * Decodes one image to 8-bit pixels at the requested size and channel count, as Keras's load_img: PIL's
 * convert(mode) at the image's own size, then PIL's resize. Rejects with an Error that names the file when
 * the file is missing or is not an image that decodes.
 */
export async function decodeImage(source: string | Buffer | Buffer[], settings: DecodeSettings, context = 'loadImg'): Promise<Image> {
  const bytes = typeof source === 'string' ? await readImageFile(source, context) : source;
  const channels = channelsOf(settings.colorMode);
  try {
    const { data, width, height } = await convertAtOwnSize(bytes, settings.colorMode);
    if (settings.targetSize && (width !== settings.targetSize[1] || height !== settings.targetSize[0])) {
      const [targetHeight, targetWidth] = settings.targetSize;
      // libvips's kernels place and weigh their taps otherwise than PIL's (by up to half the range when
      // enlarging), and its nearest neighbour picks other source pixels: PIL's resize, written out.
      const box = settings.keepAspectRatio ? aspectRatioCrop(width, height, targetWidth, targetHeight) : undefined;
      const resized = settings.interpolation === 'nearest'
        ? resizeNearest(data, width, height, channels, targetWidth, targetHeight, box)
        : await resizePil(data, width, height, channels, targetWidth, targetHeight, settings.interpolation, box);
      return new Image(resized, targetWidth, targetHeight, channels);
    }
    return new Image(data, width, height, channels);
  } catch (error) {
    throw new Error(`${context}: could not decode ${sourceName(source)}: ${decodeFailure(error as Error)}`);
  }
}

/**
 * PIL's `convert(mode)` of a decoded image, at its own size. 'rgb' and 'rgba' are the file's sRGB bands
 * (alpha dropped without blending, or 255 added); CMYK JPEGs use PIL's CMYK-to-RGB formula rather than a
 * colour-managed conversion; 'grayscale' is PIL's luma of the RGB bands. An array: same-size encoded images
 * decoded in one call, stacked vertically (sharp's `join`).
 */
async function convertAtOwnSize(bytes: Buffer | Buffer[], colorMode: ColorMode): Promise<{ data: Uint8Array; width: number; height: number }> {
  const bitmap = Array.isArray(bytes) ? null : decodeBitmapFormats(bytes, PIL_MAX_PIXELS);
  let input = bitmap
    ? sharp(bitmap.data, { raw: { width: bitmap.width, height: bitmap.height, channels: bitmap.channels } })
    : sharp(bytes, Array.isArray(bytes) ? { ...SHARP_INPUT, join: { across: 1 } } : SHARP_INPUT);
  const cmyk = !Array.isArray(bytes) && jpegFrame(bytes)?.components === 4;
  // Colour conversion first, at the image's own size, as PIL's convert() before resize(): resizing in the
  // same sharp call would premultiply by a dropped alpha channel and blend it into the colours.
  // A CMYK file's own bands (libvips would otherwise go through its CMYK profile on the way).
  input = cmyk ? input.pipelineColourspace('cmyk').toColourspace('cmyk') : input.toColourspace('srgb');
  input = colorMode === 'rgba' && !cmyk ? input.ensureAlpha() : input.removeAlpha();
  const { data, info } = await input.raw().toBuffer({ resolveWithObject: true });
  let pixels: Uint8Array = data;
  let bands = info.channels;
  if (cmyk) {
    pixels = pilCmykToRgb(data);
    bands = 3;
  } else if (bands === 1 || bands === 2) {
    // A one-band raw input comes back as it went in: PIL's L to RGB repeats the band.
    pixels = repeatGrey(data, bands, colorMode === 'rgba' ? 4 : 3);
    bands = colorMode === 'rgba' ? 4 : 3;
  }
  if (colorMode === 'grayscale') pixels = pilLuma(pixels, bands);
  else if (colorMode === 'rgba' && bands === 3) pixels = addOpaqueAlpha(pixels);
  return { data: pixels, width: info.width, height: info.height };
}

/** PIL's RGB to 'L' (Convert.c's L24): ITU-R 601-2 luma in 16-bit fixed point, rounded; alpha ignored. */
function pilLuma(pixels: Uint8Array, bands: number): Uint8Array {
  const out = new Uint8Array(pixels.length / bands);
  for (let i = 0, p = 0; i < out.length; i++, p += bands) {
    out[i] = (pixels[p] * 19595 + pixels[p + 1] * 38470 + pixels[p + 2] * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** PIL's CMYK to RGB (Convert.c's cmyk2rgb): each of C, M, Y taken from white, scaled by 1 - K. */
function pilCmykToRgb(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array((pixels.length / 4) * 3);
  const multiplyDivide255 = (a: number, b: number): number => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let i = 0, p = 0; p < pixels.length; p += 4) {
    const notBlack = 255 - pixels[p + 3];
    for (let c = 0; c < 3; c++) out[i++] = Math.max(0, notBlack - multiplyDivide255(pixels[p + c], notBlack));
  }
  return out;
}

function repeatGrey(pixels: Uint8Array, bands: number, to: number): Uint8Array {
  const count = pixels.length / bands;
  const out = new Uint8Array(count * to);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) out[i * to + c] = pixels[i * bands];
    if (to === 4) out[i * to + 3] = bands === 2 ? pixels[i * bands + 1] : 255;
  }
  return out;
}

function addOpaqueAlpha(pixels: Uint8Array): Uint8Array {
  const count = pixels.length / 3;
  const out = new Uint8Array(count * 4).fill(255);
  for (let i = 0; i < count; i++) for (let c = 0; c < 3; c++) out[i * 4 + c] = pixels[i * 3 + c];
  return out;
}

/** A JPEG's frame header (SOF): size and colour components; null for anything else. */
export function jpegFrame(bytes: Buffer): { width: number; height: number; components: number } | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1];
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) return { height: bytes.readUInt16BE(offset + 5), width: bytes.readUInt16BE(offset + 7), components: bytes[offset + 9] };
    offset += 2 + bytes.readUInt16BE(offset + 2);
  }
  return null;
}

/**
 * The source region Keras's load_img resizes under keep_aspect_ratio: the largest centred crop with the
 * target's aspect ratio, in whole pixels (PIL's `resize(size, box=crop)`).
 */
function aspectRatioCrop(width: number, height: number, targetWidth: number, targetHeight: number): ResizeBox {
  const cropHeight = Math.min(height, Math.floor((width * targetHeight) / targetWidth));
  const cropWidth = Math.min(width, Math.floor((height * targetWidth) / targetHeight));
  const top = Math.floor((height - cropHeight) / 2);
  const left = Math.floor((width - cropWidth) / 2);
  return [left, top, left + cropWidth, top + cropHeight];
}

/**
 * For each output position, the source position PIL's nearest-neighbour resize samples from the span
 * [start, end) of an axis (ImagingScaleAffine).
 */
function nearestIndices(source: number, target: number, start = 0, end = source): Int32Array {
  const indices = new Int32Array(target);
  const scale = (end - start) / target;
  let position = start + scale * 0.5; // accumulated by repeated addition, as PIL does
  for (let i = 0; i < target; i++) {
    indices[i] = Math.min(Math.max(Math.trunc(position), 0), source - 1);
    position += scale;
  }
  return indices;
}

/**
 * Resizes 8-bit channels-last pixels as PIL's `Image.resize(size, NEAREST)` (Keras's load_img default), the
 * same sampling as the addon's JPEG path (native/image_decode.cc).
 */
export function resizeNearest(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  targetWidth: number,
  targetHeight: number,
  box: ResizeBox = [0, 0, width, height],
): Uint8Array {
  const columns = nearestIndices(width, targetWidth, box[0], box[2]);
  const rows = nearestIndices(height, targetHeight, box[1], box[3]);
  const out = new Uint8Array(targetWidth * targetHeight * channels);
  let o = 0;
  for (let y = 0; y < targetHeight; y++) {
    const line = rows[y] * width * channels;
    for (let x = 0; x < targetWidth; x++) {
      const source = line + columns[x] * channels;
      for (let c = 0; c < channels; c++) out[o++] = pixels[source + c];
    }
  }
  return out;
}

/**
 * What sharp says failed ("Input file has corrupt header"). For a corrupt header sharp appends libvips's
 * error buffer, on the first line and the lines after it; that buffer is shared by every decode in the
 * process, so with decodes running side by side it can be empty or belong to another file: it is left out.
 */
function decodeFailure(error: Error): string {
  const firstLine = error.message.split('\n')[0];
  const corruptHeader = firstLine.match(/^Input (?:file|buffer) has corrupt header/);
  return (corruptHeader ? corruptHeader[0] : firstLine).replace(/:\s*$/, '');
}

/**
 * Loads an image file (or an encoded image in a Buffer), as Keras's `load_img`.
 * `loadImg('cat.jpg', { targetSize: [64, 64] })` resolves an `Image` of 64x64 RGB pixels.
 */

export async function loadImg(path: string | Buffer, options: LoadImgOptions = {}): Promise<Image> {
  if (typeof path !== 'string' && !Buffer.isBuffer(path)) {
    throw invalidArgument('loadImg', 'path to be a file path or a Buffer', path);
  }
  checkPlainObject('loadImg', 'options', options);
  checkKnownOptions('loadImg', options, ['targetSize', 'colorMode', 'interpolation', 'keepAspectRatio']);
  return decodeImage(path, checkDecodeSettings('loadImg', options));
}

/** An Image as a float32 tensor [height, width, channels] of values 0-255, as Keras's `img_to_array`. */
export function imgToArray(img: Image | Tensor): Tensor {
  if (img instanceof Tensor) {
    if (img.rank !== 3 && img.rank !== 2) throw invalidArgument('imgToArray', 'an image tensor of rank 2 or 3', img.shape);
    const shape = img.rank === 2 ? [...img.shape, 1] : [...img.shape];
    return tensor(img, shape, 'float32');
  }
  if (!(img instanceof Image)) throw invalidArgument('imgToArray', 'an Image (from loadImg) or a Tensor', img);
  return tensor(Float32Array.from(img.data), [img.height, img.width, img.channels]);
}

export interface ArrayToImgOptions {
  /** Stretch the values to 0-255 first, as Keras does (shift by the minimum when negative, divide by the maximum); default true. */
  scale?: boolean;
}

/** A tensor [height, width, channels] (1, 3 or 4 channels) as an Image, as Keras's `array_to_img`. */
export function arrayToImg(x: Tensor, options: ArrayToImgOptions = {}): Image {
  if (!(x instanceof Tensor)) throw invalidArgument('arrayToImg', 'a Tensor', x);
  checkPlainObject('arrayToImg', 'options', options);
  checkKnownOptions('arrayToImg', options, ['scale']);
  const scale = checkBoolean('arrayToImg', 'scale', options.scale ?? true);
  if (x.rank !== 3) {
    throw new ValueError(`arrayToImg: expected an image tensor of rank 3 [height, width, channels] but received shape [${x.shape.join(', ')}]`);
  }
  const [height, width, channels] = x.shape;
  if (![1, 3, 4].includes(channels)) {
    throw invalidArgument('arrayToImg', 'an image with 1, 3 or 4 channels', `${channels} channels`);
  }
  const values = Float32Array.from(x.dataSync() as ArrayLike<number>);
  if (scale) {
    let low = Infinity;
    for (const v of values) low = Math.min(low, v);
    const shift = Math.fround(Math.max(-low, 0));
    let high = -Infinity;
    for (let i = 0; i < values.length; i++) {
      values[i] = values[i] + shift;
      high = Math.max(high, values[i]);
    }
    for (let i = 0; i < values.length; i++) values[i] = Math.fround((high !== 0 ? Math.fround(values[i] / high) : values[i]) * 255);
  }
  const pixels = new Uint8Array(values.length);
  // numpy's astype('uint8'): truncation, wrapping outside 0-255.
  for (let i = 0; i < values.length; i++) pixels[i] = Math.trunc(values[i]) & 0xff;
  return new Image(pixels, width, height, channels);
}

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff' | 'avif' | 'gif';

export interface SaveImgOptions extends ArrayToImgOptions {
  /** The file format; from the file extension when left out. */
  format?: ImageFormat;
}

/** Writes an Image or an image tensor to a file, as Keras's `save_img`. */
export async function saveImg(path: string, x: Image | Tensor, options: SaveImgOptions = {}): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('saveImg', 'path to be a file path', path);
  checkPlainObject('saveImg', 'options', options);
  checkKnownOptions('saveImg', options, ['scale', 'format']);
  const img = x instanceof Tensor ? arrayToImg(x, { scale: options.scale }) : x;
  if (!(img instanceof Image)) throw invalidArgument('saveImg', 'an Image or a Tensor', x);
  let pipeline = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 },
  });
  if (options.format !== undefined) {
    pipeline = pipeline.toFormat(checkOneOf('saveImg', 'format', options.format, ['png', 'jpeg', 'webp', 'tiff', 'avif', 'gif'] as const));
  }
  try {
    await pipeline.toFile(path);
  } catch (error) {
    throw new Error(`saveImg: could not write ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
}
