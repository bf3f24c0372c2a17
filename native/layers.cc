#include "layers.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "spec.h"

namespace keras_torch {

namespace F = torch::nn::functional;

namespace {

// Keras's initializers, by name, with the fans Keras computes for the kernel's Keras shape.
void Initialize(torch::Tensor weight, Napi::Object initializer, int64_t fanIn, int64_t fanOut) {
  torch::NoGradGuard noGrad;
  SpecReader spec(initializer, "initializer");
  std::string name = spec.String("name");
  // TF's truncated normal draws within two standard deviations; this factor restores the variance.
  constexpr double kTruncatedStddevCorrection = 0.87962566103423978;
  auto uniform = [&](double limit) { weight.uniform_(-limit, limit); };
  auto truncatedNormal = [&](double mean, double stddev) {
    // Inverse-CDF sampling on [-2, 2] standard deviations: uniform in erf space, then erfinv.
    const double bound = std::erf(2.0 / std::sqrt(2.0));
    weight.uniform_(-bound, bound).erfinv_().mul_(stddev * std::sqrt(2.0)).add_(mean);
  };
  const double fanAverage = (fanIn + fanOut) / 2.0;
  if (name == "zeros") {
    weight.zero_();
  } else if (name == "ones") {
    weight.fill_(1.0);
  } else if (name == "constant") {
    weight.fill_(spec.Number("value", 0.0));
  } else if (name == "glorot_uniform") {
    uniform(std::sqrt(3.0 / fanAverage));
  } else if (name == "glorot_normal") {
    truncatedNormal(0.0, std::sqrt(1.0 / fanAverage) / kTruncatedStddevCorrection);
  } else if (name == "he_uniform") {
    uniform(std::sqrt(6.0 / fanIn));
  } else if (name == "he_normal") {
    truncatedNormal(0.0, std::sqrt(2.0 / fanIn) / kTruncatedStddevCorrection);
  } else if (name == "lecun_uniform") {
    uniform(std::sqrt(3.0 / fanIn));
  } else if (name == "lecun_normal") {
    truncatedNormal(0.0, std::sqrt(1.0 / fanIn) / kTruncatedStddevCorrection);
  } else if (name == "random_normal") {
    weight.normal_(spec.Number("mean", 0.0), spec.Number("stddev", 0.05));
  } else if (name == "truncated_normal") {
    truncatedNormal(spec.Number("mean", 0.0), spec.Number("stddev", 0.05));
  } else if (name == "random_uniform") {
    weight.uniform_(spec.Number("minval", -0.05), spec.Number("maxval", 0.05));
  } else {
    throw std::invalid_argument("unknown initializer " + name);
  }
}

bool AllZero(const std::vector<int64_t>& values) {
  for (int64_t value : values) {
    if (value != 0) return false;
  }
  return true;
}

// padding is [top, bottom, left, right]; F::pad wants [left, right, top, bottom].
torch::Tensor Pad(const torch::Tensor& x, const std::vector<int64_t>& padding, double value) {
  return F::pad(x, F::PadFuncOptions({padding[2], padding[3], padding[0], padding[1]}).value(value));
}

torch::Tensor ApplyActivation(const std::string& name, double alpha, const torch::Tensor& x) {
  if (name == "relu") return torch::relu(x);
  if (name == "sigmoid") return torch::sigmoid(x);
  // Keras applies softmax on the last (channel) axis, which is dim 1 of the NCHW or [N, features] tensor.
  if (name == "softmax") return torch::softmax(x, 1);
  if (name == "tanh") return torch::tanh(x);
  if (name == "linear") return x;
  if (name == "elu") return torch::elu(x, alpha);
  if (name == "selu") return torch::selu(x);
  if (name == "gelu") return torch::gelu(x);
  if (name == "leaky_relu") return torch::leaky_relu(x, alpha);
  if (name == "softplus") return torch::softplus(x);
  if (name == "softsign") return x / (x.abs() + 1);
  if (name == "swish" || name == "silu") return torch::silu(x);
  if (name == "exponential") return torch::exp(x);
  // hardtanh, not clamp: no gradient at 0 and 6 themselves, as TensorFlow's Relu6Grad and PyTorch's relu6.
  if (name == "relu6") return torch::hardtanh(x, 0, 6);
  throw std::invalid_argument("unknown activation " + name);
}

// Keras's "same" with a stride pads more at the bottom/right than at the top/left; torch's own padding is
// symmetric, so such a convolution pads explicitly first.
class AsymmetricPaddedConv2dImpl : public torch::nn::Module {
 public:
  AsymmetricPaddedConv2dImpl(torch::nn::Conv2d conv, std::vector<int64_t> padding)
      : conv_(register_module("conv", conv)), padding_(std::move(padding)) {}
  torch::Tensor forward(const torch::Tensor& x) { return conv_->forward(Pad(x, padding_, 0.0)); }

 private:
  torch::nn::Conv2d conv_;
  std::vector<int64_t> padding_;
};
TORCH_MODULE(AsymmetricPaddedConv2d);

BuiltLayer Conv2D(const SpecReader& spec) {
  int64_t inChannels = spec.Integer("inChannels");
  int64_t filters = spec.Integer("filters");
  std::vector<int64_t> kernel = spec.Integers("kernelSize", 2);
  std::vector<int64_t> strides = spec.Integers("strides", 2);
  std::vector<int64_t> dilation = spec.Integers("dilationRate", 2);
  std::vector<int64_t> padding = spec.Integers("padding", 4);
  bool useBias = spec.Boolean("useBias", true);
  bool symmetric = padding[0] == padding[1] && padding[2] == padding[3];

  auto options = torch::nn::Conv2dOptions(inChannels, filters, torch::ExpandingArray<2>({kernel[0], kernel[1]}))
                     .stride(torch::ExpandingArray<2>({strides[0], strides[1]}))
                     .dilation(torch::ExpandingArray<2>({dilation[0], dilation[1]}))
                     .bias(useBias);
  if (symmetric) options.padding(torch::ExpandingArray<2>({padding[0], padding[2]}));
  torch::nn::Conv2d conv(options);

  const int64_t receptiveField = kernel[0] * kernel[1];
  Initialize(conv->weight, spec.Object("kernelInitializer"), inChannels * receptiveField, filters * receptiveField);
  BuiltLayer built;
  built.weights.push_back({conv->weight, WeightLayout::ConvKernel, true});
  if (useBias) {
    Initialize(conv->bias, spec.Object("biasInitializer"), inChannels * receptiveField, filters * receptiveField);
    built.weights.push_back({conv->bias, WeightLayout::Same, true});
  }
  built.module = symmetric ? torch::nn::AnyModule(conv) : torch::nn::AnyModule(AsymmetricPaddedConv2d(conv, padding));
  return built;
}

BuiltLayer Dense(const SpecReader& spec) {
  int64_t inFeatures = spec.Integer("inFeatures");
  int64_t units = spec.Integer("units");
  bool useBias = spec.Boolean("useBias", true);
  torch::nn::Linear linear(torch::nn::LinearOptions(inFeatures, units).bias(useBias));
  Initialize(linear->weight, spec.Object("kernelInitializer"), inFeatures, units);
  BuiltLayer built;
  built.weights.push_back({linear->weight, WeightLayout::DenseKernel, true});
  if (useBias) {
    Initialize(linear->bias, spec.Object("biasInitializer"), inFeatures, units);
    built.weights.push_back({linear->bias, WeightLayout::Same, true});
  }
  built.module = torch::nn::AnyModule(linear);
  return built;
}

BuiltLayer MaxPooling2D(const SpecReader& spec) {
  std::vector<int64_t> pool = spec.Integers("poolSize", 2);
  std::vector<int64_t> strides = spec.Integers("strides", 2);
  std::vector<int64_t> padding = spec.Integers("padding", 4);
  auto options = F::MaxPool2dFuncOptions(torch::ExpandingArray<2>({pool[0], pool[1]}))
                     .stride(torch::ExpandingArray<2>({strides[0], strides[1]}));
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([options, padding](const torch::Tensor& x) {
    // Keras's "same" max pooling ignores the padded cells: padding with -inf does exactly that.
    const torch::Tensor input = AllZero(padding) ? x : Pad(x, padding, -std::numeric_limits<double>::infinity());
    return F::max_pool2d(input, options);
  }));
  return built;
}

BuiltLayer AveragePooling2D(const SpecReader& spec) {
  std::vector<int64_t> pool = spec.Integers("poolSize", 2);
  std::vector<int64_t> strides = spec.Integers("strides", 2);
  std::vector<int64_t> padding = spec.Integers("padding", 4);
  auto options = F::AvgPool2dFuncOptions(torch::ExpandingArray<2>({pool[0], pool[1]}))
                     .stride(torch::ExpandingArray<2>({strides[0], strides[1]}));
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([options, padding](const torch::Tensor& x) {
    if (AllZero(padding)) return F::avg_pool2d(x, options);
    // Keras averages over the cells inside the image only; dividing by the pooled count of real cells
    // gives that for asymmetric padding, which torch's count_include_pad cannot express.
    torch::Tensor sums = F::avg_pool2d(Pad(x, padding, 0.0), options);
    torch::Tensor counts = F::avg_pool2d(Pad(torch::ones_like(x.select(1, 0).unsqueeze(1)), padding, 0.0), options);
    return sums / counts;
  }));
  return built;
}

BuiltLayer GlobalAveragePooling2D(const SpecReader& spec) {
  bool keepDims = spec.Boolean("keepDims", false);
  BuiltLayer built;
  built.module = torch::nn::AnyModule(
      torch::nn::Functional([keepDims](const torch::Tensor& x) { return x.mean({2, 3}, keepDims); }));
  return built;
}

BuiltLayer Flatten(const SpecReader&) {
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([](const torch::Tensor& x) {
    // Keras flattens channels-last feature maps; doing the same keeps Dense weights interchangeable.
    if (x.dim() == 4) return x.permute({0, 2, 3, 1}).flatten(1);
    return x.flatten(1);
  }));
  return built;
}

// Dropout drawing from a random stream of its own, as Keras 3's per-layer SeedGenerator: its masks depend on
// its seed and its own steps only, not on what other models run on the compute thread in between (they all
// drew from libtorch's one global generator). The same computation as torch::dropout on the CPU. CUDA
// tensors use the device's default generator.
class SeededDropoutImpl : public torch::nn::Module {
 public:
  SeededDropoutImpl(double rate, uint64_t seed) : rate_(rate), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  // Under the generator's lock, which its draws take too: a step of another model sharing the layer never
  // sees it half set.
  void Reseed(uint64_t seed) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_current_seed(seed);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (!is_training() || rate_ == 0) return x;
    if (!x.device().is_cpu()) return torch::dropout(x, rate_, true);
    torch::Tensor keep = at::empty_like(x).bernoulli_(1 - rate_, generator_);
    return x * keep.div_(1 - rate_);
  }

 private:
  double rate_;
  at::Generator generator_;
};
TORCH_MODULE(SeededDropout);

BuiltLayer Dropout(const SpecReader& spec) {
  BuiltLayer built;
  built.module = torch::nn::AnyModule(SeededDropout(spec.Number("rate"), static_cast<uint64_t>(spec.Number("seed"))));
  return built;
}

template <typename BatchNormModule, typename BatchNormOptions>
BuiltLayer BatchNorm(const SpecReader& spec, int64_t features) {
  // Keras's momentum weighs the old moving statistic (0.99); torch's weighs the new batch (0.01).
  BatchNormModule norm(BatchNormOptions(features).eps(spec.Number("epsilon")).momentum(1.0 - spec.Number("momentum")));
  bool center = spec.Boolean("center", true);
  bool scale = spec.Boolean("scale", true);
  BuiltLayer built;
  // Without scale (or center) Keras has no gamma (beta): keep torch's at 1 (0) and frozen.
  if (scale) {
    built.weights.push_back({norm->weight, WeightLayout::Same, true});
  } else {
    norm->weight.requires_grad_(false);
  }
  if (center) {
    built.weights.push_back({norm->bias, WeightLayout::Same, true});
  } else {
    norm->bias.requires_grad_(false);
  }
  built.weights.push_back({norm->running_mean, WeightLayout::Same, false});
  built.weights.push_back({norm->running_var, WeightLayout::Same, false});
  built.module = torch::nn::AnyModule(norm);
  return built;
}

BuiltLayer BatchNormalization(const SpecReader& spec) {
  int64_t features = spec.Integer("features");
  if (spec.Integer("rank") == 4) {
    return BatchNorm<torch::nn::BatchNorm2d, torch::nn::BatchNorm2dOptions>(spec, features);
  }
  return BatchNorm<torch::nn::BatchNorm1d, torch::nn::BatchNorm1dOptions>(spec, features);
}

BuiltLayer Activation(const SpecReader& spec) {
  std::string name = spec.String("activation");
  double alpha = spec.Number("alpha", name == "elu" ? 1.0 : 0.2);
  ApplyActivation(name, alpha, torch::zeros({1, 1}));  // rejects unknown names now rather than mid-training
  BuiltLayer built;
  built.activation = name;
  built.module = torch::nn::AnyModule(
      torch::nn::Functional([name, alpha](const torch::Tensor& x) { return ApplyActivation(name, alpha, x); }));
  return built;
}

BuiltLayer Rescaling(const SpecReader& spec) {
  double scale = spec.Number("scale");
  double offset = spec.Number("offset", 0.0);
  BuiltLayer built;
  built.module = torch::nn::AnyModule(
      torch::nn::Functional([scale, offset](const torch::Tensor& x) { return x * scale + offset; }));
  return built;
}

// Keras's merge layers on tensors of equal shapes (or 1 where they broadcast, as Keras allows). `axis`
// is Keras's, counted with the batch axis on the channels-last layout; rank-4 tensors are NCHW here.
BuiltLayer Merge(const SpecReader& spec) {
  std::string operation = spec.String("operation");
  BuiltLayer built;
  if (operation == "concatenate") {
    int64_t axis = spec.Integer("axis");
    const int64_t rank = spec.Integer("rank");
    if (axis < 0) axis += rank;
    if (axis < 1 || axis >= rank) throw std::invalid_argument("merge: axis out of range");
    if (rank == 4) axis = axis == 3 ? 1 : axis + 1;  // [N, H, W, C] -> [N, C, H, W]
    built.merge = [axis](const std::vector<torch::Tensor>& inputs, bool) { return torch::cat(inputs, axis); };
    return built;
  }
  using Reduce = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&);
  Reduce reduce = nullptr;
  bool average = false;
  if (operation == "add" || operation == "average") {
    reduce = [](const torch::Tensor& a, const torch::Tensor& b) { return a + b; };
    average = operation == "average";
  } else if (operation == "subtract") {
    reduce = [](const torch::Tensor& a, const torch::Tensor& b) { return a - b; };
  } else if (operation == "multiply") {
    reduce = [](const torch::Tensor& a, const torch::Tensor& b) { return a * b; };
  } else if (operation == "maximum") {
    reduce = [](const torch::Tensor& a, const torch::Tensor& b) { return torch::maximum(a, b); };
  } else if (operation == "minimum") {
    reduce = [](const torch::Tensor& a, const torch::Tensor& b) { return torch::minimum(a, b); };
  } else {
    throw std::invalid_argument("merge: unknown operation " + operation);
  }
  const bool sums = operation == "add" || operation == "average";
  built.merge = [reduce, average, sums](const std::vector<torch::Tensor>& inputs, bool overwriteFirst) {
    // A ResNet's shortcut sum in inference: added into the first input, one allocation fewer per block.
    // Broadcasting could not grow it in place, so only equal shapes qualify.
    bool inPlace = sums && overwriteFirst;
    for (size_t i = 1; i < inputs.size() && inPlace; ++i) inPlace = inputs[i].sizes().equals(inputs[0].sizes());
    torch::Tensor result = inputs[0];
    for (size_t i = 1; i < inputs.size(); ++i) result = inPlace ? result.add_(inputs[i]) : reduce(result, inputs[i]);
    return average ? result / static_cast<double>(inputs.size()) : result;
  };
  return built;
}

}  // namespace

namespace {
BuiltLayer BuildKind(const std::string& kind, const SpecReader& named) {
  if (kind == "conv2d") return Conv2D(named);
  if (kind == "dense") return Dense(named);
  if (kind == "max_pooling2d") return MaxPooling2D(named);
  if (kind == "average_pooling2d") return AveragePooling2D(named);
  if (kind == "global_average_pooling2d") return GlobalAveragePooling2D(named);
  if (kind == "flatten") return Flatten(named);
  if (kind == "dropout") return Dropout(named);
  if (kind == "batch_normalization") return BatchNormalization(named);
  if (kind == "activation") return Activation(named);
  if (kind == "rescaling") return Rescaling(named);
  if (kind == "merge") return Merge(named);
  throw std::invalid_argument("layer spec: unknown kind " + kind);
}
}  // namespace

BuiltLayer BuildLayer(Napi::Object object) {
  SpecReader spec(object, "layer spec");
  std::string kind = spec.String("kind");
  BuiltLayer built = BuildKind(kind, SpecReader(object, kind));
  built.kind = kind;
  return built;
}

bool ReseedRandomStream(const BuiltLayer& layer, uint64_t seed) {
  if (layer.module.is_empty()) return false;
  auto dropout = std::dynamic_pointer_cast<SeededDropoutImpl>(layer.module.ptr());
  if (!dropout) return false;
  dropout->Reseed(seed);
  return true;
}

bool CommutesWithMaxPooling(const std::string& name) {
  // relu only. Other activations that never decrease give the same values too, but where they map
  // different inputs to one output (sigmoid and tanh saturating, relu6 clamped at 6) max pooling's
  // gradient can go to another element of the window than in the written order.
  // relu's gradient is zero for every input it maps to 0, so ties there are harmless.
  return name == "relu";
}

torch::Tensor KerasView(const torch::Tensor& weight, WeightLayout layout) {
  switch (layout) {
    case WeightLayout::ConvKernel: return weight.permute({2, 3, 1, 0});
    case WeightLayout::DenseKernel: return weight.t();
    case WeightLayout::Same: break;
  }
  return weight;
}

torch::Tensor ToKerasLayout(const torch::Tensor& weight, WeightLayout layout) {
  return KerasView(weight, layout).contiguous();
}

torch::Tensor FromKerasLayout(const torch::Tensor& weight, WeightLayout layout) {
  switch (layout) {
    case WeightLayout::ConvKernel: return weight.permute({3, 2, 0, 1});
    case WeightLayout::DenseKernel: return weight.t();
    case WeightLayout::Same: break;
  }
  return weight;
}

}  // namespace keras_torch
