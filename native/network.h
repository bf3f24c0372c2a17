// What a model runs: the layer graph lib/ describes (graph.h), or a TorchScript module loaded from a file
// (torchscript.h). The model's steps, optimizer, losses and metrics (model.h, train.cc) see only this.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "layers.h"

namespace keras_torch {

class Network {
 public:
  virtual ~Network() = default;

  // Channels-last inputs in, channels-last outputs out, as the API speaks. `logitsFor[i]` names the
  // activation that output i ends with and that its loss folds in (empty: the output as predict returns
  // it). With `activityPenalty`, the sum of the activity penalties goes there (undefined when none).
  virtual std::vector<torch::Tensor> Forward(const std::vector<torch::Tensor>& inputs,
                                             const std::vector<std::string>& logitsFor,
                                             torch::Tensor* activityPenalty = nullptr) = 0;

  // The sum of the weight regularizers' penalties over the trainable weights, or undefined when none.
  virtual torch::Tensor WeightPenalty() const { return torch::Tensor(); }
  // Projects the constrained weights that were just updated, as Keras's optimizer does after its step.
  virtual void ApplyConstraints() {}

  // Train or inference mode (Dropout, BatchNormalization), before each step.
  virtual void SetTraining(bool training) = 0;
  // lib's trainable flags (one per graph layer; one for a whole TorchScript module).
  virtual void SetTrainable(const std::vector<bool>& trainable) = 0;

  // The activation module output `index` ends with, or "" when it ends with none the loss could fold in.
  virtual std::string FinalActivation(size_t output) const { return ""; }

  // Moves every parameter and buffer, in place: the weights' tensors stay the same objects.
  virtual void To(const torch::Device& device) = 0;
  virtual std::vector<torch::Tensor> Parameters() const = 0;
  virtual std::vector<torch::Tensor> Buffers() const = 0;

  // Every weight (parameters and buffers), in the order getWeights and setWeights speak.
  virtual const std::vector<WeightSlot>& weights() const = 0;
  virtual size_t inputCount() const = 0;
  virtual size_t outputCount() const = 0;
};

}  // namespace keras_torch
