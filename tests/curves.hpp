// The engine's curves rebuilt from single runs, for the tests that check the engine against them bit for bit.
#pragma once

#include "ensemble/ensemble.hpp" // ensemble_block_size
#include "lms/stage.hpp"         // Trajectory

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lmsref::test {

struct Curves {
    std::vector<double> mse, msd, meanw;
};

/// Realization r's single run and the weights its deviation is measured from: M taps, or (N + 1) x M (a walking
/// system, row n for w(n)).
struct SingleRun {
    Trajectory trajectory;
    std::vector<double> target;
};

/// The curves of realizations 0 ... R - 1 from run_of(r) (a SingleRun), summed as the engine sums: e^2,
/// ||w(n) - target(n)||^2 and w, in realization order within blocks of ensemble_block_size from 0.0, the blocks
/// added in block order, divided by R.
template <class RunOf> Curves direct_curves(std::size_t N, std::size_t M, std::int64_t R, const RunOf& run_of) {
    const auto zeros = [&] {
        return Curves{std::vector<double>(N, 0.0), std::vector<double>(N + 1, 0.0),
                      std::vector<double>((N + 1) * M, 0.0)};
    };
    Curves total = zeros();
    for (std::int64_t first = 0; first < R; first += ensemble_block_size) {
        Curves block = zeros();
        for (std::int64_t r = first; r < std::min(R, first + ensemble_block_size); ++r) {
            const SingleRun run = run_of(r);
            const Trajectory& t = run.trajectory;
            const bool moving = run.target.size() > M;
            for (std::size_t n = 0; n < N; ++n) block.mse[n] += t.e[n] * t.e[n];
            for (std::size_t n = 0; n <= N; ++n) {
                double deviation = 0.0;
                for (std::size_t k = 0; k < M; ++k) {
                    const double c = t.w(n, k) - run.target[moving ? n * M + k : k];
                    deviation += c * c;
                    block.meanw[n * M + k] += t.w(n, k);
                }
                block.msd[n] += deviation;
            }
        }
        for (std::size_t j = 0; j < N; ++j) total.mse[j] += block.mse[j];
        for (std::size_t j = 0; j <= N; ++j) total.msd[j] += block.msd[j];
        for (std::size_t j = 0; j < total.meanw.size(); ++j) total.meanw[j] += block.meanw[j];
    }
    for (auto* curve : {&total.mse, &total.msd, &total.meanw})
        for (double& value : *curve) value /= static_cast<double>(R);
    return total;
}

} // namespace lmsref::test
