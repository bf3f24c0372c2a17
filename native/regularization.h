// Keras's weight and activity regularizers and its weight constraints, as lib/regularizers.ts and
// lib/constraints.ts describe them: penalties a step adds to its loss, projections applied to a weight
// after each optimizer step. Both run inside the native step.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace keras_torch {

struct Regularizer {
  double l1 = 0.0;
  double l2 = 0.0;

  bool active() const { return l1 != 0.0 || l2 != 0.0; }
  // Keras's `l1 * sum(|x|) + l2 * sum(x²)`, a scalar in x's dtype (only the terms with a factor).
  torch::Tensor Penalty(const torch::Tensor& x) const;
};

struct Constraint {
  enum class Kind { None, MinMaxNorm, UnitNorm, NonNeg };
  Kind kind = Kind::None;
  // MinMaxNorm (MaxNorm is one from 0 at rate 1): each slice's norm moves to
  // rate * clip(norm, minValue, maxValue) + (1 - rate) * norm.
  double minValue = 0.0;
  double maxValue = 0.0;
  double rate = 1.0;
  std::vector<int64_t> axes;  // the axes each norm is taken over, on the weight's Keras layout

  bool active() const { return kind != Kind::None; }
  // Projects the weight in place, given a view of it in its Keras layout (layers.h's KerasView).
  void Apply(torch::Tensor kerasView) const;
};

// lib's RegularizerSpec ({l1, l2}); undefined or null is no regularizer.
Regularizer ReadRegularizer(Napi::Value value, const std::string& context);
// lib's ConstraintSpec for a weight of `rank` axes; undefined or null is no constraint.
Constraint ReadConstraint(Napi::Value value, int64_t rank, const std::string& context);

}  // namespace keras_torch
