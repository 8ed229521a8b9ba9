// The ensemble's CUDA kernel (`ensemble --device cuda`): the numpy stage's plain loop, one CUDA thread per
// realization. Its data come from one of two sources, the rest of the kernel being the same code:
//   --rng philox: made on the spot by philox::Realization::step (src/philox_data.hpp), the function the CPU engine
//                 calls;
//   --rng numpy:  x and d made by the CPU (NumPy's sequential stream cannot be made per thread at speed) and copied
//                 to the device; each thread runs the CPU engine's add_group arithmetic (src/ensemble.cpp) on its
//                 column.
// A CUDA block is one of the engine's blocks of 64 realizations: per sample, its threads' e^2, ||w - wo_M||^2 and w
// go to shared memory, and lane c of the block's first warp adds column c over the 64 threads in realization order
// (no atomics), writing the block's row of sums (coalesced: a row's columns side by side). The host adds the blocks
// in block order, as the CPU engine does. So with numpy's data the curves are the CPU engine's bits; with philox's
// they are too, as far as the device's log, sin and cos (the header's own, + - * / and sqrt) round as the host's.
//
// Plain C++ interface (no CUDA or standard-library types cross it: the kernel's library is compiled by nvcc without
// LibTorch's ABI flags). Built only when CMake finds a working nvcc (LMSREF_CUDA=auto|on); see CMakeLists.txt.
#pragma once

#include "random/philox_data.hpp"

#include <cstddef>
#include <cstdint>

namespace lmsref {
namespace cuda_kernel {

/// The largest M (and, for philox, max(M, len(wo))) the kernel takes (each thread keeps its x history and weights
/// in registers or local memory).
constexpr int max_taps = 32;

/// The number of CUDA devices; 0 when there is none (message then says why).
int device_count(char* message, std::size_t message_size);

/// --rng philox: runs the engine's blocks first_block ... first_block + blocks - 1 of a problem of R = realizations
/// realizations (p's wo_K and wo_M are host pointers) on CUDA device `device` (cudaSetDevice). Writes, per block b
/// (0-based from first_block), (N + 1) rows of M + 2 sums at rows[b (N + 1) (M + 2) ...]: row j holds
/// sum_r e_r(j - 1)^2 (j >= 1; row 0: 0), sum_r ||w_r(j) - wo_M||^2 and sum_r w_r(j) (M values); and
/// steady[3 b ...] = the block's count, Welford mean and M2 of the per-realization steady-state means. Adds the
/// kernel's own time (CUDA events around the launch; allocations and copies excluded) to *kernel_seconds. Returns
/// 0, or nonzero with a one-line message.
int run_blocks(const philox::Problem& p, std::int64_t realizations, std::int64_t first_block, std::int64_t blocks,
               int device, double* rows, double* steady, double* kernel_seconds, char* message,
               std::size_t message_size);

/// --rng numpy on the GPU: the same numpy-stage loop and the same sums as run_blocks, on data made by the CPU: x and
/// d (host memory) of the C realizations first_block * 64 ... first_block * 64 + C - 1, where
/// C = min(blocks * 64, realizations - first_block * 64), sample-major: (n, c) at x[n C + c] (thread c of the launch
/// reads x[n C + c]: coalesced). Uses p's samples (N), taps (M), step (eta / 2 * 2, evaluated on the host as the CPU
/// engine's add_group does), wo_M and steady_start; not seed, noise_gain, history or wo_K. Each realization's
/// arithmetic is add_group's (regressor newest first with zeros before the start, y summed from tap 0, e = d - y,
/// w + step * e * xM, no fused multiply-add), and the sums take the realizations in order, so the rows are the CPU
/// engine's BlockSums bit for bit. Writes rows and steady as run_blocks does; copies x and d to the device (not
/// counted in *kernel_seconds). Returns 0, or nonzero with a one-line message.
int run_blocks_on_data(const philox::Problem& p, std::int64_t realizations, std::int64_t first_block,
                       std::int64_t blocks, const double* x, const double* d, int device, double* rows, double* steady,
                       double* kernel_seconds, char* message, std::size_t message_size);

} // namespace cuda_kernel
} // namespace lmsref
