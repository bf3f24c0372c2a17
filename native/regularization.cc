#include "regularization.h"

#include <stdexcept>

#include "spec.h"

namespace keras_torch {

namespace {
// Keras's backend.epsilon(), which its norm constraints add to the divisor.
constexpr double kKerasEpsilon = 1e-7;
}  // namespace

torch::Tensor Regularizer::Penalty(const torch::Tensor& x) const {
  torch::Tensor penalty;
  if (l1 != 0.0) penalty = x.abs().sum() * l1;
  if (l2 != 0.0) {
    torch::Tensor squares = x.square().sum() * l2;
    penalty = penalty.defined() ? penalty + squares : squares;
  }
  return penalty;
}

void Constraint::Apply(torch::Tensor kerasView) const {
  torch::NoGradGuard noGrad;
  switch (kind) {
    case Kind::None:
      return;
    case Kind::NonNeg:
      kerasView.clamp_min_(0);
      return;
    case Kind::UnitNorm: {
      torch::Tensor norms = kerasView.square().sum(axes, /*keepdim=*/true).sqrt_();
      kerasView.div_(norms.add_(kKerasEpsilon));
      return;
    }
    case Kind::MinMaxNorm: {
      torch::Tensor norms = kerasView.square().sum(axes, /*keepdim=*/true).sqrt_();
      torch::Tensor desired = norms.clamp(minValue, maxValue);
      if (rate != 1.0) desired = desired * rate + norms * (1.0 - rate);
      kerasView.mul_(desired.div_(norms.add_(kKerasEpsilon)));
      return;
    }
  }
}

Regularizer ReadRegularizer(Napi::Value value, const std::string& context) {
  Regularizer regularizer;
  if (value.IsUndefined() || value.IsNull()) return regularizer;
  if (!value.IsObject()) throw std::invalid_argument(context + ": expected a regularizer {l1, l2}");
  SpecReader spec(value.As<Napi::Object>(), context);
  regularizer.l1 = spec.Number("l1", 0.0);
  regularizer.l2 = spec.Number("l2", 0.0);
  if (!(regularizer.l1 >= 0.0) || !(regularizer.l2 >= 0.0)) throw std::invalid_argument(context + ": expected non-negative factors");
  return regularizer;
}

Constraint ReadConstraint(Napi::Value value, int64_t rank, const std::string& context) {
  Constraint constraint;
  if (value.IsUndefined() || value.IsNull()) return constraint;
  if (!value.IsObject()) throw std::invalid_argument(context + ": expected a constraint {kind, ...}");
  Napi::Object object = value.As<Napi::Object>();
  SpecReader spec(object, context);
  const std::string kind = spec.String("kind");
  if (kind == "non_neg") {
    constraint.kind = Constraint::Kind::NonNeg;
    return constraint;
  }
  if (kind == "unit_norm") {
    constraint.kind = Constraint::Kind::UnitNorm;
  } else if (kind == "min_max_norm") {
    constraint.kind = Constraint::Kind::MinMaxNorm;
    constraint.minValue = spec.Number("minValue");
    constraint.maxValue = spec.Number("maxValue");
    constraint.rate = spec.Number("rate");
  } else {
    throw std::invalid_argument(context + ": unknown constraint kind " + kind);
  }
  Napi::Value axes = object.Get("axes");
  if (!axes.IsArray() || axes.As<Napi::Array>().Length() == 0) throw std::invalid_argument(context + ": expected axes");
  constraint.axes = spec.Integers("axes", axes.As<Napi::Array>().Length());
  for (int64_t axis : constraint.axes) {
    if (axis < 0 || axis >= rank) throw std::invalid_argument(context + ": an axis is out of the weight's range");
  }
  return constraint;
}

}  // namespace keras_torch
