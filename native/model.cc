#include "model.h"

#include "errors.h"
#include "optim.h"
#include "spec.h"
#include "tensor.h"
#include "train.h"

namespace keras_torch {

torch::Tensor ModelState::Forward(const torch::Tensor& input, bool stopBeforeFoldedActivation) {
  // An NHWC batch permuted to NCHW is a channels_last-strided view, which oneDNN convolves in place.
  torch::Tensor x = input.dim() == 4 ? input.permute({0, 3, 1, 2}) : input;
  const size_t count = sequential->size();
  const size_t stop = stopBeforeFoldedActivation && !lossConfig.foldedActivation.empty() ? count - 1 : count;
  auto module = sequential->begin();
  for (size_t i = 0; i < stop; ++i, ++module) x = module->forward(x);
  return x.dim() == 4 ? x.permute({0, 2, 3, 1}) : x;
}

Napi::Function NativeModel::Init(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceMethod("compile", &NativeModel::Compile),
                         InstanceMethod("trainStep", &NativeModel::TrainStep),
                         InstanceMethod("evaluateStep", &NativeModel::EvaluateStep),
                         InstanceMethod("predict", &NativeModel::Predict),
                         InstanceMethod("getWeights", &NativeModel::GetWeights),
                         InstanceMethod("setWeights", &NativeModel::SetWeights),
                         InstanceMethod("to", &NativeModel::To),
                         InstanceMethod("device", &NativeModel::Device),
                         InstanceMethod("getLearningRate", &NativeModel::GetLearningRate),
                         InstanceMethod("setLearningRate", &NativeModel::SetLearningRate),
                     });
}

// new NativeModel(specs, device)
NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "NativeModel: expected (layerSpecs, device)");
  }
  state_ = std::make_shared<ModelState>();
  Napi::Array specs = info[0].As<Napi::Array>();
  std::string device = info[1].As<Napi::String>().Utf8Value();
  Guard(env, "build model", [&] {
    for (uint32_t i = 0; i < specs.Length(); ++i) {
      BuiltLayer layer = BuildLayer(specs.Get(i).As<Napi::Object>());
      state_->sequential->push_back(layer.module);
      state_->lastActivation = layer.activation;
      for (WeightSlot& slot : layer.weights) state_->weights.push_back(slot);
    }
    state_->device = torch::Device(device);
    state_->sequential->to(state_->device);
  });
}

// Synchronous methods wait for a running step (tens of milliseconds at most) rather than fail at random.
std::unique_lock<std::mutex> NativeModel::Lock() { return std::unique_lock<std::mutex>(state_->mutex); }

// compile({optimizer, loss, metrics, foldedActivation})
Napi::Value NativeModel::Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lock = Lock();
  Guard(env, "compile", [&] {
    SpecReader config(info[0].As<Napi::Object>(), "compile");
    LossConfig lossConfig;
    lossConfig.loss = config.String("loss");
    lossConfig.foldedActivation = config.String("foldedActivation", "");
    if (!lossConfig.foldedActivation.empty() && lossConfig.foldedActivation != state_->lastActivation) {
      throw std::invalid_argument("compile: the model does not end in a " + lossConfig.foldedActivation +
                                  " activation to fold into the loss");
    }
    Napi::Array metrics = config.Object("metrics").As<Napi::Array>();
    for (uint32_t i = 0; i < metrics.Length(); ++i) lossConfig.metrics.push_back(metrics.Get(i).ToString().Utf8Value());
    std::vector<torch::Tensor> trainable;
    for (const torch::Tensor& parameter : state_->sequential->parameters()) {
      if (parameter.requires_grad()) trainable.push_back(parameter);
    }
    state_->optimizer = BuildOptimizer(config.Object("optimizer"), trainable);
    state_->lossConfig = lossConfig;
  });
  return env.Undefined();
}

namespace {
torch::Tensor OptionalTensor(Napi::Value value, const std::string& argument) {
  if (value.IsUndefined() || value.IsNull()) return torch::Tensor();
  return NativeTensor::FromValue(value, argument)->tensor();
}
}  // namespace

// trainStep(x, y, sampleWeight?) -> Promise<number[]>: [loss, ...metrics]
Napi::Value NativeModel::TrainStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_->optimizer) throw Napi::Error::New(env, "trainStep: the model must be compiled first");
  auto* worker = new StepWorker(env, StepKind::Train, state_, NativeTensor::FromValue(info[0], "x")->tensor(),
                                NativeTensor::FromValue(info[1], "y")->tensor(), OptionalTensor(info[2], "sampleWeight"));
  worker->KeepAlive({info[0], info[1], info[2]});
  return worker->QueueAndPromise();
}

// evaluateStep(x, y, sampleWeight?) -> Promise<number[]>: [loss, ...metrics]
Napi::Value NativeModel::EvaluateStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_->optimizer) throw Napi::Error::New(env, "evaluateStep: the model must be compiled first");
  auto* worker = new StepWorker(env, StepKind::Evaluate, state_, NativeTensor::FromValue(info[0], "x")->tensor(),
                                NativeTensor::FromValue(info[1], "y")->tensor(), OptionalTensor(info[2], "sampleWeight"));
  worker->KeepAlive({info[0], info[1], info[2]});
  return worker->QueueAndPromise();
}

// predict(x) -> Promise<NativeTensor>
Napi::Value NativeModel::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* worker = new PredictWorker(env, state_, NativeTensor::FromValue(info[0], "x")->tensor());
  worker->KeepAlive({info[0]});
  return worker->QueueAndPromise();
}

// getWeights() -> NativeTensor[] in Keras's layouts, copied to the CPU
Napi::Value NativeModel::GetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lock = Lock();
  return Guard(env, "getWeights", [&] {
    torch::NoGradGuard noGrad;
    Napi::Array result = Napi::Array::New(env, state_->weights.size());
    for (size_t i = 0; i < state_->weights.size(); ++i) {
      const WeightSlot& slot = state_->weights[i];
      torch::Tensor copy = ToKerasLayout(slot.tensor.detach().to(torch::kCPU), slot.layout).clone();
      result.Set(static_cast<uint32_t>(i), NativeTensor::FromTorch(env, copy));
    }
    return result;
  });
}

// setWeights(tensors) copies Keras-layout tensors into the model's parameters and buffers.
Napi::Value NativeModel::SetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lock = Lock();
  Napi::Array tensors = info[0].As<Napi::Array>();
  if (tensors.Length() != state_->weights.size()) {
    throw Napi::Error::New(env, "setWeights: expected " + std::to_string(state_->weights.size()) +
                                    " weight tensors but received " + std::to_string(tensors.Length()));
  }
  std::vector<torch::Tensor> converted;
  Guard(env, "setWeights", [&] {
    // Check every shape before changing anything, so that a bad list leaves the model as it was.
    for (uint32_t i = 0; i < tensors.Length(); ++i) {
      const WeightSlot& slot = state_->weights[i];
      torch::Tensor value = NativeTensor::FromValue(tensors.Get(i), "weights[" + std::to_string(i) + "]")->tensor();
      torch::Tensor expected = ToKerasLayout(slot.tensor.detach(), slot.layout);
      if (!value.sizes().equals(expected.sizes())) {
        throw std::invalid_argument("expected weights[" + std::to_string(i) + "] (" + slot.name + ") of shape " +
                                    ShapeToString(expected.sizes()) + " but received " + ShapeToString(value.sizes()));
      }
      converted.push_back(FromKerasLayout(value, slot.layout));
    }
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < converted.size(); ++i) state_->weights[i].tensor.copy_(converted[i]);
  });
  return env.Undefined();
}

// to(device) moves the parameters, buffers and optimizer state.
Napi::Value NativeModel::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lock = Lock();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Guard(env, "to('" + name + "')", [&] {
    torch::Device device(name);
    state_->sequential->to(device);
    if (state_->optimizer) ForEachStateTensor(*state_->optimizer, [&](torch::Tensor& t) { t = t.to(device); });
    state_->device = device;
  });
  return env.Undefined();
}

Napi::Value NativeModel::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), state_->device.str());
}

Napi::Value NativeModel::GetLearningRate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_->optimizer) throw Napi::Error::New(env, "learningRate: the model must be compiled first");
  return Napi::Number::New(env, LearningRate(*state_->optimizer));
}

Napi::Value NativeModel::SetLearningRate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_->optimizer) throw Napi::Error::New(env, "learningRate: the model must be compiled first");
  auto lock = Lock();
  keras_torch::SetLearningRate(*state_->optimizer, info[0].As<Napi::Number>().DoubleValue());
  return env.Undefined();
}

}  // namespace keras_torch
