#include "stages/torch_stage.hpp"

#include "errors.hpp"

#include <torch/version.h>

namespace lmsref {

namespace {
torch::Device torch_device(Device device) {
    return device == Device::cuda ? torch::kCUDA : torch::kCPU;
}

std::vector<double> to_host(const torch::Tensor& tensor) {
    const torch::Tensor host = tensor.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const double* begin = host.data_ptr<double>();
    return {begin, begin + host.numel()};
}
} // namespace

torch::TensorOptions float64_on(Device device) {
    return torch::dtype(torch::kFloat64).device(torch_device(device));
}

torch::Tensor as_tensor(const std::vector<double>& values, Device device) {
    const auto n = static_cast<std::int64_t>(values.size());
    return torch::from_blob(const_cast<double*>(values.data()), {n, 1}, torch::kFloat64)
        .to(torch_device(device), /*non_blocking=*/false, /*copy=*/true);
}

Trajectory to_trajectory(const torch::Tensor& y, const torch::Tensor& e, const torch::Tensor& w,
                         const torch::Tensor& losses) {
    Trajectory trajectory;
    trajectory.y = to_host(y);
    trajectory.e = to_host(e);
    if (losses.defined()) trajectory.loss = to_host(losses);
    trajectory.w = Array2D(static_cast<std::size_t>(w.size(0)), static_cast<std::size_t>(w.size(1)));
    trajectory.w.values = to_host(w);
    return trajectory;
}

Float64Default::Float64Default() : previous_(c10::get_default_dtype()) {
    c10::set_default_dtype(caffe2::TypeMeta::Make<double>());
}

Float64Default::~Float64Default() {
    c10::set_default_dtype(previous_);
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
