#include "model.h"

#include "addon_data.h"
#include "errors.h"
#include "optim.h"
#include "spec.h"
#include "tensor.h"
#include "train.h"

namespace keras_torch {

std::mutex& ModelsMutex() {
  static std::mutex mutex;
  return mutex;
}

Napi::Function NativeLayer::Init(Napi::Env env) {
  return DefineClass(env, "NativeLayer", {InstanceMethod("dispose", &NativeLayer::Dispose),
                                          InstanceMethod("reseedRandomStreams", &NativeLayer::ReseedRandomStreams),
                                          InstanceMethod("setWeights", &NativeLayer::SetWeights)});
}

void NativeLayer::SetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Guard(env, "setWeights", [&] {
    if (info.Length() != 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "setWeights: expected (tensors)");
    if (!layer_) throw Napi::Error::New(env, "the layer's weights were disposed");
    std::vector<WeightSlot*> slots;
    for (BuiltLayer& module : layer_->modules) {
      for (WeightSlot& slot : module.weights) slots.push_back(&slot);
    }
    Napi::Array tensors = info[0].As<Napi::Array>();
    if (tensors.Length() != slots.size()) {
      throw Napi::Error::New(env, "setWeights: expected " + std::to_string(slots.size()) + " weight tensors but received " +
                                      std::to_string(tensors.Length()));
    }
    std::vector<torch::Tensor> values;
    for (uint32_t i = 0; i < tensors.Length(); ++i) {
      torch::Tensor value = NativeTensor::FromValue(tensors.Get(i), "weights[" + std::to_string(i) + "]")->tensor();
      torch::Tensor converted = FromKerasLayout(value, slots[i]->layout);
      if (!converted.sizes().equals(slots[i]->tensor.sizes())) {
        throw Napi::Error::New(env, "setWeights: weights[" + std::to_string(i) + "] (" + slots[i]->name + ") has shape " +
                                        ShapeToString(value.sizes()) + " where the layer holds " +
                                        ShapeToString(ToKerasLayout(slots[i]->tensor.detach(), *slots[i]).sizes()));
      }
      values.push_back(converted);
    }
    // A step of a model holding the layer never sees the weights half written.
    std::lock_guard<std::mutex> lock(ModelsMutex());
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < values.size(); ++i) slots[i]->tensor.copy_(values[i]);
  });
}

void NativeLayer::ReseedRandomStreams(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Guard(env, "reseedRandomStreams", [&] {
    if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "reseedRandomStreams: expected (seed)");
    if (!layer_) throw Napi::Error::New(env, "the layer's weights were disposed");
    const auto seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
    for (const BuiltLayer& module : layer_->modules) ReseedRandomStream(module, seed);
  });
}

NativeLayer::~NativeLayer() { Release(); }

void NativeLayer::Release() {
  if (externalBytes_ != 0) {
    ReportExternalMemory(Env(), -externalBytes_);
    externalBytes_ = 0;
  }
  layer_.reset();
}

void NativeLayer::Dispose(const Napi::CallbackInfo& info) { Release(); }

NativeLayer::NativeLayer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeLayer>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsArray() || !info[1].IsBoolean() || !info[2].IsArray()) {
    throw Napi::TypeError::New(env, "NativeLayer: expected (layerSpecs, trainable, weights, activityRegularizer)");
  }
  Guard(env, "build layer", [&] {
    // Initialising weights draws from libtorch's generator; no step may run meanwhile.
    std::lock_guard<std::mutex> lock(ModelsMutex());
    layer_ = std::make_shared<GraphLayer>(info[0].As<Napi::Array>(), info[2].As<Napi::Array>(), info[3]);
    layer_->SetTrainable(info[1].As<Napi::Boolean>().Value());
    for (const BuiltLayer& module : layer_->modules) {
      for (const WeightSlot& slot : module.weights) externalBytes_ += slot.tensor.numel() * slot.tensor.element_size();
    }
  });
  if (externalBytes_ != 0) ReportExternalMemory(env, externalBytes_);
}

std::shared_ptr<GraphLayer> NativeLayer::LayerOf(Napi::Value value) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(AddonData::Get(env)->layerConstructor.Value())) {
    throw Napi::TypeError::New(env, "Expected a native layer");
  }
  std::shared_ptr<GraphLayer> layer = Napi::ObjectWrap<NativeLayer>::Unwrap(value.As<Napi::Object>())->layer_;
  if (!layer) throw Napi::Error::New(env, "the layer's weights were disposed");
  return layer;
}

std::vector<torch::Tensor> ModelState::Forward(const std::vector<torch::Tensor>& inputs, bool stopBeforeFoldedActivation,
                                               torch::Tensor* activityPenalty) {
  std::vector<std::string> logitsFor;
  if (stopBeforeFoldedActivation) {
    for (const LossConfig& output : outputs) logitsFor.push_back(output.foldedActivation);
  }
  return graph->Forward(inputs, logitsFor, activityPenalty);
}

Napi::Function NativeModel::Init(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceMethod("compile", &NativeModel::Compile),
                         InstanceMethod("trainStep", &NativeModel::TrainStep),
                         InstanceMethod("evaluateStep", &NativeModel::EvaluateStep),
                         InstanceMethod("predict", &NativeModel::Predict),
                         InstanceMethod("outputShapes", &NativeModel::OutputShapes),
                         InstanceMethod("getWeights", &NativeModel::GetWeights),
                         InstanceMethod("setWeights", &NativeModel::SetWeights),
                         InstanceMethod("getOptimizerState", &NativeModel::GetOptimizerState),
                         InstanceMethod("setOptimizerState", &NativeModel::SetOptimizerState),
                         InstanceMethod("to", &NativeModel::To),
                         InstanceMethod("device", &NativeModel::Device),
                         InstanceMethod("getLearningRate", &NativeModel::GetLearningRate),
                         InstanceMethod("setLearningRate", &NativeModel::SetLearningRate),
                         InstanceMethod("getIterations", &NativeModel::GetIterations),
                         InstanceMethod("setIterations", &NativeModel::SetIterations),
                         InstanceMethod("setTrainable", &NativeModel::SetTrainable),
                         InstanceMethod("releaseMetrics", &NativeModel::ReleaseMetrics),
                         InstanceMethod("dispose", &NativeModel::Dispose),
                     });
}

namespace {
// The network Wrap hands to the constructor it calls, so that no JS call can make a model around one.
thread_local std::unique_ptr<Network>* pendingNetwork = nullptr;
}  // namespace

// new NativeModel(graphSpec, device): graphSpec as graph.h describes it.
NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
  Napi::Env env = info.Env();
  state_ = std::make_shared<ModelState>();
  if (info.Length() == 0 && pendingNetwork != nullptr) {
    state_->graph = std::move(*pendingNetwork);
    pendingNetwork = nullptr;
    return;
  }
  if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "NativeModel: expected (graphSpec, device)");
  }
  std::string device = info[1].As<Napi::String>().Utf8Value();
  Guard(env, "build model", [&] {
    std::lock_guard<std::mutex> lock(ModelsMutex());
    state_->graph = std::make_unique<Graph>(info[0].As<Napi::Object>(), NativeLayer::LayerOf);
    state_->device = torch::Device(device);
    state_->graph->To(state_->device);
  });
}

Napi::Object NativeModel::Wrap(Napi::Env env, std::unique_ptr<Network> network, torch::Device device) {
  int64_t bytes = 0;
  for (const WeightSlot& slot : network->weights()) bytes += slot.tensor.numel() * slot.tensor.element_size();
  pendingNetwork = &network;
  Napi::Object object;
  try {
    object = AddonData::Get(env)->modelConstructor.New({});
  } catch (...) {
    pendingNetwork = nullptr;
    throw;
  }
  pendingNetwork = nullptr;
  NativeModel* model = Unwrap(object);
  model->state_->device = device;
  model->networkBytes_ = bytes;
  ReportExternalMemory(env, bytes);
  return object;
}

NativeModel::~NativeModel() {
  if (state_ && state_->reportedOptimizerBytes != 0) {
    ReportExternalMemory(Env(), -state_->reportedOptimizerBytes);
    state_->reportedOptimizerBytes = 0;
  }
  ReleaseNetworkMemory(Env());
}

void NativeModel::ReleaseNetworkMemory(Napi::Env env) {
  if (networkBytes_ == 0) return;
  ReportExternalMemory(env, -networkBytes_);
  networkBytes_ = 0;
}

// The JS thread tells V8 what the optimizer's state now holds (measured by the last training step).
void ReportOptimizerMemory(Napi::Env env, ModelState& model) {
  const int64_t delta = model.optimizerBytes.load() - model.reportedOptimizerBytes;
  if (delta == 0) return;
  ReportExternalMemory(env, delta);
  model.reportedOptimizerBytes += delta;
}

std::shared_ptr<ModelState> NativeModel::StateOf(Napi::Value value, const std::string& argument) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(AddonData::Get(env)->modelConstructor.Value())) {
    throw Napi::TypeError::New(env, "Expected " + argument + " to be a native model");
  }
  return Napi::ObjectWrap<NativeModel>::Unwrap(value.As<Napi::Object>())->state_;
}

// Synchronous methods wait for a running step (tens of milliseconds at most) rather than fail at random.
std::unique_lock<std::mutex> NativeModel::Lock() { return std::unique_lock<std::mutex>(state_->mutex); }

// compile({optimizer, outputs: [{loss?: {name, ...options}, weight, metrics: [{kind, ...options}],
// foldedActivation}]}), one entry per model output.
Napi::Value NativeModel::Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "compile");
  auto lock = Lock();
  Guard(env, "compile", [&] {
    SpecReader config(info[0].As<Napi::Object>(), "compile");
    Napi::Array entries = config.Object("outputs").As<Napi::Array>();
    if (entries.Length() != state_->graph->outputCount()) {
      throw std::invalid_argument("compile: expected " + std::to_string(state_->graph->outputCount()) +
                                  " output configs but received " + std::to_string(entries.Length()));
    }
    std::vector<LossConfig> outputs;
    for (uint32_t i = 0; i < entries.Length(); ++i) {
      SpecReader entry(entries.Get(i).As<Napi::Object>(), "compile output " + std::to_string(i));
      LossConfig output;
      if (entry.Has("loss")) {
        SpecReader loss(entry.Object("loss"), "compile output " + std::to_string(i) + " loss");
        output.loss.name = loss.String("name");
        output.loss.fromLogits = loss.Boolean("fromLogits", false);
        output.loss.labelSmoothing = loss.Number("labelSmoothing", 0.0);
        output.loss.delta = loss.Number("delta", 1.0);
        output.loss.gamma = loss.Number("gamma", 2.0);
        output.loss.alpha = loss.Number("alpha", 0.25);
        output.loss.applyClassBalancing = loss.Boolean("applyClassBalancing", false);
      }
      output.weight = entry.Number("weight", 1.0);
      output.foldedActivation = entry.String("foldedActivation", "");
      if (!output.foldedActivation.empty() && output.foldedActivation != state_->graph->FinalActivation(i)) {
        throw std::invalid_argument("compile: output " + std::to_string(i) + " does not end in a " +
                                    output.foldedActivation + " activation to fold into the loss");
      }
      Napi::Array metrics = entry.Object("metrics").As<Napi::Array>();
      for (uint32_t j = 0; j < metrics.Length(); ++j) {
        SpecReader spec(metrics.Get(j).As<Napi::Object>(), "compile output " + std::to_string(i) + " metric " + std::to_string(j));
        MetricSpec metric;
        metric.kind = spec.String("kind");
        metric.threshold = spec.Number("threshold", 0.5);
        metric.hasThreshold = spec.Has("threshold") || metric.kind != "f1_score";
        metric.k = spec.Has("k") ? spec.Integer("k") : 5;
        metric.numThresholds = spec.Has("numThresholds") ? spec.Integer("numThresholds") : 200;
        metric.precisionRecallCurve = spec.String("curve", "ROC") == "PR";
        metric.summationMethod = spec.String("summationMethod", "interpolation");
        metric.fromLogits = spec.Boolean("fromLogits", false);
        metric.labelSmoothing = spec.Number("labelSmoothing", 0.0);
        metric.classId = spec.Has("classId") ? spec.Integer("classId") : -1;
        metric.average = spec.String("average", "macro");
        metric.beta = spec.Number("beta", 1.0);
        metric.numClasses = spec.Has("numClasses") ? spec.Integer("numClasses") : 0;
        metric.sparseYTrue = spec.Boolean("sparseYTrue", true);
        metric.sparseYPred = spec.Boolean("sparseYPred", true);
        output.metrics.push_back(std::move(metric));
      }
      outputs.push_back(std::move(output));
    }
    // Every weight that can learn is given to the optimizer; a frozen one simply gets no gradient (the
    // optimizers skip those), so freezing and unfreezing need no new optimizer.
    std::vector<torch::Tensor> trainable;
    for (const WeightSlot& slot : state_->weights()) {
      if (slot.parameter) trainable.push_back(slot.tensor);
    }
    UpdateRules rules = ReadUpdateRules(config.Object("optimizer"));
    state_->optimizer = BuildOptimizer(config.Object("optimizer"), trainable);
    state_->updateRules = std::move(rules);
    state_->iterations = 0;
    FollowSchedule(*state_->optimizer, state_->updateRules, 0);
    state_->outputs = std::move(outputs);
    state_->metricTotals.clear();
  });
  return env.Undefined();
}

namespace {
// The tensor behind `value` (undefined for none); its borrowed JS buffer, if any, joins `keep`.
torch::Tensor OptionalTensor(Napi::Value value, const std::string& argument, std::vector<Napi::Value>& keep) {
  if (value.IsUndefined() || value.IsNull()) return torch::Tensor();
  NativeTensor* tensor = NativeTensor::FromValue(value, argument);
  keep.push_back(tensor->BorrowedBuffer(value.Env()));
  return tensor->tensor();
}

// An array of tensors, one per model input or output; `optional` allows null entries (outputs with no loss).
std::vector<torch::Tensor> TensorList(Napi::Value value, const std::string& argument, bool optional, std::vector<Napi::Value>& keep) {
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw Napi::TypeError::New(env, "Expected " + argument + " to be an array of tensors");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<torch::Tensor> tensors;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string name = argument + "[" + std::to_string(i) + "]";
    Napi::Value item = array.Get(i);
    if (!optional && (item.IsUndefined() || item.IsNull())) throw Napi::TypeError::New(env, "Expected " + name + " to be a Tensor");
    tensors.push_back(OptionalTensor(item, name, keep));
  }
  return tensors;
}
}  // namespace

// trainStep(xs, ys, sampleWeight?, metricStream, resetMetrics) and evaluateStep(...) -> Promise<number[]>:
// [loss, ...output losses, ...metrics]; the metrics accumulate over the stream's steps until one resets them.
Napi::Value NativeModel::TrainStep(const Napi::CallbackInfo& info) { return QueueStep(info, StepKind::Train, "trainStep"); }
Napi::Value NativeModel::EvaluateStep(const Napi::CallbackInfo& info) { return QueueStep(info, StepKind::Evaluate, "evaluateStep"); }

Napi::Value NativeModel::QueueStep(const Napi::CallbackInfo& info, StepKind kind, const char* operation) {
  Napi::Env env = info.Env();
  RequireLive(env, operation);
  if (!state_->optimizer) throw Napi::Error::New(env, std::string(operation) + ": the model must be compiled first");
  // The buffers the tensors borrow are kept too: a Tensor disposed while its step waits must not free them.
  std::vector<Napi::Value> keep{info[0], info[1], info[2]};
  if (info.Length() < 5 || !info[3].IsNumber() || !info[4].IsBoolean()) {
    throw Napi::TypeError::New(env, std::string(operation) + ": expected a metric stream number and a resetMetrics boolean");
  }
  const int64_t metricStream = info[3].As<Napi::Number>().Int64Value();
  const bool resetMetrics = info[4].As<Napi::Boolean>().Value();
  auto* worker = new StepWorker(env, kind, state_, TensorList(info[0], "xs", false, keep),
                                TensorList(info[1], "ys", true, keep), OptionalTensor(info[2], "sampleWeight", keep), metricStream, resetMetrics);
  worker->KeepAlive(keep);
  return worker->QueueAndPromise();
}

// predict(xs) -> Promise<NativeTensor[]>, one per model output
Napi::Value NativeModel::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "predict");
  std::vector<Napi::Value> keep{info[0]};
  auto* worker = new PredictWorker(env, state_, TensorList(info[0], "xs", false, keep));
  worker->KeepAlive(keep);
  return worker->QueueAndPromise();
}

// outputShapes(inputShapes) -> each output's shape without the batch axis, from one forward of a sample
// of zeros in inference mode. On the JS thread: for what lib cannot infer itself (a TorchScript module's
// output units, which resolve a metric such as 'accuracy'), once per model.
Napi::Value NativeModel::OutputShapes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "outputShapes");
  if (info.Length() != 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "outputShapes: expected an array of input shapes");
  Napi::Array shapes = info[0].As<Napi::Array>();
  std::vector<std::vector<int64_t>> inputShapes;
  for (uint32_t i = 0; i < shapes.Length(); ++i) {
    Napi::Value shape = shapes.Get(i);
    if (!shape.IsArray()) throw Napi::TypeError::New(env, "outputShapes: expected each input shape to be an array of sizes");
    std::vector<int64_t> sizes{1};
    for (uint32_t d = 0; d < shape.As<Napi::Array>().Length(); ++d) {
      Napi::Value size = shape.As<Napi::Array>().Get(d);
      if (!size.IsNumber() || size.As<Napi::Number>().DoubleValue() < 0) {
        throw Napi::TypeError::New(env, "outputShapes: expected each input shape to be an array of sizes");
      }
      sizes.push_back(size.As<Napi::Number>().Int64Value());
    }
    inputShapes.push_back(std::move(sizes));
  }
  auto lock = Lock();
  return Guard(env, "outputShapes", [&] {
    c10::InferenceMode inference;
    state_->graph->SetTraining(false);
    std::vector<torch::Tensor> inputs;
    for (const std::vector<int64_t>& sizes : inputShapes) inputs.push_back(torch::zeros(sizes, torch::TensorOptions().device(state_->device)));
    std::vector<torch::Tensor> outputs = state_->Forward(inputs, /*stopBeforeFoldedActivation=*/false);
    Napi::Array result = Napi::Array::New(env, outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      Napi::Array shape = Napi::Array::New(env);
      for (int64_t d = 1; d < outputs[i].dim(); ++d) shape.Set(static_cast<uint32_t>(d - 1), static_cast<double>(outputs[i].size(d)));
      result.Set(static_cast<uint32_t>(i), shape);
    }
    return result;
  });
}

namespace {
// Keras's layouts at the API; libtorch's own (what torch.nn modules load) in model files.
bool TorchLayoutRequested(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() > index && info[index].IsBoolean() && info[index].As<Napi::Boolean>().Value();
}
}  // namespace

// getWeights(torchLayout = false) -> NativeTensor[], copied to the CPU
Napi::Value NativeModel::GetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "getWeights");
  const bool torchLayout = TorchLayoutRequested(info, 0);
  auto lock = Lock();
  return Guard(env, "getWeights", [&] {
    torch::NoGradGuard noGrad;
    Napi::Array result = Napi::Array::New(env, state_->weights().size());
    for (size_t i = 0; i < state_->weights().size(); ++i) {
      const WeightSlot& slot = state_->weights()[i];
      torch::Tensor host = slot.tensor.detach().to(torch::kCPU);
      torch::Tensor copy = (torchLayout ? host.contiguous() : ToKerasLayout(host, slot)).clone();
      result.Set(static_cast<uint32_t>(i), NativeTensor::FromTorch(env, copy));
    }
    return result;
  });
}

// setWeights(tensors, torchLayout = false) copies tensors into the model's parameters and buffers.
Napi::Value NativeModel::SetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "setWeights");
  const bool torchLayout = TorchLayoutRequested(info, 1);
  auto lock = Lock();
  Napi::Array tensors = info[0].As<Napi::Array>();
  if (tensors.Length() != state_->weights().size()) {
    throw Napi::Error::New(env, "setWeights: expected " + std::to_string(state_->weights().size()) +
                                    " weight tensors but received " + std::to_string(tensors.Length()));
  }
  std::vector<torch::Tensor> converted;
  Guard(env, "setWeights", [&] {
    // Check every shape before changing anything, so that a bad list leaves the model as it was.
    for (uint32_t i = 0; i < tensors.Length(); ++i) {
      const WeightSlot& slot = state_->weights()[i];
      torch::Tensor value = NativeTensor::FromValue(tensors.Get(i), "weights[" + std::to_string(i) + "]")->tensor();
      torch::Tensor expected = torchLayout ? slot.tensor.detach() : ToKerasLayout(slot.tensor.detach(), slot);
      if (!value.sizes().equals(expected.sizes())) {
        throw std::invalid_argument("expected weights[" + std::to_string(i) + "] (" + slot.name + ") of shape " +
                                    ShapeToString(expected.sizes()) + " but received " + ShapeToString(value.sizes()));
      }
      converted.push_back(torchLayout ? value : FromKerasLayout(value, slot.layout));
    }
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < converted.size(); ++i) state_->weights()[i].tensor.copy_(converted[i]);
  });
  return env.Undefined();
}

// getOptimizerState() -> one entry per weight: {step, tensors: {name: NativeTensor}}, or null where the
// optimizer holds nothing (non-trainable weights, or before the first step).
Napi::Value NativeModel::GetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "getOptimizerState");
  if (!state_->optimizer) throw Napi::Error::New(env, "getOptimizerState: the model must be compiled first");
  auto lock = Lock();
  return Guard(env, "getOptimizerState", [&] {
    Napi::Array result = Napi::Array::New(env, state_->weights().size());
    for (size_t i = 0; i < state_->weights().size(); ++i) {
      ParamStateRecord record;
      if (!ReadParamState(*state_->optimizer, state_->weights()[i].tensor, record)) {
        result.Set(static_cast<uint32_t>(i), env.Null());
        continue;
      }
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("step", static_cast<double>(record.step));
      Napi::Object tensors = Napi::Object::New(env);
      for (const auto& named : record.tensors) {
        tensors.Set(named.first, NativeTensor::FromTorch(env, named.second.detach().to(torch::kCPU).contiguous().clone()));
      }
      entry.Set("tensors", tensors);
      result.Set(static_cast<uint32_t>(i), entry);
    }
    return result;
  });
}

// setOptimizerState(entries) restores what getOptimizerState returned (null entries are skipped). Every
// entry is checked before any state changes.
Napi::Value NativeModel::SetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "setOptimizerState");
  if (!state_->optimizer) throw Napi::Error::New(env, "setOptimizerState: the model must be compiled first");
  if (info.Length() != 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "setOptimizerState: expected an array");
  Napi::Array entries = info[0].As<Napi::Array>();
  if (entries.Length() != state_->weights().size()) {
    throw Napi::Error::New(env, "setOptimizerState: expected " + std::to_string(state_->weights().size()) +
                                    " entries but received " + std::to_string(entries.Length()));
  }
  auto lock = Lock();
  Guard(env, "setOptimizerState", [&] {
    std::vector<std::pair<size_t, ParamStateRecord>> records;
    for (uint32_t i = 0; i < entries.Length(); ++i) {
      Napi::Value value = entries.Get(i);
      if (value.IsNull() || value.IsUndefined()) continue;
      SpecReader entry(value.As<Napi::Object>(), "optimizer state of weight " + std::to_string(i));
      ParamStateRecord record;
      record.step = entry.Integer("step");
      Napi::Object tensors = entry.Object("tensors");
      Napi::Array names = tensors.GetPropertyNames();
      for (uint32_t j = 0; j < names.Length(); ++j) {
        std::string name = names.Get(j).ToString().Utf8Value();
        record.tensors.emplace_back(name, NativeTensor::FromValue(tensors.Get(name), "optimizer state " + name)->tensor());
      }
      records.emplace_back(i, std::move(record));
    }
    // A dry run on a scratch optimizer of the same kind would be costly; shapes are what can go wrong,
    // so check them all first.
    for (const auto& [index, record] : records) {
      for (const auto& named : record.tensors) {
        if (!named.second.sizes().equals(state_->weights()[index].tensor.sizes())) {
          throw std::invalid_argument("optimizer state " + named.first + " of weight " + std::to_string(index) +
                                      " has shape " + ShapeToString(named.second.sizes()) + " but the weight has " +
                                      ShapeToString(state_->weights()[index].tensor.sizes()));
        }
      }
    }
    for (const auto& [index, record] : records) WriteParamState(*state_->optimizer, state_->weights()[index].tensor, record);
  });
  return env.Undefined();
}

// to(device) moves the parameters, buffers and optimizer state.
Napi::Value NativeModel::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "to");
  auto lock = Lock();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Guard(env, "to('" + name + "')", [&] {
    torch::Device device(name);
    state_->graph->To(device);
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
  auto lock = Lock();  // a schedule changes it on the compute thread at every step
  return Napi::Number::New(env, LearningRate(*state_->optimizer));
}

Napi::Value NativeModel::SetLearningRate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_->optimizer) throw Napi::Error::New(env, "learningRate: the model must be compiled first");
  auto lock = Lock();
  keras_torch::SetLearningRate(*state_->optimizer, info[0].As<Napi::Number>().DoubleValue());
  return env.Undefined();
}

// getIterations() -> the updates applied since compile (Keras's optimizer.iterations).
Napi::Value NativeModel::GetIterations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_->optimizer) throw Napi::Error::New(env, "iterations: the model must be compiled first");
  auto lock = Lock();
  return Napi::Number::New(env, static_cast<double>(state_->iterations));
}

// setIterations(count): a restored training's count, which a learning-rate schedule continues from.
Napi::Value NativeModel::SetIterations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_->optimizer) throw Napi::Error::New(env, "iterations: the model must be compiled first");
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setIterations: expected a number");
  auto lock = Lock();
  state_->iterations = info[0].As<Napi::Number>().Int64Value();
  FollowSchedule(*state_->optimizer, state_->updateRules, state_->iterations);
  return env.Undefined();
}

void NativeModel::RequireLive(Napi::Env env, const char* operation) const {
  if (!state_->graph) throw Napi::Error::New(env, std::string(operation) + ": the model was disposed");
}

// dispose(): frees the graph's hold on the layers and the optimizer's state at once, after a running step.
Napi::Value NativeModel::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  {
    auto lock = Lock();
    state_->optimizer.reset();
    state_->metricTotals.clear();
    state_->graph.reset();
    state_->optimizerBytes = 0;
  }
  if (state_->reportedOptimizerBytes != 0) {
    ReportExternalMemory(env, -state_->reportedOptimizerBytes);
    state_->reportedOptimizerBytes = 0;
  }
  ReleaseNetworkMemory(env);
  return env.Undefined();
}

// setTrainable(flags: boolean[]), one per graph layer: frozen layers get no gradient from the next step on.
Napi::Value NativeModel::SetTrainable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLive(env, "setTrainable");
  if (info.Length() != 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "setTrainable: expected an array of booleans");
  Napi::Array array = info[0].As<Napi::Array>();
  std::vector<bool> flags;
  for (uint32_t i = 0; i < array.Length(); ++i) flags.push_back(array.Get(i).ToBoolean().Value());
  auto lock = Lock();
  Guard(env, "setTrainable", [&] { state_->graph->SetTrainable(flags); });
  return env.Undefined();
}

// releaseMetrics(stream): drops a finished stream's metric totals; nothing for a disposed model.
Napi::Value NativeModel::ReleaseMetrics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "releaseMetrics: expected a metric stream number");
  auto lock = Lock();
  state_->metricTotals.erase(info[0].As<Napi::Number>().Int64Value());
  return env.Undefined();
}

}  // namespace keras_torch
