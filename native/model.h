// A torch::nn::Sequential built from lib/'s layer specs, with its optimizer and loss once compiled.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "layers.h"
#include "losses.h"

namespace keras_torch {

// Shared by the JS wrapper and any worker running on it, so a model collected mid-step stays valid.
struct ModelState {
  std::mutex mutex;  // one libtorch call at a time: training mutates what predict reads
  torch::nn::Sequential sequential;
  std::vector<WeightSlot> weights;  // in Keras's order, layer by layer
  std::string lastActivation;       // the last module's activation, when it is an activation module
  torch::Device device{torch::kCPU};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  LossConfig lossConfig;

  // `input` is channels-last at the API; the result too. With `stopBeforeFoldedActivation` the last
  // activation is left to the loss (logits in, stable loss out).
  torch::Tensor Forward(const torch::Tensor& input, bool stopBeforeFoldedActivation);
};

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeModel(const Napi::CallbackInfo& info);
  // The model behind a JS NativeModel, or a TypeError naming `argument`.
  static std::shared_ptr<ModelState> StateOf(Napi::Value value, const std::string& argument = "model");

 private:
  Napi::Value Compile(const Napi::CallbackInfo& info);
  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value EvaluateStep(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value GetWeights(const Napi::CallbackInfo& info);
  Napi::Value SetWeights(const Napi::CallbackInfo& info);
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value GetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value SetLearningRate(const Napi::CallbackInfo& info);

  std::unique_lock<std::mutex> Lock();

  std::shared_ptr<ModelState> state_;
};

}  // namespace keras_torch
