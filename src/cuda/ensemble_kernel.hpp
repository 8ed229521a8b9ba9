// The ensemble's CUDA kernel (`ensemble --device cuda --rng philox`): the numpy stage's plain loop, one CUDA thread
// per realization, its data made on the spot by philox::Realization::step (src/philox_data.hpp), the function the
// CPU engine calls. A CUDA block is one of the engine's blocks of 64 realizations: per sample, its threads' e^2,
// ||w - wo_M||^2 and w go to shared memory, and lane c of the block's first warp adds column c over the 64 threads in
// realization order (no atomics), writing the block's row of sums (coalesced: a row's columns side by side). The
// host adds the blocks in block order, as the CPU engine does, so only the last bits of log, sin and cos can differ.
//
// Plain C++ interface (no CUDA or standard-library types cross it: the kernel's library is compiled by nvcc without
// LibTorch's ABI flags). Built only when CMake finds a working nvcc (LMSREF_CUDA=auto|on); see CMakeLists.txt.
#pragma once

#include "philox_data.hpp"

#include <cstddef>
#include <cstdint>

namespace lmsref {
namespace cuda_kernel {

/// The largest M and max(M, len(wo)) the kernel takes (each thread keeps its x history and weights in registers or
/// local memory).
constexpr int max_taps = 32;

/// The number of CUDA devices; 0 when there is none (message then says why).
int device_count(char* message, std::size_t message_size);

/// Runs the engine's blocks first_block ... first_block + blocks - 1 of a problem of R realizations (p's wo_K and
/// wo_M are host pointers) on device 0. Writes, per block b (0-based from first_block), (N + 1) rows of M + 2 sums
/// at rows[b (N + 1) (M + 2) ...]: row j holds sum_r e_r(j - 1)^2 (j >= 1; row 0: 0), sum_r ||w_r(j) - wo_M||^2 and
/// sum_r w_r(j) (M values); and steady[3 b ...] = the block's count, Welford mean and M2 of the per-realization
/// steady-state means. Returns 0, or nonzero with a one-line message.
int run_blocks(const philox::Problem& p, std::int64_t realizations, std::int64_t first_block, std::int64_t blocks,
               double* rows, double* steady, char* message, std::size_t message_size);

} // namespace cuda_kernel
} // namespace lmsref
