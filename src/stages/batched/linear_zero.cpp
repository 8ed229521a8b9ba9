// Stage `linear-zero`, batched — the notebook's `weights_init` and `lms_torch_model_3` over C realizations at once:
// the batched nn::Linear model of `linear` (batched_stage.hpp, batched/linear.cpp: the realization is the last
// dimension, each realization's weights a column of one M x C parameter) with all its weights set to zero, which
// brings every realization back onto its `numpy` trajectory.
#include "stages/batched/batched_stage.hpp"

namespace lmsref {

namespace {

// new: applied to every module of the model; zeroes the weights of each (batched) nn::Linear. batched: the C layers
// of BatchedLinear have no bias, as nn::Linear(M, 1, bias=false) has none.
void weights_init(torch::nn::Module& m) {
    if (auto* linear = m.as<BatchedLinear>()) torch::nn::init::zeros_(linear->weight);
}

} // namespace

// The notebook's cell: the model, then the training loop.
TorchTrajectory lms_torch_model_3_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M) {
    LinearLMSBatched model(M, X.size(1)); // model = LMS(); batched: C layers
    // new
    model->apply(weights_init);
    model->to(X.device());
    // The notebook's lms_torch_model_3 is lms_torch_model_2 line for line.
    return lms_torch_model_2_batched(X, D, eta, M, model);
}

} // namespace lmsref
