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

// One parameter's optimizer state, as plain named tensors (what a model file stores under optimizer/).
struct ParamStateRecord {
  int64_t step = 0;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // e.g. exp_avg, exp_avg_sq
};

// The state of `parameter`, or false when the optimizer has none for it yet (before the first step).
bool ReadParamState(torch::optim::Optimizer& optimizer, const torch::Tensor& parameter, ParamStateRecord& record);
// Replaces the state of `parameter`; throws std::invalid_argument when a tensor is missing or misshapen.
void WriteParamState(torch::optim::Optimizer& optimizer, const torch::Tensor& parameter, const ParamStateRecord& record);

}  // namespace keras_torch
