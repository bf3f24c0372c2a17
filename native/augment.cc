#include "augment.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "affine.h"
#include "async.h"
#include "errors.h"
#include "runtime.h"
#include "tensor.h"

namespace keras_torch {

namespace {

// Per-image parameters, laid out as the JS side packs them (lib/preprocessing/native.ts).
constexpr int kParamsPerImage = 10;

struct ImageParams {
  double theta = 0, tx = 0, ty = 0, shear = 0, zx = 1, zy = 1;
  bool flipHorizontal = false, flipVertical = false;
  double channelShift = std::numeric_limits<double>::quiet_NaN();  // NaN: none
  double brightness = std::numeric_limits<double>::quiet_NaN();    // NaN: none
};

struct StandardizeOptions {
  double rescale = 0;  // 0: none (Keras's `if self.rescale:`)
  bool samplewiseCenter = false;
  bool samplewiseStdNormalization = false;
  std::vector<float> mean;  // featurewise, one per channel; empty: none
  std::vector<float> std;
};

struct AugmentJob {
  torch::Tensor input;  // [n, h, w, c], uint8 or float32, owned copy
  std::vector<ImageParams> params;  // empty: no transformation
  FillMode fillMode = FillMode::Nearest;
  double cval = 0;
  StandardizeOptions standardize;
};

Matrix3 Multiply(const Matrix3& a, const Matrix3& b) {
  Matrix3 out{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      // Fused multiply-adds in this order reproduce numpy's np.dot bit for bit, which matters for points
      // that fall exactly on the image border (constant and wrap modes decide inside/outside there).
      double sum = 0;
      for (int k = 0; k < 3; ++k) sum = std::fma(a[i][k], b[k][j], sum);
      out[i][j] = sum;
    }
  return out;
}

// keras_preprocessing's apply_affine_transform: rotation, shift, shear, zoom composed in that order,
// centred by transform_matrix_offset_center. Returns false when Keras would leave the image untouched.
bool AffineMatrix(const ImageParams& p, int64_t height, int64_t width, Matrix3& out) {
  const double radiansPerDegree = 3.14159265358979323846 / 180.0;  // numpy's deg2rad
  bool any = false;
  Matrix3 transform{};
  auto compose = [&](const Matrix3& m) {
    transform = any ? Multiply(transform, m) : m;
    any = true;
  };
  if (p.theta != 0) {
    double theta = p.theta * radiansPerDegree;
    compose({{{std::cos(theta), -std::sin(theta), 0}, {std::sin(theta), std::cos(theta), 0}, {0, 0, 1}}});
  }
  if (p.tx != 0 || p.ty != 0) compose({{{1, 0, p.tx}, {0, 1, p.ty}, {0, 0, 1}}});
  if (p.shear != 0) {
    double shear = p.shear * radiansPerDegree;
    compose({{{1, -std::sin(shear), 0}, {0, std::cos(shear), 0}, {0, 0, 1}}});
  }
  if (p.zx != 1 || p.zy != 1) compose({{{p.zx, 0, 0}, {0, p.zy, 0}, {0, 0, 1}}});
  if (!any) return false;
  double ox = static_cast<double>(height) / 2 + 0.5;
  double oy = static_cast<double>(width) / 2 + 0.5;
  Matrix3 offset{{{1, 0, ox}, {0, 1, oy}, {0, 0, 1}}};
  Matrix3 reset{{{1, 0, -ox}, {0, 1, -oy}, {0, 0, 1}}};
  out = Multiply(Multiply(offset, transform), reset);
  return true;
}

// The image as float values, placed (flipped, scaled) as `placement` says.
template <typename Source>
void CopyPlaced(const Source* source, float* target, int64_t height, int64_t width, int64_t channels,
                const Placement& placement) {
  for (int64_t row = 0; row < height; ++row) {
    const int64_t outRow = placement.flipVertical ? height - 1 - row : row;
    const Source* line = source + row * width * channels;
    float* outLine = target + outRow * width * channels;
    if (!placement.flipHorizontal) {
      for (int64_t i = 0; i < width * channels; ++i) outLine[i] = static_cast<float>(line[i]) * placement.scale;
      continue;
    }
    for (int64_t col = 0; col < width; ++col) {
      float* out = outLine + (width - 1 - col) * channels;
      for (int64_t ch = 0; ch < channels; ++ch) out[ch] = static_cast<float>(line[col * channels + ch]) * placement.scale;
    }
  }
}

// PIL's ImageEnhance.Brightness after array_to_img(scale=True), as keras_preprocessing applies it:
// the image is stretched to [0, 255], truncated to uint8, multiplied by `factor` and truncated again.
void ApplyBrightness(float* x, int64_t pixels, int64_t channels, double factor) {
  TORCH_CHECK(channels == 1 || channels == 3 || channels == 4,
              "brightness shifts need images with 1, 3 or 4 channels, as PIL does; received ", channels);
  int64_t count = pixels * channels;
  float low = *std::min_element(x, x + count);
  float shift = std::max(-low, 0.0f);
  float high = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < count; ++i) high = std::max(high, x[i] + shift);
  auto alpha = static_cast<float>(factor);
  bool interpolate = alpha >= 0 && alpha <= 1.0f;
  for (int64_t i = 0; i < count; ++i) {
    float v = x[i] + shift;
    if (high != 0) v /= high;
    v *= 255.0f;
    auto pixel = static_cast<uint8_t>(v);
    if (channels == 4 && i % 4 == 3) {  // the alpha band is blended with itself: unchanged
      x[i] = pixel;
      continue;
    }
    float blended = 0.0f + alpha * static_cast<float>(pixel);
    if (interpolate) {
      x[i] = static_cast<uint8_t>(blended);
    } else {
      x[i] = blended <= 0.0f ? 0.0f : blended >= 255.0f ? 255.0f : static_cast<float>(static_cast<uint8_t>(blended));
    }
  }
}

template <typename Source>
void ProcessImage(const AugmentJob& job, const Source* source, const ImageParams& p, float* out) {
  const int64_t height = job.input.size(1), width = job.input.size(2), channels = job.input.size(3);
  const int64_t pixels = height * width, count = pixels * channels;
  float* x = out;
  const StandardizeOptions& s = job.standardize;
  const bool shiftsValues = !std::isnan(p.channelShift) || !std::isnan(p.brightness);
  // The rescale is folded into the first pass unless channel shift or brightness need the unscaled values.
  const bool foldRescale = s.rescale != 0 && !shiftsValues;
  Placement placement;
  placement.flipHorizontal = p.flipHorizontal;
  placement.flipVertical = p.flipVertical;
  if (foldRescale) placement.scale = static_cast<float>(s.rescale);
  Matrix3 matrix;
  if (AffineMatrix(p, height, width, matrix)) {
    ApplyAffine(source, x, height, width, channels, matrix, job.fillMode, job.cval, placement);
  } else {
    CopyPlaced(source, x, height, width, channels, placement);
  }
  if (!std::isnan(p.channelShift)) {
    float low = *std::min_element(x, x + count), high = *std::max_element(x, x + count);
    auto intensity = static_cast<float>(p.channelShift);
    for (int64_t i = 0; i < count; ++i) x[i] = std::min(std::max(x[i] + intensity, low), high);
  }
  if (!std::isnan(p.brightness)) ApplyBrightness(x, pixels, channels, p.brightness);
  if (s.rescale != 0 && !foldRescale) {
    auto rescale = static_cast<float>(s.rescale);
    for (int64_t i = 0; i < count; ++i) x[i] *= rescale;
  }
  // ImageDataGenerator.standardize, in Keras's order (preprocessing_function runs in JS before this).
  if (s.samplewiseCenter) {
    double sum = 0;
    for (int64_t i = 0; i < count; ++i) sum += x[i];
    auto mean = static_cast<float>(sum / static_cast<double>(count));
    for (int64_t i = 0; i < count; ++i) x[i] -= mean;
  }
  if (s.samplewiseStdNormalization) {
    double sum = 0, squares = 0;
    for (int64_t i = 0; i < count; ++i) sum += x[i];
    double mean = sum / static_cast<double>(count);
    for (int64_t i = 0; i < count; ++i) squares += (x[i] - mean) * (x[i] - mean);
    auto divisor = static_cast<float>(std::sqrt(squares / static_cast<double>(count)) + 1e-6);
    for (int64_t i = 0; i < count; ++i) x[i] /= divisor;
  }
  if (!s.mean.empty()) {
    for (int64_t i = 0; i < count; ++i) x[i] -= s.mean[i % channels];
  }
  if (!s.std.empty()) {
    for (int64_t i = 0; i < count; ++i) x[i] /= s.std[i % channels] + 1e-6f;
  }
}

// One batch on a libuv pool thread: iterators keep several batches in flight on libuv's pool, which
// already fills the cores. at::parallel_for here measured slower: libtorch's OpenMP team spin-waits after
// each batch and takes the CPU from sharp's decoding on the other pool threads.
torch::Tensor RunAugmentJob(const AugmentJob& job) {
  ApplyThreadSettings();
  const int64_t n = job.input.size(0);
  const int64_t count = job.input.size(1) * job.input.size(2) * job.input.size(3);
  torch::Tensor output = torch::empty(job.input.sizes(), torch::kFloat32);
  float* out = output.data_ptr<float>();
  const ImageParams none;
  for (int64_t i = 0; i < n; ++i) {
    const ImageParams& params = job.params.empty() ? none : job.params[static_cast<size_t>(i)];
    if (job.input.scalar_type() == torch::kUInt8) {
      ProcessImage(job, job.input.data_ptr<uint8_t>() + i * count, params, out + i * count);
    } else {
      ProcessImage(job, job.input.data_ptr<float>() + i * count, params, out + i * count);
    }
  }
  return output;
}

FillMode ParseFillMode(Napi::Env env, const std::string& name) {
  if (name == "nearest") return FillMode::Nearest;
  if (name == "constant") return FillMode::Constant;
  if (name == "reflect") return FillMode::Reflect;
  if (name == "wrap") return FillMode::Wrap;
  throw Napi::TypeError::New(env, "augmentImages: expected fillMode 'nearest', 'constant', 'reflect' or 'wrap' but received '" + name + "'");
}

std::vector<float> FloatList(Napi::Env env, Napi::Value value, int64_t channels, const char* name) {
  if (value.IsUndefined() || value.IsNull()) return {};
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, std::string("augmentImages: expected ") + name + " to be a Float32Array");
  }
  auto array = value.As<Napi::Float32Array>();
  if (static_cast<int64_t>(array.ElementLength()) != channels) {
    throw Napi::RangeError::New(env, std::string("augmentImages: expected ") + name + " to hold one value per channel (" +
                                         std::to_string(channels) + ") but it holds " + std::to_string(array.ElementLength()));
  }
  return std::vector<float>(array.Data(), array.Data() + array.ElementLength());
}

// augmentImages(pixels: Uint8Array | Float32Array, shape: [n, h, w, c], params: Float64Array | null,
//               options: {fillMode, cval, rescale, samplewiseCenter, samplewiseStdNormalization, mean, std})
Napi::Value AugmentImages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "augmentImages", [&]() -> Napi::Value {
    if (info.Length() != 4 || !info[0].IsTypedArray() || !info[1].IsArray() || !info[3].IsObject()) {
      throw Napi::TypeError::New(env, "augmentImages: expected (pixels, shape, params, options)");
    }
    auto pixels = info[0].As<Napi::TypedArray>();
    napi_typedarray_type kind = pixels.TypedArrayType();
    if (kind != napi_uint8_array && kind != napi_float32_array) {
      throw Napi::TypeError::New(env, "augmentImages: expected pixels to be a Uint8Array or a Float32Array");
    }
    auto shapeArray = info[1].As<Napi::Array>();
    if (shapeArray.Length() != 4) throw Napi::RangeError::New(env, "augmentImages: expected shape [n, height, width, channels]");
    std::vector<int64_t> shape;
    int64_t count = 1;
    for (uint32_t i = 0; i < 4; ++i) {
      Napi::Value dimension = shapeArray.Get(i);
      if (!dimension.IsNumber() || dimension.As<Napi::Number>().DoubleValue() < (i == 0 ? 0 : 1)) {
        throw Napi::RangeError::New(env, "augmentImages: expected shape to hold positive integers");
      }
      shape.push_back(dimension.As<Napi::Number>().Int64Value());
      count *= shape.back();
    }
    if (count != static_cast<int64_t>(pixels.ElementLength())) {
      throw Napi::RangeError::New(env, "augmentImages: expected " + std::to_string(count) + " values for shape " +
                                           ShapeToString(shape) + " but received " + std::to_string(pixels.ElementLength()));
    }
    AugmentJob job;
    auto dtype = kind == napi_uint8_array ? torch::kUInt8 : torch::kFloat32;
    auto* data = static_cast<uint8_t*>(pixels.ArrayBuffer().Data()) + pixels.ByteOffset();
    // A copy, so that the JS buffer may change or be collected while the worker runs. memcpy rather than
    // clone(): clone's copy kernel runs an OpenMP region on the JS thread, whose team then spin-waits and
    // takes CPU from the workers (a third of the CPU time of a batch in perf).
    job.input = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    std::memcpy(job.input.data_ptr(), data, static_cast<size_t>(job.input.nbytes()));

    if (!info[2].IsNull() && !info[2].IsUndefined()) {
      if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw Napi::TypeError::New(env, "augmentImages: expected params to be a Float64Array or null");
      }
      auto params = info[2].As<Napi::Float64Array>();
      if (static_cast<int64_t>(params.ElementLength()) != shape[0] * kParamsPerImage) {
        throw Napi::RangeError::New(env, "augmentImages: expected " + std::to_string(kParamsPerImage) + " params per image");
      }
      const double* p = params.Data();
      job.params.resize(static_cast<size_t>(shape[0]));
      for (auto& image : job.params) {
        image.theta = p[0], image.tx = p[1], image.ty = p[2], image.shear = p[3], image.zx = p[4], image.zy = p[5];
        image.flipHorizontal = p[6] != 0, image.flipVertical = p[7] != 0;
        image.channelShift = p[8], image.brightness = p[9];
        p += kParamsPerImage;
      }
    }
    auto options = info[3].As<Napi::Object>();
    Napi::Value fillMode = options.Get("fillMode");
    if (fillMode.IsString()) job.fillMode = ParseFillMode(env, fillMode.As<Napi::String>().Utf8Value());
    Napi::Value cval = options.Get("cval");
    if (cval.IsNumber()) job.cval = cval.As<Napi::Number>().DoubleValue();
    Napi::Value rescale = options.Get("rescale");
    if (rescale.IsNumber()) job.standardize.rescale = rescale.As<Napi::Number>().DoubleValue();
    job.standardize.samplewiseCenter = options.Get("samplewiseCenter").ToBoolean().Value();
    job.standardize.samplewiseStdNormalization = options.Get("samplewiseStdNormalization").ToBoolean().Value();
    job.standardize.mean = FloatList(env, options.Get("mean"), shape[3], "mean");
    job.standardize.std = FloatList(env, options.Get("std"), shape[3], "std");

    auto shared = std::make_shared<AugmentJob>(std::move(job));
    return PoolPromise<torch::Tensor>::Run(
        env, "augmentImages", [shared] { return RunAugmentJob(*shared); },
        [](Napi::Env env, torch::Tensor& output) -> Napi::Value { return NativeTensor::FromTorch(env, output); });
  });
}

}  // namespace

Napi::Object InitAugment(Napi::Env env, Napi::Object exports) {
  exports.Set("augmentImages", Napi::Function::New(env, AugmentImages, "augmentImages"));
  return exports;
}

}  // namespace keras_torch
