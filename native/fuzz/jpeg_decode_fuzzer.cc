// libFuzzer target for the addon's JPEG path (native/jpeg_decode.cc): any bytes, decoded to each target the
// directory iterators ask for, must return a status without a crash, a leak or undefined behaviour.
// test/reliability/jpeg-fuzz.test.ts builds it with clang's -fsanitize=fuzzer,address,undefined and runs it
// for a bounded time from a corpus of valid JPEGs.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../jpeg_decode.h"

using keras_torch::jpeg::DecodedImage;
using keras_torch::jpeg::DecodeJpeg;
using keras_torch::jpeg::DecodeStatus;
using keras_torch::jpeg::Target;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static DecodedImage scratch;
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
  }
  return 0;
}
