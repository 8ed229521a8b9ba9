// The CUDA kernel's arithmetic on the CPU, without a GPU: src/ensemble/cuda/block_sums.hpp's functions (the numpy-data
// realization, a block's column sums, its steady state, the row layout and the block-ordered addition of the rows
// into the totals) and philox::Realization, called in the order the kernel (src/ensemble/cuda/ensemble_kernel.cu) and
// its host side (run_cuda in src/ensemble/ensemble.cpp) call them: one thread per realization, a block's values per row
// side by side at the shared stride, the span's blocks added into the totals carried from span to span, the
// steady-state triples merged on the host. The curves must be the CPU engine's bits.
#include "cuda_emulation.hpp"
#include "ensemble/cuda/block_sums.hpp"
#include "ensemble/ensemble.hpp"
#include "lms/scenario.hpp"
#include "philox_problem.hpp"
#include "random/philox_data.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace lmsref;
using namespace lmsref::test;
using namespace lmsref::cuda_kernel;

namespace {

struct Emulated {
    std::vector<double> mse, msd, meanw;
    double steady_mean = 0.0, steady_m2 = 0.0;
    std::int64_t completed = 0;
};

// The kernel's blocks and the host's spans of `span` blocks. make(r, t, hist, w) gives realization r's thread state
// (test::emulate_block).
template <class Make> Emulated emulate(const philox::Problem& p, std::int64_t R, std::int64_t span, const Make& make) {
    const std::int64_t N = p.samples;
    const int M = p.taps;
    const std::size_t values = row_values(N, M);
    const std::int64_t blocks = (R + block_size - 1) / block_size;
    Emulated out{std::vector<double>(static_cast<std::size_t>(N), 0.0),
                 std::vector<double>(static_cast<std::size_t>(N + 1), 0.0),
                 std::vector<double>(static_cast<std::size_t>((N + 1) * M), 0.0)};
    std::vector<double> totals(values);
    for (std::int64_t first_block = 0; first_block < blocks; first_block += span) {
        const std::int64_t count_blocks = std::min(span, blocks - first_block);
        std::vector<double> rows(static_cast<std::size_t>(count_blocks) * values), steady(steady_record * count_blocks);
        for (std::int64_t b = 0; b < count_blocks; ++b) // the kernel: CUDA block b of the launch
            test::emulate_block(p, R, first_block + b, make, rows.data() + b * values, &steady[steady_record * b]);
        // The host: the totals into rows, the adding kernel's threads j, back; the steady triples merged.
        curves_to_rows(out.mse.data(), out.msd.data(), out.meanw.data(), N, M, totals.data());
        for (std::size_t j = 0; j < values; ++j) add_blocks(rows.data(), values, count_blocks, j, totals.data());
        rows_to_curves(totals.data(), N, M, out.mse.data(), out.msd.data(), out.meanw.data());
        for (std::int64_t b = 0; b < count_blocks; ++b) { // Totals::add_steady
            const auto n_a = static_cast<double>(out.completed);
            const double* record = &steady[steady_record * b];
            const double n_b = record[0];
            const double delta = record[1] - out.steady_mean;
            out.steady_mean += delta * (n_b / (n_a + n_b));
            out.steady_m2 += record[2] + delta * delta * (n_a * n_b / (n_a + n_b));
            out.completed += static_cast<std::int64_t>(n_b);
        }
    }
    for (auto* curve : {&out.mse, &out.msd, &out.meanw})
        for (double& value : *curve) value /= static_cast<double>(R);
    return out;
}

void check_same(const Emulated& kernel, const EnsembleResult& cpu) {
    CHECK(kernel.completed == cpu.completed_realizations);
    CHECK(same_bits(kernel.mse, cpu.mse));
    CHECK(same_bits(kernel.msd, cpu.msd));
    CHECK(same_bits(kernel.meanw, cpu.meanw));
    CHECK(kernel.steady_mean == cpu.steady_mse);
    CHECK(kernel.steady_m2 == cpu.steady_m2);
}

} // namespace

TEST_CASE("cuda host: the kernel's arithmetic and block order give the CPU engine's philox curves, bit for bit",
          "[cuda][philox]") {
    // M = 3 (len(wo) = 3), M = 2 with len(wo) = 3 (K > M), M = 12; R = 5 blocks and 13 (the last block short);
    // spans of 1, 2 and all blocks (the totals carried from span to span).
    for (std::int64_t M : {3, 2, 12}) {
        Scenario s;
        s.samples = 40;
        s.taps = M;
        s.seed = 7;
        EnsembleOptions options;
        options.scenario = s;
        options.realizations = 5 * block_size + 13;
        options.threads = 1;
        options.rng = Rng::philox;
        const EnsembleResult cpu = run_ensemble(options);
        std::vector<double> wo_K, wo_M;
        const philox::Problem p = test::philox_problem(s, wo_K, wo_M);
        for (std::int64_t span : {1, 2, 6}) {
            INFO("M = " << M << ", span " << span);
            check_same(emulate(p, options.realizations, span,
                               [](std::uint64_t r, int, double* hist, double* w) {
                                   return test::PhiloxThread{{hist, w}, r};
                               }),
                       cpu);
        }
    }
}

TEST_CASE("cuda host: the kernel's numpy-data arithmetic gives the CPU engine's curves on the same x and d, bit for "
          "bit",
          "[cuda][numpy]") {
    // Data from the numpy generator's own realizations would do too; any x and d will, so take ones easy to make.
    for (std::int64_t M : {3, 12}) {
        Scenario s;
        s.samples = 30;
        s.taps = M;
        EnsembleOptions options;
        options.scenario = s;
        options.realizations = 2 * block_size + 5;
        options.threads = 1;
        const auto N = static_cast<std::size_t>(s.samples);
        const auto R = static_cast<std::size_t>(options.realizations);
        std::vector<double> x(N * R), d(N * R);
        for (std::size_t j = 0; j < N * R; ++j) {
            x[j] = std::sin(0.37 * static_cast<double>(j)) + 0.1 * std::cos(1.3 * static_cast<double>(j % 17));
            d[j] = 0.8 * x[j] + 0.05 * std::sin(2.1 * static_cast<double>(j));
        }
        const EnsembleResult cpu = run_ensemble_matrices(options, x, d);
        std::vector<double> wo_K, wo_M;
        const philox::Problem p = test::philox_problem(s, wo_K, wo_M);
        for (std::int64_t span : {1, 3}) {
            INFO("M = " << M << ", span " << span);
            check_same(
                emulate(p, options.realizations, span,
                        [&](std::uint64_t r, int, double* xM, double* w) {
                            return test::DataThread{{xM, w}, x.data() + r, d.data() + r, static_cast<std::int64_t>(R)};
                        }),
                cpu);
        }
    }
}

TEST_CASE("cuda host: the row layout carries the totals there and back, and the blocks are added in block order",
          "[cuda]") {
    const std::int64_t N = 3;
    const int M = 2;
    const std::vector<double> mse = {1, 2, 3}, msd = {4, 5, 6, 7}, meanw = {8, 9, 10, 11, 12, 13, 14, 15};
    std::vector<double> rows(row_values(N, M), -1.0);
    curves_to_rows(mse.data(), msd.data(), meanw.data(), N, M, rows.data());
    CHECK(rows == std::vector<double>{0, 4, 8, 9, 1, 5, 10, 11, 2, 6, 12, 13, 3, 7, 14, 15});
    std::vector<double> back_mse(3), back_msd(4), back_meanw(8);
    rows_to_curves(rows.data(), N, M, back_mse.data(), back_msd.data(), back_meanw.data());
    CHECK(back_mse == mse);
    CHECK(back_msd == msd);
    CHECK(back_meanw == meanw);
    // (1 + 1e16) - 1e16 = 0 and 1 + (1e16 - 1e16) = 1: the order shows in the result.
    std::vector<double> totals = {1.0};
    const std::vector<double> blocks = {1e16, -1e16};
    add_blocks(blocks.data(), 1, 2, 0, totals.data());
    CHECK(totals[0] == 0.0);
    const std::vector<double> column = {1.0, 1e16, -1e16};
    CHECK(add_column(column.data(), 3) == 0.0); // realization order; from the last one first it would be 1
    double steady[steady_record];
    const std::vector<double> means = {1.0, 2.0, 4.0};
    block_steady(means.data(), 3, 1.5, steady);
    CHECK(steady[0] == 3.0);
    CHECK(steady[1] == Approx(7.0 / 3.0).epsilon(1e-15));
    CHECK(steady[2] == Approx(14.0 / 3.0).epsilon(1e-15)); // sum of (v - 7/3)^2
    CHECK(steady[3] == 4.0);                               // the largest, at offset 2
    CHECK(steady[4] == 2.0);
    CHECK(steady[5] == 2.0); // 2 and 4 are above 1.5: offsets 1 and 2, then none
    CHECK(steady[6] == 1.0);
    CHECK(steady[7] == 2.0);
    CHECK(steady[8] == -1.0);
    // A NaN ranks above every number and counts as diverged; ties keep the first.
    const std::vector<double> odd = {3.0, std::nan(""), 3.0, 7.0};
    block_steady(odd.data(), 4, 1e300, steady);
    CHECK(std::isnan(steady[3]));
    CHECK(steady[4] == 1.0);
    CHECK(steady[5] == 1.0);
    CHECK(steady[6] == 1.0);
}
