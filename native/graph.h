// A model's layer graph, built from lib/'s graph spec: the layers (each one or more torch::nn modules,
// with their weights), the nodes that apply them to tensors, and the forward pass through it. lib/models
// decides the graph (Keras's functional API, Sequential as a chain); this file only runs it.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "layers.h"
#include "network.h"

namespace keras_torch {

// One Keras layer: the modules its spec list built, applied in order. Layers own their weights, as in
// Keras: a layer applied at several nodes (a shared layer), or a model used inside another (a pretrained
// base under a new head), runs the same modules, so it has one set of weights wherever it appears.
struct GraphLayer {
  // `specs` build the modules; `weights` ([{name, shape, trainable, regularizer?, constraint?}], lib's
  // NativeWeightInfo) name their weights and give their penalties; `activityRegularizer` is lib's
  // RegularizerSpec or null.
  GraphLayer(Napi::Array specs, Napi::Array weights, Napi::Value activityRegularizer);
  std::vector<BuiltLayer> modules;
  // Keras's activity_regularizer: a penalty on each output of the layer, divided by its batch size.
  Regularizer activityRegularizer;
  // False: no gradient reaches its weights, and its BatchNormalization runs in inference mode, as a
  // frozen layer does in Keras.
  bool trainable = true;

  void SetTrainable(bool value);
};

// One application of a layer: which tensors it reads. Tensor ids 0..inputCount-1 are the model's
// inputs; node i writes tensor inputCount + i.
struct GraphNode {
  size_t layer;
  std::vector<size_t> inputs;
  // Conv2D(activation: 'relu') followed by MaxPooling2D: the ReLU is moved from the end of the first
  // node to after the pooling of the second (same values and gradients, a quarter of the elements).
  bool skipLastModule = false;
  std::optional<BuiltLayer> afterFirstModule;
  // Keras's `layer.apply(x, {training})`: run this node in inference (false) or training (true) mode
  // whatever the step does, as a base model applied with training: false keeps its BatchNormalization
  // on its moving statistics while the model around it trains.
  std::optional<bool> training;
};

class Graph : public Network {
 public:
  // spec: {layers: NativeLayer[] (read through `layerOf`), nodes: [{layer, inputs}], inputCount, outputs}
  Graph(Napi::Object spec, const std::function<std::shared_ptr<GraphLayer>(Napi::Value)>& layerOf);

  // The layers' activity penalties are the ones `activityPenalty` sums.
  std::vector<torch::Tensor> Forward(const std::vector<torch::Tensor>& inputs,
                                     const std::vector<std::string>& logitsFor,
                                     torch::Tensor* activityPenalty = nullptr) override;

  // Keras's trainable_weights only: a frozen layer's weights add nothing.
  torch::Tensor WeightPenalty() const override;
  // Every trainable weight that has a constraint and was just updated (it has a gradient).
  void ApplyConstraints() override;

  // Keeps frozen layers' BatchNormalization in eval mode while training.
  void SetTraining(bool training) override;
  // One flag per layer; weights of frozen layers stop requiring gradients.
  void SetTrainable(const std::vector<bool>& trainable) override;

  std::string FinalActivation(size_t output) const override;

  void To(const torch::Device& device) override { root_->to(device); }
  std::vector<torch::Tensor> Parameters() const override { return root_->parameters(); }
  std::vector<torch::Tensor> Buffers() const override { return root_->buffers(); }
  const std::vector<WeightSlot>& weights() const override { return weights_; }
  size_t inputCount() const override { return inputCount_; }
  size_t outputCount() const override { return outputs_.size(); }

 private:
  std::shared_ptr<torch::nn::Module> root_;  // every module registered once: parameters(), to(), train()
  std::vector<std::shared_ptr<GraphLayer>> layers_;
  std::vector<GraphNode> nodes_;
  std::vector<size_t> outputs_;
  std::vector<size_t> consumers_;  // per tensor id: how many nodes read it
  // Per node: the tensors whose last reader it is (not outputs), released once it has run. Inference then
  // holds a few activations at a time instead of every layer's (measured on the residual CNN: 125 MB per
  // batch-32 predict, and ~10% of its time).
  std::vector<std::vector<size_t>> releaseAfter_;
  std::vector<size_t> lastReader_;  // per tensor id: the last node that reads it (nodes_.size(): an output)
  std::vector<WeightSlot> weights_;  // layer by layer, in Keras's order
  size_t inputCount_ = 0;

  void MoveActivationsAfterPooling();
};

}  // namespace keras_torch
