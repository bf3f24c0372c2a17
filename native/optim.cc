#include "optim.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "errors.h"
#include "spec.h"

namespace keras_torch {

namespace {

// libtorch keys per-parameter state by the parameter's TensorImpl: a string of its address in 1.x, the
// pointer itself in 2.x.
template <typename Map>
typename Map::key_type StateKey(const Map&, const torch::Tensor& parameter) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    // 1.x's own key text (what c10::guts::to_string produced; 2.x dropped that helper).
    std::ostringstream key;
    key << parameter.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<Key>(parameter.unsafeGetTensorImpl());
  }
}

// Keras 3's update rules that torch::optim lacks (Adamax and Lion) or computes with another schedule of
// momentum (PyTorch's NAdam decays its momentum over steps differently).
enum class KerasRule { Nadam, Adamax, Lion };

struct KerasRuleOptions : public torch::optim::OptimizerCloneableOptions<KerasRuleOptions> {
  double learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7;
  double get_lr() const override { return learningRate; }
  void set_lr(const double value) override { learningRate = value; }
};

struct KerasRuleState : public torch::optim::OptimizerCloneableParamState<KerasRuleState> {
  int64_t step = 0;
  torch::Tensor momentum;  // every rule's first moment
  torch::Tensor second;    // Nadam's velocity, Adamax's infinity norm; undefined for Lion
  double momentumProduct = 1;  // Nadam's product of the momentum schedule up to `step`
};

// Nadam's momentum at step t: beta1 * (1 - 0.5 * 0.96^t).
double NadamMomentum(double beta1, double t) { return beta1 * (1.0 - 0.5 * std::pow(0.96, t)); }

double NadamMomentumProduct(double beta1, int64_t steps) {
  double product = 1;
  for (int64_t t = 1; t <= steps; ++t) product *= NadamMomentum(beta1, static_cast<double>(t));
  return product;
}

// State tensor names in a model file, PyTorch's where it has the rule.
const char* SecondStateName(KerasRule rule) { return rule == KerasRule::Nadam ? "exp_avg_sq" : "exp_inf"; }

class KerasRuleOptimizer : public torch::optim::Optimizer {
 public:
  KerasRuleOptimizer(KerasRule rule, std::vector<torch::Tensor> parameters, const KerasRuleOptions& options)
      : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(std::move(parameters))},
                                std::make_unique<KerasRuleOptions>(options)),
        rule_(rule) {}

  KerasRule rule() const { return rule_; }

  torch::Tensor step(LossClosure closure = nullptr) override {
    torch::NoGradGuard noGrad;
    torch::Tensor loss;
    if (closure != nullptr) {
      at::AutoGradMode enableGrad(true);
      loss = closure();
    }
    for (auto& group : param_groups()) {
      const auto& options = static_cast<const KerasRuleOptions&>(group.options());
      for (auto& parameter : group.params()) {
        if (!parameter.grad().defined()) continue;
        Update(parameter, parameter.grad(), options);
      }
    }
    return loss;
  }

 private:
  void Update(torch::Tensor& parameter, const torch::Tensor& gradient, const KerasRuleOptions& options) {
    auto& states = state();
    auto key = StateKey(states, parameter);
    auto found = states.find(key);
    if (found == states.end()) {
      auto fresh = std::make_unique<KerasRuleState>();
      fresh->momentum = torch::zeros_like(parameter, torch::MemoryFormat::Preserve);
      if (rule_ != KerasRule::Lion) fresh->second = torch::zeros_like(parameter, torch::MemoryFormat::Preserve);
      found = states.emplace(key, std::move(fresh)).first;
    }
    auto& record = static_cast<KerasRuleState&>(*found->second);
    record.step += 1;
    const double t = static_cast<double>(record.step);
    const double lr = options.learningRate, beta1 = options.beta1, beta2 = options.beta2;
    torch::Tensor& m = record.momentum;
    switch (rule_) {
      case KerasRule::Nadam: {
        const double momentumNow = NadamMomentum(beta1, t), momentumNext = NadamMomentum(beta1, t + 1);
        record.momentumProduct *= momentumNow;
        const double productNext = record.momentumProduct * momentumNext;
        m.lerp_(gradient, 1 - beta1);
        record.second.mul_(beta2).addcmul_(gradient, gradient, 1 - beta2);
        torch::Tensor mHat = m * (momentumNext / (1 - productNext)) + gradient * ((1 - momentumNow) / (1 - record.momentumProduct));
        torch::Tensor vHat = record.second / (1 - std::pow(beta2, t));
        parameter.sub_(mHat * lr / (vHat.sqrt() + options.epsilon));
        break;
      }
      case KerasRule::Adamax: {
        m.lerp_(gradient, 1 - beta1);
        record.second = torch::maximum(record.second * beta2, gradient.abs());
        parameter.sub_(m * lr / ((1 - std::pow(beta1, t)) * (record.second + options.epsilon)));
        break;
      }
      case KerasRule::Lion: {
        parameter.sub_((m * beta1 + gradient * (1 - beta1)).sign() * lr);
        m.mul_(beta2).add_(gradient, 1 - beta2);
        break;
      }
    }
  }

  KerasRule rule_;
};

}  // namespace

std::unique_ptr<torch::optim::Optimizer> BuildOptimizer(Napi::Object object, std::vector<torch::Tensor> parameters) {
  SpecReader config(object, "optimizer");
  std::string name = config.String("name");
  double learningRate = config.Number("learningRate");
  // AdamW is Adam with Keras's decoupled weight decay, which every optimizer applies (ApplyUpdate).
  if (name == "adam" || name == "adamw") {
    auto betas = std::make_tuple(config.Number("beta1"), config.Number("beta2"));
    return std::make_unique<torch::optim::Adam>(
        parameters, torch::optim::AdamOptions(learningRate).betas(betas).eps(config.Number("epsilon"))
                        .amsgrad(config.Boolean("amsgrad", false)));
  }
  if (name == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(learningRate).momentum(config.Number("momentum", 0.0))
                        .nesterov(config.Boolean("nesterov", false)));
  }
  if (name == "rmsprop") {
    return std::make_unique<torch::optim::RMSprop>(
        parameters, torch::optim::RMSpropOptions(learningRate).alpha(config.Number("rho")).eps(config.Number("epsilon"))
                        .momentum(config.Number("momentum", 0.0)).centered(config.Boolean("centered", false)));
  }
  if (name == "adagrad") {
    return std::make_unique<torch::optim::Adagrad>(
        parameters, torch::optim::AdagradOptions(learningRate).eps(config.Number("epsilon"))
                        .initial_accumulator_value(config.Number("initialAccumulatorValue")));
  }
  if (name == "nadam" || name == "adamax" || name == "lion") {
    KerasRuleOptions options;
    options.learningRate = learningRate;
    options.beta1 = config.Number("beta1");
    options.beta2 = config.Number("beta2");
    options.epsilon = config.Number("epsilon", 0.0);
    KerasRule rule = name == "nadam" ? KerasRule::Nadam : name == "adamax" ? KerasRule::Adamax : KerasRule::Lion;
    return std::make_unique<KerasRuleOptimizer>(rule, std::move(parameters), options);
  }
  throw std::invalid_argument("optimizer: unknown name " + name);
}

LearningRateSchedule ReadLearningRateSchedule(Napi::Object object) {
  SpecReader spec(object, "learning rate schedule");
  LearningRateSchedule schedule;
  schedule.className = spec.String("className");
  auto numbers = [&](const char* key) {
    std::vector<double> result;
    Napi::Array array = spec.Object(key).As<Napi::Array>();
    for (uint32_t i = 0; i < array.Length(); ++i) result.push_back(array.Get(i).As<Napi::Number>().DoubleValue());
    return result;
  };
  const std::string& kind = schedule.className;
  if (kind == "PiecewiseConstantDecay") {
    schedule.boundaries = numbers("boundaries");
    schedule.values = numbers("values");
    if (schedule.values.size() != schedule.boundaries.size() + 1) {
      throw std::invalid_argument("PiecewiseConstantDecay: expected one more value than boundaries");
    }
    return schedule;
  }
  schedule.initialLearningRate = spec.Number("initialLearningRate");
  schedule.decaySteps = spec.Number(kind == "CosineDecayRestarts" ? "firstDecaySteps" : "decaySteps");
  if (kind == "ExponentialDecay" || kind == "InverseTimeDecay") {
    schedule.decayRate = spec.Number("decayRate");
    schedule.staircase = spec.Boolean("staircase", false);
  } else if (kind == "PolynomialDecay") {
    schedule.endLearningRate = spec.Number("endLearningRate");
    schedule.power = spec.Number("power");
    schedule.cycle = spec.Boolean("cycle", false);
  } else if (kind == "CosineDecay") {
    schedule.alpha = spec.Number("alpha");
    if (spec.Has("warmupTarget")) schedule.warmupTarget = spec.Number("warmupTarget");
    schedule.warmupSteps = spec.Number("warmupSteps");
  } else if (kind == "CosineDecayRestarts") {
    schedule.alpha = spec.Number("alpha");
    schedule.tMul = spec.Number("tMul");
    schedule.mMul = spec.Number("mMul");
  } else {
    throw std::invalid_argument("learning rate schedule: unknown className " + kind);
  }
  return schedule;
}

namespace {
double CosineDecayed(double fraction, double alpha) { return (1 - alpha) * 0.5 * (1 + std::cos(M_PI * fraction)) + alpha; }
}  // namespace

double ScheduledLearningRate(const LearningRateSchedule& schedule, double step) {
  const std::string& kind = schedule.className;
  const double initial = schedule.initialLearningRate, decaySteps = schedule.decaySteps;
  if (kind == "ExponentialDecay" || kind == "InverseTimeDecay") {
    double progress = step / decaySteps;
    if (schedule.staircase) progress = std::floor(progress);
    return kind == "ExponentialDecay" ? initial * std::pow(schedule.decayRate, progress)
                                      : initial / (1 + schedule.decayRate * progress);
  }
  if (kind == "PiecewiseConstantDecay") {
    // values[i] while step <= boundaries[i]; the last value after the last boundary.
    for (size_t i = 0; i < schedule.boundaries.size(); ++i) {
      if (step <= schedule.boundaries[i]) return schedule.values[i];
    }
    return schedule.values.back();
  }
  if (kind == "PolynomialDecay") {
    double steps = decaySteps;
    if (schedule.cycle) {
      steps *= step == 0 ? 1.0 : std::ceil(step / decaySteps);
    } else {
      step = std::min(step, decaySteps);
    }
    return (initial - schedule.endLearningRate) * std::pow(1 - step / steps, schedule.power) + schedule.endLearningRate;
  }
  if (kind == "CosineDecay") {
    if (!schedule.warmupTarget) return initial * CosineDecayed(std::min(step, decaySteps) / decaySteps, schedule.alpha);
    const double target = *schedule.warmupTarget, warmupSteps = schedule.warmupSteps;
    step = std::min(step, decaySteps + warmupSteps);
    if (step < warmupSteps) return (target - initial) * (step / warmupSteps) + initial;
    return target * CosineDecayed((step - warmupSteps) / decaySteps, schedule.alpha);
  }
  // CosineDecayRestarts: each period is tMul times longer than the one before and starts mMul times lower.
  double fraction = step / decaySteps, restart;
  const double tMul = schedule.tMul;
  if (tMul == 1.0) {
    restart = std::floor(fraction);
    fraction -= restart;
  } else {
    restart = std::floor(std::log(1.0 - fraction * (1.0 - tMul)) / std::log(tMul));
    const double elapsed = (1.0 - std::pow(tMul, restart)) / (1.0 - tMul);
    fraction = (fraction - elapsed) / std::pow(tMul, restart);
  }
  const double decayed = 0.5 * std::pow(schedule.mMul, restart) * (1.0 + std::cos(M_PI * fraction));
  return initial * ((1 - schedule.alpha) * decayed + schedule.alpha);
}

Napi::Value ScheduleLearningRate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guard(env, "scheduleLearningRate", [&] {
    if (info.Length() != 2 || !info[0].IsObject() || !info[1].IsNumber()) {
      throw Napi::TypeError::New(env, "scheduleLearningRate: expected (spec, step)");
    }
    return Napi::Number::New(env, ScheduledLearningRate(ReadLearningRateSchedule(info[0].As<Napi::Object>()),
                                                        info[1].As<Napi::Number>().DoubleValue()));
  });
}

UpdateRules ReadUpdateRules(Napi::Object object) {
  SpecReader config(object, "optimizer");
  UpdateRules rules;
  if (config.Has("schedule")) rules.schedule = ReadLearningRateSchedule(config.Object("schedule"));
  rules.clipnorm = config.Number("clipnorm", 0.0);
  rules.globalClipnorm = config.Number("globalClipnorm", 0.0);
  rules.clipvalue = config.Number("clipvalue", 0.0);
  rules.weightDecay = config.Number("weightDecay", 0.0);
  return rules;
}

void FollowSchedule(torch::optim::Optimizer& optimizer, const UpdateRules& rules, int64_t iterations) {
  if (rules.schedule) SetLearningRate(optimizer, ScheduledLearningRate(*rules.schedule, static_cast<double>(iterations)));
}

namespace {
// Keras's clip_by_norm: g * clip / max(||g||, clip), on the device (no synchronisation); a NaN norm stays NaN.
void ClipByNorm(const std::vector<torch::Tensor>& gradients, const torch::Tensor& norm, double clip) {
  torch::Tensor scale = clip / torch::clamp_min(norm, clip);
  for (const torch::Tensor& gradient : gradients) gradient.mul_(scale);
}
}  // namespace

void ApplyUpdate(torch::optim::Optimizer& optimizer, const UpdateRules& rules, int64_t& iterations) {
  torch::NoGradGuard noGrad;
  FollowSchedule(optimizer, rules, iterations);
  std::vector<torch::Tensor> parameters, gradients;
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) {
      if (!parameter.grad().defined()) continue;
      parameters.push_back(parameter);
      gradients.push_back(parameter.mutable_grad());
    }
  }
  // One kind of clipping at most (lib/optimizers.ts refuses more), in Keras's order of precedence.
  if (rules.clipnorm > 0) {
    for (const torch::Tensor& gradient : gradients) ClipByNorm({gradient}, gradient.norm(), rules.clipnorm);
  } else if (rules.globalClipnorm > 0 && !gradients.empty()) {
    std::vector<torch::Tensor> squares;
    for (const torch::Tensor& gradient : gradients) squares.push_back(gradient.square().sum());
    ClipByNorm(gradients, torch::stack(squares).sum().sqrt(), rules.globalClipnorm);
  } else if (rules.clipvalue > 0) {
    for (const torch::Tensor& gradient : gradients) gradient.clamp_(-rules.clipvalue, rules.clipvalue);
  }
  if (rules.weightDecay > 0) {
    const double decay = rules.weightDecay * LearningRate(optimizer);
    for (torch::Tensor& parameter : parameters) parameter.sub_(parameter * decay);
  }
  optimizer.step();
  ++iterations;
  FollowSchedule(optimizer, rules, iterations);
}

double LearningRate(const torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups().at(0).options().get_lr();
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double learningRate) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(learningRate);
}

namespace {
void VisitIfDefined(torch::Tensor& tensor, const std::function<void(torch::Tensor&)>& visit) {
  if (tensor.defined()) visit(tensor);
}
}  // namespace

void ForEachStateTensor(torch::optim::Optimizer& optimizer, const std::function<void(torch::Tensor&)>& visit) {
  for (auto& entry : optimizer.state()) {
    torch::optim::OptimizerParamState* state = entry.second.get();
    if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state)) {
      torch::Tensor first = adam->exp_avg(), second = adam->exp_avg_sq(), maxSecond = adam->max_exp_avg_sq();
      VisitIfDefined(first, visit), VisitIfDefined(second, visit), VisitIfDefined(maxSecond, visit);
      adam->exp_avg(first), adam->exp_avg_sq(second), adam->max_exp_avg_sq(maxSecond);
    } else if (auto* keras = dynamic_cast<KerasRuleState*>(state)) {
      VisitIfDefined(keras->momentum, visit), VisitIfDefined(keras->second, visit);
    } else if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state)) {
      torch::Tensor momentum = sgd->momentum_buffer();
      VisitIfDefined(momentum, visit);
      sgd->momentum_buffer(momentum);
    } else if (auto* rmsprop = dynamic_cast<torch::optim::RMSpropParamState*>(state)) {
      torch::Tensor square = rmsprop->square_avg(), momentum = rmsprop->momentum_buffer(), mean = rmsprop->grad_avg();
      VisitIfDefined(square, visit), VisitIfDefined(momentum, visit), VisitIfDefined(mean, visit);
      rmsprop->square_avg(square), rmsprop->momentum_buffer(momentum), rmsprop->grad_avg(mean);
    } else if (auto* adagrad = dynamic_cast<torch::optim::AdagradParamState*>(state)) {
      torch::Tensor sum = adagrad->sum();
      VisitIfDefined(sum, visit);
      adagrad->sum(sum);
    }
  }
}

namespace {

const torch::Tensor& Require(const ParamStateRecord& record, const std::string& name, const torch::Tensor& parameter) {
  for (const auto& entry : record.tensors) {
    if (entry.first != name) continue;
    if (!entry.second.sizes().equals(parameter.sizes())) {
      throw std::invalid_argument("optimizer state " + name + " has shape " + c10::str(entry.second.sizes()) +
                                  " but its parameter has shape " + c10::str(parameter.sizes()));
    }
    return entry.second;
  }
  throw std::invalid_argument("optimizer state " + name + " is missing");
}

torch::Tensor Optional(const ParamStateRecord& record, const std::string& name, const torch::Tensor& parameter) {
  for (const auto& entry : record.tensors) {
    if (entry.first == name) return Require(record, name, parameter);
  }
  return torch::Tensor();
}

void Add(ParamStateRecord& record, const char* name, const torch::Tensor& tensor) {
  if (tensor.defined()) record.tensors.emplace_back(name, tensor);
}

torch::Tensor Placed(const torch::Tensor& value, const torch::Tensor& parameter) {
  return value.defined() ? value.to(parameter.device(), parameter.scalar_type()).clone() : value;
}

}  // namespace

bool ReadParamState(torch::optim::Optimizer& optimizer, const torch::Tensor& parameter, ParamStateRecord& record) {
  auto& states = optimizer.state();
  auto found = states.find(StateKey(states, parameter));
  if (found == states.end()) return false;
  torch::optim::OptimizerParamState* state = found->second.get();
  if (auto* adam = dynamic_cast<torch::optim::AdamParamState*>(state)) {
    record.step = adam->step();
    Add(record, "exp_avg", adam->exp_avg()), Add(record, "exp_avg_sq", adam->exp_avg_sq());
    Add(record, "max_exp_avg_sq", adam->max_exp_avg_sq());
  } else if (auto* keras = dynamic_cast<KerasRuleState*>(state)) {
    record.step = keras->step;
    Add(record, "exp_avg", keras->momentum);
    Add(record, SecondStateName(static_cast<KerasRuleOptimizer&>(optimizer).rule()), keras->second);
  } else if (auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state)) {
    Add(record, "momentum_buffer", sgd->momentum_buffer());
  } else if (auto* rmsprop = dynamic_cast<torch::optim::RMSpropParamState*>(state)) {
    record.step = rmsprop->step();
    Add(record, "square_avg", rmsprop->square_avg()), Add(record, "momentum_buffer", rmsprop->momentum_buffer());
    Add(record, "grad_avg", rmsprop->grad_avg());
  } else if (auto* adagrad = dynamic_cast<torch::optim::AdagradParamState*>(state)) {
    record.step = adagrad->step();
    Add(record, "sum", adagrad->sum());
  } else {
    return false;
  }
  return true;
}

void WriteParamState(torch::optim::Optimizer& optimizer, const torch::Tensor& parameter, const ParamStateRecord& record) {
  std::unique_ptr<torch::optim::OptimizerParamState> state;
  if (dynamic_cast<torch::optim::Adam*>(&optimizer) != nullptr) {
    auto adam = std::make_unique<torch::optim::AdamParamState>();
    adam->step(record.step);
    adam->exp_avg(Placed(Require(record, "exp_avg", parameter), parameter));
    adam->exp_avg_sq(Placed(Require(record, "exp_avg_sq", parameter), parameter));
    adam->max_exp_avg_sq(Placed(Optional(record, "max_exp_avg_sq", parameter), parameter));
    state = std::move(adam);
  } else if (auto* keras = dynamic_cast<KerasRuleOptimizer*>(&optimizer)) {
    auto restored = std::make_unique<KerasRuleState>();
    restored->step = record.step;
    restored->momentum = Placed(Require(record, "exp_avg", parameter), parameter);
    if (keras->rule() != KerasRule::Lion) {
      restored->second = Placed(Require(record, SecondStateName(keras->rule()), parameter), parameter);
    }
    if (keras->rule() == KerasRule::Nadam) {
      const double beta1 = static_cast<const KerasRuleOptions&>(keras->param_groups().at(0).options()).beta1;
      restored->momentumProduct = NadamMomentumProduct(beta1, record.step);
    }
    state = std::move(restored);
  } else if (dynamic_cast<torch::optim::SGD*>(&optimizer) != nullptr) {
    auto sgd = std::make_unique<torch::optim::SGDParamState>();
    sgd->momentum_buffer(Placed(Optional(record, "momentum_buffer", parameter), parameter));
    state = std::move(sgd);
  } else if (dynamic_cast<torch::optim::RMSprop*>(&optimizer) != nullptr) {
    auto rmsprop = std::make_unique<torch::optim::RMSpropParamState>();
    rmsprop->step(record.step);
    rmsprop->square_avg(Placed(Require(record, "square_avg", parameter), parameter));
    rmsprop->momentum_buffer(Placed(Optional(record, "momentum_buffer", parameter), parameter));
    rmsprop->grad_avg(Placed(Optional(record, "grad_avg", parameter), parameter));
    state = std::move(rmsprop);
  } else if (dynamic_cast<torch::optim::Adagrad*>(&optimizer) != nullptr) {
    auto adagrad = std::make_unique<torch::optim::AdagradParamState>();
    adagrad->step(record.step);
    adagrad->sum(Placed(Require(record, "sum", parameter), parameter));
    state = std::move(adagrad);
  } else {
    throw std::invalid_argument("this optimizer's state cannot be restored");
  }
  auto& states = optimizer.state();
  states[StateKey(states, parameter)] = std::move(state);
}

}  // namespace keras_torch
