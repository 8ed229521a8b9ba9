// The CUDA kernel (src/ensemble/cuda/ensemble_kernel.cu) on the CPU, for the tests that run without a GPU: one CUDA
// block of ensemble_blocks emulated with the kernel's own arithmetic (philox::Realization,
// src/ensemble/cuda/block_sums.hpp), in the kernel's order. Used by test_cuda_host.cpp and by the stand-in kernel
// library cuda_emulation.cpp.
#pragma once

#include "ensemble/cuda/block_sums.hpp"
#include "random/philox_data.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace lmsref {
namespace test {

// Realization r's philox state, as PhiloxSource::Lms.
struct PhiloxThread {
    philox::Realization<> state;
    std::uint64_t r;
    double start(const philox::Problem& p) { return state.start(p); }
    double step(const philox::Problem& p, std::int64_t n, double* deviation) { return state.step(p, r, n, deviation); }
};

// A realization's numpy-data state, as DataSource::Lms: its column of x and d ((n, c) at n stride + c).
struct DataThread {
    cuda_kernel::DataRealization<0> state;
    const double* x;
    const double* d;
    std::int64_t stride;
    double start(const philox::Problem& p) { return state.start(p); }
    double step(const philox::Problem& p, std::int64_t n, double* deviation) {
        return state.step(p, x[n * stride], d[n * stride], deviation);
    }
};

// The kernel's CUDA block for the engine's block `block` of R realizations: writes its row_values(N, M) sums to
// `rows` and its (count, mean, M2) to `steady`. make(r, t, hist, w) gives thread t's state for realization r (hist
// and w: max_taps values of scratch each).
template <class Make>
void emulate_block(const philox::Problem& p, std::int64_t R, std::int64_t block, const Make& make, double* rows,
                   double* steady) {
    using namespace cuda_kernel;
    const std::int64_t N = p.samples;
    const int M = p.taps;
    const int columns = M + 2;
    const std::int64_t first = block * block_size;
    const int count = static_cast<int>(std::min<std::int64_t>(block_size, R - first));
    std::vector<double> hist(block_size * max_taps), w(block_size * max_taps);
    std::vector<decltype(make(0, 0, nullptr, nullptr))> threads;
    for (int t = 0; t < count; ++t)
        threads.push_back(make(static_cast<std::uint64_t>(first + t), t, &hist[t * max_taps], &w[t * max_taps]));
    std::vector<double> shared(static_cast<std::size_t>(columns * shared_stride), 0.0), sums(block_size, 0.0);
    for (std::int64_t i = 0; i <= N; ++i) { // row i: every thread's values, then thread c adds column c
        for (int t = 0; t < count; ++t) {
            double e2 = 0.0, deviation = 0.0;
            if (i == 0) {
                deviation = threads[t].start(p);
            } else {
                e2 = threads[t].step(p, i - 1, &deviation);
                if (i - 1 >= p.steady_start) sums[t] += e2;
            }
            shared[0 * shared_stride + t] = e2;
            shared[1 * shared_stride + t] = deviation;
            for (int k = 0; k < M; ++k) shared[(2 + k) * shared_stride + t] = i == 0 ? 0.0 : w[t * max_taps + k];
        }
        for (int c = 0; c < columns; ++c) rows[i * columns + c] = add_column(&shared[c * shared_stride], count);
    }
    std::vector<double> means(block_size);
    for (int t = 0; t < count; ++t) means[t] = sums[t] / static_cast<double>(N - p.steady_start);
    block_steady(means.data(), count, p.diverged_above, steady);
}

} // namespace test
} // namespace lmsref
