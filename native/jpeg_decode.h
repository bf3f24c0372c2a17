// JPEG files to pixels as Keras's load_img (PIL) makes them: libjpeg-turbo's decode, PIL's conversions and
// PIL's nearest-neighbour resize. Plain C++ without Node or libtorch, so that a fuzzer links it alone
// (native/fuzz/jpeg_decode_fuzzer.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace keras_torch::jpeg {

// PIL's decompression-bomb limit (2 * Image.MAX_IMAGE_PIXELS): above it load_img raises, and so do we.
constexpr uint64_t kPilMaxPixels = 2 * uint64_t{89478485};

// What became of one file; the values cross to lib/native/binding.ts (NativeDecodeResult.decoded).
enum class DecodeStatus : uint8_t {
  kDeclined = 0,     // not decoded here: the caller decodes it with sharp, which reports errors
  kDecoded = 1,      // the target holds its pixels
  kTruncated = 2,    // the data ends before the image does: PIL raises "image file is truncated"
  kTooManyPixels = 3,  // its header declares more than kPilMaxPixels
};

struct Target {
  int height = 0, width = 0;
  int channels = 3;       // 1 grayscale (PIL's 'L'), 3 rgb, 4 rgba
  bool mayResize = true;  // false: files that need resizing are declined (other kernels, centre crop)
  // Larger images are declined (sharp decodes them); kept below kPilMaxPixels so that one batch's scratch
  // buffer stays bounded.
  uint64_t maxDecodedPixels = uint64_t{1} << 26;
};

// A decoded JPEG at its own size: 1 (grey) or 3 (RGB) bands, rows packed; reused from file to file.
struct DecodedImage {
  int width = 0, height = 0, components = 0;
  std::vector<uint8_t> pixels;
};

// The largest file ReadJpegFile reads (lib/preprocessing/image.ts's MAX_IMAGE_FILE_BYTES).
constexpr int64_t kMaxJpegFileBytes = int64_t{256} << 20;

// Reads a JPEG file whole into `bytes`, or returns false having read at most its first bytes: a path that
// is not a regular file (a link to /dev/zero), one too large, or one without JPEG's magic bytes is never
// read to its end.
bool ReadJpegFile(const std::string& path, std::vector<uint8_t>& bytes);

// Decodes `size` bytes and writes target.height x target.width x target.channels pixels to `out`.
DecodeStatus DecodeJpeg(const uint8_t* bytes, size_t size, const Target& target, DecodedImage& scratch, uint8_t* out);

}  // namespace keras_torch::jpeg
