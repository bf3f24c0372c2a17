// Batch decoding of JPEG files with libjpeg-turbo, for the directory iterators: one call reads, decodes,
// converts and resizes a whole batch off the event loop, as Keras's load_img (PIL) would (native/jpeg_decode.*).
// Each file's jpeg::DecodeStatus comes back: files declined are decoded with sharp by the caller; truncated
// files and decompression bombs are invalid images, never decoded a second time.
#pragma once

#include <napi.h>

namespace keras_torch {

// Registers decodeImageFiles(paths, options) -> Promise<{pixels, decoded}> when the addon is built with
// libjpeg (KERAS_TORCH_HAVE_JPEG); registers nothing otherwise.
Napi::Object InitImageDecode(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
