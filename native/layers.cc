#include "layers.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "preprocessing.h"
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
  } else if (name == "variance_scaling") {
    // Keras's VarianceScaling, the family the named ones above belong to (EfficientNet's kernels use it
    // with fan_out): variance scale / fan, drawn as a truncated normal, a normal or a uniform.
    const std::string mode = spec.String("mode", "fan_in");
    const double fan = mode == "fan_out" ? fanOut : mode == "fan_avg" ? fanAverage : fanIn;
    const double variance = spec.Number("scale", 1.0) / std::max(1.0, fan);
    const std::string distribution = spec.String("distribution", "truncated_normal");
    if (distribution == "uniform") {
      uniform(std::sqrt(3.0 * variance));
    } else if (distribution == "untruncated_normal") {
      weight.normal_(0.0, std::sqrt(variance));
    } else {
      truncatedNormal(0.0, std::sqrt(variance) / kTruncatedStddevCorrection);
    }
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

// Rank-4 tensors are NCHW here while Keras's axes are channels-last: views between the two, and Keras's
// axis (counted with the batch axis) as the dim of the tensor here.
torch::Tensor ChannelsLastView(const torch::Tensor& x) { return x.dim() == 4 ? x.permute({0, 2, 3, 1}) : x; }
torch::Tensor NativeView(const torch::Tensor& x) { return x.dim() == 4 ? x.permute({0, 3, 1, 2}) : x; }

// Keras's axis (counted with the batch axis, channels-last) -> the dim of the tensor as it is here.
int64_t NativeDim(int64_t kerasAxis, int64_t rank) {
  if (rank != 4 || kerasAxis == 0) return kerasAxis;
  return kerasAxis == 3 ? 1 : kerasAxis + 1;
}

torch::Tensor ApplyActivation(const std::string& name, double alpha, const torch::Tensor& x) {
  if (name == "relu") return torch::relu(x);
  if (name == "sigmoid") return torch::sigmoid(x);
  // Keras applies softmax on the last (channel) axis: dim 1 of an NCHW tensor, the last of other ranks.
  if (name == "softmax") return torch::softmax(x, x.dim() == 4 ? 1 : -1);
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

// A convolution as Keras defines it, where torch's module alone differs or libtorch fails:
// - Keras's "same" with a stride pads more at the bottom/right than at the top/left; torch's own padding is
//   symmetric, so such a convolution pads explicitly first (`padding`, empty when symmetric);
// - libtorch 2.6's CPU convolution (Debian 13's, on oneDNN 3.6; PyTorch 2.6 alike) fails two ways on
//   channels-last input, where 1.13 computes right, so from libtorch 2 on the CPU:
//   - a depthwise convolution with a depth multiplier over 1 and a kernel over 1x1 comes out wrong (off by
//     whole units against float64 on NCHW): it convolves an NCHW copy of its input (`nchwInput`);
//   - a 1x1 convolution kills the process with SIGFPE (an integer division by zero in oneDNN's 1x1 kernel
//     set-up) for some channel counts, 256 or 512 to 1024 among them, at stride 2 with one thread and at any
//     stride with two: ResNet50's bottlenecks and shortcuts. A 1x1 convolution is a matrix product over the
//     pixels: on channels-last memory, F::linear computes it in place of oneDNN (after taking every
//     stride-th pixel), which is what it does with a Dense layer on images too (`pointwise`).
class KerasConv2dImpl : public torch::nn::Module {
 public:
  KerasConv2dImpl(torch::nn::Conv2d conv, std::vector<int64_t> padding, bool nchwInput, bool pointwise)
      : conv_(register_module("conv", conv)), padding_(std::move(padding)), nchwInput_(nchwInput), pointwise_(pointwise) {}
  torch::Tensor forward(const torch::Tensor& input) {
    torch::Tensor x = padding_.empty() ? input : Pad(input, padding_, 0.0);
    if (!x.is_cpu()) return conv_->forward(x);
    if (nchwInput_) return conv_->forward(x.contiguous()).contiguous(torch::MemoryFormat::ChannelsLast);
    if (pointwise_) {
      using torch::indexing::None;
      using torch::indexing::Slice;
      const auto& stride = conv_->options.stride();
      if (stride->at(0) > 1 || stride->at(1) > 1) x = x.index({Slice(), Slice(), Slice(None, None, stride->at(0)), Slice(None, None, stride->at(1))});
      // NHWC view of channels-last memory, channels mapped, back to an NCHW view of channels-last memory.
      return F::linear(x.permute({0, 2, 3, 1}), conv_->weight.flatten(1), conv_->bias).permute({0, 3, 1, 2});
    }
    return conv_->forward(x);
  }

 private:
  torch::nn::Conv2d conv_;
  std::vector<int64_t> padding_;
  bool nchwInput_;
  bool pointwise_;
};
TORCH_MODULE(KerasConv2d);

// Keras's initializers draw with the fans Keras computes from the weight's Keras shape (compute_fans):
// the receptive field is every axis but the last two; a vector's fans are its length.
void InitializeAsKeras(const WeightSlot& slot, Napi::Object initializer) {
  const torch::Tensor keras = ToKerasLayout(slot.tensor.detach(), slot);
  const int64_t rank = keras.dim();
  if (rank < 2) {
    Initialize(slot.tensor, initializer, keras.numel(), keras.numel());
    return;
  }
  const int64_t receptiveField = keras.numel() / (keras.size(rank - 2) * keras.size(rank - 1));
  Initialize(slot.tensor, initializer, keras.size(rank - 2) * receptiveField, keras.size(rank - 1) * receptiveField);
}

// Conv2D (with groups) and DepthwiseConv2D (groups = input channels, filters = channels * multiplier).
BuiltLayer Conv2D(const SpecReader& spec, WeightLayout kernelLayout) {
  int64_t inChannels = spec.Integer("inChannels");
  int64_t filters = spec.Integer("filters");
  int64_t groups = spec.Integer("groups");
  std::vector<int64_t> kernel = spec.Integers("kernelSize", 2);
  std::vector<int64_t> strides = spec.Integers("strides", 2);
  std::vector<int64_t> dilation = spec.Integers("dilationRate", 2);
  std::vector<int64_t> padding = spec.Integers("padding", 4);
  bool useBias = spec.Boolean("useBias", true);
  bool symmetric = padding[0] == padding[1] && padding[2] == padding[3];

  auto options = torch::nn::Conv2dOptions(inChannels, filters, torch::ExpandingArray<2>({kernel[0], kernel[1]}))
                     .stride(torch::ExpandingArray<2>({strides[0], strides[1]}))
                     .dilation(torch::ExpandingArray<2>({dilation[0], dilation[1]}))
                     .groups(groups)
                     .bias(useBias);
  if (symmetric) options.padding(torch::ExpandingArray<2>({padding[0], padding[2]}));
  torch::nn::Conv2d conv(options);

  BuiltLayer built;
  built.weights.push_back({conv->weight, kernelLayout, true});
  if (kernelLayout == WeightLayout::DepthwiseKernel) built.weights.back().depthMultiplier = filters / inChannels;
  InitializeAsKeras(built.weights.back(), spec.Object("kernelInitializer"));
  if (useBias) {
    built.weights.push_back({conv->bias, WeightLayout::Same, true});
    InitializeAsKeras(built.weights.back(), spec.Object("biasInitializer"));
  }
  bool nchwInput = kChannelsLastConvolutionsUnsafe && groups == inChannels && filters > inChannels && kernel[0] * kernel[1] > 1;
  // A 1x1 kernel is never padded ("same" needs no padding at any stride), and its dilation changes nothing.
  bool pointwise = kChannelsLastConvolutionsUnsafe && kernel[0] * kernel[1] == 1 && groups == 1;
  if (symmetric && !nchwInput && !pointwise) {
    built.module = torch::nn::AnyModule(conv);
  } else {
    built.module = torch::nn::AnyModule(KerasConv2d(conv, symmetric ? std::vector<int64_t>{} : padding, nchwInput, pointwise));
  }
  return built;
}

// Keras's Dense maps the last axis; on an image that is the channels, dim 1 of the NCHW tensor here. The
// permuted views cost no copy: the result is an NCHW view of channels-last memory, as the model's input is.
class ChannelsLastLinearImpl : public torch::nn::Module {
 public:
  explicit ChannelsLastLinearImpl(torch::nn::Linear linear) : linear_(register_module("linear", linear)) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return linear_->forward(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
  }

 private:
  torch::nn::Linear linear_;
};
TORCH_MODULE(ChannelsLastLinear);

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
  if (spec.Has("rank") && spec.Integer("rank") == 4) {
    built.module = torch::nn::AnyModule(ChannelsLastLinear(linear));
  } else {
    built.module = torch::nn::AnyModule(linear);
  }
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

// A module drawing from a random stream of its own, as Keras 3's per-layer SeedGenerator: its draws depend on
// its seed and its own steps only, not on what other models run on the compute thread in between (they all
// drew from libtorch's one global generator). CUDA tensors use the device's default generator.
class SeededRandomModule : public torch::nn::Module {
 public:
  explicit SeededRandomModule(uint64_t seed) : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

  // Under the generator's lock, which its draws take too: a step of another model sharing the layer never
  // sees it half set.
  void Reseed(uint64_t seed) {
    std::lock_guard<std::mutex> lock(generator_.mutex());
    generator_.set_current_seed(seed);
  }

 protected:
  // The generator for a draw on `x`'s device: the layer's own on the CPU, the device's default elsewhere.
  c10::optional<at::Generator> GeneratorFor(const torch::Tensor& x) const {
    if (x.device().is_cpu()) return generator_;
    return c10::nullopt;
  }

 private:
  at::Generator generator_;
};

// Keras's Dropout. `noiseShape` is the mask's shape in the tensor's own layout (NCHW for rank 4), 0 where the
// mask follows the input; empty for a mask of the input's shape. Without it, the same computation as
// torch::dropout on the CPU.
class SeededDropoutImpl : public SeededRandomModule {
 public:
  SeededDropoutImpl(double rate, uint64_t seed, std::vector<int64_t> noiseShape)
      : SeededRandomModule(seed), rate_(rate), noiseShape_(std::move(noiseShape)) {}

  torch::Tensor forward(const torch::Tensor& x) {
    if (!is_training() || rate_ == 0) return x;
    if (noiseShape_.empty() && !x.device().is_cpu()) return torch::dropout(x, rate_, true);
    torch::Tensor keep = noiseShape_.empty() ? at::empty_like(x) : torch::empty(MaskShape(x), x.options());
    keep.bernoulli_(1 - rate_, GeneratorFor(x));
    return x * keep.div_(1 - rate_);
  }

 private:
  std::vector<int64_t> MaskShape(const torch::Tensor& x) const {
    if (static_cast<size_t>(x.dim()) != noiseShape_.size()) {
      throw std::invalid_argument("Dropout: noiseShape does not match the input's rank");
    }
    std::vector<int64_t> shape;
    for (size_t d = 0; d < noiseShape_.size(); ++d) shape.push_back(noiseShape_[d] == 0 ? x.size(d) : noiseShape_[d]);
    return shape;
  }

  double rate_;
  std::vector<int64_t> noiseShape_;
};
TORCH_MODULE(SeededDropout);

BuiltLayer Dropout(const SpecReader& spec) {
  std::vector<int64_t> noiseShape = spec.Has("noiseShape") ? spec.Integers("noiseShape") : std::vector<int64_t>{};
  // Keras's noise shape speaks channels-last; rank-4 tensors are NCHW here.
  if (noiseShape.size() == 4) noiseShape = {noiseShape[0], noiseShape[3], noiseShape[1], noiseShape[2]};
  BuiltLayer built;
  built.module = torch::nn::AnyModule(
      SeededDropout(spec.Number("rate"), static_cast<uint64_t>(spec.Number("seed")), std::move(noiseShape)));
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

// BatchNormalization over an axis other than the channels of a [batch, features] or image tensor (those
// take torch's modules as they are): the axis moves to dim 1, where torch's batch_norm takes it.
class MovedAxisBatchNormImpl : public torch::nn::Module {
 public:
  MovedAxisBatchNormImpl(torch::nn::BatchNorm1d norm, int64_t dim) : norm_(register_module("norm", norm)), dim_(dim) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const auto& options = norm_->options;
    torch::Tensor y = torch::batch_norm(x.movedim(dim_, 1), norm_->weight, norm_->bias, norm_->running_mean,
                                        norm_->running_var, is_training(), options.momentum().value(), options.eps(),
                                        at::globalContext().userEnabledCuDNN());
    return y.movedim(1, dim_);
  }

 private:
  torch::nn::BatchNorm1d norm_;
  int64_t dim_;
};
TORCH_MODULE(MovedAxisBatchNorm);

// `axis`: Keras's, counted with the batch axis (default the last).
BuiltLayer BatchNormalization(const SpecReader& spec) {
  int64_t features = spec.Integer("features");
  const int64_t rank = spec.Integer("rank");
  const int64_t dim = NativeDim(spec.Has("axis") ? spec.Integer("axis") : rank - 1, rank);
  if (rank == 4 && dim == 1) {
    return BatchNorm<torch::nn::BatchNorm2d, torch::nn::BatchNorm2dOptions>(spec, features);
  }
  BuiltLayer built = BatchNorm<torch::nn::BatchNorm1d, torch::nn::BatchNorm1dOptions>(spec, features);
  if (rank != 2) {
    torch::nn::BatchNorm1d norm(std::dynamic_pointer_cast<torch::nn::BatchNorm1dImpl>(built.module.ptr()));
    built.module = torch::nn::AnyModule(MovedAxisBatchNorm(norm, dim));
  }
  return built;
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

// --- Convolution, padding, resizing and pooling layers beyond the seed's (vision models' building blocks).

BuiltLayer ZeroPadding2D(const SpecReader& spec) {
  std::vector<int64_t> padding = spec.Integers("padding", 4);
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([padding](const torch::Tensor& x) { return Pad(x, padding, 0.0); }));
  return built;
}

BuiltLayer Cropping2D(const SpecReader& spec) {
  std::vector<int64_t> cropping = spec.Integers("cropping", 4);  // [top, bottom, left, right]
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([cropping](const torch::Tensor& x) {
    // A copy, not a view: in inference the next module may write into its input (graph.cc's in-place
    // ReLU), which must not reach the uncropped tensor other layers read.
    return x.slice(2, cropping[0], x.size(2) - cropping[1]).slice(3, cropping[2], x.size(3) - cropping[3]).clone(torch::MemoryFormat::Preserve);
  }));
  return built;
}

BuiltLayer UpSampling2D(const SpecReader& spec) {
  std::vector<int64_t> size = spec.Integers("size", 2);
  const bool bilinear = spec.String("interpolation") == "bilinear";
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([size, bilinear](const torch::Tensor& x) {
    auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{x.size(2) * size[0], x.size(3) * size[1]});
    // Half-pixel centres (align_corners false) are TensorFlow's resize, which Keras's UpSampling2D calls.
    if (bilinear) return F::interpolate(x, options.mode(torch::kBilinear).align_corners(false));
    return F::interpolate(x, options.mode(torch::kNearest));
  }));
  return built;
}

BuiltLayer GlobalMaxPooling2D(const SpecReader& spec) {
  bool keepDims = spec.Boolean("keepDims", false);
  BuiltLayer built;
  built.module = torch::nn::AnyModule(
      torch::nn::Functional([keepDims](const torch::Tensor& x) { return x.amax({2, 3}, keepDims); }));
  return built;
}

// Rank-3 tensors stay [batch, steps, channels]: a 1D pooling is the 2D one on [batch, channels, 1, steps]
// (its spec's pool, strides and padding carry 1 and 0 for the added axis).
BuiltLayer OverSteps(BuiltLayer pooling2d) {
  torch::nn::AnyModule pooling = pooling2d.module;
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([pooling](const torch::Tensor& x) mutable {
    return pooling.forward(x.transpose(1, 2).unsqueeze(2)).squeeze(2).transpose(1, 2);
  }));
  return built;
}

BuiltLayer GlobalPooling1D(const SpecReader& spec) {
  const bool keepDims = spec.Boolean("keepDims", false);
  const bool maximum = spec.String("operation") == "max";
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([keepDims, maximum](const torch::Tensor& x) {
    return maximum ? x.amax({1}, keepDims) : x.mean({1}, keepDims);
  }));
  return built;
}

// A 1D convolution on [batch, steps, channels], padded [before, after] first ("same" and "causal" are
// asymmetric in general).
class ChannelsLastConv1dImpl : public torch::nn::Module {
 public:
  ChannelsLastConv1dImpl(torch::nn::Conv1d conv, std::vector<int64_t> padding)
      : conv_(register_module("conv", conv)), padding_(std::move(padding)) {}
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor steps = x.transpose(1, 2);
    if (!AllZero(padding_)) steps = F::pad(steps, F::PadFuncOptions({padding_[0], padding_[1]}));
    return conv_->forward(steps).transpose(1, 2);
  }

 private:
  torch::nn::Conv1d conv_;
  std::vector<int64_t> padding_;
};
TORCH_MODULE(ChannelsLastConv1d);

BuiltLayer Conv1D(const SpecReader& spec) {
  int64_t inChannels = spec.Integer("inChannels");
  int64_t filters = spec.Integer("filters");
  torch::nn::Conv1d conv(torch::nn::Conv1dOptions(inChannels, filters, spec.Integer("kernelSize"))
                             .stride(spec.Integer("strides"))
                             .dilation(spec.Integer("dilationRate"))
                             .groups(spec.Integer("groups"))
                             .bias(spec.Boolean("useBias", true)));
  BuiltLayer built;
  built.weights.push_back({conv->weight, WeightLayout::Conv1DKernel, true});
  InitializeAsKeras(built.weights.back(), spec.Object("kernelInitializer"));
  if (conv->options.bias()) {
    built.weights.push_back({conv->bias, WeightLayout::Same, true});
    InitializeAsKeras(built.weights.back(), spec.Object("biasInitializer"));
  }
  built.module = torch::nn::AnyModule(ChannelsLastConv1d(conv, spec.Integers("padding", 2)));
  return built;
}

// TensorFlow's transposed convolution (the gradient of a convolution whose output has Keras's output
// size): torch's full output, then `padding` [top, bottom, left, right] crops (negative) or extends
// (positive, where no input reaches: only the bias). The bias comes last so extended cells get it too.
class KerasConvTranspose2dImpl : public torch::nn::Module {
 public:
  KerasConvTranspose2dImpl(torch::nn::ConvTranspose2d conv, std::vector<int64_t> padding)
      : conv_(register_module("conv", conv)), padding_(std::move(padding)) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const auto& options = conv_->options;
    torch::Tensor y = F::conv_transpose2d(
        x, conv_->weight, F::ConvTranspose2dFuncOptions().stride(options.stride()).dilation(options.dilation()).groups(options.groups()));
    if (!AllZero(padding_)) y = Pad(y, padding_, 0.0);
    return conv_->bias.defined() ? y + conv_->bias.view({1, -1, 1, 1}) : y;
  }

 private:
  torch::nn::ConvTranspose2d conv_;
  std::vector<int64_t> padding_;
};
TORCH_MODULE(KerasConvTranspose2d);

BuiltLayer Conv2DTranspose(const SpecReader& spec) {
  std::vector<int64_t> kernel = spec.Integers("kernelSize", 2);
  std::vector<int64_t> strides = spec.Integers("strides", 2);
  std::vector<int64_t> dilation = spec.Integers("dilationRate", 2);
  torch::nn::ConvTranspose2d conv(
      torch::nn::ConvTranspose2dOptions(spec.Integer("inChannels"), spec.Integer("filters"), torch::ExpandingArray<2>({kernel[0], kernel[1]}))
          .stride(torch::ExpandingArray<2>({strides[0], strides[1]}))
          .dilation(torch::ExpandingArray<2>({dilation[0], dilation[1]}))
          .bias(spec.Boolean("useBias", true)));
  BuiltLayer built;
  built.weights.push_back({conv->weight, WeightLayout::ConvKernel, true});
  InitializeAsKeras(built.weights.back(), spec.Object("kernelInitializer"));
  if (conv->options.bias()) {
    built.weights.push_back({conv->bias, WeightLayout::Same, true});
    InitializeAsKeras(built.weights.back(), spec.Object("biasInitializer"));
  }
  built.module = torch::nn::AnyModule(KerasConvTranspose2d(conv, spec.Integers("padding", 4)));
  return built;
}

// ---- Keras's reshaping, activation and normalization layers beyond the seed's ----
// Their axes are Keras's, channels-last; rank-4 tensors are NCHW here (ChannelsLastView, NativeView, NativeDim).

// Keras's activations.relu with max_value, negative_slope and threshold, term for term, so that the
// gradients at the edges are Keras's too.
BuiltLayer ReLU(const SpecReader& spec) {
  const bool clips = spec.Has("maxValue");
  const double maxValue = spec.Number("maxValue", 0.0);
  const double negativeSlope = spec.Number("negativeSlope", 0.0);
  const double threshold = spec.Number("threshold", 0.0);
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([=](const torch::Tensor& x) {
    if (negativeSlope != 0 && !clips && threshold == 0) return torch::leaky_relu(x, negativeSlope);
    torch::Tensor y;
    bool clip = clips;
    if (threshold != 0) {
      y = x * (x > threshold).to(x.scalar_type());
    } else if (clips && maxValue == 6) {
      y = torch::hardtanh(x, 0, 6);  // relu6, as Keras takes it for this case
      clip = false;
    } else {
      y = torch::relu(x);
    }
    if (clip) y = torch::clamp(y, 0.0, maxValue);
    if (negativeSlope != 0) y = y - negativeSlope * torch::relu(threshold - x);
    return y;
  }));
  return built;
}

// `targetShape` is each sample's shape after the reshape (Keras's, with -1 resolved by lib), in
// channels-last order, as Keras reshapes.
BuiltLayer Reshape(const SpecReader& spec) {
  const std::vector<int64_t> target = spec.Integers("targetShape");
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([target](const torch::Tensor& x) {
    std::vector<int64_t> shape{x.size(0)};
    shape.insert(shape.end(), target.begin(), target.end());
    return NativeView(ChannelsLastView(x).reshape(shape));
  }));
  return built;
}

// `dims`: Keras's 1-based permutation of the axes after the batch axis.
BuiltLayer Permute(const SpecReader& spec) {
  std::vector<int64_t> order{0};
  for (int64_t dim : spec.Integers("dims")) order.push_back(dim);
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional(
      [order](const torch::Tensor& x) { return NativeView(ChannelsLastView(x).permute(order)); }));
  return built;
}

// Keras's axes (`axes`, counted with the batch axis, channels-last) as dims of the tensor here.
std::vector<int64_t> NativeDims(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> dims;
  for (int64_t axis : axes) dims.push_back(NativeDim(axis, rank));
  return dims;
}

// A weight stored in Keras's shape (what getWeights speaks) over Keras's axes `axes` of a rank-`rank` input,
// as a view that broadcasts against the tensor here: Keras's broadcast shape, then NCHW for rank 4.
torch::Tensor Broadcastable(const torch::Tensor& weight, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> shape(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) shape[axes[i]] = weight.size(i);
  return NativeView(weight.reshape(shape));
}

// Keras's Softmax layer over one axis or several (exp(x - logsumexp(x)) over all of them, as Keras).
BuiltLayer Softmax(const SpecReader& spec) {
  const std::vector<int64_t> dims = NativeDims(spec.Integers("axes"), spec.Integer("rank"));
  BuiltLayer built;
  built.module = torch::nn::AnyModule(torch::nn::Functional([dims](const torch::Tensor& x) {
    if (dims.size() == 1) return torch::softmax(x, dims[0]);
    return torch::exp(x - torch::logsumexp(x, dims, true));
  }));
  return built;
}

// Keras's PReLU: relu(x) - alpha * relu(-x), alpha of shape `alphaShape` (the input's, 1 on shared axes).
class ParametricReLUImpl : public torch::nn::Module {
 public:
  explicit ParametricReLUImpl(const std::vector<int64_t>& alphaShape)
      : alpha(register_parameter("alpha", torch::empty(alphaShape))) {
    for (size_t i = 0; i < alphaShape.size(); ++i) axes_.push_back(static_cast<int64_t>(i) + 1);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::relu(x) - Broadcastable(alpha, axes_, x.dim()) * torch::relu(-x);
  }
  torch::Tensor alpha;

 private:
  std::vector<int64_t> axes_;
};
TORCH_MODULE(ParametricReLU);

BuiltLayer PReLU(const SpecReader& spec) {
  ParametricReLU prelu(spec.Integers("alphaShape"));
  Initialize(prelu->alpha, spec.Object("alphaInitializer"), spec.Integer("fanIn"), spec.Integer("fanOut"));
  BuiltLayer built;
  built.weights.push_back({prelu->alpha, WeightLayout::Same, true});
  built.module = torch::nn::AnyModule(prelu);
  return built;
}

// Keras's LayerNormalization over `axes` (sorted, with the batch axis): (x - mean) / sqrt(variance + epsilon)
// with the biased variance, then gamma and beta of shape [input[axis] for each axis].
class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(std::vector<int64_t> axes, int64_t rank, const std::vector<int64_t>& shape, double epsilon, bool scale,
                bool center)
      : axes_(std::move(axes)), rank_(rank), epsilon_(epsilon) {
    if (scale) gamma = register_parameter("gamma", torch::empty(shape));
    if (center) beta = register_parameter("beta", torch::empty(shape));
    dims_ = NativeDims(axes_, rank_);
    // Trailing axes in the tensor's own layout: torch's fused layer_norm, whose weights have Keras's shape.
    trailing_ = true;
    for (size_t i = 0; i < dims_.size(); ++i) {
      trailing_ = trailing_ && dims_[i] == rank_ - static_cast<int64_t>(dims_.size() - i);
    }
    normalizedShape_ = shape;
  }

  torch::Tensor forward(const torch::Tensor& x) {
    if (trailing_) return torch::layer_norm(x, normalizedShape_, gamma, beta, epsilon_);
    auto [variance, mean] = torch::var_mean(x, dims_, /*unbiased=*/false, /*keepdim=*/true);
    torch::Tensor y = (x - mean) * torch::rsqrt(variance + epsilon_);
    if (gamma.defined()) y = y * Broadcastable(gamma, axes_, rank_);
    if (beta.defined()) y = y + Broadcastable(beta, axes_, rank_);
    return y;
  }

  torch::Tensor gamma, beta;

 private:
  std::vector<int64_t> axes_, dims_, normalizedShape_;
  int64_t rank_;
  double epsilon_;
  bool trailing_;
};
TORCH_MODULE(LayerNorm);

BuiltLayer LayerNormalization(const SpecReader& spec) {
  const std::vector<int64_t> shape = spec.Integers("paramShape");
  const bool scale = spec.Boolean("scale", true);
  const bool center = spec.Boolean("center", true);
  LayerNorm norm(spec.Integers("axes"), spec.Integer("rank"), shape, spec.Number("epsilon"), scale, center);
  BuiltLayer built;
  if (scale) {
    Initialize(norm->gamma, spec.Object("gammaInitializer"), spec.Integer("fanIn"), spec.Integer("fanOut"));
    built.weights.push_back({norm->gamma, WeightLayout::Same, true});
  }
  if (center) {
    Initialize(norm->beta, spec.Object("betaInitializer"), spec.Integer("fanIn"), spec.Integer("fanOut"));
    built.weights.push_back({norm->beta, WeightLayout::Same, true});
  }
  built.module = torch::nn::AnyModule(norm);
  return built;
}

// Keras's GaussianNoise: adds N(0, stddev) noise in training, from the layer's own stream.
class AdditiveGaussianNoiseImpl : public SeededRandomModule {
 public:
  AdditiveGaussianNoiseImpl(double stddev, uint64_t seed) : SeededRandomModule(seed), stddev_(stddev) {}
  torch::Tensor forward(const torch::Tensor& x) {
    if (!is_training() || stddev_ == 0) return x;
    return x + at::empty_like(x).normal_(0.0, stddev_, GeneratorFor(x));
  }

 private:
  double stddev_;
};
TORCH_MODULE(AdditiveGaussianNoise);

BuiltLayer GaussianNoise(const SpecReader& spec) {
  BuiltLayer built;
  built.module = torch::nn::AnyModule(
      AdditiveGaussianNoise(spec.Number("stddev"), static_cast<uint64_t>(spec.Number("seed"))));
  return built;
}

}  // namespace

namespace {
BuiltLayer BuildKind(const std::string& kind, const SpecReader& named) {
  if (kind == "conv2d") return Conv2D(named, WeightLayout::ConvKernel);
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
  if (kind == "depthwise_conv2d") return Conv2D(named, WeightLayout::DepthwiseKernel);
  if (kind == "conv2d_transpose") return Conv2DTranspose(named);
  if (kind == "conv1d") return Conv1D(named);
  if (kind == "zero_padding2d") return ZeroPadding2D(named);
  if (kind == "cropping2d") return Cropping2D(named);
  if (kind == "up_sampling2d") return UpSampling2D(named);
  if (kind == "global_max_pooling2d") return GlobalMaxPooling2D(named);
  if (kind == "max_pooling1d") return OverSteps(MaxPooling2D(named));
  if (kind == "average_pooling1d") return OverSteps(AveragePooling2D(named));
  if (kind == "global_pooling1d") return GlobalPooling1D(named);
  if (kind == "relu") return ReLU(named);
  if (kind == "reshape") return Reshape(named);
  if (kind == "permute") return Permute(named);
  if (kind == "softmax") return Softmax(named);
  if (kind == "prelu") return PReLU(named);
  if (kind == "layer_normalization") return LayerNormalization(named);
  if (kind == "gaussian_noise") return GaussianNoise(named);
  if (std::optional<BuiltLayer> preprocessing = BuildPreprocessingLayer(kind, named)) return std::move(*preprocessing);
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
  if (ReseedPreprocessingStream(layer, seed)) return true;
  auto random = std::dynamic_pointer_cast<SeededRandomModule>(layer.module.ptr());
  if (!random) return false;
  random->Reseed(seed);
  return true;
}

bool CommutesWithMaxPooling(const std::string& name) {
  // relu only. Other activations that never decrease give the same values too, but where they map
  // different inputs to one output (sigmoid and tanh saturating, relu6 clamped at 6) max pooling's
  // gradient can go to another element of the window than in the written order.
  // relu's gradient is zero for every input it maps to 0, so ties there are harmless.
  return name == "relu";
}

torch::Tensor KerasView(const torch::Tensor& weight, const WeightSlot& slot) {
  switch (slot.layout) {
    case WeightLayout::ConvKernel: return weight.permute({2, 3, 1, 0});
    case WeightLayout::DenseKernel: return weight.t();
    case WeightLayout::DepthwiseKernel: {
      // Torch's output channel c * multiplier + m reads input channel c, as TensorFlow's depthwise output.
      const int64_t multiplier = slot.depthMultiplier;
      return weight.reshape({weight.size(0) / multiplier, multiplier, weight.size(2), weight.size(3)}).permute({2, 3, 0, 1});
    }
    case WeightLayout::Conv1DKernel: return weight.permute({2, 1, 0});
    case WeightLayout::Same: break;
  }
  return weight;
}

torch::Tensor ToKerasLayout(const torch::Tensor& weight, const WeightSlot& slot) {
  return KerasView(weight, slot).contiguous();
}

torch::Tensor FromKerasLayout(const torch::Tensor& weight, WeightLayout layout) {
  switch (layout) {
    case WeightLayout::ConvKernel: return weight.permute({3, 2, 0, 1});
    case WeightLayout::DenseKernel: return weight.t();
    case WeightLayout::DepthwiseKernel:
      return weight.permute({2, 3, 0, 1}).reshape({weight.size(2) * weight.size(3), 1, weight.size(0), weight.size(1)});
    case WeightLayout::Conv1DKernel: return weight.permute({2, 1, 0});
    case WeightLayout::Same: break;
  }
  return weight;
}

}  // namespace keras_torch
