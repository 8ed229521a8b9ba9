// What the batched LibTorch stages share: their notebook functions over C realizations at once, the memory of what
// they return, and the batched nn::Linear model of `linear` and `linear-zero`.
//
// The realization is the LAST dimension of every tensor: X and D are N x C (column c holds realization c's x and d),
// the regressor xM and the weights wi are M x C (column c is realization c's xM, and its 1 x M row wi transposed),
// yi and ei are 1 x C. Every operation acts column by column, so the realizations never mix and each column follows
// its single run's recursion; the one place where they meet is the loss, a sum over realizations whose gradient
// with respect to column c is that of realization c's own e^2 (see each stage's loss).
#pragma once

#include "stages/torch_stage.hpp"

#include <algorithm>
#include <cstdint>
#include <new>

#include <sys/mman.h>

namespace lmsref {

/// torch::zeros for a chunk's trajectories (y, e: N x C; w: (N+1) x M x C; hundreds of MB at C = 10^4). On the CPU,
/// from 32 MiB on, they come straight from the kernel, already zero, in memory it may back with 2 MiB pages (mmap,
/// MADV_HUGEPAGE): fresh 4 KiB pages cost a page fault each, which at C = 10^4 took about as long as the LMS
/// arithmetic itself. Otherwise plain torch::zeros.
inline torch::Tensor trajectory_zeros(at::IntArrayRef shape, const torch::TensorOptions& options) {
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

/// C nn::Linear(M, 1, bias=false) layers side by side, one per realization, as one (M x C) parameter: column c of
/// `weight` is the 1 x M weight of realization c's layer, transposed. forward() is nn::Linear's y = x W^T for each
/// realization. Realization c's layer starts from the weight that nn::Linear(M, 1, bias=false) draws right after
/// torch::manual_seed(T + c) with float64 as the default dtype (`lmsref linear --torch-seed T + c`), T the seed the
/// generator was last given: the first realization's torch seed, which the adapter gives it.
struct BatchedLinearImpl : torch::nn::Module {
    BatchedLinearImpl(std::int64_t M, std::int64_t C) {
        torch::NoGradGuard no_grad;
        const std::uint64_t first_torch_seed = at::globalContext().defaultGenerator(torch::kCPU).current_seed(); // T
        torch::Tensor initial = torch::empty({C, M}, torch::kFloat64); // row c: realization c's weight row
        for (std::int64_t c = 0; c < C; ++c) {
            torch::manual_seed(first_torch_seed + static_cast<std::uint64_t>(c));      // torch.manual_seed(T + c)
            const torch::nn::Linear layer(torch::nn::LinearOptions(M, 1).bias(false)); // nn.Linear(M, 1, bias=False)
            std::copy_n(layer->weight.data_ptr<double>(), M, initial.data_ptr<double>() + c * M); // its 1 x M weight
        }
        weight = register_parameter("weight", initial.t().contiguous()); // M x C: column c realization c's W^T
    }

    /// xM: M x C; returns the C outputs (C), as nn::Linear(M, 1) returns 1 output for an input of M.
    torch::Tensor forward(const torch::Tensor& xM) {
        // nn::Linear's y = x W^T, for each realization: y_c = sum over k of x_c(k) W_c(k)
        return (xM * weight).sum(0);
    }

    torch::Tensor weight;
};
TORCH_MODULE(BatchedLinear);

/// The notebook's second `LMS(nn.Module)` over C realizations: `l1` holds the C layers.
struct LinearLMSBatchedImpl : torch::nn::Module {
    // new: nn.Linear(M, 1, bias=False) holds the weights; batched: C of them, as one M x C parameter
    LinearLMSBatchedImpl(std::int64_t M, std::int64_t C) : l1(register_module("l1", BatchedLinear(M, C))) {}

    torch::Tensor forward(const torch::Tensor& xM) {
        // The notebook's x.squeeze() makes an M x 1 regressor the vector nn::Linear takes; batched: xM (M x C) is
        // already what BatchedLinear takes, one column per realization
        torch::Tensor output = l1(xM);
        return output;
    }

    BatchedLinear l1;
};
TORCH_MODULE(LinearLMSBatched);

/// The batched stages, one file each in src/stages/batched/, with their single run's signature (TorchStage): X and D
/// are N x C float64 tensors on the device the stage runs on, LibTorch's default dtype is float64, and the generator
/// has just been seeded with the first realization's torch seed (see run_batched_torch_stage in torch_stage.cpp).
TorchTrajectory lms_torch_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);
TorchTrajectory lms_torch_autograd_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);
TorchTrajectory lms_torch_loss_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);
TorchTrajectory lms_torch_optim_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);
TorchTrajectory lms_torch_model_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);
TorchTrajectory lms_torch_model_2_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);
TorchTrajectory lms_torch_model_3_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);

/// The training loop of `lms_torch_model_2` over C realizations, reading the weights from model->l1->weight.
TorchTrajectory lms_torch_model_2_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M,
                                          LinearLMSBatched& model);

} // namespace lmsref
