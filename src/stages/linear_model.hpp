// The notebook's second `LMS(nn.Module)`, built from nn::Linear, and `lms_torch_model_2`, which trains it.
// Shared by the stages `linear` (default init) and `linear-zero` (zero init).
#pragma once

#include "stages/torch_stage.hpp"

namespace lmsref {

struct LinearLMSImpl : torch::nn::Module {
    // new: nn.Linear(M, 1, bias=False) holds the weights, as a 1 x M matrix
    explicit LinearLMSImpl(std::int64_t M)
        : l1(register_module("l1", torch::nn::Linear(torch::nn::LinearOptions(M, 1).bias(false)))) {}

    torch::Tensor forward(const torch::Tensor& x) {
        // The notebook's x.squeeze(), M x 1 -> M; squeezing dimension 1 alone keeps M = 1 working too.
        torch::Tensor output = l1(x.squeeze(1));
        return output;
    }

    torch::nn::Linear l1;
};
TORCH_MODULE(LinearLMS);

/// The training loop of `lms_torch_model`, reading the weights from model->l1->weight.
TorchTrajectory lms_torch_model_2(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M,
                                  LinearLMS& model);

} // namespace lmsref
