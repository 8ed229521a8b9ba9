// The one adapter between the table of stages and the batched LibTorch stages (`lmsref ensemble --stage S`), and the
// memory of their trajectories.
#include "stages/batched/batched_stage.hpp"

#include <cstring>

#include "stage.hpp"

#include <sys/mman.h>

#include <new>

namespace lmsref {

torch::Tensor trajectory_zeros(at::IntArrayRef shape, const torch::TensorOptions& options) {
    const std::size_t bytes = static_cast<std::size_t>(c10::multiply_integers(shape)) * options.dtype().itemsize();
    // Below glibc's largest mmap threshold (32 MiB), malloc may hand back memory a previous chunk already faulted in.
    constexpr std::size_t fresh_mapping = std::size_t{32} << 20;
    if (options.device().type() != torch::kCPU || bytes < fresh_mapping) return torch::zeros(shape, options);
    // Anonymous memory reads as zeros: no memset, and no page is touched before the stage writes it.
    void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    ::madvise(memory, bytes, MADV_HUGEPAGE); // a hint: without transparent huge pages, 4 KiB pages as before
    return torch::from_blob(
        memory, shape, [bytes](void* begin) { ::munmap(begin, bytes); }, options);
}

namespace {

/// A chunk's N x C values as a float64 tensor on `device`: on the CPU the caller's array itself (no copy: the
/// stages only read X and D, and are done with them when they return), on a GPU a copy.
torch::Tensor chunk_tensor(const double* values, std::int64_t N, std::int64_t C, torch::Device device) {
    return torch::from_blob(const_cast<double*>(values), {N, C}, torch::kFloat64).to(device);
}

/// Runs a batched LibTorch stage as run_torch_stage (torch_stage.cpp) runs a single one: the data as float64
/// tensors on the device, float64 as the default dtype; then copies e (N x C) and w ((N+1) x M x C) back. The
/// nn::Linear stages seed the generator themselves, once per realization.
/// Copies a float64 tensor's values, in C order, into `target`.
void copy_to(const torch::Tensor& tensor, double* target) {
    const torch::Tensor host = tensor.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    std::memcpy(target, host.data_ptr<double>(), static_cast<std::size_t>(host.numel()) * sizeof(double));
}

template <typename BatchedTorchStage>
void run_batched_torch_stage(const BatchedInput& in, const BatchedTrajectories& trajectories, BatchedTorchStage stage) {
    const torch::Device device = in.device == Device::cuda ? torch::kCUDA : torch::kCPU;
    Float64Default float64; // torch.set_default_dtype(torch.float64)
    const torch::Tensor X = chunk_tensor(in.x, in.N, in.C, device);
    const torch::Tensor D = chunk_tensor(in.d, in.N, in.C, device);
    const BatchedTorchTrajectory out = stage(X, D);

    copy_to(out.e, trajectories.e);
    copy_to(out.w, trajectories.w);
}

} // namespace

void run_tensor_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    run_batched_torch_stage(
        in, out, [&](const torch::Tensor& X, const torch::Tensor& D) { return lms_torch_batched(X, D, in.eta, in.M); });
}
void run_autograd_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    run_batched_torch_stage(in, out, [&](const torch::Tensor& X, const torch::Tensor& D) {
        return lms_torch_autograd_batched(X, D, in.eta, in.M);
    });
}
void run_mseloss_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    run_batched_torch_stage(in, out, [&](const torch::Tensor& X, const torch::Tensor& D) {
        return lms_torch_loss_batched(X, D, in.eta, in.M);
    });
}
void run_sgd_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    run_batched_torch_stage(in, out, [&](const torch::Tensor& X, const torch::Tensor& D) {
        return lms_torch_optim_batched(X, D, in.eta, in.M);
    });
}
void run_module_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    run_batched_torch_stage(in, out, [&](const torch::Tensor& X, const torch::Tensor& D) {
        return lms_torch_model_batched(X, D, in.eta, in.M);
    });
}
void run_linear_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    run_batched_torch_stage(in, out, [&](const torch::Tensor& X, const torch::Tensor& D) {
        return lms_torch_model_2_batched(X, D, in.eta, in.M, in.first_torch_seed);
    });
}
void run_linear_zero_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    run_batched_torch_stage(in, out, [&](const torch::Tensor& X, const torch::Tensor& D) {
        return lms_torch_model_3_batched(X, D, in.eta, in.M, in.first_torch_seed);
    });
}

} // namespace lmsref
