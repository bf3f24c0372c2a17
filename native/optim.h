// Optimizers from the config lib/optimizers.ts sends, with Keras's hyper-parameter names.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace keras_torch {

// The update rule, from the spec lib/optimizers.ts sends: libtorch's for Adam (and AdamW), SGD, RMSprop and
// Adagrad, Keras 3's own for Nadam, Adamax and Lion, which torch::optim lacks or computes differently.
std::unique_ptr<torch::optim::Optimizer> BuildOptimizer(Napi::Object config, std::vector<torch::Tensor> parameters);

// One of Keras's keras.optimizers.schedules, by its class name and Keras's arguments.
struct LearningRateSchedule {
  std::string className;
  double initialLearningRate = 0;
  double decaySteps = 1;  // firstDecaySteps for CosineDecayRestarts
  double decayRate = 0;
  bool staircase = false;
  std::vector<double> boundaries, values;  // PiecewiseConstantDecay
  double endLearningRate = 0, power = 1;
  bool cycle = false;
  double alpha = 0;
  std::optional<double> warmupTarget;
  double warmupSteps = 0;
  double tMul = 2, mMul = 1;
};

LearningRateSchedule ReadLearningRateSchedule(Napi::Object spec);
// The schedule's learning rate at optimizer step `step` (0 for the first update), by Keras's formulas.
double ScheduledLearningRate(const LearningRateSchedule& schedule, double step);
// scheduleLearningRate(spec, step) -> number: a schedule's value, for LearningRateSchedule.call in TypeScript.
Napi::Value ScheduleLearningRate(const Napi::CallbackInfo& info);

// What Keras's base optimizer does around every update rule: the learning-rate schedule, gradient clipping
// (per weight, global or by value) and decoupled weight decay. Zero means off.
struct UpdateRules {
  std::optional<LearningRateSchedule> schedule;
  double clipnorm = 0, globalClipnorm = 0, clipvalue = 0, weightDecay = 0;
};

UpdateRules ReadUpdateRules(Napi::Object config);

// One update as Keras applies it, with the gradients backward left on the parameters: clips them, decays
// the weights by weightDecay * learning rate, runs the rule, and counts the update in `iterations` (Keras's
// optimizer.iterations), whose schedule value then becomes the learning rate of the next update.
void ApplyUpdate(torch::optim::Optimizer& optimizer, const UpdateRules& rules, int64_t& iterations);

// With a schedule, sets the optimizer's learning rate to its value at `iterations`; otherwise does nothing.
void FollowSchedule(torch::optim::Optimizer& optimizer, const UpdateRules& rules, int64_t iterations);

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
