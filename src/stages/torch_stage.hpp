// What the LibTorch stages share: float64 tensors on the chosen device, in and out.
#pragma once

#include "stage.hpp"

#include <torch/torch.h>

namespace lmsref {

/// float64 on `device`: the notebook calls torch.set_default_dtype(torch.float64) before its first stage.
torch::TensorOptions float64_on(Device device);

/// N values as an N x 1 float64 tensor on `device`: the notebook's `x = torch.tensor(x)`.
torch::Tensor as_tensor(const std::vector<double>& values, Device device);

/// Copies the stage's tensors back into plain arrays. `losses` may be undefined (a stage without a loss).
Trajectory to_trajectory(const torch::Tensor& y, const torch::Tensor& e, const torch::Tensor& w,
                         const torch::Tensor& losses = {});

/// Makes float64 LibTorch's default dtype while it lives, as `torch.set_default_dtype(torch.float64)` does for
/// the notebook: modules such as nn::Linear create their parameters in the default dtype.
class Float64Default {
public:
    Float64Default();
    ~Float64Default();
    Float64Default(const Float64Default&) = delete;
    Float64Default& operator=(const Float64Default&) = delete;

private:
    caffe2::TypeMeta previous_;
};

} // namespace lmsref
