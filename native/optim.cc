#include "optim.h"

#include <stdexcept>

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

}  // namespace keras_torch
