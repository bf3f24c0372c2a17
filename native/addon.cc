// Registers the addon's classes and functions; nothing else happens here.
#include <napi.h>

#include "addon_data.h"
#include "distributed.h"
#include "augment.h"
#include "image_decode.h"
#include "model.h"
#include "optim.h"
#include "preprocessing.h"
#include "runtime.h"
#include "tensor.h"
#include "torchscript.h"

namespace keras_torch {

namespace {
Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function tensorClass = NativeTensor::Init(env);
  data->tensorConstructor = Napi::Persistent(tensorClass);
  exports.Set("NativeTensor", tensorClass);
  Napi::Function modelClass = NativeModel::Init(env);
  data->modelConstructor = Napi::Persistent(modelClass);
  exports.Set("NativeModel", modelClass);
  Napi::Function layerClass = NativeLayer::Init(env);
  data->layerConstructor = Napi::Persistent(layerClass);
  exports.Set("NativeLayer", layerClass);
  exports.Set("concat", Napi::Function::New(env, ConcatTensors));
  exports.Set("scheduleLearningRate", Napi::Function::New(env, ScheduleLearningRate));
  InitAugment(env, exports);
  InitImageDecode(env, exports);
  InitDistributed(env, exports);
  InitPreprocessing(env, exports);
  InitTorchScript(env, exports);
  return InitRuntime(env, exports);
}
}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  try {
    return InitAll(env, exports);
  } catch (const Napi::Error& error) {
    // Loading failed; in a worker thread being terminated meanwhile, even throwing into its JS fails, and
    // an exception escaping the module's registration would abort the whole process.
    try {
      error.ThrowAsJavaScriptException();
    } catch (...) {
    }
    return exports;
  }
}

NODE_API_MODULE(keras_torch, Init)

}  // namespace keras_torch
