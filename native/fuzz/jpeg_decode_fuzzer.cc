// libFuzzer target for the addon's JPEG path (native/jpeg_decode.cc): any bytes, decoded to each target the
// directory iterators ask for, must return a status without a crash, a leak or undefined behaviour, and a
// decode that succeeds must give what load_img would: the image's own size when resizing is not allowed, its
// pixels unchanged at its own size, an L image's band repeated in RGB, alpha 255, and each resized pixel one
// of the source pixels around the position PIL's nearest neighbour samples. It prints how many inputs ended
// in each status (test/reliability/jpeg-fuzz.test.ts checks that some decoded and some were truncated).
// The test builds it with clang's -fsanitize=fuzzer,address,undefined and runs it over a fixed number of
// inputs from a corpus of valid JPEGs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../jpeg_decode.h"

using keras_torch::jpeg::DecodedImage;
using keras_torch::jpeg::DecodeJpeg;
using keras_torch::jpeg::DecodeStatus;
using keras_torch::jpeg::Target;

namespace {

size_t counts[4] = {0, 0, 0, 0};

void PrintCounts() {
  std::fprintf(stderr, "jpeg_decode_fuzzer statuses: declined %zu decoded %zu truncated %zu too-many-pixels %zu\n", counts[0], counts[1],
               counts[2], counts[3]);
}

// Whether `value` is band `band` of a source pixel in row y0 - 1 .. y0 + 1 and column x0 - 1 .. x0 + 1, where
// (y0, x0) is the pixel under the output pixel's centre: PIL's nearest neighbour, with room for its rounding.
bool NearSource(const DecodedImage& image, double y, double x, int band, uint8_t value) {
  const int y0 = static_cast<int>(y), x0 = static_cast<int>(x);
  for (int row = y0 - 1; row <= y0 + 1; ++row) {
    for (int column = x0 - 1; column <= x0 + 1; ++column) {
      if (row < 0 || column < 0 || row >= image.height || column >= image.width) continue;
      if (image.pixels[(static_cast<size_t>(row) * image.width + column) * image.components + band] == value) return true;
    }
  }
  return false;
}

// What a successful decode of `image` to `target` must have written to `out`.
bool DecodedAsLoadImg(const DecodedImage& image, const Target& target, const uint8_t* out) {
  if (image.width <= 0 || image.height <= 0 || (image.components != 1 && image.components != 3)) return false;
  if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.components) return false;
  const bool resized = image.width != target.width || image.height != target.height;
  if (resized && !target.mayResize) return false;
  for (int y = 0; y < target.height; ++y) {
    for (int x = 0; x < target.width; ++x) {
      const uint8_t* pixel = out + (static_cast<size_t>(y) * target.width + x) * target.channels;
      if (target.channels == 4 && pixel[3] != 255) return false;
      const int colours = target.channels == 1 ? 1 : 3;
      if (image.components == 1 && colours == 3 && (pixel[1] != pixel[0] || pixel[2] != pixel[0])) return false;
      // A grey target of a colour image is its luma, checked against PIL in the TypeScript tests.
      if (colours == 1 && image.components == 3) continue;
      const double sourceY = (y + 0.5) * image.height / target.height, sourceX = (x + 0.5) * image.width / target.width;
      for (int c = 0; c < colours; ++c) {
        const int band = image.components == 1 ? 0 : c;
        if (!resized) {
          if (pixel[c] != image.pixels[(static_cast<size_t>(y) * image.width + x) * image.components + band]) return false;
        } else if (!NearSource(image, sourceY, sourceX, band, pixel[c])) {
          return false;
        }
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static DecodedImage scratch;
  static const bool registered = std::atexit(PrintCounts) == 0;
  (void)registered;
  // Grey, RGB and RGBA targets, with and without resizing; a lower decode bound keeps each run fast (the
  // limit's own path is the same comparison).
  static const Target targets[] = {
      {8, 8, 1, true, uint64_t{1} << 22},
      {16, 12, 3, true, uint64_t{1} << 22},
      {5, 7, 4, false, uint64_t{1} << 22},
  };
  for (const Target& target : targets) {
    std::vector<uint8_t> out(static_cast<size_t>(target.height) * target.width * target.channels, 0xAB);
    DecodeStatus status = DecodeJpeg(data, size, target, scratch, out.data());
    if (status != DecodeStatus::kDeclined && status != DecodeStatus::kDecoded && status != DecodeStatus::kTruncated &&
        status != DecodeStatus::kTooManyPixels) {
      __builtin_trap();
    }
    counts[static_cast<int>(status)] += 1;
    if (status == DecodeStatus::kDecoded && !DecodedAsLoadImg(scratch, target, out.data())) __builtin_trap();
  }
  return 0;
}
