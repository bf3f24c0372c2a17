#include "preprocessing.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "affine.h"
#include "async.h"
#include "errors.h"
#include "tensor.h"

namespace keras_torch {

namespace {

std::vector<double> Numbers(const SpecReader& spec, const char* key, const std::string& kind) {
  Napi::Value value = spec.Object(key);
  Napi::Array array = value.As<Napi::Array>();
  std::vector<double> result;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) throw std::invalid_argument(kind + ": expected " + key + " to be an array of numbers");
    result.push_back(item.As<Napi::Number>().DoubleValue());
  }
  return result;
}

// Rank-4 tensors are NCHW here; a channels-last broadcast shape [1, h, w, c] becomes [1, c, h, w].
torch::Tensor ToInternalLayout(const torch::Tensor& x) { return x.dim() == 4 ? x.permute({0, 3, 1, 2}) : x; }

torch::Tensor AsFloat(const torch::Tensor& x) { return x.is_floating_point() ? x : x.to(torch::kFloat32); }

// ---- Normalization -----------------------------------------------------------------------------------

// Keras's Normalization: (x - mean) / max(sqrt(variance), epsilon), or its inverse. The statistics have
// the kept axes' shape (Keras's weights) and broadcast over the reduced ones.
class NormalizationImpl : public torch::nn::Module {
 public:
  NormalizationImpl(torch::Tensor mean, torch::Tensor variance, std::vector<int64_t> broadcastShape, bool invert)
      : broadcastShape_(std::move(broadcastShape)), invert_(invert) {
    mean_ = register_buffer("mean", std::move(mean));
    variance_ = register_buffer("variance", std::move(variance));
    // Keras keeps a `count` weight for older saved models and never updates it.
    count_ = register_buffer("count", torch::zeros({}));
  }

  torch::Tensor forward(const torch::Tensor& input) {
    const torch::Tensor x = AsFloat(input);
    const torch::Tensor mean = ToInternalLayout(mean_.reshape(broadcastShape_));
    // Keras's backend.epsilon().
    const torch::Tensor scale = ToInternalLayout(variance_.reshape(broadcastShape_)).sqrt().clamp_min(1e-7);
    return invert_ ? mean + x * scale : (x - mean) / scale;
  }

  torch::Tensor mean_, variance_, count_;

 private:
  std::vector<int64_t> broadcastShape_;
  bool invert_;
};
TORCH_MODULE(Normalization);

BuiltLayer BuildNormalization(const SpecReader& spec) {
  const std::vector<int64_t> weightShape = spec.Integers("weightShape", spec.Object("weightShape").As<Napi::Array>().Length());
  const std::vector<int64_t> broadcastShape =
      spec.Integers("broadcastShape", spec.Object("broadcastShape").As<Napi::Array>().Length());
  auto tensorOf = [&](const char* key) {
    std::vector<double> values = Numbers(spec, key, "normalization");
    torch::Tensor t = torch::tensor(values, torch::kFloat64).to(torch::kFloat32);
    if (t.numel() != c10::multiply_integers(weightShape)) {
      throw std::invalid_argument("normalization: expected " + std::string(key) + " to hold one value per kept position");
    }
    return t.reshape(weightShape);
  };
  Normalization module(tensorOf("mean"), tensorOf("variance"), broadcastShape, spec.Boolean("invert", false));
  BuiltLayer built;
  // With mean and variance given, Keras holds them as constants, not weights.
  if (spec.Boolean("adaptable", true)) {
    built.weights.push_back({module->mean_, WeightLayout::Same, false});
    built.weights.push_back({module->variance_, WeightLayout::Same, false});
    built.weights.push_back({module->count_, WeightLayout::Same, false});
  }
  built.module = torch::nn::AnyModule(module);
  return built;
}

// ---- image layers: resizing and cropping -------------------------------------------------------------

namespace F = torch::nn::functional;

// Keras's crop_to_aspect_ratio (and smart_resize's crop): the largest centred window of the target's
// aspect ratio, on an NCHW batch.
torch::Tensor CropToAspectRatio(const torch::Tensor& x, int64_t targetHeight, int64_t targetWidth) {
  const int64_t height = x.size(2), width = x.size(3);
  int64_t cropHeight = static_cast<int64_t>(static_cast<double>(width * targetHeight) / static_cast<double>(targetWidth));
  cropHeight = std::max<int64_t>(std::min(height, cropHeight), 1);
  int64_t cropWidth = static_cast<int64_t>(static_cast<double>(height * targetWidth) / static_cast<double>(targetHeight));
  cropWidth = std::max<int64_t>(std::min(width, cropWidth), 1);
  const auto top = static_cast<int64_t>(static_cast<double>(height - cropHeight) / 2);
  const auto left = static_cast<int64_t>(static_cast<double>(width - cropWidth) / 2);
  return x.narrow(2, top, cropHeight).narrow(3, left, cropWidth);
}

// Keras's pad_to_aspect_ratio: as many rows (columns) of `fill` above and below (left and right) as
// Keras's integer arithmetic gives.
torch::Tensor PadToAspectRatio(const torch::Tensor& x, int64_t targetHeight, int64_t targetWidth, double fill) {
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t padHeight = std::max(height, static_cast<int64_t>(static_cast<double>(width * targetHeight) / static_cast<double>(targetWidth)));
  const int64_t padWidth = std::max(width, static_cast<int64_t>(static_cast<double>(height * targetWidth) / static_cast<double>(targetHeight)));
  const auto rows = static_cast<int64_t>(static_cast<double>(padHeight - height) / 2);
  const auto cols = static_cast<int64_t>(static_cast<double>(padWidth - width) / 2);
  if (rows == 0 && cols == 0) return x;
  return F::pad(x, F::PadFuncOptions({cols, cols, rows, rows}).value(fill));
}

enum class ResizeMethod { Bilinear, Nearest, Bicubic, Area };

ResizeMethod ParseResizeMethod(const std::string& name) {
  if (name == "bilinear") return ResizeMethod::Bilinear;
  if (name == "nearest") return ResizeMethod::Nearest;
  if (name == "bicubic") return ResizeMethod::Bicubic;
  if (name == "area") return ResizeMethod::Area;
  throw std::invalid_argument("resizing: unknown interpolation " + name);
}

// Keras's image.resize on the torch backend: F.interpolate with half-pixel centres (align_corners false),
// 'nearest' as 'nearest-exact'; 'area' is adaptive average pooling (TensorFlow's area for whole factors).
torch::Tensor Resize(const torch::Tensor& x, int64_t height, int64_t width, ResizeMethod method, bool antialias) {
  if (x.size(2) == height && x.size(3) == width && method != ResizeMethod::Bicubic) return x;
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width});
  switch (method) {
    case ResizeMethod::Bilinear: options.mode(torch::kBilinear).align_corners(false).antialias(antialias); break;
    case ResizeMethod::Bicubic: options.mode(torch::kBicubic).align_corners(false).antialias(antialias); break;
    // Straight to ATen: F::interpolate in libtorch 1.13 warns on every nearest-exact call without align_corners,
    // which that mode does not take.
    case ResizeMethod::Nearest: return at::_upsample_nearest_exact2d(x, {height, width});
    case ResizeMethod::Area: options.mode(torch::kArea); break;
  }
  return F::interpolate(x, options);
}

// Keras's smart_resize: the centred window of the target's aspect ratio, resized bilinearly.
torch::Tensor SmartResize(const torch::Tensor& x, int64_t height, int64_t width) {
  return Resize(CropToAspectRatio(x, height, width), height, width, ResizeMethod::Bilinear, false);
}

BuiltLayer BuildResizing(const SpecReader& spec) {
  const int64_t height = spec.Integer("height"), width = spec.Integer("width");
  const ResizeMethod method = ParseResizeMethod(spec.String("interpolation"));
  const bool crop = spec.Boolean("cropToAspectRatio", false), pad = spec.Boolean("padToAspectRatio", false);
  const bool antialias = spec.Boolean("antialias", false);
  const double fill = spec.Number("fillValue", 0.0);
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([=](const torch::Tensor& input) {
    torch::Tensor x = AsFloat(input);
    if (crop) x = CropToAspectRatio(x, height, width);
    if (pad) x = PadToAspectRatio(x, height, width, fill);
    return Resize(x, height, width, method, antialias);
  }));
  return built;
}

BuiltLayer BuildCenterCrop(const SpecReader& spec) {
  const int64_t height = spec.Integer("height"), width = spec.Integer("width");
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([=](const torch::Tensor& input) {
    torch::Tensor x = AsFloat(input);
    const int64_t extraRows = x.size(2) - height, extraCols = x.size(3) - width;
    // Keras crops when the image is large enough on both axes and smart-resizes otherwise.
    if (extraRows >= 0 && extraCols >= 0) return x.narrow(2, extraRows / 2, height).narrow(3, extraCols / 2, width);
    return SmartResize(x, height, width);
  }));
  return built;
}

// ---- random image layers -----------------------------------------------------------------------------

// A Random* layer: active in training, as Keras's (identity or its inference form otherwise), drawing
// from a generator of its own as Dropout does, so that its draws depend on its seed and its own steps.
class RandomImageLayerImpl : public torch::nn::Module {
 public:
  explicit RandomImageLayerImpl(uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}
  ~RandomImageLayerImpl() override = default;

  // Under the generator's lock, which its draws take too.
  void Reseed(uint64_t seed) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_current_seed(seed);
  }

  torch::Tensor forward(const torch::Tensor& input) {
    const torch::Tensor x = AsFloat(input);
    return is_training() ? Augment(x) : Infer(x);
  }

 protected:
  virtual torch::Tensor Augment(const torch::Tensor& x) = 0;
  virtual torch::Tensor Infer(const torch::Tensor& x) { return x; }

  // `count` draws, uniform in [low, high), in float64 on the CPU.
  torch::Tensor Uniform(int64_t count, double low, double high) {
    return torch::empty({count}, torch::kFloat64).uniform_(low, high, generator_);
  }
  // The same, shaped [count, 1, 1, 1] to scale a batch, on its device and in its dtype.
  torch::Tensor PerImage(const torch::Tensor& x, double low, double high) {
    return Uniform(x.size(0), low, high).to(x.options()).view({x.size(0), 1, 1, 1});
  }

 private:
  at::Generator generator_;
};

class RandomFlipImpl : public RandomImageLayerImpl {
 public:
  RandomFlipImpl(uint64_t seed, std::vector<int64_t> dims) : RandomImageLayerImpl(seed), dims_(std::move(dims)) {}

 protected:
  // One coin per image; with both axes Keras flips both or neither.
  torch::Tensor Augment(const torch::Tensor& x) override {
    const torch::Tensor flips = Uniform(x.size(0), 0, 1).le(0.5).to(x.device()).view({x.size(0), 1, 1, 1});
    return torch::where(flips, x.flip(dims_), x);
  }

 private:
  std::vector<int64_t> dims_;
};
TORCH_MODULE(RandomFlip);

class RandomContrastImpl : public RandomImageLayerImpl {
 public:
  RandomContrastImpl(uint64_t seed, double lower, double upper, double low, double high)
      : RandomImageLayerImpl(seed), lower_(lower), upper_(upper), low_(low), high_(high) {}

 protected:
  // (x - mean) * factor + mean per image and channel, the mean over height and width; clipped to the range.
  torch::Tensor Augment(const torch::Tensor& x) override {
    const torch::Tensor factor = PerImage(x, 1.0 - lower_, 1.0 + upper_);
    const torch::Tensor mean = x.mean({2, 3}, /*keepdim=*/true);
    return ((x - mean) * factor + mean).clamp(low_, high_);
  }

 private:
  double lower_, upper_, low_, high_;
};
TORCH_MODULE(RandomContrast);

class RandomBrightnessImpl : public RandomImageLayerImpl {
 public:
  RandomBrightnessImpl(uint64_t seed, double lower, double upper, double low, double high)
      : RandomImageLayerImpl(seed), lower_(lower), upper_(upper), low_(low), high_(high) {}

 protected:
  // One shift per image, a fraction of the value range, added to every channel; clipped to the range.
  torch::Tensor Augment(const torch::Tensor& x) override {
    return (x + PerImage(x, lower_, upper_) * (high_ - low_)).clamp(low_, high_);
  }

 private:
  double lower_, upper_, low_, high_;
};
TORCH_MODULE(RandomBrightness);

class RandomCropImpl : public RandomImageLayerImpl {
 public:
  RandomCropImpl(uint64_t seed, int64_t height, int64_t width) : RandomImageLayerImpl(seed), height_(height), width_(width) {}

 protected:
  // One window for the batch, as Keras draws it, when the images are larger on both axes.
  torch::Tensor Augment(const torch::Tensor& x) override {
    const int64_t height = x.size(2), width = x.size(3);
    if (height <= height_ || width <= width_) return SmartResize(x, height_, width_);
    const auto top = static_cast<int64_t>(Uniform(1, 0, static_cast<double>(height - height_ + 1)).item<double>());
    const auto left = static_cast<int64_t>(Uniform(1, 0, static_cast<double>(width - width_ + 1)).item<double>());
    return x.narrow(2, top, height_).narrow(3, left, width_);
  }
  torch::Tensor Infer(const torch::Tensor& x) override { return SmartResize(x, height_, width_); }

 private:
  int64_t height_, width_;
};
TORCH_MODULE(RandomCrop);

FillMode ParseKerasFillMode(const std::string& name) {
  if (name == "reflect") return FillMode::Reflect;
  if (name == "wrap") return FillMode::GridWrap;
  if (name == "constant") return FillMode::GridConstant;
  if (name == "nearest") return FillMode::Nearest;
  throw std::invalid_argument("random image layer: unknown fillMode " + name);
}

// Keras's affine transform [a0, a1, a2, b0, b1, b2] maps output (x, y) to input (a0 x + a1 y + a2,
// b0 x + b1 y + b2); as rows and columns for ApplyAffine.
Matrix3 KerasTransform(double a0, double a1, double a2, double b0, double b1, double b2) {
  return {{{b1, b0, b2}, {a1, a0, a2}, {0, 0, 1}}};
}

// RandomRotation, RandomZoom and RandomTranslation: one transform per image, sampled as Keras 3's
// affine_transform does (map_coordinates of order 1 or 0, Keras's fill modes), with augment.cc's code.
class RandomAffineImpl : public RandomImageLayerImpl {
 public:
  RandomAffineImpl(uint64_t seed, const SpecReader& spec)
      : RandomImageLayerImpl(seed),
        fillMode_(ParseKerasFillMode(spec.String("fillMode"))),
        fillValue_(spec.Number("fillValue", 0.0)),
        nearest_(spec.String("interpolation") == "nearest") {}

 protected:
  virtual std::vector<Matrix3> Transforms(int64_t count, int64_t height, int64_t width) = 0;

  torch::Tensor Augment(const torch::Tensor& x) override {
    TORCH_CHECK(!x.requires_grad(),
                "random rotation, zoom and translation pass no gradient: place them before every layer with weights");
    const int64_t count = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    const std::vector<Matrix3> transforms = Transforms(count, height, width);
    // NHWC memory, as ApplyAffine reads it: the graph's channels-last batches are already laid out so.
    const torch::Tensor source = x.to(torch::kCPU, torch::kFloat32).contiguous(at::MemoryFormat::ChannelsLast);
    torch::Tensor output = torch::empty_like(source, at::MemoryFormat::ChannelsLast);
    const float* in = source.data_ptr<float>();
    float* out = output.data_ptr<float>();
    const int64_t imageSize = height * width * channels;
    Placement placement;
    placement.nearestNeighbour = nearest_;
    at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        ApplyAffine(in + i * imageSize, out + i * imageSize, height, width, channels, transforms[static_cast<size_t>(i)],
                    fillMode_, fillValue_, placement);
      }
    });
    return output.to(x.device(), x.scalar_type());
  }

  // Draws as Keras does: `count` values uniform in [low, high).
  std::vector<double> Draw(int64_t count, double low, double high) {
    torch::Tensor values = Uniform(count, low, high);
    return std::vector<double>(values.data_ptr<double>(), values.data_ptr<double>() + count);
  }

 private:
  FillMode fillMode_;
  double fillValue_;
  bool nearest_;
};

class RandomRotationImpl : public RandomAffineImpl {
 public:
  RandomRotationImpl(uint64_t seed, const SpecReader& spec)
      : RandomAffineImpl(seed, spec), lower_(spec.Number("lower")), upper_(spec.Number("upper")) {}

 protected:
  // Keras's _compute_affine_matrix for a rotation about the image centre, angles a fraction of a turn.
  std::vector<Matrix3> Transforms(int64_t count, int64_t height, int64_t width) override {
    const double radiansPerDegree = 3.14159265358979323846 / 180.0;
    const double cx = 0.5 * static_cast<double>(width - 1), cy = 0.5 * static_cast<double>(height - 1);
    std::vector<Matrix3> transforms;
    for (double degrees : Draw(count, lower_ * 360.0, upper_ * 360.0)) {
      const double cosine = std::cos(degrees * radiansPerDegree), sine = std::sin(degrees * radiansPerDegree);
      const double a0 = cosine, a1 = -sine, b0 = sine, b1 = cosine;
      transforms.push_back(KerasTransform(a0, a1, cx - cx * a0 - cy * a1, b0, b1, cy - cx * b0 - cy * b1));
    }
    return transforms;
  }

 private:
  double lower_, upper_;
};
TORCH_MODULE(RandomRotation);

class RandomZoomImpl : public RandomAffineImpl {
 public:
  RandomZoomImpl(uint64_t seed, const SpecReader& spec)
      : RandomAffineImpl(seed, spec),
        heightLower_(spec.Number("heightLower")),
        heightUpper_(spec.Number("heightUpper")),
        widthFactor_(spec.Has("widthLower")),
        widthLower_(spec.Number("widthLower", 0.0)),
        widthUpper_(spec.Number("widthUpper", 0.0)) {}

 protected:
  // Keras's zoom matrix: a scale about the image centre, the width's scale the height's unless given.
  std::vector<Matrix3> Transforms(int64_t count, int64_t height, int64_t width) override {
    const std::vector<double> heightZoom = Draw(count, 1.0 + heightLower_, 1.0 + heightUpper_);
    const std::vector<double> widthZoom = widthFactor_ ? Draw(count, 1.0 + widthLower_, 1.0 + widthUpper_) : heightZoom;
    std::vector<Matrix3> transforms;
    for (int64_t i = 0; i < count; ++i) {
      const double zx = widthZoom[static_cast<size_t>(i)], zy = heightZoom[static_cast<size_t>(i)];
      transforms.push_back(KerasTransform(zx, 0, (static_cast<double>(width) - 1.0) / 2.0 * (1.0 - zx), 0, zy,
                                          (static_cast<double>(height) - 1.0) / 2.0 * (1.0 - zy)));
    }
    return transforms;
  }

 private:
  double heightLower_, heightUpper_;
  bool widthFactor_;
  double widthLower_, widthUpper_;
};
TORCH_MODULE(RandomZoom);

class RandomTranslationImpl : public RandomAffineImpl {
 public:
  RandomTranslationImpl(uint64_t seed, const SpecReader& spec)
      : RandomAffineImpl(seed, spec),
        heightLower_(spec.Number("heightLower")),
        heightUpper_(spec.Number("heightUpper")),
        widthLower_(spec.Number("widthLower")),
        widthUpper_(spec.Number("widthUpper")) {}

 protected:
  // Shifts by fractions of the image's height and width.
  std::vector<Matrix3> Transforms(int64_t count, int64_t height, int64_t width) override {
    const std::vector<double> down = Draw(count, heightLower_, heightUpper_);
    const std::vector<double> right = Draw(count, widthLower_, widthUpper_);
    std::vector<Matrix3> transforms;
    for (int64_t i = 0; i < count; ++i) {
      const double ty = down[static_cast<size_t>(i)] * static_cast<double>(height);
      const double tx = right[static_cast<size_t>(i)] * static_cast<double>(width);
      transforms.push_back(KerasTransform(1, 0, -tx, 0, 1, -ty));
    }
    return transforms;
  }

 private:
  double heightLower_, heightUpper_, widthLower_, widthUpper_;
};
TORCH_MODULE(RandomTranslation);

uint64_t SeedOf(const SpecReader& spec) { return static_cast<uint64_t>(spec.Number("seed")); }

template <typename Holder>
BuiltLayer Built(Holder module) {
  BuiltLayer built;
  built.module = torch::nn::AnyModule(module);
  return built;
}

std::vector<int64_t> FlipDims(const std::string& mode) {
  if (mode == "horizontal") return {3};
  if (mode == "vertical") return {2};
  if (mode == "horizontal_and_vertical") return {2, 3};
  throw std::invalid_argument("random_flip: unknown mode " + mode);
}

std::optional<BuiltLayer> BuildRandomImageLayer(const std::string& kind, const SpecReader& spec) {
  if (kind == "random_flip") return Built(RandomFlip(SeedOf(spec), FlipDims(spec.String("mode"))));
  if (kind == "random_contrast") {
    return Built(RandomContrast(SeedOf(spec), spec.Number("lower"), spec.Number("upper"), spec.Number("low"), spec.Number("high")));
  }
  if (kind == "random_brightness") {
    return Built(RandomBrightness(SeedOf(spec), spec.Number("lower"), spec.Number("upper"), spec.Number("low"), spec.Number("high")));
  }
  if (kind == "random_crop") return Built(RandomCrop(SeedOf(spec), spec.Integer("height"), spec.Integer("width")));
  if (kind == "random_rotation") return Built(RandomRotation(SeedOf(spec), spec));
  if (kind == "random_zoom") return Built(RandomZoom(SeedOf(spec), spec));
  if (kind == "random_translation") return Built(RandomTranslation(SeedOf(spec), spec));
  return std::nullopt;
}

// ---- statistics for Normalization.adapt ---------------------------------------------------------------

// moments(tensor, axes): the mean and population variance over `axes`, in float64, off the event loop.
Napi::Value Moments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "moments", [&]() -> Napi::Value {
    if (info.Length() != 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "moments: expected (tensor, axes)");
    NativeTensor* wrapper = NativeTensor::FromValue(info[0], "tensor");
    torch::Tensor input = wrapper->tensor();
    std::vector<int64_t> axes;
    Napi::Array array = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) {
      Napi::Value axis = array.Get(i);
      if (!axis.IsNumber()) throw Napi::TypeError::New(env, "moments: expected axes to be integers");
      axes.push_back(axis.As<Napi::Number>().Int64Value());
    }
    using Result = std::pair<torch::Tensor, torch::Tensor>;
    return PoolPromise<Result>::Run(
        env, "moments",
        [input, axes]() -> Result {
          torch::NoGradGuard noGrad;
          auto [variance, mean] = torch::var_mean(input.to(torch::kFloat64), axes, /*unbiased=*/false, /*keepdim=*/false);
          return {mean.contiguous(), variance.contiguous()};
        },
        [](Napi::Env env, Result& result) -> Napi::Value {
          Napi::Array pair = Napi::Array::New(env, 2);
          pair.Set(0u, NativeTensor::FromTorch(env, result.first));
          pair.Set(1u, NativeTensor::FromTorch(env, result.second));
          return pair;
        },
        {info[0], wrapper->BorrowedBuffer(env)});
  });
}

}  // namespace

std::optional<BuiltLayer> BuildPreprocessingLayer(const std::string& kind, const SpecReader& spec) {
  if (kind == "normalization") return BuildNormalization(spec);
  if (kind == "resizing") return BuildResizing(spec);
  if (kind == "center_crop") return BuildCenterCrop(spec);
  return BuildRandomImageLayer(kind, spec);
}

bool ReseedPreprocessingStream(const BuiltLayer& layer, uint64_t seed) {
  if (layer.module.is_empty()) return false;
  auto random = std::dynamic_pointer_cast<RandomImageLayerImpl>(layer.module.ptr());
  if (!random) return false;
  random->Reseed(seed);
  return true;
}

Napi::Object InitPreprocessing(Napi::Env env, Napi::Object exports) {
  exports.Set("moments", Napi::Function::New(env, Moments, "moments"));
  return exports;
}

}  // namespace keras_torch
