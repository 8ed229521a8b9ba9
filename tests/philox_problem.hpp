// The philox::Problem of a scenario, as the engine makes it (wo_K: wo padded to max(M, len(wo)); wo_M: wo cut or
// padded to M), for the tests that run philox::Realization directly.
#pragma once

#include "lms/scenario.hpp"
#include "random/philox_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace lmsref::test {

/// wo_K and wo_M hold the coefficients the problem points to: they must outlive it.
inline philox::Problem philox_problem(const Scenario& s, std::vector<double>& wo_K, std::vector<double>& wo_M) {
    const auto M = static_cast<std::size_t>(s.taps);
    const std::size_t K = std::max(M, s.wo.size());
    wo_K.assign(K, 0.0);
    wo_M.assign(M, 0.0);
    std::copy(s.wo.begin(), s.wo.end(), wo_K.begin());
    std::copy_n(s.wo.begin(), std::min(M, s.wo.size()), wo_M.begin());
    philox::Problem p;
    p.samples = s.samples;
    p.taps = static_cast<int>(M);
    p.history = static_cast<int>(K);
    p.step = s.step_size / 2 * 2;
    p.noise_gain = std::sqrt(s.noise_variance);
    p.seed = s.seed;
    const auto N = static_cast<std::size_t>(s.samples);
    p.steady_start = static_cast<std::int64_t>(N - std::max<std::size_t>(1, N / 4));
    p.wo_K = wo_K.data();
    p.wo_M = wo_M.data();
    return p;
}

} // namespace lmsref::test
