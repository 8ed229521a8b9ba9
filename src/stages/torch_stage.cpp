// The one adapter between the table of stages and the LibTorch stages, and what lmsref asks of LibTorch elsewhere.
#include "stages/torch_stage.hpp"

#include "errors.hpp"
#include "libtorch.hpp"
#include "stage.hpp"

#include <torch/version.h>

namespace lmsref {

namespace {

/// N values as an N x 1 float64 tensor on `device`.
torch::Tensor as_tensor(const std::vector<double>& values, torch::Device device) {
    const auto n = static_cast<std::int64_t>(values.size());
    return torch::from_blob(const_cast<double*>(values.data()), {n, 1}, torch::kFloat64)
        .to(device, /*non_blocking=*/false, /*copy=*/true);
}

using TorchStage = TorchTrajectory (*)(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M);

/// Runs a LibTorch stage as the notebook runs its cell: the data as float64 tensors on the device, float64 as the
/// default dtype, the generator seeded; then copies the stage's tensors back into plain arrays.
Trajectory run_torch_stage(TorchStage stage, const StageInput& in) {
    const torch::Device device = in.device == Device::cuda ? torch::kCUDA : torch::kCPU;
    Float64Default float64;                          // torch.set_default_dtype(torch.float64)
    const torch::Tensor x = as_tensor(in.x, device); // x = torch.tensor(x)
    const torch::Tensor d = as_tensor(in.d, device); // d = torch.tensor(d)
    // torch.manual_seed(T), the last step before the stage: `linear` builds nn::Linear first thing, which draws its
    // default init from the generator (scripts/make_reference.py seeds right before nn.Linear too).
    torch::manual_seed(in.torch_seed);
    const TorchTrajectory out = stage(x, d, in.eta, in.M);

    Trajectory trajectory;
    trajectory.y = to_host(out.y);
    trajectory.e = to_host(out.e);
    if (out.losses.defined()) trajectory.loss = to_host(out.losses);
    trajectory.w = Array2D(static_cast<std::size_t>(out.w.size(0)), static_cast<std::size_t>(out.w.size(1)));
    trajectory.w.values = to_host(out.w);
    return trajectory;
}

} // namespace

std::vector<double> to_host(const torch::Tensor& tensor) {
    const torch::Tensor host = tensor.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const double* begin = host.data_ptr<double>();
    return {begin, begin + host.numel()};
}

Trajectory run_tensor(const StageInput& in) {
    return run_torch_stage(lms_torch, in);
}
Trajectory run_autograd(const StageInput& in) {
    return run_torch_stage(lms_torch_autograd, in);
}
Trajectory run_mseloss(const StageInput& in) {
    return run_torch_stage(lms_torch_loss, in);
}
Trajectory run_sgd(const StageInput& in) {
    return run_torch_stage(lms_torch_optim, in);
}
Trajectory run_module(const StageInput& in) {
    return run_torch_stage(lms_torch_model, in);
}
Trajectory run_linear(const StageInput& in) {
    return run_torch_stage(lms_torch_model_2, in);
}
Trajectory run_linear_zero(const StageInput& in) {
    return run_torch_stage(lms_torch_model_3, in);
}

Device resolve_device(DeviceChoice choice) {
    if (choice == DeviceChoice::cpu) return Device::cpu;
    const bool available = torch::cuda::is_available();
    if (choice == DeviceChoice::automatic) return available ? Device::cuda : Device::cpu;
    if (!available)
        throw RuntimeFailure("--device cuda: CUDA is not available (this LibTorch " + libtorch_version() +
                             " has no CUDA support or sees no GPU); use --device cpu or auto");
    return Device::cuda;
}

std::string libtorch_version() {
    return TORCH_VERSION;
}

int torch_threads() {
    return at::get_num_threads();
}
void set_torch_threads(int threads) {
    at::set_num_threads(threads);
}

} // namespace lmsref
