// The ensemble's CUDA kernel (`ensemble --device cuda`): the numpy stage's plain loop, one CUDA thread per
// realization. Its data come from one of two sources, the rest of the kernel being the same code:
//   --rng philox: made on the spot by philox::Realization::step (src/random/philox_data.hpp), the function the CPU
//   engine
//                 calls;
//   --rng numpy:  x and d made by the CPU (NumPy's sequential stream cannot be made per thread at speed) and copied
//                 to the device; each thread runs the CPU engine's add_group arithmetic (src/ensemble/ensemble.cpp) on
//                 its column.
// A CUDA block is one of the engine's blocks of 64 realizations: per sample, its threads' e^2, ||w - wo_M||^2 and w
// go to shared memory (two buffers, one barrier per sample), and thread c adds column c over the 64 threads in
// realization order (no atomics), writing the block's row of sums to device memory. A second kernel then adds the
// span's blocks into the run's totals in block order, thread j taking value j of every block (T[j] += rows[b][j], b
// ascending), as the CPU engine's Totals::add does; only the totals and the blocks' steady-state records come back to
// the host. So with numpy's data the curves are the CPU engine's bits; with philox's they are too, as far as the
// device's log, sin and cos (the header's own, + - * / and sqrt) round as the host's. The arithmetic besides philox's
// data is in block_sums.hpp, which the CPU tests run too.
//
// Plain C++ interface (no CUDA or standard-library types cross it: the kernel's library is compiled by nvcc without
// LibTorch's ABI flags). Built only when CMake finds a working nvcc (LMSREF_CUDA=auto|on); see CMakeLists.txt.
#pragma once

#include "ensemble/cuda/block_sums.hpp"
#include "random/philox_data.hpp"

#include <cstddef>
#include <cstdint>

namespace lmsref {
namespace cuda_kernel {

/// The number of CUDA devices; 0 when there is none (message then says why).
int device_count(char* message, std::size_t message_size);

/// The free and total memory of CUDA device `device`; returns 0, or nonzero when the runtime cannot tell.
int device_memory(int device, std::size_t* free_bytes, std::size_t* total_bytes);

/// A run on one device: its device buffers, pinned host buffers, stream and events, allocated once by open_run for
/// spans of at most span_blocks blocks and reused by every span until close_run. Opaque.
struct Run;

/// Opens a run of problem p (p's wo_K and wo_M are host pointers, copied now) of R = realizations realizations on
/// CUDA device `device` (cudaSetDevice), for spans of at most span_blocks blocks. on_data: --rng numpy, the data made
/// by the CPU into run_x and run_d. Returns null, with a one-line message, on failure.
Run* open_run(const philox::Problem& p, std::int64_t realizations, std::int64_t span_blocks, bool on_data, int device,
              char* message, std::size_t message_size);

/// Waits for what is in flight and frees what open_run allocated; null is allowed.
void close_run(Run* run);

/// on_data: the run's pinned host buffers of slot 0 or 1 for a span's x and d (span_blocks * 64 * N values each),
/// sample-major: (n, c) at x[n C + c] for the span's C realizations. The CPU fills one slot while run_span's copy and
/// kernel use the other. Null without on_data.
double* run_x(Run* run, int slot);
double* run_d(Run* run, int slot);

/// Enqueues, without waiting, the engine's blocks first_block ... first_block + blocks - 1 (blocks <= span_blocks)
/// on the run's stream, keeping their rows on the device: per block (N + 1) rows of M + 2 sums (block_sums.hpp's row
/// layout), each sum over the block's realizations in realization order. --rng philox: the data made on the spot by
/// philox::Realization::step; on_data: x and d copied first from slot `slot` (which must then stay untouched until
/// add_span returns), the CPU engine's add_group arithmetic on them (DataRealization). Returns 0, or nonzero with a
/// one-line message.
int run_span(Run* run, std::int64_t first_block, std::int64_t blocks, int slot, char* message,
             std::size_t message_size);

/// Adds the rows of the span run_span enqueued into `totals` (host memory, row_values(N, M) values in the row
/// layout: the totals of every block before the span on input), in block order, on the device, and waits for it;
/// writes steady[3 b ...] = block b's realization count, Welford mean and M2 of its per-realization steady-state
/// means. Adds the ensemble kernel's time to *kernel_seconds and the adding kernel's to *add_seconds (CUDA events;
/// copies excluded). Returns 0, or nonzero with a one-line message (an error of the ensemble kernel shows here).
int add_span(Run* run, double* totals, double* steady, double* kernel_seconds, double* add_seconds, char* message,
             std::size_t message_size);

} // namespace cuda_kernel
} // namespace lmsref
