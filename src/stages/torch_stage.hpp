// What the LibTorch stages share: their notebook functions over tensors, and what they return.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lmsref {

/// Makes float64 LibTorch's default dtype while it lives, as `torch.set_default_dtype(torch.float64)` does for
/// the notebook: modules such as nn::Linear create their parameters in the default dtype. Shared by the adapters of
/// the single-run stages (torch_stage.cpp) and of the batched ones (batched/batched_stage.cpp).
class Float64Default {
public:
    Float64Default() : previous_(c10::get_default_dtype()) { c10::set_default_dtype(caffe2::TypeMeta::Make<double>()); }
    ~Float64Default() { c10::set_default_dtype(previous_); }
    Float64Default(const Float64Default&) = delete;
    Float64Default& operator=(const Float64Default&) = delete;

private:
    caffe2::TypeMeta previous_;
};

/// A tensor's values as float64 on the host, in C order.
std::vector<double> to_host(const torch::Tensor& tensor);

/// What a LibTorch stage returns: the notebook's `return y, e, w`, N x 1, N x 1 and (N+1) x M; `losses` (N x 1)
/// for the stages with a loss, undefined for the others. The stages that return their loss instead of e return
/// e = d - y here.
struct TorchTrajectory {
    torch::Tensor y;
    torch::Tensor e;
    torch::Tensor w;
    torch::Tensor losses = {};
};

/// The LibTorch stages, one file each, with the notebook's signature: x and d are N x 1 float64 tensors on the
/// device the stage runs on, LibTorch's default dtype is float64 (the notebook's torch.set_default_dtype), and the
/// generator has just been seeded with the torch seed (see run_torch_stage in torch_stage.cpp). The model stages
/// build their model as the notebook's cell does, then call the notebook's lms_torch_model*(x, d, eta, M, model).
TorchTrajectory lms_torch(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_autograd(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_loss(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_optim(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_model(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_model_2(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);
TorchTrajectory lms_torch_model_3(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);

} // namespace lmsref
