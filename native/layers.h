// One function per layer kind: a spec from lib/layers becomes a torch::nn module. Modules run on NCHW
// tensors; lib/ speaks channels-last and model.cc converts at the model's edges.
#pragma once

#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <functional>
#include <string>
#include <vector>

#include "regularization.h"

namespace keras_torch {

// libtorch 2's CPU convolutions (oneDNN 3.6 in Debian 13's 2.6) give wrong results on channels-last memory
// for depth multipliers over 1 and some 1x1 shapes, and die of SIGFPE on others; 1.13's do not (README,
// "Testing against libtorch 2.6"). KerasConv2d routes around them; a TorchScript module gets NCHW memory.
constexpr bool kChannelsLastConvolutionsUnsafe = TORCH_VERSION_MAJOR >= 2;

// How a weight is laid out in Keras (what getWeights/setWeights speak) versus in libtorch.
enum class WeightLayout {
  Same,         // biases, batch-norm vectors
  ConvKernel,   // Keras [kh, kw, in, out]  <->  torch [out, in, kh, kw] (also a transposed convolution's
                // [kh, kw, filters, in] <-> [in, filters, kh, kw])
  DenseKernel,  // Keras [in, out]          <->  torch [out, in]
  DepthwiseKernel,  // Keras [kh, kw, in, multiplier]  <->  torch [in * multiplier, 1, kh, kw]
  Conv1DKernel,     // Keras [k, in, out]               <->  torch [out, in, k]
};

// One weight of a built module. The builders say what libtorch knows (the tensor, its layout, whether it
// is a parameter or a buffer); its Keras name comes from lib/'s layer (WeightInfo, the one home of each
// layer's weight names, order and shapes), and graph.cc checks that the two agree.
struct WeightSlot {
  torch::Tensor tensor;  // the module's parameter or buffer itself (moves with the module)
  WeightLayout layout;
  bool parameter;        // a parameter the optimizer updates (unless its layer is frozen), or a buffer
  std::string name = {};  // Keras's name within the layer: "kernel", "bias", "gamma", "moving_mean", ...
  int64_t depthMultiplier = 1;  // DepthwiseKernel only: torch's first axis holds in * depthMultiplier
  // Keras's kernel_regularizer, kernel_constraint, ... of this weight, as lib describes them.
  Regularizer regularizer = {};
  Constraint constraint = {};
};

struct BuiltLayer {
  std::string kind;  // the spec's kind: "conv2d", "activation", "max_pooling2d", ...
  torch::nn::AnyModule module;
  std::vector<WeightSlot> weights;
  std::string activation;  // for an activation module, its name; empty otherwise
  // For a merge layer (Add, Concatenate, ...), which reads several tensors: set instead of `module`. With
  // `overwriteFirst` (inference, and nothing else reads the first input) it may write its result there.
  std::function<torch::Tensor(const std::vector<torch::Tensor>&, bool overwriteFirst)> merge;
};

// Builds the module for one spec ({kind: 'conv2d', ...}). Throws std::invalid_argument on a malformed spec.
BuiltLayer BuildLayer(Napi::Object spec);

// True for an activation that can run after the max pooling that follows it with the same values and
// gradients as before it (relu: it never decreases, and its gradient is zero wherever it ties inputs).
bool CommutesWithMaxPooling(const std::string& name);

// Restarts the random stream of a Dropout, GaussianNoise or random preprocessing module at `seed` (fit does
// so each epoch, so that an epoch's draws depend on the layer's seed and the epoch alone); false for every
// other module.
bool ReseedRandomStream(const BuiltLayer& layer, uint64_t seed);

// Keras layout <-> torch layout for one weight. KerasView is the weight seen in Keras's layout, a view
// where the layout allows (writing into it writes the weight: constraints project through it); add a new
// layout there, and ToKerasLayout, its contiguous copy, follows.
torch::Tensor KerasView(const torch::Tensor& weight, const WeightSlot& slot);
torch::Tensor ToKerasLayout(const torch::Tensor& weight, const WeightSlot& slot);
torch::Tensor FromKerasLayout(const torch::Tensor& weight, WeightLayout layout);

}  // namespace keras_torch
