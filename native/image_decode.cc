#include "image_decode.h"

#ifdef KERAS_TORCH_HAVE_JPEG

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "async.h"
#include "errors.h"
#include "jpeg_decode.h"

namespace keras_torch {

namespace {

struct DecodedBatch {
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> decoded;
};

DecodedBatch DecodeFiles(const std::vector<std::string>& paths, const jpeg::Target& target) {
  DecodedBatch batch;
  const size_t imageBytes = static_cast<size_t>(target.height) * target.width * target.channels;
  batch.pixels.assign(imageBytes * paths.size(), 0);
  batch.decoded.assign(paths.size(), static_cast<uint8_t>(jpeg::DecodeStatus::kDeclined));
  std::vector<uint8_t> bytes;
  jpeg::DecodedImage scratch;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!jpeg::ReadJpegFile(paths[i], bytes)) continue;
    jpeg::DecodeStatus status = jpeg::DecodeJpeg(bytes.data(), bytes.size(), target, scratch, batch.pixels.data() + i * imageBytes);
    batch.decoded[i] = static_cast<uint8_t>(status);
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
//   -> Promise<{pixels: Uint8Array (n * height * width * channels), decoded: Uint8Array (n jpeg::DecodeStatus)}>
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
    jpeg::Target options;
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
