// Stage `linear-zero` — the notebook's `weights_init` and `lms_torch_model_3`: the same nn::Linear model with
// its weights set to zero, which brings the trajectory back onto the `numpy` one.
#include "stages/torch_stage.hpp"

namespace lmsref {

namespace {

// new: applied to every module of the model; zeroes the weights (and bias) of each nn::Linear
void weights_init(torch::nn::Module& m) {
    if (auto* linear = m.as<torch::nn::Linear>()) {
        torch::nn::init::zeros_(linear->weight);
        if (linear->bias.defined()) torch::nn::init::zeros_(linear->bias);
    }
}

} // namespace

// The notebook's cell: the model, then the training loop.
TorchTrajectory lms_torch_model_3(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M) {
    LinearLMS model(M); // model = LMS()
    // new
    model->apply(weights_init);
    model->to(x.device());
    // The notebook's lms_torch_model_3 is lms_torch_model_2 line for line.
    return lms_torch_model_2(x, d, eta, M, model);
}

} // namespace lmsref
