// The one shape of a native operation that returns a Promise: inputs copied on the JS thread, `work` run
// on a libuv pool thread under the error guard, its result turned into a JS value on the JS thread. Model
// steps use the compute thread instead (train.h); everything else (tensor reads, augmentation, decoding,
// distributed calls) goes through here.
#pragma once

#include <napi.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"

namespace keras_torch {

template <typename Result>
class PoolPromise : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  // Queues `work` and returns its Promise. `keepAlive` holds JS values (buffers that `work` reads) until
  // the Promise settles.
  static Napi::Promise Run(Napi::Env env, std::string operation, Work work, ToJs toJs,
                           std::initializer_list<Napi::Value> keepAlive = {}) {
    auto* worker = new PoolPromise(env, std::move(operation), std::move(work), std::move(toJs));
    for (const Napi::Value& value : keepAlive) {
      if (!value.IsUndefined() && !value.IsNull()) worker->kept_.push_back(Napi::Persistent(value));
    }
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PoolPromise(Napi::Env env, std::string operation, Work work, ToJs toJs)
      : Napi::AsyncWorker(env),
        operation_(std::move(operation)),
        work_(std::move(work)),
        toJs_(std::move(toJs)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  void Execute() override {
    std::string message;
    if (!GuardOffThread(operation_, message, [&] { result_ = work_(); })) SetError(message);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    try {
      deferred_.Resolve(toJs_(env, result_));
    } catch (const Napi::Error& error) {
      Reject(error.Value());
    } catch (const std::exception& error) {
      Reject(Napi::Error::New(env, operation_ + ": " + error.what()).Value());
    }
  }

  void OnError(const Napi::Error& error) override { Reject(error.Value()); }

  // Settling can fail only while the environment is being torn down; nobody is left to tell, and an
  // exception escaping a libuv callback would abort the process.
  void Reject(Napi::Value reason) {
    try {
      deferred_.Reject(reason);
    } catch (...) {
    }
  }

  std::string operation_;
  Work work_;
  ToJs toJs_;
  Result result_{};
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> kept_;
};

// For work that produces nothing but completion.
struct Done {};

}  // namespace keras_torch
