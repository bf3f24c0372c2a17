#include "optim.h"

#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "spec.h"

namespace keras_torch {

std::unique_ptr<torch::optim::Optimizer> BuildOptimizer(Napi::Object object, std::vector<torch::Tensor> parameters) {
  SpecReader config(object, "optimizer");
  std::string name = config.String("name");
  double learningRate = config.Number("learningRate");
  double weightDecay = config.Number("weightDecay", 0.0);
  if (name == "adam" || name == "adamw") {
    auto betas = std::make_tuple(config.Number("beta1"), config.Number("beta2"));
    if (name == "adam") {
      return std::make_unique<torch::optim::Adam>(
          parameters, torch::optim::AdamOptions(learningRate).betas(betas).eps(config.Number("epsilon"))
                          .weight_decay(weightDecay).amsgrad(config.Boolean("amsgrad", false)));
    }
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(learningRate).betas(betas).eps(config.Number("epsilon"))
                        .weight_decay(weightDecay).amsgrad(config.Boolean("amsgrad", false)));
  }
  if (name == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(learningRate).momentum(config.Number("momentum", 0.0))
                        .nesterov(config.Boolean("nesterov", false)).weight_decay(weightDecay));
  }
  if (name == "rmsprop") {
    return std::make_unique<torch::optim::RMSprop>(
        parameters, torch::optim::RMSpropOptions(learningRate).alpha(config.Number("rho")).eps(config.Number("epsilon"))
                        .momentum(config.Number("momentum", 0.0)).centered(config.Boolean("centered", false))
                        .weight_decay(weightDecay));
  }
  if (name == "adagrad") {
    return std::make_unique<torch::optim::Adagrad>(
        parameters, torch::optim::AdagradOptions(learningRate).eps(config.Number("epsilon"))
                        .initial_accumulator_value(config.Number("initialAccumulatorValue"))
                        .weight_decay(weightDecay));
  }
  throw std::invalid_argument("optimizer: unknown name " + name);
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
    } else if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(state)) {
      torch::Tensor first = adamw->exp_avg(), second = adamw->exp_avg_sq(), maxSecond = adamw->max_exp_avg_sq();
      VisitIfDefined(first, visit), VisitIfDefined(second, visit), VisitIfDefined(maxSecond, visit);
      adamw->exp_avg(first), adamw->exp_avg_sq(second), adamw->max_exp_avg_sq(maxSecond);
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
  } else if (auto* adamw = dynamic_cast<torch::optim::AdamWParamState*>(state)) {
    record.step = adamw->step();
    Add(record, "exp_avg", adamw->exp_avg()), Add(record, "exp_avg_sq", adamw->exp_avg_sq());
    Add(record, "max_exp_avg_sq", adamw->max_exp_avg_sq());
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
  } else if (dynamic_cast<torch::optim::AdamW*>(&optimizer) != nullptr) {
    auto adamw = std::make_unique<torch::optim::AdamWParamState>();
    adamw->step(record.step);
    adamw->exp_avg(Placed(Require(record, "exp_avg", parameter), parameter));
    adamw->exp_avg_sq(Placed(Require(record, "exp_avg_sq", parameter), parameter));
    adamw->max_exp_avg_sq(Placed(Optional(record, "max_exp_avg_sq", parameter), parameter));
    state = std::move(adamw);
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
