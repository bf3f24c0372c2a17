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
