#include "jpeg_decode.h"

#ifdef KERAS_TORCH_HAVE_JPEG

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

// jpeglib.h needs stdio's FILE declared first.
#include <jpeglib.h>
#include <jerror.h>

namespace keras_torch::jpeg {

namespace {

// Only trivially destructible members: libjpeg's errors longjmp out of DecodeJpeg's frame.
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  bool truncated;
};

void ExitOnError(j_common_ptr info) { std::longjmp(reinterpret_cast<ErrorManager*>(info->err)->jump, 1); }

// Warnings (level -1) are counted and otherwise ignored, as PIL ignores them, except the one for data that
// ends early: PIL raises "image file is truncated" there.
void NoteWarning(j_common_ptr info, int level) {
  auto* errors = reinterpret_cast<ErrorManager*>(info->err);
  if (level >= 0) return;
  errors->base.num_warnings++;
  if (errors->base.msg_code == JWRN_JPEG_EOF) errors->truncated = true;
}

// PIL's nearest-neighbour resize (ImagingScaleAffine): output column x samples source column
// int(scale / 2 + x * scale), the position accumulated by repeated addition as PIL does.
std::vector<int> NearestIndices(int source, int target) {
  std::vector<int> indices(static_cast<size_t>(target));
  double scale = static_cast<double>(source) / target;
  double position = scale * 0.5;
  for (int i = 0; i < target; ++i) {
    int index = position < 0 ? -1 : static_cast<int>(position);
    indices[static_cast<size_t>(i)] = index < 0 ? 0 : index >= source ? source - 1 : index;
    position += scale;
  }
  return indices;
}

// PIL's RGB to 'L' (Convert.c's L24): ITU-R 601-2 luma in 16-bit fixed point, rounded.
inline uint8_t Luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

// Writes `image` into `out` at the target size and band count, as load_img's convert() then resize();
// false when that needs more than nearest resampling.
bool ConvertAndResize(const DecodedImage& image, const Target& target, uint8_t* out) {
  bool resize = image.width != target.width || image.height != target.height;
  if (resize && !target.mayResize) return false;
  std::vector<int> columns = NearestIndices(image.width, target.width);
  std::vector<int> rows = NearestIndices(image.height, target.height);
  const int from = image.components, to = target.channels;
  for (int y = 0; y < target.height; ++y) {
    const uint8_t* line = image.pixels.data() + static_cast<size_t>(rows[static_cast<size_t>(y)]) * image.width * from;
    uint8_t* pixel = out + static_cast<size_t>(y) * target.width * to;
    for (int x = 0; x < target.width; ++x, pixel += to) {
      const uint8_t* source = line + static_cast<size_t>(columns[static_cast<size_t>(x)]) * from;
      if (to == 1) {
        pixel[0] = from == 3 ? Luma(source) : source[0];
        continue;
      }
      for (int c = 0; c < 3; ++c) pixel[c] = source[from == 3 ? c : 0];  // L to RGB(A) repeats the band
      if (to == 4) pixel[3] = 255;
    }
  }
  return true;
}

}  // namespace

bool ReadJpegFile(const std::string& path, std::vector<uint8_t>& bytes) {
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) return false;
  struct stat info;
  bool ok = ::fstat(descriptor, &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 3 && info.st_size <= kMaxJpegFileBytes;
  if (ok) {
    bytes.resize(static_cast<size_t>(info.st_size));
    size_t done = 0;
    // The magic bytes first: anything else is declined without reading further.
    size_t wanted = 3;
    while (done < bytes.size()) {
      ssize_t count = ::read(descriptor, bytes.data() + done, wanted - done);
      if (count <= 0) break;
      done += static_cast<size_t>(count);
      if (done == 3) {
        if (bytes[0] != 0xFF || bytes[1] != 0xD8 || bytes[2] != 0xFF) break;
        wanted = bytes.size();
      }
    }
    ok = done == bytes.size() && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  }
  ::close(descriptor);
  return ok;
}

// Decodes with libjpeg's defaults (accurate integer IDCT, smooth chroma upsampling), as PIL and libvips
// do. An embedded ICC profile is not applied, as PIL does not apply it. Declines a libjpeg error (sharp
// then reports it), CMYK and other colour spaces, and images above maxDecodedPixels.
DecodeStatus DecodeJpeg(const uint8_t* bytes, size_t size, const Target& target, DecodedImage& image, uint8_t* out) {
  jpeg_decompress_struct info;
  ErrorManager errors;
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = ExitOnError;
  errors.base.emit_message = NoteWarning;
  errors.truncated = false;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    return DecodeStatus::kDeclined;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes, static_cast<unsigned long>(size));
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
    jpeg_destroy_decompress(&info);
    return DecodeStatus::kDeclined;
  }
  const uint64_t pixels = uint64_t{info.image_width} * info.image_height;
  if (pixels > kPilMaxPixels) {
    jpeg_destroy_decompress(&info);
    return DecodeStatus::kTooManyPixels;
  }
  bool grey = info.num_components == 1 && info.jpeg_color_space == JCS_GRAYSCALE;
  bool colour = info.num_components == 3 && (info.jpeg_color_space == JCS_YCbCr || info.jpeg_color_space == JCS_RGB);
  if ((!grey && !colour) || pixels == 0 || pixels > target.maxDecodedPixels) {
    jpeg_destroy_decompress(&info);
    return DecodeStatus::kDeclined;
  }
  info.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);  // a progressive file's data is all read here
  if (errors.truncated) {
    jpeg_destroy_decompress(&info);
    return DecodeStatus::kTruncated;
  }
  image.width = static_cast<int>(info.output_width);
  image.height = static_cast<int>(info.output_height);
  image.components = info.output_components;
  const size_t stride = static_cast<size_t>(image.width) * image.components;
  image.pixels.resize(stride * image.height);
  // A truncated file is known once its data runs out: stop there rather than decode gray rows to the end.
  while (info.output_scanline < info.output_height && !errors.truncated) {
    JSAMPROW rows[16];
    JDIMENSION count = 0;
    for (; count < 16 && info.output_scanline + count < info.output_height; ++count) {
      rows[count] = image.pixels.data() + (info.output_scanline + count) * stride;
    }
    jpeg_read_scanlines(&info, rows, count);
  }
  if (!errors.truncated) jpeg_finish_decompress(&info);
  const bool truncated = errors.truncated;
  jpeg_destroy_decompress(&info);
  if (truncated) return DecodeStatus::kTruncated;
  return ConvertAndResize(image, target, out) ? DecodeStatus::kDecoded : DecodeStatus::kDeclined;
}

}  // namespace keras_torch::jpeg

#endif  // KERAS_TORCH_HAVE_JPEG
