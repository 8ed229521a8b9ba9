// What the LibTorch stages share: their notebook functions over tensors, what they return, and the nn::Linear model
// of `linear` and `linear-zero`.
#pragma once

#include "lms/family_updates.hpp"
#include "lms/scenario.hpp"

#include <torch/torch.h>

#include <cstdint>

namespace lmsref {

/// What a LibTorch stage returns: the notebook's `return y, e, w`, N x 1, N x 1 and (N+1) x M; `losses` (N x 1)
/// for the stages with a loss, undefined for the others. The stages that return their loss instead of e return
/// e = d - y here. A batched stage (batched/batched_stage.hpp) returns them with a realization dimension: N x C,
/// N x C and (N+1) x M x C (w[n][k][c]: tap k of realization c after n samples), each sample's loss summed over
/// the realizations.
struct TorchTrajectory {
    torch::Tensor y;
    torch::Tensor e;
    torch::Tensor w;
    torch::Tensor losses = {};
};

/// A tensor's values as float64 on the host, in C order.
std::vector<double> to_host(const torch::Tensor& tensor);
/// N values as an N x 1 float64 tensor on `device`.
torch::Tensor as_tensor(const std::vector<double>& values, torch::Device device);

/// `auto` picks CUDA when available; `cuda` without CUDA throws RuntimeFailure (stages/libtorch.hpp's resolve_device
/// inside the module).
Device torch_resolve_device(DeviceChoice choice);

/// The LibTorch stages, one file each, with the notebook's signature: x and d are N x 1 float64 tensors on the
/// device the stage runs on, LibTorch's default dtype is float64 (the notebook's torch.set_default_dtype), and the
/// generator has just been seeded with the torch seed (see run_torch_stage in torch_stage.cpp). The model stages
/// build their model as the notebook's cell does, then call the notebook's lms_torch_model*(x, d, eta, M, model).
using TorchStage = TorchTrajectory (*)(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_autograd(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_loss(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_optim(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_model(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_model_2(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_model_3(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);

/// Member `member` of the LMS family as its LibTorch program over C realizations (family_torch.cpp): X and D N x C,
/// each column its single run's program.
TorchTrajectory lms_torch_family_batched(FamilyId member, const torch::Tensor& X, const torch::Tensor& D, double eta,
                                         std::int64_t M, const FamilyOptions& options);

/// The notebook's second `LMS(nn.Module)`, built from nn::Linear, shared by the stages `linear` (default init) and
/// `linear-zero` (zero init).
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
