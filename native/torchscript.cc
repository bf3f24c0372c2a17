#include "torchscript.h"

#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "async.h"
#include "errors.h"
#include "layers.h"
#include "model.h"

namespace keras_torch {

namespace {
// "input 'x' of shape [2, 64, 64, 3]", in the caller's layout: what an error names.
std::string DescribeInputs(const std::vector<std::string>& names, const std::vector<torch::Tensor>& inputs) {
  std::string text = inputs.size() == 1 ? "input " : "inputs ";
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i > 0) text += ", ";
    text += "'" + (i < names.size() ? names[i] : std::to_string(i)) + "' of shape " + ShapeToString(inputs[i].sizes());
  }
  return text;
}

// state_dict's order and names: each module's parameters, then its buffers, then its children's.
void CollectWeights(const torch::jit::Module& module, const std::string& prefix, std::vector<WeightSlot>& weights) {
  for (const auto& parameter : module.named_parameters(/*recurse=*/false)) {
    weights.push_back(WeightSlot{parameter.value, WeightLayout::Same, /*parameter=*/true, prefix + parameter.name});
  }
  for (const auto& buffer : module.named_buffers(/*recurse=*/false)) {
    weights.push_back(WeightSlot{buffer.value, WeightLayout::Same, /*parameter=*/false, prefix + buffer.name});
  }
  for (const auto& child : module.named_children()) CollectWeights(child.value, prefix + child.name + ".", weights);
}

bool IsTensorType(const c10::TypePtr& type) { return type->kind() == c10::TypeKind::TensorType; }

// The interpreter puts a traceback through the module's TorchScript and Python code before the error
// itself ("RuntimeError: Given groups=1, weight of size ..."): the error is what users need, the traceback
// is kept with KERAS_TORCH_DEBUG=1, as libtorch's C++ backtraces are.
std::string WithoutScriptTraceback(const std::string& message) {
  if (BacktracesWanted() || message.find("Traceback of TorchScript") == std::string::npos) return message;
  size_t line = message.size();
  while (line > 0) {
    const size_t start = message.rfind('\n', line - 1);
    const size_t begin = start == std::string::npos ? 0 : start + 1;
    const size_t colon = message.find(": ", begin);
    const size_t end = message.find('\n', begin);
    // A line that opens with a Python exception's name: "RuntimeError: ...", "ValueError: ...".
    if (colon != std::string::npos && colon < end && colon > begin + 5 && message.compare(colon - 5, 5, "Error") == 0 &&
        message.find_first_of(" \t", begin) >= colon) {
      std::string error = message.substr(begin);
      while (!error.empty() && std::isspace(static_cast<unsigned char>(error.back()))) error.pop_back();
      return error;
    }
    if (start == std::string::npos) break;
    line = start;
  }
  return message;
}

}  // namespace

ScriptedNetwork::ScriptedNetwork(torch::jit::Module module, bool channelsLast)
    : module_(std::move(module)), channelsLast_(channelsLast) {
  auto forward = module_.find_method("forward");
  if (!forward) throw std::invalid_argument("the module has no forward method");
  const c10::FunctionSchema& schema = forward->function().getSchema();
  // Inputs are forward's leading Tensor arguments (after self); any argument after them keeps its default.
  const std::vector<c10::Argument>& arguments = schema.arguments();
  size_t index = 1;
  for (; index < arguments.size() && IsTensorType(arguments[index].type()) && !arguments[index].kwarg_only(); ++index) {
    inputNames_.push_back(arguments[index].name());
  }
  for (; index < arguments.size(); ++index) {
    if (!arguments[index].default_value()) {
      throw std::invalid_argument("forward's argument '" + arguments[index].name() + "' is " + arguments[index].type()->annotation_str() +
                                  " without a default value; expected Tensor arguments (the model's inputs)");
    }
  }
  if (inputNames_.empty()) throw std::invalid_argument("forward takes no Tensor argument; expected one per model input");
  const c10::TypePtr returned = schema.returns().size() == 1 ? schema.returns()[0].type() : c10::TypePtr();
  auto tuple = returned ? returned->cast<c10::TupleType>() : nullptr;
  if (tuple && !tuple->elements().empty() && std::all_of(tuple->elements().begin(), tuple->elements().end(), IsTensorType)) {
    outputCount_ = tuple->elements().size();
    returnsTuple_ = true;
  } else if (!returned || !IsTensorType(returned)) {
    throw std::invalid_argument("forward returns " + (returned ? returned->annotation_str() : std::string("several values")) +
                                "; expected a Tensor or a tuple of Tensors");
  }
  CollectWeights(module_, "", weights_);
  for (const WeightSlot& slot : weights_) {
    // The steps feed float32 batches; a float64 module would fail at every one of them.
    if (slot.tensor.is_floating_point() && slot.tensor.scalar_type() != torch::kFloat32) {
      throw std::invalid_argument("weight '" + slot.name + "' is " + c10::toString(slot.tensor.scalar_type()) +
                                  "; expected float32 weights (call model.float() in Python before saving)");
    }
    loadedRequiresGrad_.push_back(slot.tensor.requires_grad());
  }
}

std::vector<torch::Tensor> ScriptedNetwork::Forward(const std::vector<torch::Tensor>& inputs, const std::vector<std::string>&,
                                                    torch::Tensor*) {
  if (inputs.size() != inputNames_.size()) {
    throw std::invalid_argument("expected " + std::to_string(inputNames_.size()) + " inputs but received " + std::to_string(inputs.size()));
  }
  std::vector<c10::IValue> arguments;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (channelsLast_ && inputs[i].dim() != 4) {
      throw std::invalid_argument("expected input '" + inputNames_[i] + "' to be 4-D [batch, height, width, channels] (inputFormat 'NHWC') but received shape " +
                                  ShapeToString(inputs[i].sizes()));
    }
    // A permuted NHWC batch is a channels_last-strided NCHW tensor, which convolutions take as it is; on
    // libtorch 2's CPU it is copied to NCHW memory first, since its oneDNN 1x1 convolutions give wrong
    // results on channels-last memory for some shapes (a scripted ResNet18's 256->512 stride-2 projection
    // on a 4x4 map is off by up to 0.98) and the module's own layers cannot be routed around that as
    // keras-torch's are (layers.cc, KerasConv2d).
    if (channelsLast_) {
      torch::Tensor nchw = inputs[i].permute({0, 3, 1, 2});
      arguments.emplace_back(kChannelsLastConvolutionsUnsafe && nchw.device().is_cpu() ? nchw.contiguous() : nchw);
    } else {
      arguments.emplace_back(inputs[i]);
    }
  }
  c10::IValue result;
  try {
    result = module_.forward(std::move(arguments));
  } catch (const c10::Error& error) {
    throw std::invalid_argument("the TorchScript module's forward failed on " + DescribeInputs(inputNames_, inputs) + ": " +
                                WithoutScriptTraceback(DescribeTorchError(error)));
  } catch (const std::exception& error) {  // the interpreter's own errors (torch::jit::JITException)
    throw std::invalid_argument("the TorchScript module's forward failed on " + DescribeInputs(inputNames_, inputs) + ": " +
                                WithoutScriptTraceback(error.what()));
  }
  std::vector<torch::Tensor> outputs;
  auto take = [&](const c10::IValue& value) {
    if (!value.isTensor()) throw std::invalid_argument(std::string("forward returned a ") + value.tagKind() + " where it declares a Tensor");
    outputs.push_back(value.toTensor());
  };
  if (result.isTuple()) {
    for (const c10::IValue& element : result.toTuple()->elements()) take(element);
  } else {
    take(result);
  }
  if (outputs.size() != outputCount_) {
    throw std::invalid_argument("forward returned " + std::to_string(outputs.size()) + " tensors where it declares " + std::to_string(outputCount_));
  }
  for (torch::Tensor& output : outputs) {
    // An output that is (a view of) an input would share the caller's buffer, which predict's result outlives.
    for (const torch::Tensor& input : inputs) {
      if (output.is_alias_of(input)) {
        output = output.clone();
        break;
      }
    }
    if (channelsLast_ && output.dim() == 4) output = output.permute({0, 2, 3, 1});
  }
  return outputs;
}

void ScriptedNetwork::SetTraining(bool training) { module_.train(training && trainable_); }

void ScriptedNetwork::SetTrainable(const std::vector<bool>& trainable) {
  if (trainable.size() != 1) throw std::invalid_argument("setTrainable: expected 1 flag but received " + std::to_string(trainable.size()));
  trainable_ = trainable[0];
  for (size_t i = 0; i < weights_.size(); ++i) {
    if (weights_[i].parameter) weights_[i].tensor.requires_grad_(trainable_ && loadedRequiresGrad_[i]);
  }
}

std::vector<torch::Tensor> ScriptedNetwork::Parameters() const {
  std::vector<torch::Tensor> result;
  for (const torch::Tensor& parameter : module_.parameters()) result.push_back(parameter);
  return result;
}

std::vector<torch::Tensor> ScriptedNetwork::Buffers() const {
  std::vector<torch::Tensor> result;
  for (const torch::Tensor& buffer : module_.buffers()) result.push_back(buffer);
  return result;
}

std::string ScriptedNetwork::Save() {
  // A file for inference, as torch.jit.load's users expect; the next step sets the mode it needs.
  module_.eval();
  std::ostringstream stream;
  module_.save(stream);
  return stream.str();
}

std::string ScriptedNetwork::TypeName(const torch::jit::Module& module) {
  const auto name = module.type()->name();
  return name ? name->name() : "TorchScript";
}

namespace {
// A TorchScript file's bytes in a JS buffer, read in place by libtorch's zip reader.
class MemoryReader : public caffe2::serialize::ReadAdapterInterface {
 public:
  MemoryReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t size() const override { return size_; }
  size_t read(uint64_t position, void* buffer, size_t count, const char* what = "") const override {
    if (position >= size_) return 0;
    count = std::min<size_t>(count, size_ - position);
    std::memcpy(buffer, data_ + position, count);
    return count;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

Napi::Value LoadedToJs(Napi::Env env, std::unique_ptr<ScriptedNetwork>& network, const torch::Device& device) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("typeName", network->typeName());
  Napi::Array inputNames = Napi::Array::New(env, network->inputNames().size());
  for (size_t i = 0; i < network->inputNames().size(); ++i) inputNames.Set(static_cast<uint32_t>(i), network->inputNames()[i]);
  result.Set("inputNames", inputNames);
  result.Set("outputCount", static_cast<double>(network->outputCount()));
  result.Set("returnsTuple", network->returnsTuple());
  Napi::Array weights = Napi::Array::New(env, network->weights().size());
  for (size_t i = 0; i < network->weights().size(); ++i) {
    const WeightSlot& slot = network->weights()[i];
    Napi::Object weight = Napi::Object::New(env);
    weight.Set("name", slot.name);
    Napi::Array shape = Napi::Array::New(env, slot.tensor.dim());
    for (int64_t d = 0; d < slot.tensor.dim(); ++d) shape.Set(static_cast<uint32_t>(d), static_cast<double>(slot.tensor.size(d)));
    weight.Set("shape", shape);
    weight.Set("trainable", slot.parameter && slot.tensor.requires_grad());
    weight.Set("parameter", slot.parameter);
    weights.Set(static_cast<uint32_t>(i), weight);
  }
  result.Set("weights", weights);
  Napi::Array children = Napi::Array::New(env);
  for (const auto& child : network->module().named_children()) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", child.name);
    entry.Set("typeName", ScriptedNetwork::TypeName(child.value));
    children.Set(children.Length(), entry);
  }
  result.Set("children", children);
  result.Set("model", NativeModel::Wrap(env, std::move(network), device));
  return result;
}

// loadTorchScript(source: string | Uint8Array, channelsLast: boolean, device: string)
//   -> Promise<{model: NativeModel, typeName, inputNames, outputCount, returnsTuple, weights: [{name, shape, trainable,
//      parameter}], children: [{name, typeName}]}>
// The file is read and its module built on a pool thread; a buffer is kept alive until then.
Napi::Value LoadTorchScript(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "loadTorchScript", [&]() -> Napi::Value {
    const bool isPath = info.Length() == 3 && info[0].IsString();
    const bool isBuffer = info.Length() == 3 && info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
    if ((!isPath && !isBuffer) || !info[1].IsBoolean() || !info[2].IsString()) {
      throw Napi::TypeError::New(env, "loadTorchScript: expected (path or Uint8Array, channelsLast, device)");
    }
    const std::string path = isPath ? info[0].As<Napi::String>().Utf8Value() : std::string();
    const uint8_t* bytes = isBuffer ? info[0].As<Napi::Uint8Array>().Data() : nullptr;
    const size_t size = isBuffer ? info[0].As<Napi::Uint8Array>().ByteLength() : 0;
    const bool channelsLast = info[1].As<Napi::Boolean>().Value();
    const torch::Device device(info[2].As<Napi::String>().Utf8Value());
    const std::string source = isPath ? path : "the TorchScript buffer";
    return PoolPromise<std::unique_ptr<ScriptedNetwork>>::Run(
        env, "loadTorchScript",
        [path, bytes, size, channelsLast, device, source] {
          torch::jit::Module module;
          try {
            module = bytes ? torch::jit::load(std::make_shared<MemoryReader>(bytes, size), device) : torch::jit::load(path, device);
          } catch (const c10::Error& error) {
            throw std::invalid_argument(source + " is not a TorchScript file that libtorch " + TORCH_VERSION +
                                        " can read (torch.jit.save of a torch.jit.script or torch.jit.trace module): " + DescribeTorchError(error));
          }
          try {
            return std::make_unique<ScriptedNetwork>(std::move(module), channelsLast);
          } catch (const std::invalid_argument& error) {
            throw std::invalid_argument(source + ": " + error.what());
          }
        },
        [device](Napi::Env env, std::unique_ptr<ScriptedNetwork>& network) { return LoadedToJs(env, network, device); },
        {isBuffer ? info[0] : env.Undefined()});
  });
}

// saveTorchScript(model: NativeModel) -> Promise<Buffer>: the module as a TorchScript file, written on a
// pool thread once the model's running step is done.
Napi::Value SaveTorchScript(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "saveTorchScript", [&]() -> Napi::Value {
    if (info.Length() != 1) throw Napi::TypeError::New(env, "saveTorchScript: expected (model)");
    std::shared_ptr<ModelState> model = NativeModel::StateOf(info[0]);
    return PoolPromise<std::shared_ptr<std::string>>::Run(
        env, "save",
        [model] {
          std::lock_guard<std::mutex> lock(model->mutex);
          auto* network = dynamic_cast<ScriptedNetwork*>(model->graph.get());
          if (!model->graph) throw std::invalid_argument("the model was disposed");
          if (!network) throw std::invalid_argument("the model is not a TorchScript module");
          return std::make_shared<std::string>(network->Save());
        },
        [](Napi::Env env, std::shared_ptr<std::string>& bytes) -> Napi::Value {
          return Napi::Buffer<char>::Copy(env, bytes->data(), bytes->size());
        },
        {info[0]});
  });
}
}  // namespace

Napi::Object InitTorchScript(Napi::Env env, Napi::Object exports) {
  exports.Set("loadTorchScript", Napi::Function::New(env, LoadTorchScript, "loadTorchScript"));
  exports.Set("saveTorchScript", Napi::Function::New(env, SaveTorchScript, "saveTorchScript"));
  return exports;
}

}  // namespace keras_torch
