// The CUDA kernel's arithmetic besides philox's data (src/random/philox_data.hpp): the numpy-data realization, a
// block's per-sample sums, its steady-state statistics, the layout of its rows and the block-ordered addition of the
// rows into the totals. Host-and-device functions with no CUDA runtime: nvcc compiles them into the kernel
// (src/ensemble/cuda/ensemble_kernel.cu), the C++ compiler into the engine's host side (src/ensemble/ensemble.cpp) and
// into the CPU tests that run the kernel's arithmetic without a GPU (tests/test_cuda_host.cpp), so those tests check
// the bits the kernel makes.
#pragma once

#include "random/philox_data.hpp" // LMSREF_HOST_DEVICE, philox::Problem

#include <cstddef>
#include <cstdint>

namespace lmsref {
namespace cuda_kernel {

/// The realizations of one CUDA block: one of the engine's blocks (ensemble_block_size, src/ensemble/ensemble.hpp).
constexpr int block_size = 64;

/// The largest M (and, for philox, max(M, len(wo))) the kernel takes (each thread keeps its x history and weights
/// in registers or local memory).
constexpr int max_taps = 32;
static_assert(max_taps + 2 <= block_size, "threads 0 ... M + 1 of a block add the M + 2 columns of a row");

/// A column's stride in shared memory, in doubles: thread c reads column c's value t at c * 65 + t, so the 16
/// threads of a half-warp's 64-bit access (bank pairs 2 (c + t) mod 32) never share a bank; a stride of 64 would put
/// them all on one.
constexpr int shared_stride = block_size + 1;

/// The row layout of a block's sums and of the totals: (N + 1) rows of M + 2 values; row n holds sum e(n - 1)^2
/// (row 0: 0), sum ||w(n) - wo_M||^2 and sum w(n) (M values).
LMSREF_HOST_DEVICE inline std::size_t row_values(std::int64_t samples, int taps) {
    return static_cast<std::size_t>(samples + 1) * static_cast<std::size_t>(taps + 2);
}

/// One column of a block's shared values (value t at column[t]) over its first `count` realizations, from 0.0 in
/// realization order: the CPU engine's block sums.
LMSREF_HOST_DEVICE inline double add_column(const double* column, int count) {
    double sum = 0.0;
    for (int t = 0; t < count; ++t) sum += column[t];
    return sum;
}

/// A block's steady-state record: what the engine keeps of its realizations' steady-state means (each one's mean
/// e^2 over the last quarter), in realization order: [0] the count, [1] Welford's mean and [2] M2, as
/// BlockSums::add_steady (src/ensemble/ensemble.cpp); [3] the largest value (a NaN counts as larger than any
/// number) and [4] its offset in the block (the first, on ties); [5] how many diverged (a value not finite or above
/// `diverged_above`) and [6 ...] the offsets of the first steady_listed of them (-1: none).
constexpr int steady_listed = 3;
constexpr int steady_record = 6 + steady_listed;

/// Whether steady-state mean a ranks above b: larger, or NaN where b is not.
LMSREF_HOST_DEVICE inline bool steady_above(double a, double b) {
    return a > b || (a != a && b == b);
}

LMSREF_HOST_DEVICE inline void block_steady(const double* values, int count, double diverged_above, double* out) {
    double mean = 0.0, m2 = 0.0;
    out[3] = -1.0; // no realization (the means are >= 0)
    out[4] = -1.0;
    out[5] = 0.0;
    for (int j = 0; j < steady_listed; ++j) out[6 + j] = -1.0;
    for (int i = 0; i < count; ++i) {
        const double value = values[i];
        const double delta = value - mean;
        mean += delta / static_cast<double>(i + 1);
        m2 += delta * (value - mean);
        if (i == 0 || steady_above(value, out[3])) {
            out[3] = value;
            out[4] = static_cast<double>(i);
        }
        if (!(value <= diverged_above)) {
            const int listed = static_cast<int>(out[5]);
            if (listed < steady_listed) out[6 + listed] = static_cast<double>(i);
            out[5] += 1.0;
        }
    }
    out[0] = static_cast<double>(count);
    out[1] = mean;
    out[2] = m2;
}

/// Value j of the totals plus value j of blocks 0 ... blocks - 1 (block b's rows at rows + b * values), in block
/// order: the CPU engine's Totals::add, one block after the other. On the device thread j of the adding kernel runs
/// it; the loads are independent of the sum, so unrolling lets them overlap while the additions keep their order.
LMSREF_HOST_DEVICE inline void add_blocks(const double* rows, std::size_t values, std::int64_t blocks, std::size_t j,
                                          double* totals) {
    double total = totals[j];
#ifdef __CUDA_ARCH__
#pragma unroll 16
#endif
    for (std::int64_t b = 0; b < blocks; ++b) total += rows[static_cast<std::size_t>(b) * values + j];
    totals[j] = total;
}

/// --rng numpy on the device: one realization of the CPU engine's add_group (src/ensemble/ensemble.cpp) on data made by
/// the CPU, operation for operation: the regressor newest first with zeros before the start, yi summed from tap 0, ei =
/// d - yi, w + step * ei * xM (p.step: eta / 2 * 2), no fused multiply-add. StaticM > 0: M at compile time.
template <int StaticM> struct DataRealization {
    double* xM; ///< M values: the regressor
    double* w;  ///< M values

    LMSREF_HOST_DEVICE static int M(const philox::Problem& p) { return StaticM > 0 ? StaticM : p.taps; }

    /// Row 0: returns ||w(0) - wo_M||^2, summed from tap 0.
    LMSREF_HOST_DEVICE double start(const philox::Problem& p) {
        double deviation = 0.0;
        for (int k = 0; k < M(p); ++k) {
            xM[k] = 0.0;
            w[k] = 0.0;
            const double c = 0.0 - p.wo_M[k];
            deviation += c * c;
        }
        return deviation;
    }

    /// Sample n with x(n) and d(n): returns e(n)^2; w holds w(n + 1), *deviation ||w(n + 1) - wo_M||^2.
    LMSREF_HOST_DEVICE double step(const philox::Problem& p, double x, double d, double* deviation) {
        const int taps = M(p);
        for (int k = taps - 1; k > 0; --k) xM[k] = xM[k - 1];
        xM[0] = x;
        double yi = 0.0;
        for (int k = 0; k < taps; ++k) yi += w[k] * xM[k];
        const double ei = d - yi;
        for (int k = 0; k < taps; ++k) w[k] = w[k] + p.step * ei * xM[k];
        double sum = 0.0;
        for (int k = 0; k < taps; ++k) {
            const double c = w[k] - p.wo_M[k];
            sum += c * c;
        }
        *deviation = sum;
        return ei * ei;
    }
};

/// The host's side of the row layout: the totals' curves (mse: N, msd: N + 1, meanw: (N + 1) M) into rows and back.
inline void curves_to_rows(const double* mse, const double* msd, const double* meanw, std::int64_t samples, int taps,
                           double* rows) {
    const auto columns = static_cast<std::size_t>(taps + 2);
    for (std::size_t n = 0; n <= static_cast<std::size_t>(samples); ++n) {
        double* row = rows + n * columns;
        row[0] = n > 0 ? mse[n - 1] : 0.0;
        row[1] = msd[n];
        for (std::size_t k = 0; k < static_cast<std::size_t>(taps); ++k) row[2 + k] = meanw[n * (columns - 2) + k];
    }
}
inline void rows_to_curves(const double* rows, std::int64_t samples, int taps, double* mse, double* msd,
                           double* meanw) {
    const auto columns = static_cast<std::size_t>(taps + 2);
    for (std::size_t n = 0; n <= static_cast<std::size_t>(samples); ++n) {
        const double* row = rows + n * columns;
        if (n > 0) mse[n - 1] = row[0];
        msd[n] = row[1];
        for (std::size_t k = 0; k < static_cast<std::size_t>(taps); ++k) meanw[n * (columns - 2) + k] = row[2 + k];
    }
}

} // namespace cuda_kernel
} // namespace lmsref
