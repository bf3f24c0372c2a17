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
  // With a scale: the pixels as float32 times it (Keras's rescale), in place of `pixels`.
  std::vector<float> values;
};

// Decodes `count` images, the i-th from the bytes `read(i, bytes)` gives (false: declined unread), each
// into its slot of the batch; with a scale, the slot's pixels become float32 values times it.
template <typename Read>
DecodedBatch DecodeBatch(size_t count, const jpeg::Target& target, const float* scale, Read&& read) {
  DecodedBatch batch;
  const size_t imageBytes = static_cast<size_t>(target.height) * target.width * target.channels;
  batch.pixels.assign(imageBytes * (scale ? 1 : count), 0);
  if (scale) batch.values.assign(imageBytes * count, 0.0f);
  batch.decoded.assign(count, static_cast<uint8_t>(jpeg::DecodeStatus::kDeclined));
  std::vector<uint8_t> owned;
  jpeg::DecodedImage scratch;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* bytes = nullptr;
    size_t size = 0;
    if (!read(i, owned, bytes, size)) continue;
    uint8_t* out = batch.pixels.data() + (scale ? 0 : i * imageBytes);
    jpeg::DecodeStatus status = jpeg::DecodeJpeg(bytes, size, target, scratch, out);
    batch.decoded[i] = static_cast<uint8_t>(status);
    if (scale && status == jpeg::DecodeStatus::kDecoded) {
      float* values = batch.values.data() + i * imageBytes;
      for (size_t k = 0; k < imageBytes; ++k) values[k] = static_cast<float>(out[k]) * *scale;
    }
  }
  if (scale) batch.pixels.clear();
  return batch;
}

DecodedBatch DecodeFiles(const std::vector<std::string>& paths, const jpeg::Target& target) {
  return DecodeBatch(paths.size(), target, nullptr, [&](size_t i, std::vector<uint8_t>& owned, const uint8_t*& bytes, size_t& size) {
    if (!jpeg::ReadJpegFile(paths[i], owned)) return false;
    bytes = owned.data();
    size = owned.size();
    return true;
  });
}

Napi::Value DecodedToJs(Napi::Env env, DecodedBatch& batch) {
  Napi::Object result = Napi::Object::New(env);
  if (batch.values.empty()) {
    auto pixels = Napi::Uint8Array::New(env, batch.pixels.size());
    if (!batch.pixels.empty()) std::memcpy(pixels.Data(), batch.pixels.data(), batch.pixels.size());
    result.Set("pixels", pixels);
  } else {
    auto values = Napi::Float32Array::New(env, batch.values.size());
    std::memcpy(values.Data(), batch.values.data(), batch.values.size() * sizeof(float));
    result.Set("values", values);
  }
  auto decoded = Napi::Uint8Array::New(env, batch.decoded.size());
  if (!batch.decoded.empty()) std::memcpy(decoded.Data(), batch.decoded.data(), batch.decoded.size());
  result.Set("decoded", decoded);
  return result;
}

int PositiveInt(Napi::Env env, Napi::Object options, const char* name, int largest, const std::string& operation) {
  Napi::Value value = options.Get(name);
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0;
  if (!(number >= 1 && number <= largest) || number != static_cast<int>(number)) {
    throw Napi::RangeError::New(env, operation + ": expected options." + name +
                                         " to be an integer in [1, " + std::to_string(largest) + "]");
  }
  return static_cast<int>(number);
}

// {height, width, channels, interpolation, keepAspectRatio}
jpeg::Target TargetOf(Napi::Env env, Napi::Object object, const std::string& operation) {
  jpeg::Target options;
  options.height = PositiveInt(env, object, "height", 1 << 15, operation);
  options.width = PositiveInt(env, object, "width", 1 << 15, operation);
  options.channels = PositiveInt(env, object, "channels", 4, operation);
  if (options.channels == 2) throw Napi::RangeError::New(env, operation + ": expected options.channels 1, 3 or 4");
  Napi::Value interpolation = object.Get("interpolation");
  bool nearest = !interpolation.IsString() || interpolation.As<Napi::String>().Utf8Value() == "nearest";
  options.mayResize = nearest && !object.Get("keepAspectRatio").ToBoolean().Value();
  return options;
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
    jpeg::Target options = TargetOf(env, info[1].As<Napi::Object>(), "decodeImageFiles");
    return PoolPromise<DecodedBatch>::Run(
        env, "decodeImageFiles", [paths = std::move(paths), options] { return DecodeFiles(paths, options); }, DecodedToJs);
  });
}

// decodeImageBuffers(buffers: Uint8Array[], options: {height, width, channels, interpolation, keepAspectRatio,
//   scale?}) -> Promise<{pixels | values, decoded}>: decodeImageFiles for encoded images in memory (an HTTP
//   body); with a scale, `values` (Float32Array, pixels times scale) instead of `pixels`. The buffers are
//   read off the JS thread and kept alive until the Promise settles.
Napi::Value DecodeImageBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "decodeImageBuffers", [&]() -> Napi::Value {
    if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsObject()) {
      throw Napi::TypeError::New(env, "decodeImageBuffers: expected (buffers, options)");
    }
    auto list = info[0].As<Napi::Array>();
    std::vector<std::pair<const uint8_t*, size_t>> images;
    images.reserve(list.Length());
    // Our own array of the buffers, kept alive: the caller's array may change while the pool reads them.
    Napi::Array kept = Napi::Array::New(env, list.Length());
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value buffer = list.Get(i);
      if (!buffer.IsTypedArray() || buffer.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw Napi::TypeError::New(env, "decodeImageBuffers: expected buffers[" + std::to_string(i) + "] to be a Uint8Array");
      }
      auto bytes = buffer.As<Napi::Uint8Array>();
      images.emplace_back(bytes.Data(), bytes.ByteLength());
      kept.Set(i, buffer);
    }
    auto object = info[1].As<Napi::Object>();
    jpeg::Target options = TargetOf(env, object, "decodeImageBuffers");
    Napi::Value scaleValue = object.Get("scale");
    bool scaled = !scaleValue.IsUndefined();
    if (scaled && !scaleValue.IsNumber()) throw Napi::TypeError::New(env, "decodeImageBuffers: expected options.scale to be a number");
    float scale = scaled ? scaleValue.As<Napi::Number>().FloatValue() : 1.0f;
    return PoolPromise<DecodedBatch>::Run(
        env, "decodeImageBuffers",
        [images = std::move(images), options, scaled, scale] {
          return DecodeBatch(images.size(), options, scaled ? &scale : nullptr,
                             [&](size_t i, std::vector<uint8_t>&, const uint8_t*& bytes, size_t& size) {
                               bytes = images[i].first;
                               size = images[i].second;
                               return true;
                             });
        },
        DecodedToJs, {kept});
  });
}

}  // namespace

Napi::Object InitImageDecode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeImageFiles", Napi::Function::New(env, DecodeImageFiles, "decodeImageFiles"));
  exports.Set("decodeImageBuffers", Napi::Function::New(env, DecodeImageBuffers, "decodeImageBuffers"));
  return exports;
}

}  // namespace keras_torch

#else  // without libjpeg: every file goes through sharp

namespace keras_torch {

Napi::Object InitImageDecode(Napi::Env env, Napi::Object exports) { return exports; }

}  // namespace keras_torch

#endif
