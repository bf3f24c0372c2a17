/**
 * The typed surface of the preprocessing functions in the addon (native/augment.cc). Internal.
 */
import type { NativeBinding, NativeTensor } from '../native/binding';
import { loadBinding } from '../native/loader';

/** Values per image in the `params` array of `augmentImages`, in this order. */
export const PARAMS_PER_IMAGE = 10;
export const PARAM_INDEX = {
  theta: 0,
  tx: 1,
  ty: 2,
  shear: 3,
  zx: 4,
  zy: 5,
  flipHorizontal: 6,
  flipVertical: 7,
  channelShiftIntensity: 8, // NaN: none
  brightness: 9, // NaN: none
} as const;

export interface NativeAugmentOptions {
  fillMode: 'nearest' | 'constant' | 'reflect' | 'wrap';
  cval: number;
  /** 0: none. */
  rescale: number;
  samplewiseCenter: boolean;
  samplewiseStdNormalization: boolean;
  /** Featurewise statistics, one value per channel; null: none. */
  mean: Float32Array | null;
  std: Float32Array | null;
}

export interface AugmentOps {
  /**
   * Transforms a batch of channels-last images [n, h, w, c] off the event loop and resolves a float32
   * tensor of the same shape. `params` holds PARAMS_PER_IMAGE values per image, or null for none.
   */
  augmentImages(
    pixels: Uint8Array | Float32Array,
    shape: [number, number, number, number],
    params: Float64Array | null,
    options: NativeAugmentOptions,
  ): Promise<NativeTensor>;
}

export function augmentBinding(): NativeBinding & AugmentOps {
  return loadBinding() as NativeBinding & AugmentOps;
}

export interface NativeDecodeOptions {
  height: number;
  width: number;
  /** 1 (grayscale), 3 (rgb) or 4 (rgba). */
  channels: number;
  /** Resizing other than 'nearest' is declined (the file is left to sharp). */
  interpolation: string;
  /** Declines files that would need resizing (the centre crop is left to sharp). */
  keepAspectRatio: boolean;
}

export interface NativeDecodeResult {
  /** n images [height, width, channels], channels-last; zeros where not decoded. */
  pixels: Uint8Array;
  /** 1 where the file was decoded, 0 where it was declined (not a JPEG, a libjpeg warning or error, CMYK...). */
  decoded: Uint8Array;
}

interface DecodeOps {
  decodeImageFiles?(paths: string[], options: NativeDecodeOptions): Promise<NativeDecodeResult>;
}

let nativeDecodingEnabled = true;

/** @internal Turns the libjpeg path off (every file then goes through sharp), for tests and benchmarks. */
export function setNativeDecoding(enabled: boolean): void {
  nativeDecodingEnabled = enabled;
}

/**
 * The addon's batch JPEG decoder (native/image_decode.cc: read, decode, convert and resize as PIL does,
 * one batch per worker), or null where the addon was built without libjpeg.
 */
export function nativeDecoder(): ((paths: string[], options: NativeDecodeOptions) => Promise<NativeDecodeResult>) | null {
  if (!nativeDecodingEnabled) return null;
  const binding = loadBinding() as NativeBinding & DecodeOps;
  return typeof binding.decodeImageFiles === 'function' ? binding.decodeImageFiles.bind(binding) : null;
}
