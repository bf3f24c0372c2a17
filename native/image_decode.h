// Batch decoding of JPEG files with libjpeg-turbo, for the directory iterators: one call reads, decodes,
// converts and resizes a whole batch off the event loop, as Keras's load_img (PIL) would. Files it does not
// handle exactly as PIL would are reported back, and the caller decodes them with sharp instead.
#pragma once

#include <napi.h>

namespace keras_torch {

// Registers decodeImageFiles(paths, options) -> Promise<{pixels, decoded}> when the addon is built with
// libjpeg (KERAS_TORCH_HAVE_JPEG); registers nothing otherwise.
Napi::Object InitImageDecode(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
