#include "losses.h"

#include <stdexcept>

#include "errors.h"

namespace keras_torch {

namespace {

// Keras clips probabilities by its backend epsilon before taking logarithms.
constexpr double kEpsilon = 1e-7;

// Mean over every axis but the batch axis: Keras's per-sample loss.
torch::Tensor PerSample(const torch::Tensor& values) {
  return values.dim() <= 1 ? values : values.flatten(1).mean(1);
}

[[noreturn]] void LabelShapeError(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels,
                                  const std::string& expected) {
  throw std::invalid_argument(config.loss + ": expected labels y of shape " + expected + " but received " +
                              ShapeToString(labels.sizes()) + " (model output " + ShapeToString(output.sizes()) + ")");
}

}  // namespace

torch::Tensor PrepareLabels(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels) {
  if (labels.size(0) != output.size(0)) {
    throw std::invalid_argument("expected as many labels as inputs but received " + std::to_string(labels.size(0)) +
                                " labels for " + std::to_string(output.size(0)) + " inputs");
  }
  if (config.loss == "sparse_categorical_crossentropy") {
    std::vector<int64_t> expected(output.sizes().begin(), output.sizes().end() - 1);
    if (labels.numel() * output.size(-1) != output.numel()) {
      LabelShapeError(config, output, labels, ShapeToString(expected) + " (class indices)");
    }
    torch::Tensor indices = labels.to(torch::kLong).reshape(expected);
    int64_t classes = output.size(-1);
    if (indices.numel() > 0 && (indices.min().item<int64_t>() < 0 || indices.max().item<int64_t>() >= classes)) {
      throw std::invalid_argument(config.loss + ": expected class indices in [0, " + std::to_string(classes - 1) +
                                  "] but received values from " + std::to_string(indices.min().item<int64_t>()) +
                                  " to " + std::to_string(indices.max().item<int64_t>()));
    }
    return indices;
  }
  if (config.loss == "categorical_crossentropy") {
    if (!labels.sizes().equals(output.sizes())) LabelShapeError(config, output, labels, ShapeToString(output.sizes()));
    return labels.to(output.scalar_type());
  }
  // Element-wise losses accept [N] labels for an [N, 1] output, as Keras does.
  if (labels.numel() != output.numel()) LabelShapeError(config, output, labels, ShapeToString(output.sizes()));
  return labels.to(output.scalar_type()).reshape(output.sizes());
}

torch::Tensor ApplyFoldedActivation(const LossConfig& config, const torch::Tensor& output) {
  if (config.foldedActivation == "sigmoid") return torch::sigmoid(output);
  if (config.foldedActivation == "softmax") return torch::softmax(output, -1);
  return output;
}

torch::Tensor ComputeLoss(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels,
                          const torch::Tensor& sampleWeight) {
  const bool logits = !config.foldedActivation.empty();
  torch::Tensor perSample;
  if (config.loss == "binary_crossentropy") {
    torch::Tensor elementwise;
    if (logits) {
      elementwise = torch::binary_cross_entropy_with_logits(output, labels, {}, {}, at::Reduction::None);
    } else {
      torch::Tensor p = output.clamp(kEpsilon, 1.0 - kEpsilon);
      elementwise = -(labels * torch::log(p) + (1 - labels) * torch::log(1 - p));
    }
    perSample = PerSample(elementwise);
  } else if (config.loss == "categorical_crossentropy") {
    torch::Tensor logProbabilities;
    if (logits) {
      logProbabilities = torch::log_softmax(output, -1);
    } else {
      // Keras renormalises the probabilities before clipping them.
      logProbabilities = torch::log((output / output.sum(-1, true)).clamp(kEpsilon, 1.0 - kEpsilon));
    }
    perSample = PerSample(-(labels * logProbabilities).sum(-1));
  } else if (config.loss == "sparse_categorical_crossentropy") {
    torch::Tensor logProbabilities =
        logits ? torch::log_softmax(output, -1) : torch::log(output.clamp(kEpsilon, 1.0 - kEpsilon));
    perSample = PerSample(-logProbabilities.gather(-1, labels.unsqueeze(-1)).squeeze(-1));
  } else if (config.loss == "mse") {
    perSample = PerSample((ApplyFoldedActivation(config, output) - labels).pow(2));
  } else if (config.loss == "mae") {
    perSample = PerSample((ApplyFoldedActivation(config, output) - labels).abs());
  } else {
    throw std::invalid_argument("unknown loss " + config.loss);
  }
  // Keras's sum-over-batch-size reduction: weights scale samples, the divisor stays the batch size.
  if (sampleWeight.defined()) return (perSample * sampleWeight.to(perSample.scalar_type())).sum() / perSample.size(0);
  return perSample.mean();
}

std::vector<torch::Tensor> ComputeMetrics(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels) {
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> values;
  for (const std::string& metric : config.metrics) {
    torch::Tensor value;
    if (metric == "binary_accuracy") {
      // p > 0.5 is logits > 0: no sigmoid needed.
      torch::Tensor predicted = config.foldedActivation == "sigmoid" ? output > 0 : output > 0.5;
      value = (predicted.to(labels.scalar_type()) == labels).to(torch::kFloat).mean();
    } else if (metric == "categorical_accuracy") {
      value = (output.argmax(-1) == labels.argmax(-1)).to(torch::kFloat).mean();
    } else if (metric == "sparse_categorical_accuracy") {
      value = (output.argmax(-1) == labels).to(torch::kFloat).mean();
    } else if (metric == "mse") {
      value = (ApplyFoldedActivation(config, output) - labels.to(output.scalar_type())).pow(2).mean();
    } else if (metric == "mae") {
      value = (ApplyFoldedActivation(config, output) - labels.to(output.scalar_type())).abs().mean();
    } else {
      throw std::invalid_argument("unknown metric " + metric);
    }
    values.push_back(value.to(torch::kFloat64));
  }
  return values;
}

}  // namespace keras_torch
