// Optimizers from the config lib/optimizers.ts sends, with Keras's hyper-parameter names.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace keras_torch {

std::unique_ptr<torch::optim::Optimizer> BuildOptimizer(Napi::Object config, std::vector<torch::Tensor> parameters);

double LearningRate(const torch::optim::Optimizer& optimizer);
void SetLearningRate(torch::optim::Optimizer& optimizer, double learningRate);

// Visits every tensor of the optimizer's per-parameter state (moments, momentum buffers, ...), so that
// it can be moved with the model or saved beside it.
void ForEachStateTensor(torch::optim::Optimizer& optimizer, const std::function<void(torch::Tensor&)>& visit);

}  // namespace keras_torch
