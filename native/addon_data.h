// Per-environment state of the addon (worker threads and multiple contexts each get their own).
#pragma once

#include <napi.h>

namespace keras_torch {

struct AddonData {
  Napi::FunctionReference tensorConstructor;
  Napi::FunctionReference modelConstructor;

  static AddonData* Get(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
};

}  // namespace keras_torch
