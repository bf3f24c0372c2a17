// The workers that run a model's steps on libuv's thread pool, each one native call: the JS thread only
// queues them and settles their Promises.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "model.h"

namespace keras_torch {

// An AsyncWorker that settles a Promise and keeps its JS inputs (and the buffers they borrow) alive.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, std::string operation);
  void KeepAlive(std::initializer_list<Napi::Value> values);
  Napi::Promise QueueAndPromise();

 protected:
  // Runs `body` under the model's lock with this thread's libtorch settings; errors reject the Promise.
  template <typename Body>
  void RunLocked(ModelState& model, Body&& body);
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

  std::string operation_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> keptAlive_;
};

enum class StepKind { Train, Evaluate };

// One batch: forward, loss, and for training backward and the optimizer's step. Resolves [loss, ...metrics].
class StepWorker : public PromiseWorker {
 public:
  StepWorker(Napi::Env env, StepKind kind, std::shared_ptr<ModelState> model, torch::Tensor x, torch::Tensor y,
             torch::Tensor sampleWeight);
  void Execute() override;

 private:
  Napi::Value Result(Napi::Env env) override;

  StepKind kind_;
  std::shared_ptr<ModelState> model_;
  torch::Tensor x_, y_, sampleWeight_;
  std::vector<double> values_;
};

// One batch through the model in inference mode. Resolves a NativeTensor.
class PredictWorker : public PromiseWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<ModelState> model, torch::Tensor x);
  void Execute() override;

 private:
  Napi::Value Result(Napi::Env env) override;

  std::shared_ptr<ModelState> model_;
  torch::Tensor x_, output_;
};

}  // namespace keras_torch
