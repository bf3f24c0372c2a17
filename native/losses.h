// Keras's losses on libtorch tensors, in Keras's layout (class axis last), and the specs of what each
// output of a model is trained and measured on (the metrics themselves: metrics.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace keras_torch {

// A loss and its options, as lib/losses.ts's Loss objects send them (Keras's argument names in camelCase).
struct LossSpec {
  // binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, mse, mae, mape, msle,
  // huber, log_cosh, hinge, squared_hinge, categorical_hinge, kl_divergence, poisson, cosine_similarity,
  // binary_focal_crossentropy; empty: none
  std::string name;
  bool fromLogits = false;      // the output holds logits (Keras's from_logits)
  double labelSmoothing = 0.0;  // binary and categorical cross-entropy, focal
  double delta = 1.0;           // huber
  double gamma = 2.0;           // binary_focal_crossentropy
  double alpha = 0.25;          // binary_focal_crossentropy, with applyClassBalancing
  bool applyClassBalancing = false;
};

// A metric and its options, as lib/metrics.ts's Metric objects send them.
struct MetricSpec {
  // binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
  // sparse_top_k_categorical_accuracy, precision, recall, auc, f1_score, mean_iou, or a loss name (its mean)
  std::string kind;
  double threshold = 0.5;  // binary_accuracy, precision, recall, f1_score (with hasThreshold)
  bool hasThreshold = true;  // f1_score without a threshold counts each row's largest prediction
  int64_t k = 5;  // top-k accuracies
  int64_t numThresholds = 200;  // auc
  bool precisionRecallCurve = false;  // auc: the PR curve instead of ROC
  std::string summationMethod = "interpolation";  // auc: interpolation, minoring, majoring
  bool fromLogits = false;  // auc, and cross-entropy metrics
  double labelSmoothing = 0.0;  // cross-entropy metrics
  int64_t classId = -1;  // precision, recall: one column of the predictions; -1: all of them
  std::string average = "macro";  // f1_score: micro, macro, weighted
  double beta = 1.0;  // f1_score (F-beta)
  int64_t numClasses = 0;  // mean_iou
  bool sparseYTrue = true, sparseYPred = true;  // mean_iou: class indices (else one score per class)
};

// What one output of a model is trained on: its loss, its weight in the total, and its metrics.
struct LossConfig {
  LossSpec loss;
  double weight = 1.0;              // Keras's loss_weights: the output's share of the total loss
  std::vector<MetricSpec> metrics;  // metrics.h
  // The model's last layer is a sigmoid (binary) or softmax (categorical) that the loss folds in, computing
  // on logits as Keras and PyTorch do for numerical stability; empty when the loss sees probabilities.
  std::string foldedActivation;
};

// Labels reshaped and typed for the loss, or std::invalid_argument naming both shapes.
torch::Tensor PrepareLabels(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels);

// Keras's per-sample loss ([batch]) before reduction; `logits` says whether `output` holds logits (for
// the losses that have a logits form) rather than what the model predicts.
torch::Tensor PerSampleLoss(const LossSpec& loss, const torch::Tensor& output, const torch::Tensor& labels, bool logits);

// The weighted mean loss of a batch; `output` holds logits when config.foldedActivation is set.
// `sampleWeight` is [batch] or undefined.
torch::Tensor ComputeLoss(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels,
                          const torch::Tensor& sampleWeight);

// Applies the folded activation, turning logits into what the model's predict returns.
torch::Tensor ApplyFoldedActivation(const LossConfig& config, const torch::Tensor& output);

// Mean over every axis but the batch axis: Keras's per-sample value.
torch::Tensor PerSample(const torch::Tensor& values);

}  // namespace keras_torch
