// Batch-wise image augmentation with the semantics of Keras's ImageDataGenerator (keras_preprocessing
// 1.1 on scipy.ndimage): affine transform with order-1 interpolation and scipy's fill modes, channel
// shift, flips, PIL's brightness, then standardization. One call handles one batch off the event loop.
#pragma once

#include <napi.h>

namespace keras_torch {

// Registers augmentImages(pixels, shape, params, options) -> Promise<NativeTensor>.
Napi::Object InitAugment(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
