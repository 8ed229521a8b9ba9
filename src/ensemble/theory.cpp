#include "ensemble/theory.hpp"

#include "lms/bounds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lmsref {

// The model. Deviation c(n) = w(n) - wo_M; regressor z(n) = xM(n); d(n) = wo_M . z(n) + eo(n), where eo(n) holds the
// taps of wo beyond M (inputs the filter never sees) and the noise. With white Gaussian input of power sx2 and the
// independence assumption (z(n) independent of c(n) and eo(n)):
//   e(n) = eo(n) - c(n) . z(n),   c(n + 1) = (I - eta z z^T) c(n) + eta eo(n) z(n),
//   MSE(n) = E eo(n)^2 + E[c^T z z^T c],   K(n) = E[c c^T],
//   K(n + 1) = K - eta (S K + K S) + eta^2 (2 S K S + tr(S K) S) + eta^2 E[eo^2] S,   S = E[z z^T]
// (Isserlis' theorem for the fourth moment of a Gaussian z).
//
// Stationary start (msepred): S = sx2 I from sample 0 on, so the trace closes on itself:
//   MSD(n + 1) = a MSD(n) + eta^2 M sx2 J_min,   a = 1 - 2 eta sx2 + eta^2 sx2^2 (M + 2),   MSE(n) = J_min + sx2
//   MSD(n).
//
// Pre-windowed start (what the loop does: zeros before sample 0). At sample n only the first m = min(n + 1, M) taps
// hold data: S = sx2 P with P the projection on those taps, and only the taps k <= n of wo reach d(n), so
//   J_min(n) = sigmav2 + sx2 sum_{k = M}^{min(n, L - 1)} wo_k^2                              (L = len(wo)),
//   MSE(n) = J_min(n) + sx2 A(n),   A(n) = sum_{k < m} q_k(n),   q_k = K_kk (the per-tap MSD).
// The diagonal of K closes on itself (the off-diagonal terms of K only enter through P K P's diagonal):
//   q_k(n + 1) = (1 - 2 eta sx2 + 2 eta^2 sx2^2) q_k(n) + eta^2 sx2^2 A(n) + eta^2 sx2 J_min(n)   for k < m,
//   q_k(n + 1) = q_k(n)                                                                           for k >= m
// (a tap without data keeps its initial deviation: its weight stays 0). Summed over k:
//   MSD(n + 1) = MSD(n) - (2 eta sx2 - eta^2 sx2^2 (m + 2)) A(n) + eta^2 m sx2 J_min(n),
// the textbook recursion with M -> m and MSD -> the active taps' part. q_k(0) = wo_k^2 (+ Var w_k(0) for a random
// start, as nn::Linear's). It is exact at n = 0
// (MSE(0) = sigmav2 + sx2 wo_0^2, where the stationary recursion says J_min + sx2 ||wo_M||^2), and from
// n = max(M, L) - 1 on every tap is active and J_min(n) = J_min: the stationary recursion carries on from there.
TheoryPrediction predict(const Scenario& scenario, double input_power, StartModel start,
                         double initial_weight_variance) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    const auto M = static_cast<std::size_t>(scenario.taps);
    const std::size_t L = scenario.wo.size();
    const double eta = scenario.step_size;
    const double sx2 = input_power;
    const double Md = static_cast<double>(M);

    TheoryPrediction t;
    t.start = start;
    t.initial_weight_variance = initial_weight_variance;
    t.input_power = sx2;
    double beyond = 0.0; // ||wo beyond M taps||^2
    for (std::size_t k = M; k < L; ++k) beyond += scenario.wo[k] * scenario.wo[k];
    t.j_min = scenario.noise_variance + sx2 * beyond;
    t.mean_bound = 2.0 / sx2;
    t.mean_square_bound = stability_bound(scenario.taps, sx2);
    t.past_mean_bound = eta >= t.mean_bound;
    t.past_mean_square_bound = eta >= t.mean_square_bound;
    t.a = 1.0 - 2.0 * eta * sx2 + eta * eta * sx2 * sx2 * (Md + 2.0);
    if (t.past_mean_square_bound) {
        // a >= 1: the recursion has no finite fixed point (2 - eta (M + 2) sx2 <= 0 makes the closed forms
        // negative or infinite, which would mean nothing): no steady state.
        t.emse = t.mse = t.msd = t.misadjustment = std::numeric_limits<double>::infinity();
    } else {
        const double denominator = 2.0 - eta * (Md + 2.0) * sx2;
        t.misadjustment = eta * Md * sx2 / denominator;
        t.emse = eta * Md * sx2 * t.j_min / denominator;
        t.mse = t.j_min + t.emse;
        t.msd = eta * Md * t.j_min / denominator; // emse / sx2, without dividing by sx2
    }

    const std::vector<double> wo_M = optimum_for_taps(scenario.wo, scenario.taps);
    t.msd_curve.assign(N + 1, 0.0);
    t.mse_curve.assign(N, 0.0);
    // E c_k(0)^2 = wo_k^2 + Var w_k(0): a random start adds its variance to every tap's deviation.
    double msd0 = 0.0;
    for (double w : wo_M) msd0 += w * w + initial_weight_variance;
    t.msd_curve[0] = msd0;
    const double noise = eta * eta * Md * sx2 * t.j_min; // eta^2 M sx2 J_min

    std::size_t n = 0;
    if (start == StartModel::prewindowed) {
        std::vector<double> q(M); // per-tap MSD
        for (std::size_t k = 0; k < M; ++k) q[k] = wo_M[k] * wo_M[k] + initial_weight_variance;
        const double keep = 1.0 - 2.0 * eta * sx2 + 2.0 * eta * eta * sx2 * sx2;
        const std::size_t transient = std::min(N, std::max(M, L) - 1);
        double reached = 0.0; // sum_{k = M}^{min(n, L - 1)} wo_k^2
        for (; n < transient; ++n) {
            if (n >= M && n < L) reached += scenario.wo[n] * scenario.wo[n];
            const double j_n = scenario.noise_variance + sx2 * reached;
            const std::size_t m = std::min(n + 1, M);
            double active = 0.0;
            for (std::size_t k = 0; k < m; ++k) active += q[k];
            t.mse_curve[n] = j_n + sx2 * active;
            const double feed = eta * eta * sx2 * sx2 * active + eta * eta * sx2 * j_n;
            double total = 0.0;
            for (std::size_t k = 0; k < M; ++k) {
                if (k < m) q[k] = keep * q[k] + feed;
                total += q[k];
            }
            t.msd_curve[n + 1] = total;
        }
    }
    for (; n < N; ++n) {
        t.mse_curve[n] = t.j_min + sx2 * t.msd_curve[n];
        t.msd_curve[n + 1] = t.a * t.msd_curve[n] + noise;
    }

    // The mean deviation: E c(n + 1) = (I - eta S(n)) E c(n), as eo(n) is uncorrelated with the regressor (white
    // input). Stationary: every tap from n = 0 on; pre-windowed: tap k from n = k on.
    t.meanw_curve.assign((N + 1) * M, 0.0);
    const double shrink = 1.0 - eta * sx2;
    for (std::size_t k = 0; k < M; ++k) {
        double deviation = -wo_M[k]; // E c_k(0): w starts at 0
        const std::size_t first = start == StartModel::prewindowed ? k : 0;
        for (std::size_t row = 0; row <= N; ++row) {
            t.meanw_curve[row * M + k] = wo_M[k] + deviation;
            if (row >= first) deviation *= shrink;
        }
    }
    return t;
}

SteadyStateComparison compare_steady_state(const EnsembleResult& simulated, const TheoryPrediction& theory) {
    SteadyStateComparison c;
    c.first_sample = simulated.steady_start;
    c.mse = simulated.steady_mse;
    c.mse_standard_error = simulated.steady_mse_standard_error();
    c.emse = c.mse - theory.j_min;
    c.misadjustment = theory.j_min > 0 ? c.emse / theory.j_min : std::numeric_limits<double>::quiet_NaN();
    c.predicted_mse = theory.mse;
    double window = 0.0;
    const auto N = theory.mse_curve.size();
    const auto first = static_cast<std::size_t>(std::max<std::int64_t>(0, simulated.steady_start));
    for (std::size_t n = first; n < N; ++n) window += theory.mse_curve[n];
    c.predicted_window_mse = N > first ? window / static_cast<double>(N - first) : theory.mse;
    c.relative_gap = (c.mse - theory.mse) / theory.mse;
    c.emse_relative_gap = (c.emse - theory.emse) / theory.emse;
    c.gap_in_standard_errors = c.mse_standard_error > 0 ? (c.mse - c.predicted_window_mse) / c.mse_standard_error
                                                        : std::numeric_limits<double>::quiet_NaN();
    return c;
}

std::vector<double> decimated(const std::vector<double>& curve, std::int64_t m) {
    std::vector<double> kept;
    const auto step = static_cast<std::size_t>(std::max<std::int64_t>(1, m));
    for (std::size_t n = 0; n < curve.size(); n += step) kept.push_back(curve[n]);
    return kept;
}

} // namespace lmsref
