/**
 * How lib/preprocessing reaches the addon's image functions (typed in lib/native/binding.ts). Internal.
 */
import type { NativeBinding, NativeDecodeOptions, NativeDecodeResult } from '../native/binding';
import { loadBinding } from '../native/loader';

/** Values per image in the `params` array of `augmentImages`, in this order (native/augment.cc reads them so). */
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

/** The addon, for augmentImages (native/augment.cc). */
export function augmentBinding(): NativeBinding {
  return loadBinding();
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
  const binding = loadBinding();
  return typeof binding.decodeImageFiles === 'function' ? binding.decodeImageFiles.bind(binding) : null;
}

/** The addon's decoder of encoded images in memory (native/image_decode.cc), or null without libjpeg. */
export function nativeBufferDecoder(): NonNullable<NativeBinding['decodeImageBuffers']> | null {
  if (!nativeDecodingEnabled) return null;
  const binding = loadBinding();
  return typeof binding.decodeImageBuffers === 'function' ? binding.decodeImageBuffers.bind(binding) : null;
}

export type { NativeAugmentOptions, NativeDecodeOptions, NativeDecodeResult } from '../native/binding';
