#include "ensemble/theory.hpp"

#include "core/errors.hpp"

#include "lms/bounds.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace lmsref {

namespace {

/// predict() for leaky LMS (gamma > 0), pre-windowed: the per-tap recursion of q_k and m_k above.
TheoryPrediction predict_leaky(const Scenario& scenario, double sx2, double initial_weight_variance, double gamma) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    const auto M = static_cast<std::size_t>(scenario.taps);
    const std::size_t L = scenario.wo.size();
    const double eta = scenario.step_size;
    const double Md = static_cast<double>(M);
    const double b = 1.0 - eta * gamma;
    const double keep = b * b - 2.0 * b * eta * sx2 + 2.0 * eta * eta * sx2 * sx2; // per-tap q factor
    const double shrink = b - eta * sx2;                                           // the mean deviation's factor

    TheoryPrediction t;
    t.start = StartModel::prewindowed;
    t.initial_weight_variance = initial_weight_variance;
    t.input_power = sx2;
    t.gamma = gamma;
    double beyond = 0.0;
    for (std::size_t k = M; k < L; ++k) beyond += scenario.wo[k] * scenario.wo[k];
    t.j_min = scenario.noise_variance + sx2 * beyond;
    t.mean_bound = 2.0 / (sx2 + gamma);      // |b - eta sx2| < 1
    t.a = keep + eta * eta * sx2 * sx2 * Md; // the MSD's factor once every tap holds data
    t.past_mean_bound = std::abs(shrink) >= 1.0;
    t.past_mean_square_bound = t.a >= 1.0;
    // The bound on eta where a = 1: the positive root of (sx2 + gamma)^2 + M sx2^2 ... solved from
    // a(eta) = 1 - 2 eta (sx2 + gamma) + eta^2 ((sx2 + gamma)^2 + (M + 1) sx2^2) = 1.
    t.mean_square_bound = 2.0 * (sx2 + gamma) / ((sx2 + gamma) * (sx2 + gamma) + (Md + 1.0) * sx2 * sx2);
    const std::vector<double> wo_M = optimum_for_taps(scenario.wo, scenario.taps);
    double wo2 = 0.0;
    for (double w : wo_M) wo2 += w * w;
    if (t.past_mean_square_bound) {
        t.emse = t.mse = t.msd = t.misadjustment = std::numeric_limits<double>::infinity();
    } else { // the fixed point: m = -gamma wo / (sx2 + gamma), then the trace of q
        const double u = -gamma * wo2 / (sx2 + gamma); // sum_k m_k wo_k
        t.msd = (-2.0 * eta * gamma * shrink * u + eta * eta * gamma * gamma * wo2 + eta * eta * Md * sx2 * t.j_min) /
                (1.0 - t.a);
        t.emse = sx2 * t.msd;
        t.mse = t.j_min + t.emse;
        t.misadjustment = t.emse / t.j_min;
    }
    std::vector<double> q(M), m(M);
    for (std::size_t k = 0; k < M; ++k) {
        q[k] = wo_M[k] * wo_M[k] + initial_weight_variance;
        m[k] = -wo_M[k];
    }
    t.msd_curve.assign(N + 1, 0.0);
    t.mse_curve.assign(N, 0.0);
    t.meanw_curve.assign((N + 1) * M, 0.0);
    double reached = 0.0;
    for (std::size_t k = 0; k < M; ++k) {
        t.msd_curve[0] += q[k];
        t.meanw_curve[k] = wo_M[k] + m[k];
    }
    for (std::size_t n = 0; n < N; ++n) {
        if (n >= M && n < L) reached += scenario.wo[n] * scenario.wo[n];
        const double j_n = scenario.noise_variance + sx2 * reached;
        const std::size_t active_taps = std::min(n + 1, M);
        double active = 0.0;
        for (std::size_t k = 0; k < active_taps; ++k) active += q[k];
        t.mse_curve[n] = j_n + sx2 * active;
        double total = 0.0;
        for (std::size_t k = 0; k < M; ++k) {
            if (k < active_taps) {
                q[k] = keep * q[k] + eta * eta * sx2 * sx2 * active - 2.0 * eta * gamma * shrink * m[k] * wo_M[k] +
                       eta * eta * gamma * gamma * wo_M[k] * wo_M[k] + eta * eta * sx2 * j_n;
                m[k] = shrink * m[k] - eta * gamma * wo_M[k];
            }
            total += q[k];
            t.meanw_curve[(n + 1) * M + k] = wo_M[k] + m[k];
        }
        t.msd_curve[n + 1] = total;
    }
    return t;
}

} // namespace

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
//
// Leaky LMS (gamma > 0): w(n + 1) = (1 - eta gamma) w + eta e z, so with b = 1 - eta gamma and the mean deviation
// m = E c (which no longer vanishes: the leak pulls w towards 0),
//   c(n + 1) = (b I - eta z z^T) c - eta gamma wo_M + eta eo z,
//   m_k(n + 1) = (b - eta sx2) m_k - eta gamma wo_k,
//   q_k(n + 1) = (b^2 - 2 b eta sx2 + 2 eta^2 sx2^2) q_k + eta^2 sx2^2 A - 2 eta gamma (b - eta sx2) m_k wo_k
//                + eta^2 gamma^2 wo_k^2 + eta^2 sx2 J_min(n)                                    for k < m,
// the same Gaussian fourth moment; a tap without data keeps w_k = 0 (b 0 = 0) and its deviation. At gamma = 0 it is
// the LMS recursion above, and E w(inf) = sx2 / (sx2 + gamma) wo_M = (R + gamma I)^-1 R wo_M exactly.
TheoryPrediction predict(const Scenario& scenario, double input_power, StartModel start, double initial_weight_variance,
                         double gamma) {
    if (scenario.walk > 0 && gamma != 0.0) // a leaky filter has no steady state on a walking system
        throw InputError(Field{"walk"}, "no theory for leaky LMS (gamma > 0) on a walking system");
    if (scenario.input_ar1 || (scenario.walk > 0 && gamma == 0.0))
        return predict_coloured(scenario, start, initial_weight_variance, gamma); // R = sx2 I: white (sx2 = 1)
    if (gamma != 0.0) return predict_leaky(scenario, input_power, initial_weight_variance, gamma);
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

// The family's theories, white Gaussian input of power sx2, J_min as for LMS (sigmav2 + sx2 ||wo beyond M||^2):
// - nlms: EMSE = eta J_min M / ((2 - eta)(M - 2)), M > 2: the energy-conservation result eta J_min/(2 - eta)
//   (Sayed, Fundamentals of Adaptive Filtering, 2003, ch. 6) with E[1/||x||^2] = 1/(sx2 (M - 2)) for Gaussian x
//   (the inverse chi-square's mean) in place of 1/E||x||^2; stable in the mean square for 0 < eta < 2.
// - sign-error: EMSE = (alpha/2)(alpha + sqrt(alpha^2 + 4 J_min)), alpha = sqrt(pi/8) eta tr R, Gaussian error
//   (Sayed 2003, sec. 12.3: E sign(e) e = sqrt(2/pi) sigma_e).
// - leaky: the Gaussian second-moment recursion of predict(gamma): curves and steady state.
// - momentum, nesterov: for small steps, LMS with eta / (1 - beta) (Yuan, Ying and Sayed, On the influence of
//   momentum acceleration on online learning, JMLR 17, 2016): predict() with that step.
// - rls: lambda = 1, MSE(n) = J_min (1 + M / (n - M - 1)) for n > M + 1 (Haykin, Adaptive Filter Theory, 4th ed.,
//   sec. 9.8, with delta -> 0); lambda < 1, EMSE = J_min M (1 - lambda) / 2, an approximation for lambda near 1
//   (Haykin, sec. 9.8; Sayed 2003, sec. 14).
MemberTheory predict_member(const Scenario& scenario, double input_power, FamilyId member, const FamilyOptions& o) {
    const double sx2 = input_power;
    const double eta = scenario.step_size;
    const auto N = static_cast<std::size_t>(scenario.samples);
    const double Md = static_cast<double>(scenario.taps);
    MemberTheory theory;
    TheoryPrediction& t = theory.prediction;
    t = predict(scenario, sx2); // LMS's J_min, and its curves where a member is LMS in disguise
    const double j_min = t.j_min;
    const bool coloured = t.coloured; // --input ar1:A: R's eigenvalues in t.eigenvalues
    const std::string bound_value = fmt::format(" (eta < {:.6g})", t.mean_square_bound);
    const auto steady_only = [&](double emse) {
        t.mse_curve.clear();
        t.msd_curve.clear();
        t.meanw_curve.clear();
        t.emse = emse;
        t.mse = j_min + emse;
        t.msd = coloured ? std::numeric_limits<double>::quiet_NaN() : emse / sx2; // white: EMSE = sx2 MSD
        t.misadjustment = emse / j_min;
        theory.known = std::isfinite(emse);
    };
    if (scenario.walk > 0 && member != FamilyId::lms && member != FamilyId::momentum && member != FamilyId::nesterov) {
        theory.none = "--walk: the tracking theory here is LMS's (and momentum's and nesterov's through it)";
        steady_only(std::numeric_limits<double>::quiet_NaN());
        theory.known = false;
        t.past_mean_square_bound = false;
        return theory;
    }
    switch (member) {
    case FamilyId::lms:
        theory.curves = true;
        theory.model = coloured
                           ? "EMSE = J_min S / (1 - S), S = sum_i eta lambda_i / (2 - 2 eta lambda_i) over R's "
                             "eigenvalues, the Gaussian second-moment recursion in R's modes"
                           : "EMSE = eta M sx2 J_min / (2 - eta (M + 2) sx2), the Gaussian second-moment recursion";
        theory.basis = coloured
                           ? "independence assumption, Gaussian input of correlation R (Feuer and Weinstein, IEEE "
                             "Trans. ASSP 33(1), 1985)"
                           : "independence assumption, white Gaussian input (Haykin, Adaptive Filter Theory, ch. 6)";
        theory.bound =
            coloured ? "mean square: eta lambda_max < 1 and S < 1" + bound_value : "mean square: eta < 2/((M + 2) sx2)";
        theory.past_bound = t.past_mean_square_bound;
        theory.known = !theory.past_bound;
        break;
    case FamilyId::nlms:
        theory.bound = "0 < eta < 2";
        theory.past_bound = !(eta > 0 && eta < 2);
        if (scenario.taps <= 2) {
            theory.none = "E[1/||x||^2] is infinite for M <= 2 taps of Gaussian input: no closed form";
            steady_only(std::numeric_limits<double>::quiet_NaN());
            break;
        }
        if (coloured) { // tr R E[1/||x||^2] in place of M / (M - 2)
            double trace = 0.0;
            for (double lambda : t.eigenvalues) trace += lambda;
            const double inverse_power = expected_inverse_power(t.eigenvalues);
            theory.model = "EMSE = eta J_min tr R E[1/||x||^2] / (2 - eta), E[1/||x||^2] = int_0^inf prod_i (1 + 2 "
                           "lambda_i t)^(-1/2) dt over R's eigenvalues";
            theory.basis = "energy conservation, small eta, Gaussian input of correlation R (Sayed, Fundamentals of "
                           "Adaptive Filtering, 2003, ch. 6); an approximation";
            steady_only(theory.past_bound ? std::numeric_limits<double>::infinity()
                                          : eta * j_min * trace * inverse_power / (2 - eta));
            break;
        }
        theory.model = "EMSE = eta J_min M / ((2 - eta)(M - 2)), E[1/||x||^2] = 1/(sx2 (M - 2))";
        theory.basis = "energy conservation, small eta, white Gaussian input (Sayed, Fundamentals of Adaptive "
                       "Filtering, 2003, ch. 6); an approximation";
        steady_only(theory.past_bound ? std::numeric_limits<double>::infinity()
                                      : eta * j_min * Md / ((2 - eta) * (Md - 2)));
        break;
    case FamilyId::sign_error: {
        const double alpha = std::sqrt(3.14159265358979323846 / 8) * eta * Md * sx2; // tr R: M sx2, also coloured
        theory.model = "EMSE = (alpha/2)(alpha + sqrt(alpha^2 + 4 J_min)), alpha = sqrt(pi/8) eta tr R";
        theory.basis = std::string("Gaussian error, independence assumption, small eta (Sayed 2003, sec. 12.3") +
                       (coloured ? "; any R through tr R" : "") + "); an approximation";
        steady_only(alpha / 2 * (alpha + std::sqrt(alpha * alpha + 4 * j_min)));
        break;
    }
    case FamilyId::leaky:
        t = predict(scenario, sx2, StartModel::prewindowed, 0.0, o.gamma);
        theory.curves = true;
        theory.model = "the Gaussian second-moment recursion with the leak; E w(inf) = (R + gamma I)^-1 R wo";
        theory.basis = coloured ? "independence assumption, Gaussian input of correlation R (derived as LMS's, in R's "
                                  "modes: src/ensemble/coloured_theory.cpp)"
                                : "independence assumption, white Gaussian input (derived as LMS's: "
                                  "src/ensemble/theory.cpp)";
        theory.bound = coloured ? "mean square: every mode converges and S < 1" +
                                      fmt::format(" (eta < {:.6g})", t.mean_square_bound) // leaky's own
                                : "mean square: a(eta) = 1 - 2 eta (sx2 + gamma) + eta^2 ((sx2 + gamma)^2 + (M + 1) "
                                  "sx2^2) < 1";
        theory.past_bound = t.past_mean_square_bound;
        theory.known = !theory.past_bound;
        break;
    case FamilyId::momentum:
    case FamilyId::nesterov: {
        if (!(o.beta >= 0 && o.beta < 1)) {
            theory.none = "the small-step equivalence needs 0 <= beta < 1";
            steady_only(std::numeric_limits<double>::quiet_NaN());
            break;
        }
        Scenario equivalent = scenario;
        equivalent.step_size = eta / (1 - o.beta);
        t = predict(equivalent, sx2);
        theory.curves = true;
        theory.model = "LMS with eta / (1 - beta)";
        theory.basis = "small steps (Yuan, Ying and Sayed, JMLR 17, 2016); an approximation, worse as beta -> 1";
        theory.bound =
            coloured ? "LMS's with eta / (1 - beta)" + fmt::format(": eta < {:.6g}", t.mean_square_bound * (1 - o.beta))
                     : "LMS's with eta / (1 - beta): eta / (1 - beta) < 2/((M + 2) sx2)";
        theory.past_bound = t.past_mean_square_bound;
        theory.known = !theory.past_bound;
        break;
    }
    case FamilyId::rls: {
        // lambda = 1: Haykin's MSE(n) = J_min (1 + M / (n - M - 1)), the inverse-Wishart mean of the covariance
        // estimate, exact for Gaussian input with delta -> 0. lambda < 1: MSE(n) = J_min (1 + M c / n_eff), with
        // n_eff = (1 - lambda^n) / (1 - lambda) the forgetting window's weight and c = (1 + lambda^n) / (1 + lambda)
        // its noise's (the sum of lambda^2k over the window, relative): weights' error covariance J_min (1 -
        // lambda)(1 + lambda^n) / ((1 + lambda)(1 - lambda^n)) R^-1. It tends to J_min M (1 - lambda) / (1 + lambda),
        // the textbook J_min M (1 - lambda) / 2 for lambda near 1; an approximation for M (1 - lambda) << 1.
        const double lambda = o.lambda;
        std::vector<double> curve(N, std::numeric_limits<double>::quiet_NaN());
        for (std::size_t n = 0; n < N; ++n) {
            const double dn = static_cast<double>(n);
            const double power = lambda == 1.0 ? 1.0 : std::pow(lambda, dn);
            const double window = lambda == 1.0 ? dn : (1 - power) / (1 - lambda);
            const double weight = lambda == 1.0 ? 1.0 : (1 + power) / (1 + lambda);
            if (lambda == 1.0 && window > Md + 1) curve[n] = j_min * (1 + Md / (window - Md - 1));
            if (lambda < 1.0 && n > 0) curve[n] = j_min * (1 + Md * weight / window);
        }
        // lambda = 1 has no limit short of J_min itself: the window's mean of the curve is the prediction there.
        // lambda < 1: the limit J_min (1 + M (1 - lambda) / (1 + lambda)); compare_steady_state sets the curve's mean
        // over the window beside it where the curve has not reached it.
        const std::size_t first = N - std::max<std::size_t>(1, N / 4);
        double window_sum = 0.0;
        for (std::size_t n = first; n < N; ++n) window_sum += curve[n];
        const double window_emse = window_sum / static_cast<double>(N - first) - j_min;
        steady_only(lambda == 1.0 ? window_emse : j_min * Md * (1 - lambda) / (1 + lambda));
        t.mse_curve = std::move(curve);
        theory.curves = true;
        theory.known = std::isfinite(t.emse) && std::isfinite(window_emse);
        if (!theory.known) theory.none = "the curve starts at n = M + 2, after the steady-state window begins";
        theory.model = lambda == 1.0 ? "MSE(n) = J_min (1 + M / (n - M - 1)) for n > M + 1"
                                     : "MSE(n) = J_min (1 + M c / n_eff), n_eff = (1 - lambda^n) / (1 - lambda), "
                                       "c = (1 + lambda^n) / (1 + lambda); its limit J_min (1 + M (1 - lambda) / (1 "
                                       "+ lambda)), an EMSE of about J_min M (1 - lambda) / 2";
        theory.basis = lambda == 1.0 ? "Gaussian input of any colour, delta -> 0 (Haykin, Adaptive Filter Theory, 4th "
                                       "ed., sec. 9.8): exact"
                                     : "Gaussian input of any colour, delta -> 0, M (1 - lambda) << 1 (Haykin, sec. "
                                       "9.8, with the window's weight in place of n): an approximation";
        break;
    }
    default:
        theory.none = "no published closed form checked here for this member";
        steady_only(std::numeric_limits<double>::quiet_NaN());
        break;
    }
    if (!theory.known && theory.none.empty()) theory.none = "eta is past the stability bound: no steady state";
    t.past_mean_square_bound = theory.past_bound;
    return theory;
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
    c.window_relative_gap = (c.mse - c.predicted_window_mse) / c.predicted_window_mse;
    const double unresolved = c.mse_standard_error > 0 ? 0.5 * c.mse_standard_error : 1e-6 * std::abs(c.predicted_mse);
    c.theory_settled = !(std::abs(c.predicted_window_mse - c.predicted_mse) > unresolved);
    const std::int64_t half_length = (simulated.samples - c.first_sample) / 2; // the first, the shorter
    c.settling_known = half_length >= 8 && c.mse_standard_error > 0 && std::isfinite(simulated.steady_half_mse[0]) &&
                       std::isfinite(simulated.steady_half_mse[1]);
    if (c.settling_known) {
        c.window_drop = simulated.steady_half_mse[0] - simulated.steady_half_mse[1];
        c.drop_in_standard_errors = c.window_drop / (2.0 * c.mse_standard_error);
        c.settled = !(std::abs(c.drop_in_standard_errors) > 3.0); // a rise, too, is no steady state
    }
    return c;
}

std::vector<double> decimated(const std::vector<double>& curve, std::int64_t m) {
    std::vector<double> kept;
    const auto step = static_cast<std::size_t>(std::max<std::int64_t>(1, m));
    for (std::size_t n = 0; n < curve.size(); n += step) kept.push_back(curve[n]);
    return kept;
}

} // namespace lmsref
