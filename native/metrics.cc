#include "metrics.h"

#include <stdexcept>

#include "errors.h"

namespace keras_torch {

namespace {

// Keras's backend epsilon, as its metrics add it to denominators.
constexpr double kEpsilon = 1e-7;

bool IsMeanOfPerSampleValues(const std::string& kind) {
  return kind != "precision" && kind != "recall" && kind != "auc" && kind != "f1_score" && kind != "mean_iou";
}

// Keras's divide_no_nan: 0 where the denominator is 0.
torch::Tensor DivideNoNan(const torch::Tensor& numerator, const torch::Tensor& denominator) {
  return torch::where(denominator == 0, torch::zeros_like(numerator), numerator / denominator);
}

// The sample weights broadcast over `values` ([batch, ...]) as float64; ones when there are none.
torch::Tensor BroadcastWeights(const torch::Tensor& sampleWeight, const torch::Tensor& values) {
  if (!sampleWeight.defined()) return torch::ones(values.sizes(), values.options().dtype(torch::kFloat64));
  std::vector<int64_t> shape(values.dim(), 1);
  shape[0] = values.size(0);
  return sampleWeight.to(torch::kFloat64).view(shape).expand(values.sizes());
}

// Class indices from one-hot (or score) rows shaped like the predictions, or from indices as they are.
torch::Tensor ClassIndices(const torch::Tensor& labels, const torch::Tensor& predictions) {
  if (labels.sizes().equals(predictions.sizes()) && predictions.size(-1) > 1) return labels.argmax(-1);
  std::vector<int64_t> shape(predictions.sizes().begin(), predictions.sizes().end() - 1);
  if (labels.numel() * predictions.size(-1) != predictions.numel()) {
    throw std::invalid_argument("expected labels of shape " + ShapeToString(predictions.sizes()) + " or class indices of shape " +
                                ShapeToString(shape) + " but received " + ShapeToString(labels.sizes()));
  }
  return labels.reshape(shape).to(torch::kLong);
}

// Labels shaped like the predictions: class indices become one-hot rows.
torch::Tensor DenseLabels(const torch::Tensor& labels, const torch::Tensor& predictions) {
  if (labels.scalar_type() == torch::kLong && !labels.sizes().equals(predictions.sizes())) {
    return torch::one_hot(labels, predictions.size(-1)).to(predictions.scalar_type());
  }
  return labels.to(predictions.scalar_type()).reshape(predictions.sizes());
}

// Keras's per-sample value of a metric that is the mean of one ([batch]).
torch::Tensor PerSampleValue(const MetricSpec& metric, const torch::Tensor& predictions, const torch::Tensor& labels) {
  const std::string& kind = metric.kind;
  if (kind == "binary_accuracy") {
    torch::Tensor dense = DenseLabels(labels, predictions);
    return PerSample(((predictions > metric.threshold).to(dense.scalar_type()) == dense).to(torch::kFloat64));
  }
  if (kind == "categorical_accuracy" || kind == "sparse_categorical_accuracy") {
    return PerSample((predictions.argmax(-1) == ClassIndices(labels, predictions)).to(torch::kFloat64));
  }
  if (kind == "top_k_categorical_accuracy" || kind == "sparse_top_k_categorical_accuracy") {
    const int64_t k = std::min(metric.k, predictions.size(-1));
    torch::Tensor kthLargest = std::get<0>(predictions.topk(k, -1)).select(-1, k - 1);
    torch::Tensor truth = predictions.gather(-1, ClassIndices(labels, predictions).unsqueeze(-1)).squeeze(-1);
    return PerSample((truth >= kthLargest).to(torch::kFloat64));
  }
  // The mean of a loss over the epoch (Keras's metric classes of the same names).
  LossSpec loss;
  loss.name = kind;
  loss.fromLogits = metric.fromLogits;
  loss.labelSmoothing = metric.labelSmoothing;
  if (kind == "sparse_categorical_crossentropy") {
    return PerSampleLoss(loss, predictions, ClassIndices(labels, predictions), metric.fromLogits);
  }
  torch::Tensor dense = DenseLabels(labels, predictions);
  // Keras's CosineSimilarity metric is the similarity itself; the loss is its negative.
  if (kind == "cosine_similarity") return -PerSampleLoss(loss, predictions, dense, false);
  return PerSampleLoss(loss, predictions, dense, metric.fromLogits);
}

// Keras's AUC thresholds: evenly spaced in (0, 1), with the ends just outside [0, 1].
torch::Tensor AucThresholds(int64_t count, const torch::TensorOptions& options) {
  std::vector<double> values{-kEpsilon};
  for (int64_t i = 1; i < count - 1; ++i) values.push_back(static_cast<double>(i) / static_cast<double>(count - 1));
  values.push_back(1.0 + kEpsilon);
  return torch::tensor(values, torch::kFloat64).to(options.dtype(torch::kFloat32));
}

// Keras's AUC.result: the Riemann sum of the ROC or PR curve over the thresholds.
torch::Tensor AucResult(const MetricSpec& metric, const torch::Tensor& totals) {
  using torch::indexing::None;
  using torch::indexing::Slice;
  torch::Tensor tp = totals[0], fp = totals[1], tn = totals[2], fn = totals[3];
  const auto head = Slice(None, -1), tail = Slice(1, None);
  if (metric.precisionRecallCurve && metric.summationMethod == "interpolation") {
    // Davis & Goadrich's interpolation of the PR curve between thresholds.
    torch::Tensor dtp = tp.index({head}) - tp.index({tail});
    torch::Tensor predictedPositive = tp + fp;
    torch::Tensor dp = predictedPositive.index({head}) - predictedPositive.index({tail});
    torch::Tensor slope = DivideNoNan(dtp, dp.clamp_min(0));
    torch::Tensor intercept = tp.index({tail}) - slope * predictedPositive.index({tail});
    torch::Tensor bothPositive = (predictedPositive.index({head}) > 0) & (predictedPositive.index({tail}) > 0);
    torch::Tensor ratio = torch::where(bothPositive, DivideNoNan(predictedPositive.index({head}), predictedPositive.index({tail}).clamp_min(0)),
                                       torch::ones_like(dtp));
    torch::Tensor increments = DivideNoNan(slope * (dtp + intercept * torch::log(ratio)), (tp.index({tail}) + fn.index({tail})).clamp_min(0));
    return increments.sum();
  }
  torch::Tensor recall = DivideNoNan(tp, tp + fn);
  torch::Tensor x, y;
  if (metric.precisionRecallCurve) {
    x = recall;
    y = DivideNoNan(tp, tp + fp);
  } else {
    x = DivideNoNan(fp, fp + tn);
    y = recall;
  }
  torch::Tensor heights;
  if (metric.summationMethod == "minoring") {
    heights = torch::minimum(y.index({head}), y.index({tail}));
  } else if (metric.summationMethod == "majoring") {
    heights = torch::maximum(y.index({head}), y.index({tail}));
  } else {
    heights = (y.index({head}) + y.index({tail})) / 2;
  }
  return ((x.index({head}) - x.index({tail})) * heights).sum();
}

torch::Tensor F1Result(const MetricSpec& metric, const torch::Tensor& totals) {
  torch::Tensor tp = totals[0], fp = totals[1], fn = totals[2], support = totals[3];
  if (metric.average == "micro") {
    tp = tp.sum();
    fp = fp.sum();
    fn = fn.sum();
  }
  torch::Tensor precision = tp / (tp + fp + kEpsilon);
  torch::Tensor recall = tp / (tp + fn + kEpsilon);
  const double betaSquared = metric.beta * metric.beta;
  torch::Tensor score = (precision * recall) / (betaSquared * precision + recall + kEpsilon) * (1 + betaSquared);
  if (metric.average == "weighted") return (score * (support / (support.sum() + kEpsilon))).sum();
  return score.mean();
}

torch::Tensor MeanIouResult(const MetricSpec& metric, const torch::Tensor& totals) {
  torch::Tensor confusion = totals.view({metric.numClasses, metric.numClasses});
  torch::Tensor truePositives = confusion.diagonal();
  torch::Tensor denominator = confusion.sum(0) + confusion.sum(1) - truePositives;
  torch::Tensor validClasses = (denominator != 0).sum().to(torch::kFloat64);
  return DivideNoNan(DivideNoNan(truePositives, denominator).sum(), validClasses);
}

}  // namespace

torch::Tensor MetricStatistics(const MetricSpec& metric, const torch::Tensor& predictions, const torch::Tensor& labels,
                               const torch::Tensor& sampleWeight) {
  torch::NoGradGuard noGrad;
  const std::string& kind = metric.kind;
  if (IsMeanOfPerSampleValues(kind)) {
    torch::Tensor values = PerSampleValue(metric, predictions, labels).to(torch::kFloat64);
    torch::Tensor weights = BroadcastWeights(sampleWeight, values);
    return torch::stack({(values * weights).sum(), weights.sum()});
  }
  if (kind == "precision" || kind == "recall") {
    torch::Tensor scores = predictions, truth = DenseLabels(labels, predictions);
    if (metric.classId >= 0) {
      scores = scores.select(-1, metric.classId);
      truth = truth.select(-1, metric.classId);
    }
    torch::Tensor weights = BroadcastWeights(sampleWeight, scores);
    torch::Tensor predictedPositive = (scores > metric.threshold).to(torch::kFloat64);
    torch::Tensor positive = (truth != 0).to(torch::kFloat64);
    torch::Tensor truePositives = (predictedPositive * positive * weights).sum();
    torch::Tensor other = kind == "precision" ? (predictedPositive * (1 - positive) * weights).sum()
                                              : ((1 - predictedPositive) * positive * weights).sum();
    return torch::stack({truePositives, other});
  }
  if (kind == "auc") {
    torch::Tensor scores = metric.fromLogits ? torch::sigmoid(predictions) : predictions;
    torch::Tensor weights = BroadcastWeights(sampleWeight, scores).flatten();
    torch::Tensor positive = (DenseLabels(labels, predictions) != 0).flatten().to(torch::kFloat64) * weights;
    torch::Tensor negative = weights - positive;
    // Above each threshold ([thresholds, elements]); one product counts the weighted positives above each.
    torch::Tensor above = (scores.flatten().to(torch::kFloat32).unsqueeze(0) >
                           AucThresholds(metric.numThresholds, scores.options()).unsqueeze(1))
                              .to(torch::kFloat64);
    torch::Tensor tp = above.matmul(positive), fp = above.matmul(negative);
    return torch::stack({tp, fp, negative.sum() - fp, positive.sum() - tp});
  }
  if (kind == "f1_score") {
    if (predictions.dim() != 2) {
      throw std::invalid_argument("f1_score: expected predictions of shape [batch, classes] but received " +
                                  ShapeToString(predictions.sizes()));
    }
    torch::Tensor truth = DenseLabels(labels, predictions).to(torch::kFloat64);
    torch::Tensor predicted = metric.hasThreshold ? predictions > metric.threshold
                                                  : predictions >= std::get<0>(predictions.max(-1, /*keepdim=*/true));
    torch::Tensor positive = predicted.to(torch::kFloat64);
    torch::Tensor weights = BroadcastWeights(sampleWeight, truth);
    return torch::stack({(positive * truth * weights).sum(0), (positive * (1 - truth) * weights).sum(0),
                         ((1 - positive) * truth * weights).sum(0), (truth * weights).sum(0)});
  }
  if (kind == "mean_iou") {
    const int64_t classes = metric.numClasses;
    torch::Tensor truth = metric.sparseYTrue ? labels.reshape({labels.size(0), -1}) : ClassIndices(labels, predictions);
    torch::Tensor predicted = metric.sparseYPred ? predictions.reshape({predictions.size(0), -1}) : predictions.argmax(-1);
    truth = truth.reshape({truth.size(0), -1}).to(torch::kLong);
    predicted = predicted.reshape({predicted.size(0), -1}).to(torch::kLong);
    if (!truth.sizes().equals(predicted.sizes())) {
      throw std::invalid_argument("mean_iou: expected as many labels as predictions per sample but received " +
                                  ShapeToString(truth.sizes()) + " labels for " + ShapeToString(predicted.sizes()) + " predictions");
    }
    torch::Tensor lowest = torch::minimum(truth.min(), predicted.min()), highest = torch::maximum(truth.max(), predicted.max());
    if (truth.numel() > 0 && (lowest.item<int64_t>() < 0 || highest.item<int64_t>() >= classes)) {
      throw std::invalid_argument("mean_iou: expected class indices in [0, " + std::to_string(classes - 1) +
                                  "] but received values from " + std::to_string(lowest.item<int64_t>()) + " to " +
                                  std::to_string(highest.item<int64_t>()));
    }
    torch::Tensor weights = BroadcastWeights(sampleWeight, truth.to(torch::kFloat64)).flatten();
    torch::Tensor cells = (truth * classes + predicted).flatten();
    return torch::zeros({classes * classes}, weights.options()).index_add_(0, cells, weights);
  }
  throw std::invalid_argument("unknown metric " + kind);
}

torch::Tensor MetricResult(const MetricSpec& metric, const torch::Tensor& totals) {
  torch::NoGradGuard noGrad;
  const std::string& kind = metric.kind;
  if (IsMeanOfPerSampleValues(kind) || kind == "precision" || kind == "recall") {
    // Means keep [weighted sum, weights]; precision [tp, fp] and recall [tp, fn] divide tp by the sum of both.
    torch::Tensor denominator = IsMeanOfPerSampleValues(kind) ? totals[1] : totals[0] + totals[1];
    return DivideNoNan(totals[0], denominator);
  }
  if (kind == "auc") return AucResult(metric, totals);
  if (kind == "f1_score") return F1Result(metric, totals);
  if (kind == "mean_iou") return MeanIouResult(metric, totals);
  throw std::invalid_argument("unknown metric " + kind);
}

}  // namespace keras_torch
