// What the batched LibTorch stages share: their notebook functions over C realizations at once, what they return,
// and the batched nn::Linear model of `linear` and `linear-zero`.
//
// The realization is the LAST dimension of every tensor: X and D are N x C (column c holds realization c's x and d),
// the regressor xM and the weights wi are M x C (column c is realization c's xM, and its 1 x M row wi transposed),
// yi and ei are 1 x C. Every operation acts column by column, so the realizations never mix and each column follows
// its single run's recursion; the one place where they meet is the loss, a sum over realizations whose gradient
// with respect to column c is that of realization c's own e^2 (see each stage's loss).
#pragma once

#include "stages/torch_stage.hpp"

#include <cstdint>

namespace lmsref {

/// What a batched LibTorch stage returns: the notebook's `return y, e, w` with a realization dimension, N x C,
/// N x C and (N+1) x M x C (w[n][k][c]: tap k of realization c after n samples, row 0 the initial weights);
/// `losses` (N x 1, each sample's loss summed over the realizations) for the stages with a loss.
struct BatchedTorchTrajectory {
    torch::Tensor y;
    torch::Tensor e;
    torch::Tensor w;
    torch::Tensor losses = {};
};

/// torch::zeros for a chunk's trajectories (y, e: N x C; w: (N+1) x M x C; hundreds of MB at C = 10^4). On the CPU,
/// from 32 MiB on, they come straight from the kernel, already zero, in memory it may back with 2 MiB pages (mmap,
/// MADV_HUGEPAGE): fresh 4 KiB pages cost a page fault each, which at C = 10^4 took about as long as the LMS
/// arithmetic itself. Otherwise plain torch::zeros.
torch::Tensor trajectory_zeros(at::IntArrayRef shape, const torch::TensorOptions& options);

/// C nn::Linear(M, 1, bias=false) layers side by side, one per realization, as one (M x C) parameter: column c of
/// `weight` is the 1 x M weight of realization c's layer, transposed. forward() is nn::Linear's y = x W^T for each
/// realization. Realization c's layer starts from the weight that nn::Linear(M, 1, bias=false) draws right after
/// torch::manual_seed(first_torch_seed + c) with float64 as the default dtype (`lmsref linear --torch-seed T + c`).
struct BatchedLinearImpl : torch::nn::Module {
    BatchedLinearImpl(std::int64_t M, std::int64_t C, std::uint64_t first_torch_seed);
    /// xM: M x C; returns the C outputs (C), as nn::Linear(M, 1) returns 1 output for an input of M.
    torch::Tensor forward(const torch::Tensor& xM);

    torch::Tensor weight;
};
TORCH_MODULE(BatchedLinear);

/// The notebook's second `LMS(nn.Module)` over C realizations: `l1` holds the C layers.
struct LinearLMSBatchedImpl : torch::nn::Module {
    LinearLMSBatchedImpl(std::int64_t M, std::int64_t C, std::uint64_t first_torch_seed);
    torch::Tensor forward(const torch::Tensor& xM);

    BatchedLinear l1;
};
TORCH_MODULE(LinearLMSBatched);

// The batched stages, one file each in src/stages/batched/, with their single run's signature (plus the torch seed
// of the first realization for the nn::Linear stages, which build their model as the notebook's cell does): X and
// D are N x C float64 tensors on the device the stage runs on, and LibTorch's default dtype is float64.
BatchedTorchTrajectory lms_torch_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M);
BatchedTorchTrajectory lms_torch_autograd_batched(const torch::Tensor& X, const torch::Tensor& D, double eta,
                                                  std::int64_t M);
BatchedTorchTrajectory lms_torch_loss_batched(const torch::Tensor& X, const torch::Tensor& D, double eta,
                                              std::int64_t M);
BatchedTorchTrajectory lms_torch_optim_batched(const torch::Tensor& X, const torch::Tensor& D, double eta,
                                               std::int64_t M);
BatchedTorchTrajectory lms_torch_model_batched(const torch::Tensor& X, const torch::Tensor& D, double eta,
                                               std::int64_t M);
BatchedTorchTrajectory lms_torch_model_2_batched(const torch::Tensor& X, const torch::Tensor& D, double eta,
                                                 std::int64_t M, std::uint64_t first_torch_seed);
BatchedTorchTrajectory lms_torch_model_3_batched(const torch::Tensor& X, const torch::Tensor& D, double eta,
                                                 std::int64_t M, std::uint64_t first_torch_seed);

/// The training loop of `lms_torch_model_2` over C realizations, reading the weights from model->l1->weight.
BatchedTorchTrajectory lms_torch_model_2_batched(const torch::Tensor& X, const torch::Tensor& D, double eta,
                                                 std::int64_t M, LinearLMSBatched& model);

} // namespace lmsref
