#include "train.h"

#include "distributed.h"
#include "errors.h"
#include "runtime.h"
#include "tensor.h"

namespace keras_torch {

PromiseWorker::PromiseWorker(Napi::Env env, std::string operation)
    : Napi::AsyncWorker(env), operation_(std::move(operation)), deferred_(Napi::Promise::Deferred::New(env)) {}

void PromiseWorker::KeepAlive(std::initializer_list<Napi::Value> values) {
  for (const Napi::Value& value : values) {
    if (!value.IsUndefined() && !value.IsNull()) keptAlive_.push_back(Napi::Persistent(value));
  }
}

Napi::Promise PromiseWorker::QueueAndPromise() {
  Napi::Promise promise = deferred_.Promise();
  Queue();
  return promise;
}

template <typename Body>
void PromiseWorker::RunLocked(ModelState& model, Body&& body) {
  std::string message;
  bool ok = false;
  RunOnComputeThread([&] {
    ok = GuardOffThread(operation_, message, [&] {
      std::lock_guard<std::mutex> lock(model.mutex);
      ApplyThreadSettings();
      body();
    });
  });
  if (!ok) SetError(message);
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  } catch (const std::exception& error) {
    deferred_.Reject(Napi::Error::New(env, operation_ + ": " + error.what()).Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& error) { deferred_.Reject(error.Value()); }

namespace {
// Drops the gradients instead of zeroing them (PyTorch's zero_grad(set_to_none=True), which 1.13's C++
// zero_grad() lacks): backward then hands its fresh gradient buffers over rather than adding them into
// zeroed ones, which saves two passes over every weight per step (the Dense kernel alone is 15 MB).
void ClearGradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) parameter.mutable_grad().reset();
  }
}

// Inputs arrive as the API's float32 (or uint8 pixels); parameters are float32 on the model's device.
torch::Tensor ToModelInput(const torch::Tensor& x, const ModelState& model) {
  return x.to(model.device, torch::kFloat32);
}
}  // namespace

StepWorker::StepWorker(Napi::Env env, StepKind kind, std::shared_ptr<ModelState> model, torch::Tensor x,
                       torch::Tensor y, torch::Tensor sampleWeight)
    : PromiseWorker(env, kind == StepKind::Train ? "trainOnBatch" : "evaluate"),
      kind_(kind),
      model_(std::move(model)),
      x_(std::move(x)),
      y_(std::move(y)),
      sampleWeight_(std::move(sampleWeight)) {}

void StepWorker::Execute() {
  RunLocked(*model_, [&] {
    ModelState& model = *model_;
    const bool training = kind_ == StepKind::Train;
    // Grad mode is thread-local: a worker thread must set it itself.
    torch::AutoGradMode gradMode(training);
    model.sequential->train(training);
    torch::Tensor input = ToModelInput(x_, model);
    torch::Tensor output = model.Forward(input, /*stopBeforeFoldedActivation=*/true);
    torch::Tensor labels = PrepareLabels(model.lossConfig, output, y_.to(model.device));
    torch::Tensor weights = sampleWeight_.defined() ? sampleWeight_.to(model.device) : torch::Tensor();
    torch::Tensor loss = ComputeLoss(model.lossConfig, output, labels, weights);
    // A model without trainable weights (only activations, say) still reports its loss, as Keras does.
    if (training && loss.requires_grad()) {
      ClearGradients(*model.optimizer);
      loss.backward();
      // Data-parallel training: every rank steps with the gradients averaged over all ranks.
      AverageGradients(model.sequential->parameters());
      model.optimizer->step();
    }
    values_.clear();
    values_.push_back(loss.item<double>());
    for (double metric : ComputeMetrics(model.lossConfig, output.detach(), labels)) values_.push_back(metric);
  });
}

Napi::Value StepWorker::Result(Napi::Env env) {
  Napi::Array result = Napi::Array::New(env, values_.size());
  for (size_t i = 0; i < values_.size(); ++i) result.Set(static_cast<uint32_t>(i), values_[i]);
  return result;
}

PredictWorker::PredictWorker(Napi::Env env, std::shared_ptr<ModelState> model, torch::Tensor x)
    : PromiseWorker(env, "predict"), model_(std::move(model)), x_(std::move(x)) {}

void PredictWorker::Execute() {
  RunLocked(*model_, [&] {
    ModelState& model = *model_;
    c10::InferenceMode inference;
    model.sequential->eval();
    // The result leaves the model as an ordinary CPU tensor the caller owns.
    output_ = model.Forward(ToModelInput(x_, model), /*stopBeforeFoldedActivation=*/false)
                  .to(torch::kCPU)
                  .contiguous();
  });
}

Napi::Value PredictWorker::Result(Napi::Env env) { return NativeTensor::FromTorch(env, output_); }

}  // namespace keras_torch
