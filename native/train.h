// The workers that run a model's steps, each one native call on the compute thread (runtime.h): the JS
// thread only queues them and settles their Promises, and no libuv pool thread waits on them.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "model.h"

namespace keras_torch {

// One call that runs on the compute thread and settles a Promise on the JS thread, keeping its JS inputs
// (and the buffers they borrow) alive until then. It deletes itself once the Promise is settled.
class PromiseWorker {
 public:
  PromiseWorker(Napi::Env env, std::string operation);
  virtual ~PromiseWorker() = default;
  void KeepAlive(std::initializer_list<Napi::Value> values);
  void KeepAlive(const std::vector<Napi::Value>& values);
  Napi::Promise QueueAndPromise();

  // The JS thread's side, called through the environment's completion channel (train.cc).
  void Settle(Napi::Env env);

 protected:
  // On the compute thread.
  virtual void Execute() = 0;
  // Runs `body` under the model's lock with this thread's libtorch settings; errors reject the Promise.
  template <typename Body>
  void RunLocked(ModelState& model, Body&& body);
  // On the JS thread, after Execute succeeded.
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  std::string operation_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> keptAlive_;
  std::string error_;  // empty: Execute succeeded
};


// One batch: forward through the graph, each output's loss, and for training backward and the optimizer's
// step. Resolves [loss, ...each output's loss when there are several, ...each output's metrics], the
// metrics over every step of `metricStream` since the last that reset them (this one, with `resetMetrics`).
class StepWorker : public PromiseWorker {
 public:
  StepWorker(Napi::Env env, StepKind kind, std::shared_ptr<ModelState> model, std::vector<torch::Tensor> xs,
             std::vector<torch::Tensor> ys, torch::Tensor sampleWeight, int64_t metricStream, bool resetMetrics);

 private:
  void Execute() override;
  Napi::Value Result(Napi::Env env) override;

  StepKind kind_;
  std::shared_ptr<ModelState> model_;
  std::vector<torch::Tensor> xs_, ys_;
  torch::Tensor sampleWeight_;
  int64_t metricStream_;
  bool resetMetrics_;
  std::vector<double> values_;
};

// One batch through the model in inference mode. Resolves one NativeTensor per output.
class PredictWorker : public PromiseWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<ModelState> model, std::vector<torch::Tensor> xs);

 private:
  void Execute() override;
  Napi::Value Result(Napi::Env env) override;

  std::shared_ptr<ModelState> model_;
  std::vector<torch::Tensor> xs_, outputs_;
};

}  // namespace keras_torch
