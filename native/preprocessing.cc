#include "preprocessing.h"

#include <stdexcept>
#include <utility>
#include <vector>

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
  return std::nullopt;
}

bool ReseedPreprocessingStream(const BuiltLayer& layer, uint64_t seed) {
  (void)layer;
  (void)seed;
  return false;
}

Napi::Object InitPreprocessing(Napi::Env env, Napi::Object exports) {
  exports.Set("moments", Napi::Function::New(env, Moments, "moments"));
  return exports;
}

}  // namespace keras_torch
