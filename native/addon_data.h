// Per-environment state of the addon (worker threads and multiple contexts each get their own).
#pragma once

#include <napi.h>

#include <memory>

namespace keras_torch {

struct AddonData {
  Napi::FunctionReference tensorConstructor;
  Napi::FunctionReference modelConstructor;
  Napi::FunctionReference layerConstructor;
  // The channel finished model steps come back through (train.cc), made on first use.
  std::shared_ptr<void> completions;

  static AddonData* Get(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
};

}  // namespace keras_torch
