// LMS's (and leaky LMS's) theory for a stationary Gaussian input of any colour (--input ar1:A): the second-moment
// recursion with the input's correlation matrix R, in R's eigenbasis (Eigen's symmetric eigensolver) after the
// pre-windowed start; and E[1 / ||x||^2] for NLMS.
#include "ensemble/theory.hpp"

#include "lms/bounds.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lmsref {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

/// r(|i - j|) for i, j < size, zero outside the first `active` rows and columns.
MatrixXd toeplitz(const std::vector<double>& r, std::size_t size, std::size_t active) {
    MatrixXd R = MatrixXd::Zero(static_cast<Eigen::Index>(size), static_cast<Eigen::Index>(size));
    for (std::size_t i = 0; i < active; ++i)
        for (std::size_t j = 0; j < active; ++j)
            R(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = r[i > j ? i - j : j - i];
    return R;
}

/// p(n)_i = E[x(n - i) d(n)] for the first `active` taps, with the first `reached` taps of wo reaching d(n).
VectorXd cross_correlation(const std::vector<double>& r, const std::vector<double>& wo, std::size_t size,
                           std::size_t active, std::size_t reached) {
    VectorXd p = VectorXd::Zero(static_cast<Eigen::Index>(size));
    for (std::size_t i = 0; i < active; ++i)
        for (std::size_t k = 0; k < reached; ++k) p(static_cast<Eigen::Index>(i)) += wo[k] * r[i > k ? i - k : k - i];
    return p;
}

/// E d(n)^2 with the first `reached` taps of wo reaching d(n).
double desired_power(const std::vector<double>& r, const std::vector<double>& wo, double sigmav2, std::size_t reached) {
    double power = 0.0;
    for (std::size_t j = 0; j < reached; ++j)
        for (std::size_t k = 0; k < reached; ++k) power += wo[j] * wo[k] * r[j > k ? j - k : k - j];
    return power + sigmav2;
}

/// The modal recursion's per-mode factor keep_i = b^2 - 2 b eta lambda_i + 2 eta^2 lambda_i^2 (b = 1 - eta gamma) and
/// S = sum_i eta^2 lambda_i^2 / (1 - keep_i): the steady state's EMSE is (J_min S + C) / (1 - S). For LMS (gamma = 0)
/// S = sum_i eta lambda_i / (2 - 2 eta lambda_i). Infinity where a mode does not converge (keep_i >= 1).
double s_of(const VectorXd& lambda, double eta, double gamma) {
    const double b = 1.0 - eta * gamma;
    double s = 0.0;
    for (Eigen::Index i = 0; i < lambda.size(); ++i) {
        const double li = lambda(i);
        const double keep = b * b - 2.0 * b * eta * li + 2.0 * eta * eta * li * li;
        if (!(keep < 1.0)) return std::numeric_limits<double>::infinity();
        s += eta * eta * li * li / (1.0 - keep);
    }
    return s;
}

/// LMS's steady-state EMSE at step eta with the walk's drift_i (see predict_coloured): (J_min S + sum_i drift_i
/// lambda_i / (1 - keep_i)) / (1 - S); infinity past the mean-square bound.
double tracking_emse(const VectorXd& lambda, const VectorXd& drift, double j_min, double eta) {
    const double S = s_of(lambda, eta, 0.0);
    if (!(S < 1.0)) return std::numeric_limits<double>::infinity();
    double sum = 0.0;
    for (Eigen::Index i = 0; i < lambda.size(); ++i)
        sum += drift(i) / (2.0 * eta * (1.0 - eta * lambda(i))); // lambda_i / (1 - keep_i)
    return (j_min * S + sum) / (1.0 - S);
}

} // namespace

// E[1 / x^T x] for x ~ N(0, R) = int_0^inf prod_i (1 + 2 lambda_i t)^(-1/2) dt (the Laplace transform of the
// quadratic form's density, integrated over t); finite for M > 2. With t = e^v the integrand is smooth and decays at
// both ends (as e^v, and as e^(v (1 - M/2))): the trapezoid rule on v in [-50, 80] with 2^14 intervals. White input
// of power sx2 gives 1 / (sx2 (M - 2)).
double expected_inverse_power(const std::vector<double>& eigenvalues) {
    if (eigenvalues.size() <= 2) return std::numeric_limits<double>::infinity();
    const double from = -50.0, to = 80.0;
    const int intervals = 1 << 14;
    const double h = (to - from) / intervals;
    double sum = 0.0;
    for (int j = 0; j <= intervals; ++j) {
        const double v = from + h * j, t = std::exp(v);
        double log_f = v; // dt = e^v dv
        for (double li : eigenvalues) log_f -= 0.5 * std::log1p(2.0 * li * t);
        sum += (j == 0 || j == intervals ? 0.5 : 1.0) * std::exp(log_f);
    }
    return sum * h;
}

InputStatistics input_statistics(const Scenario& scenario) {
    const auto M = static_cast<std::size_t>(scenario.taps);
    const std::size_t L = scenario.wo.size();
    const std::vector<double> r = input_autocorrelation(scenario, std::max(M, L));
    const MatrixXd R = toeplitz(r, M, M);
    Eigen::SelfAdjointEigenSolver<MatrixXd> solver(R);
    InputStatistics s;
    const VectorXd& lambda = solver.eigenvalues(); // ascending
    s.eigenvalues.assign(lambda.data(), lambda.data() + lambda.size());
    s.lambda_min = lambda(0);
    s.lambda_max = lambda(lambda.size() - 1);
    s.spread = s.lambda_max / s.lambda_min;
    s.trace = R.trace();
    const VectorXd p = cross_correlation(r, scenario.wo, M, M, L);
    const VectorXd w = R.ldlt().solve(p);
    s.wiener.assign(w.data(), w.data() + w.size());
    s.j_min = desired_power(r, scenario.wo, scenario.noise_variance, L) - p.dot(w);
    return s;
}

std::string mean_square_bound_name(const TheoryPrediction& theory) {
    return theory.coloured ? "of R's modes (S = 1)" : "2/((M + 2) sx2)";
}

std::vector<double> wiener_solution(const Scenario& scenario) {
    if (!scenario.input_ar1) return optimum_for_taps(scenario.wo, scenario.taps);
    return input_statistics(scenario).wiener;
}

// The model (independence assumption, x stationary Gaussian with correlation R = toeplitz(r), r(k) = E x(n) x(n-k)).
// Pre-windowed start, samples n < T = max(M, L) - 1: the regressor z(n) holds data in its first min(n + 1, M) taps
// and the first min(n + 1, L) taps of wo reach d(n), so S(n) = E z z^T, p(n) = E z d and E d^2 change with n. With
// m = E w, W = E w w^T and (z, d) jointly Gaussian (Isserlis' theorem for the fourth moments),
//   m(n + 1) = (I - eta S) m + eta p,
//   W(n + 1) = W - eta (S W + W S) + eta^2 (2 S W S + S tr(S W)) + eta (m p^T + p m^T)
//              - 2 eta^2 (S m p^T + p m^T S + S (m^T p)) + eta^2 (E d^2 S + 2 p p^T),
//   MSE(n) = E d^2 - 2 m^T p + tr(S W),   MSD(n) = tr W - 2 m^T w_o + ||w_o||^2,
// exact at n = 0. From T on the statistics are stationary: with the deviation c = w - w_o from the Wiener solution
// w_o = R^-1 p (E[e_o z] = 0 makes the cross terms vanish), K = E c c^T follows
//   K(n + 1) = K - eta (R K + K R) + eta^2 (2 R K R + R tr(R K)) + eta^2 J_min R,
// which in R's eigenbasis (R = Q diag(lambda) Q^T) decouples on its diagonal k_i = (Q^T K Q)_ii (Feuer and
// Weinstein, IEEE Trans. ASSP 33(1), 1985):
//   k_i(n + 1) = (1 - 2 eta lambda_i + 2 eta^2 lambda_i^2) k_i + eta^2 lambda_i (sum_j lambda_j k_j + J_min),
//   MSE(n) = J_min + sum_i lambda_i k_i,   MSD(n) = sum_i k_i,   E c'(n + 1) = (1 - eta lambda_i) E c'(n).
// Steady state: EMSE = J_min S / (1 - S), S = sum_i eta lambda_i / (2 - 2 eta lambda_i); the mean square converges
// for eta lambda_max < 1 and S < 1 (exact under the assumption), the mean for eta < 2 / lambda_max.
//
// Leaky LMS (gamma > 0, b = 1 - eta gamma): w(n + 1) = (b I - eta z z^T) w + eta z d, so in the start
//   m(n + 1) = (b I - eta S) m + eta p,
//   W(n + 1) = b^2 W - b eta (S W + W S) + eta^2 (2 S W S + S tr(S W)) + b eta (m p^T + p m^T)
//              - 2 eta^2 (S m p^T + p m^T S + S (m^T p)) + eta^2 (E d^2 S + 2 p p^T),
// and after it, with c = w - w_o, its mean mu and u = Q^T w_o (the mean deviation no longer vanishes),
//   mu_i(n + 1) = (b - eta lambda_i) mu_i - eta gamma u_i,
//   k_i(n + 1) = keep_i k_i + eta^2 lambda_i (sum_j lambda_j k_j + J_min) + eta^2 gamma^2 u_i^2
//                - 2 eta gamma (b - eta lambda_i) mu_i u_i,   keep_i = b^2 - 2 b eta lambda_i + 2 eta^2 lambda_i^2,
// white input's per-tap recursion (theory.cpp) with sx2 -> lambda_i; E w(inf) = (R + gamma I)^-1 R w_o.
TheoryPrediction predict_coloured(const Scenario& scenario, StartModel start, double initial_weight_variance,
                                  double gamma) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    const auto M = static_cast<std::size_t>(scenario.taps);
    const std::size_t L = scenario.wo.size();
    const double eta = scenario.step_size;
    const auto Mi = static_cast<Eigen::Index>(M);
    const std::vector<double> r = input_autocorrelation(scenario, std::max(M, L));
    const MatrixXd R = toeplitz(r, M, M);
    Eigen::SelfAdjointEigenSolver<MatrixXd> solver(R);
    const VectorXd lambda = solver.eigenvalues();
    const MatrixXd& Q = solver.eigenvectors();
    const InputStatistics stats = input_statistics(scenario);
    const VectorXd wo_M = Eigen::Map<const VectorXd>(stats.wiener.data(), Mi);

    TheoryPrediction t;
    t.start = start;
    t.initial_weight_variance = initial_weight_variance;
    t.input_power = r[0];
    t.coloured = scenario.input_ar1.has_value(); // else white input with --walk: R = I
    t.walk = scenario.walk;
    // --walk Q: Q I on wo's L taps adds Q D, D = diag(1, ..., 1, 0, ...), to K each sample: drift_i = Q (Q^T D Q)_ii.
    VectorXd drift = VectorXd::Zero(Mi);
    for (Eigen::Index i = 0; i < Mi; ++i)
        for (std::size_t j = 0; j < std::min(L, M); ++j)
            drift(i) += scenario.walk * Q(static_cast<Eigen::Index>(j), i) * Q(static_cast<Eigen::Index>(j), i);
    t.eigenvalues = stats.eigenvalues;
    t.j_min = stats.j_min;
    t.maxstep_bound = 2.0 / (2.0 * stats.lambda_max + stats.trace);
    t.gamma = gamma;
    const double b = 1.0 - eta * gamma;
    const VectorXd u = Q.transpose() * wo_M;
    // The mean-square bound: the smallest eta where S(eta) reaches 1 (S grows from 0 with eta; infinite once a mode
    // stops converging), found by bisection below the mean bound. For LMS it lies below 1 / lambda_max.
    t.mean_bound = 2.0 / (stats.lambda_max + gamma);
    double low = 0.0, high = t.mean_bound;
    for (int i = 0; i < 200 && high - low > 1e-16 * high; ++i) {
        const double mid = 0.5 * (low + high);
        (s_of(lambda, mid, gamma) < 1.0 ? low : high) = mid;
    }
    t.mean_square_bound = low;
    t.past_mean_bound = eta >= t.mean_bound;
    const double S = s_of(lambda, eta, gamma);
    t.past_mean_square_bound = !(S < 1.0);
    // no single factor: one per mode (white input: the MSD's factor of theory.cpp)
    t.a = t.coloured ? std::numeric_limits<double>::quiet_NaN()
                     : 1.0 - 2.0 * eta + eta * eta * static_cast<double>(M + 2);
    if (t.past_mean_square_bound) {
        t.emse = t.mse = t.msd = t.misadjustment = std::numeric_limits<double>::infinity();
    } else { // the fixed point of the modal recursion (for LMS: EMSE = J_min S / (1 - S))
        VectorXd mu(Mi), keep(Mi), c(Mi);
        double C = 0.0;
        for (Eigen::Index i = 0; i < Mi; ++i) {
            const double li = lambda(i);
            mu(i) = -gamma * u(i) / (gamma + li);
            keep(i) = b * b - 2.0 * b * eta * li + 2.0 * eta * eta * li * li;
            c(i) =
                eta * eta * gamma * gamma * u(i) * u(i) - 2.0 * eta * gamma * (b - eta * li) * mu(i) * u(i) + drift(i);
            C += li * c(i) / (1.0 - keep(i));
        }
        t.emse = (t.j_min * S + C) / (1.0 - S);
        t.mse = t.j_min + t.emse;
        t.misadjustment = t.emse / t.j_min;
        t.msd = 0.0;
        for (Eigen::Index i = 0; i < Mi; ++i)
            t.msd += (eta * eta * lambda(i) * (t.emse + t.j_min) + c(i)) / (1.0 - keep(i));
    }

    // Tracking: the step that minimises the steady-state EMSE, where too small a step lags the walk and too large a
    // one adds gradient noise (golden-section search on log eta below the mean-square bound; the EMSE is infinite at
    // both ends).
    if (scenario.walk > 0 && gamma == 0.0) {
        const double golden = 0.5 * (std::sqrt(5.0) - 1.0);
        double lo = std::log(t.mean_square_bound * 1e-9), hi = std::log(t.mean_square_bound);
        for (int i = 0; i < 200 && hi - lo > 1e-10; ++i) {
            const double left = hi - golden * (hi - lo), right = lo + golden * (hi - lo);
            if (tracking_emse(lambda, drift, t.j_min, std::exp(left)) <
                tracking_emse(lambda, drift, t.j_min, std::exp(right)))
                hi = right;
            else
                lo = left;
        }
        t.optimal_step = std::exp(0.5 * (lo + hi));
        t.optimal_emse = tracking_emse(lambda, drift, t.j_min, t.optimal_step);
    }

    t.mse_curve.assign(N, 0.0);
    t.msd_curve.assign(N + 1, 0.0);
    t.meanw_curve.assign((N + 1) * M, 0.0);
    const double wo2 = wo_M.squaredNorm();
    VectorXd m = VectorXd::Zero(Mi); // E w
    MatrixXd W = initial_weight_variance * MatrixXd::Identity(Mi, Mi);
    t.msd_curve[0] = W.trace() + wo2;
    std::size_t n = 0;
    const std::size_t transient = start == StartModel::prewindowed ? std::min(N, std::max(M, L) - 1) : 0;
    MatrixXd K; // the deviation's second moment and mean (from w_o) where the modal recursion takes over
    VectorXd mean_c;
    if (scenario.walk > 0) { // len(wo) <= M: e = v - c.z with c = w - wo(n), so the deviation's own recursion
        K = wo_M * wo_M.transpose() + initial_weight_variance * MatrixXd::Identity(Mi, Mi);
        mean_c = -wo_M;
        MatrixXd D = MatrixXd::Zero(Mi, Mi);
        for (std::size_t j = 0; j < std::min(L, M); ++j)
            D(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(j)) = 1.0;
        for (; n < transient; ++n) {
            const MatrixXd Sn = toeplitz(r, M, std::min(n + 1, M));
            const MatrixXd SK = Sn * K;
            t.mse_curve[n] = scenario.noise_variance + SK.trace();
            const MatrixXd next = K - eta * (SK + SK.transpose()) + eta * eta * (2.0 * SK * Sn + Sn * SK.trace()) +
                                  eta * eta * scenario.noise_variance * Sn + scenario.walk * D;
            K = 0.5 * (next + next.transpose());
            mean_c = mean_c - eta * (Sn * mean_c);
            t.msd_curve[n + 1] = K.trace();
            for (std::size_t j = 0; j < M; ++j)
                t.meanw_curve[(n + 1) * M + j] =
                    wo_M(static_cast<Eigen::Index>(j)) + mean_c(static_cast<Eigen::Index>(j));
        }
    } else {
        for (; n < transient; ++n) {
            const std::size_t active = std::min(n + 1, M), reached = std::min(n + 1, L);
            const MatrixXd Sn = toeplitz(r, M, active);
            const VectorXd p = cross_correlation(r, scenario.wo, M, active, reached);
            const double dp = desired_power(r, scenario.wo, scenario.noise_variance, reached);
            const MatrixXd SW = Sn * W;
            t.mse_curve[n] = dp - 2.0 * m.dot(p) + SW.trace();
            const VectorXd Sm = Sn * m;
            const MatrixXd cross = Sm * p.transpose() + p * Sm.transpose() + Sn * m.dot(p);
            const MatrixXd next = b * b * W - b * eta * (SW + SW.transpose()) +
                                  eta * eta * (2.0 * SW * Sn + Sn * SW.trace()) +
                                  b * eta * (m * p.transpose() + p * m.transpose()) - 2.0 * eta * eta * cross +
                                  eta * eta * (dp * Sn + 2.0 * p * p.transpose());
            W = 0.5 * (next + next.transpose());
            m = b * m - eta * Sm + eta * p;
            t.msd_curve[n + 1] = W.trace() - 2.0 * m.dot(wo_M) + wo2;
            for (std::size_t k = 0; k < M; ++k) t.meanw_curve[(n + 1) * M + k] = m(static_cast<Eigen::Index>(k));
        }
        mean_c = m - wo_M;
        K = W - m * wo_M.transpose() - wo_M * m.transpose() + wo_M * wo_M.transpose();
    }
    // The deviation from w_o in R's eigenbasis: its mean and the diagonal of its second moment.
    VectorXd k = (Q.transpose() * K * Q).diagonal();
    VectorXd c = Q.transpose() * mean_c;
    for (; n < N; ++n) {
        const double emse = lambda.dot(k);
        t.mse_curve[n] = t.j_min + emse;
        for (Eigen::Index i = 0; i < Mi; ++i) {
            const double li = lambda(i);
            k(i) = (b * b - 2.0 * b * eta * li + 2.0 * eta * eta * li * li) * k(i) + eta * eta * li * (emse + t.j_min) +
                   eta * eta * gamma * gamma * u(i) * u(i) - 2.0 * eta * gamma * (b - eta * li) * c(i) * u(i) +
                   drift(i);
            c(i) = (b - eta * li) * c(i) - eta * gamma * u(i);
        }
        t.msd_curve[n + 1] = k.sum();
        const VectorXd mean_w = wo_M + Q * c;
        for (std::size_t j = 0; j < M; ++j) t.meanw_curve[(n + 1) * M + j] = mean_w(static_cast<Eigen::Index>(j));
    }
    return t;
}

} // namespace lmsref
