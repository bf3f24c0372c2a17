#include "train.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "addon_data.h"
#include "distributed.h"
#include "errors.h"
#include "metrics.h"
#include "optim.h"
#include "runtime.h"
#include "tensor.h"

namespace keras_torch {

namespace {
void SettleOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, PromiseWorker* worker);

// Finished workers travel back to the JS thread through one thread-safe function per environment. It is
// referenced only while calls are in flight: like libuv's queued work before it, a pending step keeps
// the process alive, an idle model does not.
using CompletionChannel = Napi::TypedThreadSafeFunction<std::nullptr_t, PromiseWorker, SettleOnJsThread>;

struct Completions {
  CompletionChannel channel;
  size_t inFlight = 0;  // JS thread only: calls whose Promise is not settled yet
  // Between the compute thread and the environment's teardown (which runs on the JS thread). The JS
  // thread never waits for `mutex`: the compute thread holds it only for a check or a decrement, never
  // while it wakes the JS thread, so a JS thread woken onto the compute thread's core does not find it
  // held, sleep on it, and need waking a second time (which cost a serving loop its tail latency).
  std::mutex mutex;
  std::condition_variable drained;
  bool closing = false;  // JS thread writes under `mutex`; compute thread reads under it
  std::atomic<size_t> running{0};  // calls posted to the compute thread that have not finished with it yet
};

// Runs when the environment goes away (a worker thread ends, the process exits), before the thread-safe
// function is closed: a step already running finishes first, since it reads the environment's
// ArrayBuffers, and the queued ones are skipped. Their Promises are never settled; nobody is left to see.
void CloseCompletions(void* argument) {
  std::unique_ptr<std::shared_ptr<Completions>> owner(static_cast<std::shared_ptr<Completions>*>(argument));
  Completions& completions = **owner;
  std::unique_lock<std::mutex> lock(completions.mutex);
  completions.closing = true;
  completions.drained.wait(lock, [&] { return completions.running == 0; });
}

std::shared_ptr<Completions> CompletionsOf(Napi::Env env) {
  AddonData* data = AddonData::Get(env);
  if (!data->completions) {
    auto completions = std::make_shared<Completions>();
    completions->channel = CompletionChannel::New(env, "keras-torch step", 0, 1);
    completions->channel.Unref(env);
    // Cleanup hooks run last in, first out: this one before the thread-safe function's own.
    NAPI_THROW_IF_FAILED(env, napi_add_env_cleanup_hook(env, CloseCompletions, new std::shared_ptr<Completions>(completions)),
                         nullptr);
    data->completions = completions;
  }
  return std::static_pointer_cast<Completions>(data->completions);
}

void SettleOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, PromiseWorker* worker) {
  // A null env: the environment is being torn down and the Promise can no longer be settled; the worker
  // holds references into that environment, so it is left alone.
  if (env == nullptr) return;
  std::unique_ptr<PromiseWorker> owned(worker);
  std::shared_ptr<Completions> completions = CompletionsOf(env);
  if (--completions->inFlight == 0) completions->channel.Unref(env);
  try {
    owned->Settle(env);
  } catch (...) {
    // Only when JS can no longer run (teardown): there is no one to tell.
  }
}
}  // namespace

PromiseWorker::PromiseWorker(Napi::Env env, std::string operation)
    : operation_(std::move(operation)), deferred_(Napi::Promise::Deferred::New(env)) {}

void PromiseWorker::KeepAlive(std::initializer_list<Napi::Value> values) { KeepAlive(std::vector<Napi::Value>(values)); }

void PromiseWorker::KeepAlive(const std::vector<Napi::Value>& values) {
  for (const Napi::Value& value : values) {
    if (!value.IsUndefined() && !value.IsNull()) keptAlive_.push_back(Napi::Persistent(value));
  }
}

Napi::Promise PromiseWorker::QueueAndPromise() {
  Napi::Env env = deferred_.Env();
  Napi::Promise promise = deferred_.Promise();
  std::shared_ptr<Completions> completions = CompletionsOf(env);
  if (completions->inFlight++ == 0) completions->channel.Ref(env);
  // Teardown, the only other reader, runs on this thread.
  completions->running.fetch_add(1);
  PostToComputeThread([this, completions] {
    bool skip;
    {
      std::lock_guard<std::mutex> lock(completions->mutex);
      skip = completions->closing;
    }
    if (!skip) {
      try {
        Execute();
      } catch (...) {  // Execute's own guard takes libtorch's and the standard exceptions; nothing else may escape
        error_ = operation_ + ": failed with an unknown exception";
      }
    }
    {
      std::lock_guard<std::mutex> lock(completions->mutex);
      skip = completions->closing;
    }
    // Teardown that began since waits for `running` to reach 0 before the channel closes, so the call
    // is still safe; the worker it queues then is dropped with the environment, as a queued step is.
    if (!skip) completions->channel.NonBlockingCall(this);
    {
      std::lock_guard<std::mutex> lock(completions->mutex);
      completions->running.fetch_sub(1);
    }
    completions->drained.notify_all();
  });
  return promise;
}

template <typename Body>
void PromiseWorker::RunLocked(ModelState& model, Body&& body) {
  std::string message;
  bool ok = GuardOffThread(operation_, message, [&] {
    std::lock_guard<std::mutex> lock(model.mutex);
    ApplyThreadSettings();
    body();
  });
  if (!ok) error_ = message.empty() ? operation_ + ": failed" : message;
}

void PromiseWorker::Settle(Napi::Env env) {
  Napi::HandleScope scope(env);
  if (!error_.empty()) {
    deferred_.Reject(Napi::Error::New(env, error_).Value());
    return;
  }
  try {
    deferred_.Resolve(Result(env));
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  } catch (const std::exception& error) {
    deferred_.Reject(Napi::Error::New(env, operation_ + ": " + error.what()).Value());
  }
}

namespace {
// Drops the gradients instead of zeroing them (PyTorch's zero_grad(set_to_none=True), which 1.13's C++
// zero_grad() lacks): backward then hands its fresh gradient buffers over rather than adding them into
// zeroed ones, which saves two passes over every weight per step (the Dense kernel alone is 15 MB).
void ClearGradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) parameter.mutable_grad().reset();
  }
}

// A host batch on the model's device. For a GPU it goes through pinned memory without blocking: the copy
// overlaps the work queued before it, and the stream orders it before the kernels that read it.
torch::Tensor ToModelDevice(const torch::Tensor& host, const ModelState& model) {
  if (model.device.is_cuda() && host.device().is_cpu()) return host.pin_memory().to(model.device, /*non_blocking=*/true);
  return host.to(model.device);
}

// Inputs arrive as the API's float32 (or uint8 pixels, which cross to a GPU as bytes and are converted
// there); parameters are float32.
torch::Tensor ToModelInput(const torch::Tensor& x, const ModelState& model) {
  return ToModelDevice(x, model).to(torch::kFloat32);
}
}  // namespace

StepWorker::StepWorker(Napi::Env env, StepKind kind, std::shared_ptr<ModelState> model, std::vector<torch::Tensor> xs,
                       std::vector<torch::Tensor> ys, torch::Tensor sampleWeight, int64_t metricStream, bool resetMetrics)
    : PromiseWorker(env, kind == StepKind::Train ? "trainOnBatch" : "evaluate"),
      kind_(kind),
      model_(std::move(model)),
      xs_(std::move(xs)),
      ys_(std::move(ys)),
      sampleWeight_(std::move(sampleWeight)),
      metricStream_(metricStream),
      resetMetrics_(resetMetrics) {}

void StepWorker::Execute() {
  RunLocked(*model_, [&] {
    ModelState& model = *model_;
    if (!model.graph) throw std::invalid_argument("the model was disposed");
    const bool training = kind_ == StepKind::Train;
    if (ys_.size() != model.outputs.size()) {
      throw std::invalid_argument("expected targets for " + std::to_string(model.outputs.size()) + " outputs but received " +
                                  std::to_string(ys_.size()));
    }
    // Grad mode is thread-local: a worker thread must set it itself.
    torch::AutoGradMode gradMode(training);
    model.graph->SetTraining(training);
    std::vector<torch::Tensor> inputs;
    for (const torch::Tensor& x : xs_) inputs.push_back(ToModelInput(x, model));
    torch::Tensor activityPenalty;
    std::vector<torch::Tensor> outputs = model.Forward(inputs, /*stopBeforeFoldedActivation=*/true, &activityPenalty);
    torch::Tensor weights = sampleWeight_.defined() ? ToModelDevice(sampleWeight_, model) : torch::Tensor();
    torch::Tensor total;
    std::vector<torch::Tensor> outputLosses, metrics;
    std::vector<std::vector<torch::Tensor>>& metricTotals = model.metricTotals[metricStream_];
    if (resetMetrics_ || metricTotals.size() != outputs.size()) metricTotals.assign(outputs.size(), {});
    for (size_t i = 0; i < outputs.size(); ++i) {
      const LossConfig& config = model.outputs[i];
      if (config.loss.name.empty()) continue;
      if (!ys_[i].defined()) throw std::invalid_argument("expected targets for output " + std::to_string(i));
      // Labels are checked and shaped on the host (no device round trips), then moved.
      torch::Tensor labels = ToModelDevice(PrepareLabels(config, outputs[i], ys_[i].to(torch::kCPU)), model);
      torch::Tensor loss = ComputeLoss(config, outputs[i], labels, weights);
      total = total.defined() ? total + loss * config.weight : (config.weight == 1.0 ? loss : loss * config.weight);
      outputLosses.push_back(loss.detach().to(torch::kFloat64));
      if (!config.metrics.empty()) {
        torch::NoGradGuard noGrad;
        // Metrics see what the model predicts: probabilities where the loss folded the activation in.
        torch::Tensor predictions = ApplyFoldedActivation(config, outputs[i].detach());
        std::vector<torch::Tensor>& totals = metricTotals[i];
        for (size_t m = 0; m < config.metrics.size(); ++m) {
          torch::Tensor statistics = MetricStatistics(config.metrics[m], predictions, labels, weights);
          if (totals.size() <= m) {
            totals.push_back(statistics);
          } else {
            totals[m] += statistics;
          }
          metrics.push_back(MetricResult(config.metrics[m], totals[m]));
        }
      }
    }
    if (!total.defined()) throw std::invalid_argument("no output has a loss");
    // Keras's total loss, which fit minimises and fit and evaluate report: the outputs' losses plus the
    // layers' activity and weight penalties (model.losses).
    if (activityPenalty.defined()) total = total + activityPenalty;
    torch::Tensor weightPenalty = model.graph->WeightPenalty();
    if (weightPenalty.defined()) total = total + weightPenalty;
    // A model without trainable weights (only activations, say) still reports its loss, as Keras does.
    if (training && total.requires_grad()) {
      ClearGradients(*model.optimizer);
      total.backward();
      // Data-parallel training: every rank steps with the gradients averaged over all ranks.
      AverageGradients(model.graph->Parameters());
      ApplyUpdate(*model.optimizer, model.updateRules, model.iterations);
      model.graph->ApplyConstraints();
      int64_t stateBytes = 0;
      ForEachStateTensor(*model.optimizer, [&](torch::Tensor& t) { stateBytes += t.numel() * t.element_size(); });
      model.optimizerBytes = stateBytes;
    }
    // The losses and every metric come back in one copy: one synchronisation per step on a GPU.
    std::vector<torch::Tensor> results{total.detach().to(torch::kFloat64)};
    if (outputs.size() > 1) results.insert(results.end(), outputLosses.begin(), outputLosses.end());
    results.insert(results.end(), metrics.begin(), metrics.end());
    torch::Tensor host = torch::stack(results).to(torch::kCPU);
    values_.assign(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
  });
}

Napi::Value StepWorker::Result(Napi::Env env) {
  ReportOptimizerMemory(env, *model_);
  Napi::Array result = Napi::Array::New(env, values_.size());
  for (size_t i = 0; i < values_.size(); ++i) result.Set(static_cast<uint32_t>(i), values_[i]);
  return result;
}

PredictWorker::PredictWorker(Napi::Env env, std::shared_ptr<ModelState> model, std::vector<torch::Tensor> xs)
    : PromiseWorker(env, "predict"), model_(std::move(model)), xs_(std::move(xs)) {}

void PredictWorker::Execute() {
  RunLocked(*model_, [&] {
    ModelState& model = *model_;
    if (!model.graph) throw std::invalid_argument("the model was disposed");
    c10::InferenceMode inference;
    model.graph->SetTraining(false);
    std::vector<torch::Tensor> inputs;
    for (const torch::Tensor& x : xs_) inputs.push_back(ToModelInput(x, model));
    // The results leave the model as ordinary CPU tensors the caller owns.
    for (const torch::Tensor& output : model.Forward(inputs, /*stopBeforeFoldedActivation=*/false)) {
      outputs_.push_back(output.to(torch::kCPU).contiguous());
    }
  });
}

Napi::Value PredictWorker::Result(Napi::Env env) {
  Napi::Array result = Napi::Array::New(env, outputs_.size());
  for (size_t i = 0; i < outputs_.size(); ++i) result.Set(static_cast<uint32_t>(i), NativeTensor::FromTorch(env, outputs_[i]));
  return result;
}

}  // namespace keras_torch
