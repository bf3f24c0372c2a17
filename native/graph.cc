#include "graph.h"

#include <algorithm>
#include <stdexcept>

#include "errors.h"
#include "spec.h"

namespace keras_torch {

namespace {
std::vector<size_t> Indices(Napi::Value value, const std::string& context) {
  if (!value.IsArray()) throw std::invalid_argument(context + ": expected an array of indices");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<size_t> result;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber() || item.As<Napi::Number>().DoubleValue() < 0) {
      throw std::invalid_argument(context + ": expected non-negative integer indices");
    }
    result.push_back(static_cast<size_t>(item.As<Napi::Number>().Int64Value()));
  }
  return result;
}

// NHWC at the API, NCHW inside: an NHWC batch permuted to NCHW is a channels_last-strided view, which
// oneDNN convolves in place. Measured on the seed CNN (bench/): copying it to NCHW first makes predict
// several times slower (NCHW max pooling alone is ~3x slower than channels-last).
torch::Tensor FromChannelsLast(const torch::Tensor& x) { return x.dim() == 4 ? x.permute({0, 3, 1, 2}) : x; }
torch::Tensor ToChannelsLast(const torch::Tensor& x) { return x.dim() == 4 ? x.permute({0, 2, 3, 1}) : x; }
}  // namespace

GraphLayer::GraphLayer(Napi::Array specs, Napi::Array weights) {
  for (uint32_t j = 0; j < specs.Length(); ++j) {
    BuiltLayer module = BuildLayer(specs.Get(j).As<Napi::Object>());
    if (module.merge && j != 0) throw std::invalid_argument("layer spec: a merge must come first");
    modules.push_back(std::move(module));
  }
  // lib's description and the modules built here must agree weight for weight: a mismatch is a bug in a
  // layer's TypeScript or C++, caught before any weight is read or written by position.
  uint32_t index = 0;
  for (BuiltLayer& module : modules) {
    for (WeightSlot& slot : module.weights) {
      if (index >= weights.Length()) throw std::invalid_argument("layer weights: the modules have more weights than lib describes");
      SpecReader described(weights.Get(index).As<Napi::Object>(), "layer weight " + std::to_string(index));
      slot.name = described.String("name");
      Napi::Array shape = described.Object("shape").As<Napi::Array>();
      std::vector<int64_t> expected;
      for (uint32_t d = 0; d < shape.Length(); ++d) expected.push_back(shape.Get(d).As<Napi::Number>().Int64Value());
      const torch::Tensor keras = ToKerasLayout(slot.tensor.detach(), slot.layout);
      if (!keras.sizes().equals(expected) || (described.Boolean("trainable", false) && !slot.parameter)) {
        throw std::invalid_argument("layer weight " + slot.name + ": lib describes shape " + ShapeToString(expected) +
                                    " but the module holds " + ShapeToString(keras.sizes()) +
                                    (slot.parameter ? "" : " as a buffer"));
      }
      ++index;
    }
  }
  if (index != weights.Length()) throw std::invalid_argument("layer weights: lib describes more weights than the modules have");
}

void GraphLayer::SetTrainable(bool value) {
  trainable = value;
  for (BuiltLayer& module : modules) {
    for (WeightSlot& slot : module.weights) {
      if (slot.parameter) slot.tensor.requires_grad_(value);
    }
  }
}

Graph::Graph(Napi::Object object, const std::function<std::shared_ptr<GraphLayer>(Napi::Value)>& layerOf)
    : root_(std::make_shared<torch::nn::Module>("Graph")) {
  SpecReader spec(object, "graph spec");
  Napi::Array layers = spec.Object("layers").As<Napi::Array>();
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    std::shared_ptr<GraphLayer> layer = layerOf(layers.Get(i));
    for (size_t j = 0; j < layer->modules.size(); ++j) {
      BuiltLayer& module = layer->modules[j];
      if (!module.merge) root_->register_module("layer" + std::to_string(i) + "_" + std::to_string(j), module.module.ptr());
      for (WeightSlot& slot : module.weights) weights_.push_back(slot);
    }
    layers_.push_back(std::move(layer));
  }
  inputCount_ = static_cast<size_t>(spec.Integer("inputCount"));
  Napi::Array nodes = spec.Object("nodes").As<Napi::Array>();
  for (uint32_t i = 0; i < nodes.Length(); ++i) {
    const std::string context = "graph node " + std::to_string(i);
    SpecReader node(nodes.Get(i).As<Napi::Object>(), context);
    GraphNode built{static_cast<size_t>(node.Integer("layer")), Indices(node.Object("inputs"), context)};
    if (node.Has("training")) built.training = node.Boolean("training", true);
    if (built.layer >= layers_.size()) throw std::invalid_argument(context + ": no such layer");
    // Nodes come in topological order: each reads only the model's inputs and earlier nodes.
    for (size_t input : built.inputs) {
      if (input >= inputCount_ + i) throw std::invalid_argument(context + ": reads a tensor not computed before it");
    }
    const GraphLayer& layer = *layers_[built.layer];
    const bool merges = !layer.modules.empty() && layer.modules.front().merge;
    if (built.inputs.empty() || (!merges && built.inputs.size() != 1)) {
      throw std::invalid_argument(context + ": wrong number of inputs for its layer");
    }
    nodes_.push_back(std::move(built));
  }
  outputs_ = Indices(spec.Object("outputs"), "graph outputs");
  if (outputs_.empty()) throw std::invalid_argument("graph outputs: expected at least one");
  for (size_t output : outputs_) {
    if (output >= inputCount_ + nodes_.size()) throw std::invalid_argument("graph outputs: no such tensor");
  }
  consumers_.assign(inputCount_ + nodes_.size(), 0);
  for (const GraphNode& node : nodes_) {
    for (size_t input : node.inputs) ++consumers_[input];
  }
  lastReader_.assign(inputCount_ + nodes_.size(), nodes_.size());
  for (size_t n = 0; n < nodes_.size(); ++n) {
    for (size_t input : nodes_[n].inputs) lastReader_[input] = n;
  }
  for (size_t output : outputs_) lastReader_[output] = nodes_.size();
  releaseAfter_.assign(nodes_.size(), {});
  for (size_t id = 0; id < lastReader_.size(); ++id) {
    if (lastReader_[id] < nodes_.size()) releaseAfter_[lastReader_[id]].push_back(id);
  }
  MoveActivationsAfterPooling();
}

void Graph::MoveActivationsAfterPooling() {
  auto isOutput = [&](size_t id) {
    for (size_t output : outputs_) {
      if (output == id) return true;
    }
    return false;
  };
  for (size_t a = 0; a < nodes_.size(); ++a) {
    GraphNode& first = nodes_[a];
    const GraphLayer& producer = *layers_[first.layer];
    const size_t id = inputCount_ + a;
    if (producer.modules.empty() || first.skipLastModule || consumers_[id] != 1 || isOutput(id)) continue;
    const BuiltLayer& last = producer.modules.back();
    if (last.kind != "activation" || !CommutesWithMaxPooling(last.activation)) continue;
    for (size_t b = a + 1; b < nodes_.size(); ++b) {
      GraphNode& second = nodes_[b];
      if (second.inputs.size() != 1 || second.inputs[0] != id) continue;
      const GraphLayer& consumer = *layers_[second.layer];
      if (!consumer.modules.empty() && consumer.modules.front().kind == "max_pooling2d" && !second.afterFirstModule) {
        first.skipLastModule = true;
        second.afterFirstModule = last;
      }
      break;
    }
  }
}

std::vector<torch::Tensor> Graph::Forward(const std::vector<torch::Tensor>& inputs,
                                          const std::vector<std::string>& logitsFor) {
  if (inputs.size() != inputCount_) {
    throw std::invalid_argument("expected " + std::to_string(inputCount_) + " inputs but received " +
                                std::to_string(inputs.size()));
  }
  // The tensor id whose value before its last (activation) module each folded output needs.
  std::vector<torch::Tensor> values(inputCount_ + nodes_.size());
  std::vector<torch::Tensor> beforeActivation(values.size());
  std::vector<bool> wantsLogits(values.size(), false);
  for (size_t i = 0; i < outputs_.size() && i < logitsFor.size(); ++i) {
    if (!logitsFor[i].empty()) wantsLogits[outputs_[i]] = true;
  }
  for (size_t i = 0; i < inputCount_; ++i) values[i] = FromChannelsLast(inputs[i]);
  // Without autograd (predict, evaluate), a ReLU or a shortcut sum may write into a tensor nothing else
  // reads: the graph's own activations, never the caller's inputs.
  const bool inference = !at::GradMode::is_enabled();
  // Values that share memory with another value still to be read: a module may return its input or a view
  // of it (Dropout and the random preprocessing layers in inference, CenterCrop's window), and writing
  // into such a value would change the other one (the caller's input, a shortcut's other branch).
  std::vector<bool> shared(values.size(), false);
  for (size_t n = 0; n < nodes_.size(); ++n) {
    GraphNode& node = nodes_[n];
    GraphLayer& layer = *layers_[node.layer];
    const size_t id = inputCount_ + n;
    const size_t count = layer.modules.size() - (node.skipLastModule ? 1 : 0);
    auto scratch = [&](size_t input) {
      return inference && input >= inputCount_ && !shared[input] && lastReader_[input] == n &&
             std::count(node.inputs.begin(), node.inputs.end(), input) == 1;
    };
    torch::Tensor x;
    bool owned;  // x may be overwritten
    bool viewOfInput = false;  // x is the node's (first) input or a view of it
    size_t start = 0;
    if (!layer.modules.empty() && layer.modules.front().merge) {
      std::vector<torch::Tensor> operands;
      for (size_t input : node.inputs) operands.push_back(values[input]);
      x = layer.modules.front().merge(operands, scratch(node.inputs[0]));
      owned = inference;
      start = 1;
    } else {
      x = values[node.inputs[0]];
      owned = scratch(node.inputs[0]);
      viewOfInput = true;
    }
    const bool inputOwned = owned;
    auto run = [&](BuiltLayer& module, bool keepInput) {
      if (owned && !keepInput && module.kind == "activation" && module.activation == "relu") {
        x.relu_();
        return;
      }
      torch::nn::Module& torchModule = *module.module.ptr();
      const bool wasTraining = torchModule.is_training();
      if (node.training.has_value()) torchModule.train(*node.training);
      const torch::Tensor before = x;
      x = module.module.forward(x);
      if (node.training.has_value()) torchModule.train(wasTraining);
      if (!x.is_alias_of(before)) viewOfInput = false;
      owned = inference && (!viewOfInput || inputOwned);
    };
    for (size_t k = start; k < count; ++k) {
      const bool logits = wantsLogits[id] && k + 1 == count;
      if (logits) beforeActivation[id] = x;
      run(layer.modules[k], logits);
      if (k == 0 && node.afterFirstModule) run(*node.afterFirstModule, false);
    }
    values[id] = x;
    if (inference && viewOfInput && !inputOwned) shared[id] = shared[node.inputs[0]] = true;
    // Autograd keeps what backward needs; this only drops the graph's own references.
    for (size_t done : releaseAfter_[n]) values[done] = torch::Tensor();
  }
  std::vector<torch::Tensor> results;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const size_t id = outputs_[i];
    const bool logits = i < logitsFor.size() && !logitsFor[i].empty();
    results.push_back(ToChannelsLast(logits ? beforeActivation[id] : values[id]));
  }
  return results;
}

void Graph::SetTraining(bool training) {
  root_->train(training);
  if (!training) return;
  for (const std::shared_ptr<GraphLayer>& layer : layers_) {
    if (layer->trainable) continue;
    for (BuiltLayer& module : layer->modules) {
      if (module.kind == "batch_normalization") module.module.ptr()->eval();
    }
  }
}

void Graph::SetTrainable(const std::vector<bool>& trainable) {
  if (trainable.size() != layers_.size()) {
    throw std::invalid_argument("setTrainable: expected " + std::to_string(layers_.size()) + " flags but received " +
                                std::to_string(trainable.size()));
  }
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->SetTrainable(trainable[i]);
}

std::string Graph::FinalActivation(size_t output) const {
  const size_t id = outputs_.at(output);
  if (id < inputCount_) return "";
  const GraphNode& node = nodes_[id - inputCount_];
  const GraphLayer& layer = *layers_[node.layer];
  if (layer.modules.empty() || node.skipLastModule) return "";
  const BuiltLayer& last = layer.modules.back();
  return last.kind == "activation" ? last.activation : "";
}

}  // namespace keras_torch
