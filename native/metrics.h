// Keras's metrics, streaming over an epoch as Keras keeps them: each batch gives sufficient statistics
// (weighted sums, confusion counts at thresholds) that add up over batches, and the metric's value is
// computed from the running totals. Totals stay on the model's device; nothing is read back per metric.
#pragma once

#include <torch/torch.h>

#include "losses.h"

namespace keras_torch {

// The batch's statistics for `metric`: a float64 tensor whose shape depends on the metric alone, so that
// totals are sums. `predictions` are what the model predicts (after any activation folded into the
// loss), `labels` as PrepareLabels shaped them for the output's loss, `sampleWeight` [batch] or undefined.
torch::Tensor MetricStatistics(const MetricSpec& metric, const torch::Tensor& predictions, const torch::Tensor& labels,
                               const torch::Tensor& sampleWeight);

// The metric's value from summed statistics: a 0-dim float64 tensor.
torch::Tensor MetricResult(const MetricSpec& metric, const torch::Tensor& totals);

}  // namespace keras_torch
