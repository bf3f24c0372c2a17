// Keras's losses and metrics on libtorch tensors, in Keras's layout (class axis last).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace keras_torch {

// What one output of a model is trained on: its loss, its weight in the total, and its metrics.
struct LossConfig {
  std::string loss;                  // binary_crossentropy, categorical_crossentropy, sparse_..., mse, mae; empty: none
  double weight = 1.0;               // Keras's loss_weights: the output's share of the total loss
  std::vector<std::string> metrics;  // binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, mse, mae
  // The model's last layer is a sigmoid (binary) or softmax (categorical) that the loss folds in, computing
  // on logits as Keras and PyTorch do for numerical stability; empty when the loss sees probabilities.
  std::string foldedActivation;
};

// Labels reshaped and typed for the loss, or std::invalid_argument naming both shapes.
torch::Tensor PrepareLabels(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels);

// The weighted mean loss of a batch; `output` holds logits when config.foldedActivation is set.
// `sampleWeight` is [batch] or undefined.
torch::Tensor ComputeLoss(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels,
                          const torch::Tensor& sampleWeight);

// The batch mean of each metric in config.metrics, as 0-dim tensors on the output's device (read back
// together with the loss, so that a CUDA step synchronises once).
std::vector<torch::Tensor> ComputeMetrics(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels);

// Applies the folded activation, turning logits into what the model's predict returns.
torch::Tensor ApplyFoldedActivation(const LossConfig& config, const torch::Tensor& output);

}  // namespace keras_torch
