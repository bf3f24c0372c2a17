#include "image_decode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef KERAS_TORCH_HAVE_JPEG

#include <jpeglib.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "async.h"
#include "errors.h"

namespace keras_torch {

namespace {

// Beyond this many decoded pixels a file is left to sharp, which streams large images.
constexpr uint64_t kMaxPixels = uint64_t{1} << 26;

struct DecodeOptions {
  int height = 0, width = 0;
  int channels = 3;  // 1 grayscale, 3 rgb, 4 rgba
  bool mayResize = true;  // false: files that need resizing are left to sharp (other kernels, centre crop)
};

// A decoded JPEG at its own size: 1 (grey) or 3 (RGB) bands, rows packed.
struct DecodedImage {
  int width = 0, height = 0, components = 0;
  std::vector<uint8_t> pixels;
};

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
};

void ExitOnError(j_common_ptr info) { std::longjmp(reinterpret_cast<ErrorManager*>(info->err)->jump, 1); }
void Quiet(j_common_ptr) {}

bool HasIccProfile(j_decompress_ptr info) {
  for (jpeg_saved_marker_ptr marker = info->marker_list; marker != nullptr; marker = marker->next) {
    if (marker->marker == JPEG_APP0 + 2 && marker->data_length >= 12 &&
        std::memcmp(marker->data, "ICC_PROFILE", 11) == 0) {
      return true;
    }
  }
  return false;
}

// Decodes with libjpeg's defaults (accurate integer IDCT, smooth chroma upsampling), as PIL and libvips
// do. Returns false for anything it does not decode exactly as they would: a libjpeg error or warning
// (corrupt or truncated data), CMYK and other colour spaces, an embedded ICC profile (sharp converts
// through it), images too large. The caller then decodes the file with sharp, which reports errors.
// Only trivially destructible locals live here: libjpeg's errors longjmp out of this frame.
bool DecodeJpeg(const uint8_t* bytes, size_t size, DecodedImage& image) {
  jpeg_decompress_struct info;
  ErrorManager errors;
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = ExitOnError;
  errors.base.output_message = Quiet;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes, static_cast<unsigned long>(size));
  jpeg_save_markers(&info, JPEG_APP0 + 2, 0xFFFF);
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  bool grey = info.num_components == 1 && info.jpeg_color_space == JCS_GRAYSCALE;
  bool colour = info.num_components == 3 && (info.jpeg_color_space == JCS_YCbCr || info.jpeg_color_space == JCS_RGB);
  uint64_t pixels = uint64_t{info.image_width} * info.image_height;
  if ((!grey && !colour) || HasIccProfile(&info) || pixels == 0 || pixels > kMaxPixels) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  info.out_color_space = grey ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  image.width = static_cast<int>(info.output_width);
  image.height = static_cast<int>(info.output_height);
  image.components = info.output_components;
  const size_t stride = static_cast<size_t>(image.width) * image.components;
  image.pixels.resize(stride * image.height);
  while (info.output_scanline < info.output_height) {
    JSAMPROW rows[16];
    JDIMENSION count = 0;
    for (; count < 16 && info.output_scanline + count < info.output_height; ++count) {
      rows[count] = image.pixels.data() + (info.output_scanline + count) * stride;
    }
    jpeg_read_scanlines(&info, rows, count);
  }
  jpeg_finish_decompress(&info);
  bool clean = errors.base.num_warnings == 0;
  jpeg_destroy_decompress(&info);
  return clean;
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

// Writes `image` into `out` at the target size and band count, as load_img's convert() then resize().
// Returns false when that needs more than nearest resampling (left to sharp) or a conversion PIL does
// differently from the one here (RGB to grayscale).
bool ConvertAndResize(const DecodedImage& image, const DecodeOptions& options, uint8_t* out) {
  if (options.channels == 1 && image.components != 1) return false;
  bool resize = image.width != options.width || image.height != options.height;
  if (resize && !options.mayResize) return false;
  std::vector<int> columns = NearestIndices(image.width, options.width);
  std::vector<int> rows = NearestIndices(image.height, options.height);
  const int from = image.components, to = options.channels;
  for (int y = 0; y < options.height; ++y) {
    const uint8_t* line = image.pixels.data() + static_cast<size_t>(rows[static_cast<size_t>(y)]) * image.width * from;
    uint8_t* target = out + static_cast<size_t>(y) * options.width * to;
    for (int x = 0; x < options.width; ++x, target += to) {
      const uint8_t* pixel = line + static_cast<size_t>(columns[static_cast<size_t>(x)]) * from;
      if (from == 3) {
        target[0] = pixel[0], target[1] = pixel[1], target[2] = pixel[2];
      } else {
        for (int c = 0; c < to && c < 3; ++c) target[c] = pixel[0];  // L to RGB(A) repeats the band
      }
      if (to == 4) target[3] = 255;
    }
  }
  return true;
}

// lib/preprocessing/image.ts's MAX_IMAGE_FILE_BYTES: larger files are left to lib, which names them.
constexpr off_t kMaxJpegFileBytes = 256 << 20;

// Reads a JPEG file whole, or declines it having read at most its first bytes: a path that is not a
// regular file (a link to /dev/zero), one too large, or one without JPEG's magic bytes is never read to
// its end.
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

struct DecodedBatch {
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> decoded;
};

DecodedBatch DecodeFiles(const std::vector<std::string>& paths, const DecodeOptions& options) {
  DecodedBatch batch;
  const size_t imageBytes = static_cast<size_t>(options.height) * options.width * options.channels;
  batch.pixels.assign(imageBytes * paths.size(), 0);
  batch.decoded.assign(paths.size(), 0);
  std::vector<uint8_t> bytes;
  DecodedImage image;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!ReadJpegFile(paths[i], bytes)) continue;
    if (!DecodeJpeg(bytes.data(), bytes.size(), image)) continue;
    batch.decoded[i] = ConvertAndResize(image, options, batch.pixels.data() + i * imageBytes) ? 1 : 0;
  }
  return batch;
}

Napi::Value DecodedToJs(Napi::Env env, DecodedBatch& batch) {
  Napi::Object result = Napi::Object::New(env);
  auto pixels = Napi::Uint8Array::New(env, batch.pixels.size());
  if (!batch.pixels.empty()) std::memcpy(pixels.Data(), batch.pixels.data(), batch.pixels.size());
  auto decoded = Napi::Uint8Array::New(env, batch.decoded.size());
  if (!batch.decoded.empty()) std::memcpy(decoded.Data(), batch.decoded.data(), batch.decoded.size());
  result.Set("pixels", pixels);
  result.Set("decoded", decoded);
  return result;
}

int PositiveInt(Napi::Env env, Napi::Object options, const char* name, int largest) {
  Napi::Value value = options.Get(name);
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0;
  if (!(number >= 1 && number <= largest) || number != static_cast<int>(number)) {
    throw Napi::RangeError::New(env, std::string("decodeImageFiles: expected options.") + name +
                                         " to be an integer in [1, " + std::to_string(largest) + "]");
  }
  return static_cast<int>(number);
}

// decodeImageFiles(paths: string[], options: {height, width, channels, interpolation, keepAspectRatio})
//   -> Promise<{pixels: Uint8Array (n * height * width * channels), decoded: Uint8Array (n; 1 where decoded)}>
Napi::Value DecodeImageFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "decodeImageFiles", [&]() -> Napi::Value {
    if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsObject()) {
      throw Napi::TypeError::New(env, "decodeImageFiles: expected (paths, options)");
    }
    auto list = info[0].As<Napi::Array>();
    std::vector<std::string> paths;
    paths.reserve(list.Length());
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value path = list.Get(i);
      if (!path.IsString()) throw Napi::TypeError::New(env, "decodeImageFiles: expected paths to be strings");
      paths.push_back(path.As<Napi::String>().Utf8Value());
    }
    auto object = info[1].As<Napi::Object>();
    DecodeOptions options;
    options.height = PositiveInt(env, object, "height", 1 << 15);
    options.width = PositiveInt(env, object, "width", 1 << 15);
    options.channels = PositiveInt(env, object, "channels", 4);
    if (options.channels == 2) throw Napi::RangeError::New(env, "decodeImageFiles: expected options.channels 1, 3 or 4");
    Napi::Value interpolation = object.Get("interpolation");
    bool nearest = !interpolation.IsString() || interpolation.As<Napi::String>().Utf8Value() == "nearest";
    options.mayResize = nearest && !object.Get("keepAspectRatio").ToBoolean().Value();
    return PoolPromise<DecodedBatch>::Run(
        env, "decodeImageFiles", [paths = std::move(paths), options] { return DecodeFiles(paths, options); }, DecodedToJs);
  });
}

}  // namespace

Napi::Object InitImageDecode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeImageFiles", Napi::Function::New(env, DecodeImageFiles, "decodeImageFiles"));
  return exports;
}

}  // namespace keras_torch

#else  // without libjpeg: every file goes through sharp

namespace keras_torch {

Napi::Object InitImageDecode(Napi::Env env, Napi::Object exports) { return exports; }

}  // namespace keras_torch

#endif
