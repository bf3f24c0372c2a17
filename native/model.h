// A model: what it runs (network.h: a layer graph, or a TorchScript module), with its optimizer and
// per-output losses once compiled.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <memory>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "graph.h"
#include "losses.h"
#include "network.h"
#include "optim.h"

namespace keras_torch {

// One lock for every model's libtorch calls: models share layers (a base inside a new model), so training
// one mutates what another reads. Steps already run one at a time on the compute thread; the lock orders
// them against the JS thread's synchronous calls (getWeights, setWeights, ...).
std::mutex& ModelsMutex();

// Shared by the JS wrapper and any worker running on it, so a model collected mid-step stays valid.
struct ModelState {
  std::mutex& mutex = ModelsMutex();
  std::unique_ptr<Network> graph;
  torch::Device device{torch::kCPU};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  UpdateRules updateRules;  // what Keras does around the optimizer's rule (optim.h)
  int64_t iterations = 0;   // Keras's optimizer.iterations: the updates applied since compile
  std::vector<LossConfig> outputs;  // one per model output, once compiled
  // Each output's metrics' running totals (metrics.h) per stream of steps: a fit's training epochs, one
  // evaluation. Streams keep evaluations queued during fit, or run side by side, apart.
  std::map<int64_t, std::vector<std::vector<torch::Tensor>>> metricTotals;
  // The optimizer state's bytes, as last measured on the compute thread (after a training step) and as
  // reported to V8 (JS thread only).
  std::atomic<int64_t> optimizerBytes{0};
  int64_t reportedOptimizerBytes = 0;

  const std::vector<WeightSlot>& weights() const { return graph->weights(); }
  // Inputs and results are channels-last at the API. With `stopBeforeFoldedActivation` each output whose
  // activation its loss folds in comes out as logits (stable loss, as Keras and PyTorch compute it).
  // `activityPenalty` as Network::Forward's.
  std::vector<torch::Tensor> Forward(const std::vector<torch::Tensor>& inputs, bool stopBeforeFoldedActivation,
                                     torch::Tensor* activityPenalty = nullptr);
};

// One layer's modules and weights, owned by the JS Layer and shared by every model that uses it.
// Its weights' bytes are reported to V8 as external memory, so that garbage collection keeps pace with
// models built and dropped in a loop.
class NativeLayer : public Napi::ObjectWrap<NativeLayer> {
 public:
  static Napi::Function Init(Napi::Env env);
  // new NativeLayer(specs: LayerSpec[], trainable: boolean, weights: WeightInfo[])
  explicit NativeLayer(const Napi::CallbackInfo& info);
  ~NativeLayer() override;
  // The layer behind a JS NativeLayer, or a TypeError (also once disposed).
  static std::shared_ptr<GraphLayer> LayerOf(Napi::Value value);

 private:
  // dispose(): drops this object's hold on the weights (models built on the layer keep theirs).
  void Dispose(const Napi::CallbackInfo& info);
  // reseedRandomStreams(seed): restarts its Dropout modules' streams (ReseedRandomStream).
  void ReseedRandomStreams(const Napi::CallbackInfo& info);
  // setWeights(tensors): the layer's weights from Keras-layout values, in its order (Normalization.adapt).
  void SetWeights(const Napi::CallbackInfo& info);
  void Release();

  std::shared_ptr<GraphLayer> layer_;
  int64_t externalBytes_ = 0;
};

enum class StepKind { Train, Evaluate };

// Reports a change of `model.optimizerBytes` to V8 (JS thread).
void ReportOptimizerMemory(Napi::Env env, ModelState& model);

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeModel(const Napi::CallbackInfo& info);
  ~NativeModel() override;
  // The model behind a JS NativeModel, or a TypeError naming `argument`.
  static std::shared_ptr<ModelState> StateOf(Napi::Value value, const std::string& argument = "model");
  // A new JS NativeModel running `network` (built natively, as a TorchScript module is), on `device`
  // already. Its weights' bytes are reported to V8 until the model is disposed or collected.
  static Napi::Object Wrap(Napi::Env env, std::unique_ptr<Network> network, torch::Device device);

 private:
  Napi::Value Compile(const Napi::CallbackInfo& info);
  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value EvaluateStep(const Napi::CallbackInfo& info);
  Napi::Value QueueStep(const Napi::CallbackInfo& info, StepKind kind, const char* operation);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value OutputShapes(const Napi::CallbackInfo& info);
  Napi::Value GetWeights(const Napi::CallbackInfo& info);
  Napi::Value SetWeights(const Napi::CallbackInfo& info);
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value GetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value SetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value GetIterations(const Napi::CallbackInfo& info);
  Napi::Value SetIterations(const Napi::CallbackInfo& info);
  Napi::Value SetTrainable(const Napi::CallbackInfo& info);
  Napi::Value ReleaseMetrics(const Napi::CallbackInfo& info);

  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::unique_lock<std::mutex> Lock();
  // Throws a JS Error naming `operation` once the model is disposed.
  void RequireLive(Napi::Env env, const char* operation) const;

  void ReleaseNetworkMemory(Napi::Env env);

  std::shared_ptr<ModelState> state_;
  // The bytes of a network this model alone holds (Wrap), as reported to V8; a graph's layers report their own.
  int64_t networkBytes_ = 0;
};

}  // namespace keras_torch
