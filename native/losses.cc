#include "losses.h"

#include <cmath>
#include <stdexcept>

#include "errors.h"

namespace keras_torch {

namespace {

// Keras clips probabilities by its backend epsilon before taking logarithms.
constexpr double kEpsilon = 1e-7;

[[noreturn]] void LabelShapeError(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels,
                                  const std::string& expected) {
  throw std::invalid_argument(config.loss.name + ": expected labels y of shape " + expected + " but received " +
                              ShapeToString(labels.sizes()) + " (model output " + ShapeToString(output.sizes()) + ")");
}

// Losses that compare whole distributions along the class axis: labels have the output's shape exactly.
bool ComparesDistributions(const std::string& name) {
  return name == "categorical_crossentropy" || name == "kl_divergence" || name == "cosine_similarity" ||
         name == "categorical_hinge";
}

// Keras's label smoothing: towards 1/2 for binary labels, towards 1/classes for categorical ones.
torch::Tensor SmoothBinary(const torch::Tensor& labels, double smoothing) {
  return smoothing == 0.0 ? labels : labels * (1.0 - smoothing) + 0.5 * smoothing;
}

// Element-wise binary cross-entropy, on logits (stable) or on clipped probabilities as Keras's backend does.
torch::Tensor BinaryCrossentropy(const torch::Tensor& output, const torch::Tensor& labels, bool logits) {
  if (logits) return torch::binary_cross_entropy_with_logits(output, labels, {}, {}, at::Reduction::None);
  torch::Tensor p = output.clamp(kEpsilon, 1.0 - kEpsilon);
  return -(labels * torch::log(p) + (1 - labels) * torch::log(1 - p));
}

// Keras's hinge losses take -1/1 labels and convert 0/1 labels to them.
torch::Tensor HingeLabels(const torch::Tensor& labels) {
  torch::Tensor binary = ((labels == 0) | (labels == 1)).all();
  return torch::where(binary, 2 * labels - 1, labels);
}

}  // namespace

torch::Tensor PerSample(const torch::Tensor& values) {
  return values.dim() <= 1 ? values : values.flatten(1).mean(1);
}

torch::Tensor PrepareLabels(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels) {
  if (labels.size(0) != output.size(0)) {
    throw std::invalid_argument("expected as many labels as inputs but received " + std::to_string(labels.size(0)) +
                                " labels for " + std::to_string(output.size(0)) + " inputs");
  }
  const std::string& name = config.loss.name;
  if (name == "sparse_categorical_crossentropy") {
    std::vector<int64_t> expected(output.sizes().begin(), output.sizes().end() - 1);
    if (labels.numel() * output.size(-1) != output.numel()) {
      LabelShapeError(config, output, labels, ShapeToString(expected) + " (class indices)");
    }
    torch::Tensor indices = labels.to(torch::kLong).reshape(expected);
    int64_t classes = output.size(-1);
    if (indices.numel() > 0 && (indices.min().item<int64_t>() < 0 || indices.max().item<int64_t>() >= classes)) {
      throw std::invalid_argument(name + ": expected class indices in [0, " + std::to_string(classes - 1) +
                                  "] but received values from " + std::to_string(indices.min().item<int64_t>()) +
                                  " to " + std::to_string(indices.max().item<int64_t>()));
    }
    return indices;
  }
  if (ComparesDistributions(name)) {
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

torch::Tensor PerSampleLoss(const LossSpec& loss, const torch::Tensor& output, const torch::Tensor& labels, bool logits) {
  const std::string& name = loss.name;
  if (name == "binary_crossentropy") {
    return PerSample(BinaryCrossentropy(output, SmoothBinary(labels, loss.labelSmoothing), logits));
  }
  if (name == "binary_focal_crossentropy") {
    torch::Tensor y = SmoothBinary(labels, loss.labelSmoothing);
    torch::Tensor p = logits ? torch::sigmoid(output) : output;
    torch::Tensor probabilityOfTruth = y * p + (1 - y) * (1 - p);
    torch::Tensor focal = torch::pow(1 - probabilityOfTruth, loss.gamma) * BinaryCrossentropy(output, y, logits);
    if (loss.applyClassBalancing) focal = (y * loss.alpha + (1 - y) * (1 - loss.alpha)) * focal;
    return PerSample(focal);
  }
  if (name == "categorical_crossentropy") {
    torch::Tensor y = labels;
    if (loss.labelSmoothing != 0.0) y = y * (1.0 - loss.labelSmoothing) + loss.labelSmoothing / output.size(-1);
    torch::Tensor logProbabilities;
    if (logits) {
      logProbabilities = torch::log_softmax(output, -1);
    } else {
      // Keras renormalises the probabilities before clipping them.
      logProbabilities = torch::log((output / output.sum(-1, true)).clamp(kEpsilon, 1.0 - kEpsilon));
    }
    return PerSample(-(y * logProbabilities).sum(-1));
  }
  if (name == "sparse_categorical_crossentropy") {
    torch::Tensor logProbabilities =
        logits ? torch::log_softmax(output, -1) : torch::log(output.clamp(kEpsilon, 1.0 - kEpsilon));
    return PerSample(-logProbabilities.gather(-1, labels.unsqueeze(-1)).squeeze(-1));
  }
  // The rest compare what the model predicts (no logits form; their outputs are never folded).
  const torch::Tensor& p = output;
  if (name == "mse") return PerSample((p - labels).pow(2));
  if (name == "mae") return PerSample((p - labels).abs());
  if (name == "mape") return PerSample(100.0 * (labels - p).abs() / labels.abs().clamp_min(kEpsilon));
  if (name == "msle") {
    return PerSample((torch::log1p(p.clamp_min(kEpsilon)) - torch::log1p(labels.clamp_min(kEpsilon))).pow(2));
  }
  if (name == "huber") {
    torch::Tensor error = (p - labels).abs();
    return PerSample(torch::where(error <= loss.delta, 0.5 * error.pow(2), loss.delta * error - 0.5 * loss.delta * loss.delta));
  }
  if (name == "log_cosh") {
    // log(cosh(x)) = x + softplus(-2x) - log(2), which does not overflow for large |x|.
    torch::Tensor x = p - labels;
    return PerSample(x + torch::nn::functional::softplus(-2.0 * x) - std::log(2.0));
  }
  if (name == "hinge") return PerSample(torch::relu(1 - HingeLabels(labels) * p));
  if (name == "squared_hinge") return PerSample(torch::relu(1 - HingeLabels(labels) * p).pow(2));
  if (name == "categorical_hinge") {
    torch::Tensor positive = (labels * p).sum(-1);
    torch::Tensor negative = std::get<0>(((1 - labels) * p).max(-1));
    return PerSample(torch::relu(negative - positive + 1));
  }
  if (name == "kl_divergence") {
    torch::Tensor y = labels.clamp(kEpsilon, 1.0);
    return PerSample((y * torch::log(y / p.clamp(kEpsilon, 1.0))).sum(-1));
  }
  if (name == "poisson") return PerSample(p - labels * torch::log(p + kEpsilon));
  if (name == "cosine_similarity") {
    namespace F = torch::nn::functional;
    auto unit = F::NormalizeFuncOptions().p(2).dim(-1).eps(1e-12);
    return PerSample(-(F::normalize(labels, unit) * F::normalize(p, unit)).sum(-1));
  }
  throw std::invalid_argument("unknown loss " + name);
}

torch::Tensor ComputeLoss(const LossConfig& config, const torch::Tensor& output, const torch::Tensor& labels,
                          const torch::Tensor& sampleWeight) {
  // The loss sees logits when the user says the model outputs them, or when it folded the last activation in.
  const bool logits = config.loss.fromLogits || !config.foldedActivation.empty();
  torch::Tensor perSample = PerSampleLoss(config.loss, output, labels, logits);
  // Keras's sum-over-batch-size reduction: weights scale samples, the divisor stays the batch size.
  if (sampleWeight.defined()) return (perSample * sampleWeight.to(perSample.scalar_type())).sum() / perSample.size(0);
  return perSample.mean();
}

}  // namespace keras_torch
