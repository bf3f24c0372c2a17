// A TorchScript module (torch.jit.script or torch.jit.trace in Python, then torch.jit.save) as a model's
// network: its forward is the model's forward, its parameters are what the optimizer updates and its
// buffers (BatchNorm's running statistics) what the steps update, so that the steps, optimizers, losses
// and metrics of every other model run on it unchanged.
#pragma once

#include <napi.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "network.h"

namespace keras_torch {

class ScriptedNetwork : public Network {
 public:
  // Checks that forward takes tensors and returns a tensor or a tuple of them, and that every floating
  // weight is float32 (what the steps feed it). `channelsLast`: 4-D inputs arrive NHWC and are permuted to
  // the NCHW that torch.nn modules take; 4-D outputs go back to NHWC.
  ScriptedNetwork(torch::jit::Module module, bool channelsLast);

  std::vector<torch::Tensor> Forward(const std::vector<torch::Tensor>& inputs, const std::vector<std::string>& logitsFor,
                                     torch::Tensor* activityPenalty = nullptr) override;
  void SetTraining(bool training) override;
  // One flag, the whole module's: false freezes every parameter and runs the module in eval mode, as a
  // frozen model runs its BatchNormalization in Keras; true gives back the requires_grad each had when
  // loaded (a parameter frozen in Python before saving stays frozen).
  void SetTrainable(const std::vector<bool>& trainable) override;
  void To(const torch::Device& device) override { module_.to(device); }
  std::vector<torch::Tensor> Parameters() const override;
  std::vector<torch::Tensor> Buffers() const override;
  const std::vector<WeightSlot>& weights() const override { return weights_; }
  size_t inputCount() const override { return inputNames_.size(); }
  size_t outputCount() const override { return outputCount_; }

  // The module as a TorchScript file (what torch.jit.load reads), with its current weights, in eval mode.
  std::string Save();

  // The module's class name ("ResNet"), forward's argument names, whether it returns a tuple.
  static std::string TypeName(const torch::jit::Module& module);
  std::string typeName() const { return TypeName(module_); }
  const torch::jit::Module& module() const { return module_; }
  const std::vector<std::string>& inputNames() const { return inputNames_; }
  bool returnsTuple() const { return returnsTuple_; }

 private:
  torch::jit::Module module_;
  bool channelsLast_;
  std::vector<std::string> inputNames_;
  size_t outputCount_ = 1;
  bool returnsTuple_ = false;
  // state_dict's order and names ("layer1.0.bn1.running_mean"), in torch's layouts.
  std::vector<WeightSlot> weights_;
  std::vector<bool> loadedRequiresGrad_;  // per weight
  bool trainable_ = true;
};

Napi::Object InitTorchScript(Napi::Env env, Napi::Object exports);

}  // namespace keras_torch
