// What theory predicts for the LMS ensemble (MATLAB's msepred and maxstep), for white Gaussian input of power sx2
// under the independence assumption, and how the simulated ensemble compares with it. eta is the notebook's step:
// its update is w += eta * e * x.
#pragma once

#include "ensemble/ensemble.hpp"
#include "lms/family_updates.hpp"
#include "lms/scenario.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lmsref {

/// How the prediction treats the first samples.
enum class StartModel {
    /// msepred's textbook recursion: every tap holds data from sample 0 on.
    stationary,
    /// The regressor is pre-windowed (zeros before the start): at sample n only min(n + 1, M) taps hold data, and
    /// only min(n + 1, len(wo)) taps of the unknown system reach d(n). Exact at n = 0; the same as `stationary`
    /// (up to rounding) once n >= max(M, len(wo)) - 1 apart from what the first samples changed. See theory.cpp.
    prewindowed,
};

struct TheoryPrediction {
    double input_power = 1.0;            ///< sx2
    double j_min = 0.0;                  ///< sigmav2 + sx2 ||wo beyond M taps||^2
    double mean_bound = 0.0;             ///< 2 / sx2: convergence in the mean for eta below it
    double mean_square_bound = 0.0;      ///< 2 / ((M + 2) sx2): convergence in the mean square for eta below it
    bool past_mean_bound = false;        ///< eta >= mean_bound
    bool past_mean_square_bound = false; ///< eta >= mean_square_bound: no steady state (a >= 1)
    double a = 0.0;                      ///< 1 - 2 eta sx2 + eta^2 sx2^2 (M + 2): the MSD recursion's factor
    /// Steady state (n -> infinity); +infinity past the mean-square bound, where the MSD grows without limit.
    double emse = 0.0;          ///< eta M sx2 J_min / (2 - eta (M + 2) sx2)
    double mse = 0.0;           ///< J_min + emse
    double msd = 0.0;           ///< emse / sx2
    double misadjustment = 0.0; ///< emse / J_min = eta M sx2 / (2 - eta (M + 2) sx2) (defined even when J_min = 0)
    /// The curves, full resolution: mse_curve[n] for n = 0 ... N - 1 (the a-priori error of sample n),
    /// msd_curve[n] for rows n = 0 ... N of w. Past the mean-square bound they grow geometrically (a > 1), as the
    /// theory says, and may reach +infinity for long N: returned as they are, with past_mean_square_bound set.
    std::vector<double> mse_curve;
    std::vector<double> msd_curve;
    /// The mean weights (msepred's meanw), rows n = 0 ... N of w, row-major, M columns: tap k moves towards wo_k by
    /// the factor (1 - eta sx2) per sample once it holds data (n > k): E w_k(n) = wo_k (1 - (1 - eta sx2)^(n - k)).
    std::vector<double> meanw_curve;
    StartModel start = StartModel::prewindowed;
    /// Var w_k(0) of each tap (E w(0) = 0): 0 for the zero start, 1/(3M) for nn::Linear's default init.
    double initial_weight_variance = 0.0;
    double gamma = 0.0; ///< leaky LMS's leak (0: LMS); its bounds are then those of its own recursion
    /// Coloured input (--input ar1:A): R's eigenvalues (ascending), MATLAB maxstep's 2 / (2 lambda_max + tr R), and
    /// mean_bound = 2 / lambda_max, mean_square_bound = the eta where S = 1 (predict_coloured).
    bool coloured = false;
    std::vector<double> eigenvalues;
    double maxstep_bound = 0.0;
    /// --walk Q (tracking, LMS): Q, and the step that minimises the steady-state EMSE with that EMSE (NaN without).
    double walk = 0.0;
    double optimal_step = std::numeric_limits<double>::quiet_NaN();
    double optimal_emse = std::numeric_limits<double>::quiet_NaN();
};

/// Which mean-square bound: "2/((M + 2) sx2)" (white input) or "of R's modes (S = 1)" (coloured).
std::string mean_square_bound_name(const TheoryPrediction& theory);

/// The input's second-order statistics seen by the scenario's M taps: R = toeplitz(r(0 ... M - 1)), its
/// eigenvalues (ascending), the Wiener solution w_o = R^-1 p and J_min = E d^2 - p^T w_o (p = E[x d], all of wo).
struct InputStatistics {
    std::vector<double> eigenvalues;
    double lambda_min = 1.0, lambda_max = 1.0, spread = 1.0, trace = 0.0;
    std::vector<double> wiener;
    double j_min = 0.0;
};
InputStatistics input_statistics(const Scenario& scenario);

/// The M weights the mean converges to: wo cut or zero-padded to M for white input, w_o = R^-1 p for coloured input
/// (they differ when M < len(wo)). The ensemble's MSD is measured against it.
std::vector<double> wiener_solution(const Scenario& scenario);

/// predict() for coloured input (the scenario's --input), LMS or leaky LMS (gamma > 0): see coloured_theory.cpp.
TheoryPrediction predict_coloured(const Scenario& scenario, StartModel start, double initial_weight_variance,
                                  double gamma = 0.0);

/// E[1 / x^T x] for Gaussian x of those covariance eigenvalues (infinite for M <= 2): NLMS's theory.
double expected_inverse_power(const std::vector<double>& eigenvalues);

/// The prediction for the scenario's N, M, eta, sigmav2 and wo, with white input of power `input_power` (1 for
/// generated data; the measured mean(x^2) for data read from files).
/// initial_weight_variance: each weight starts at random, independent of the data, with mean 0 and this variance
/// (nn::Linear's default init: U(-1/sqrt(M), 1/sqrt(M)), variance 1/(3M)); then MSD(0) = ||wo_M||^2 + M v.
/// gamma > 0: leaky LMS, w = (1 - eta gamma) w + eta e x (always pre-windowed; see theory.cpp).
TheoryPrediction predict(const Scenario& scenario, double input_power, StartModel start = StartModel::prewindowed,
                         double initial_weight_variance = 0.0, double gamma = 0.0);

/// What theory says of a member of the LMS family (lms/family.hpp) on white Gaussian input of power sx2, with the
/// assumption it rests on and where it was published. See theory.cpp for each formula.
struct MemberTheory {
    bool known = false;  ///< false: no theory line (none says why)
    std::string none;    ///< why there is no theory for this member (and these settings)
    std::string model;   ///< the formula, one line
    std::string basis;   ///< the assumption and the citation, one line
    bool curves = false; ///< prediction's mse_curve and msd_curve are learning curves; else the steady state only
    std::string bound;   ///< the stability bound, in words ("" when none is known)
    bool past_bound = false;
    TheoryPrediction prediction; ///< j_min, emse, mse, misadjustment; the curves when `curves`
};

/// The theory of `member` for the scenario (N, M, eta, sigmav2, wo) and white input of power input_power.
MemberTheory predict_member(const Scenario& scenario, double input_power, FamilyId member,
                            const FamilyOptions& options);

/// The simulated steady state against the prediction.
struct SteadyStateComparison {
    std::int64_t first_sample = 0;       ///< the window: samples first_sample ... N - 1 (the last quarter)
    double mse = 0.0;                    ///< simulated: mean over realizations of their last-quarter mean of e^2
    double mse_standard_error = 0.0;     ///< its standard error over realizations
    double emse = 0.0;                   ///< mse - J_min
    double misadjustment = 0.0;          ///< emse / J_min (NaN when J_min = 0)
    double predicted_mse = 0.0;          ///< J_min + EMSE_inf
    double predicted_window_mse = 0.0;   ///< the mean of the predicted curve over the same window
    double relative_gap = 0.0;           ///< (mse - predicted_mse) / predicted_mse
    double emse_relative_gap = 0.0;      ///< (emse - EMSE_inf) / EMSE_inf: far more sensitive than the MSE's
    double gap_in_standard_errors = 0.0; ///< (mse - predicted_window_mse) / mse_standard_error
    /// Whether the simulated MSE has stopped falling in the window. window_drop: the MSE curve's mean over the
    /// window's first half minus its mean over the second (EnsembleResult::steady_half_mse, at full resolution).
    /// Its standard error is at most twice mse_standard_error wherever the halves are not anti-correlated (a
    /// transient's are correlated: less), so window_drop / (2 mse_standard_error) is at most its own count of
    /// standard errors: drop_in_standard_errors, a lower bound. Unsettled: beyond 3 of them, as a fall or a rise (an
    /// adaptive-step member's MSE can grow as its step does). A steady-state theory
    /// does not describe an unsettled window: the filter is still in its transient there. settling_known: false
    /// where a half holds fewer than 8 samples (N < 64) or there is no standard error; then window_drop is NaN and
    /// settled says nothing.
    double window_drop = std::numeric_limits<double>::quiet_NaN();
    double drop_in_standard_errors = std::numeric_limits<double>::quiet_NaN();
    bool settling_known = false;
    bool settled = true;
    /// Whether theory's own curve has reached its limit over the window: predicted_window_mse within half a standard
    /// error of predicted_mse (one part in 10^6 without a standard error). Where it has not (a small step), the limit
    /// is no prediction for the window, and window_relative_gap = (mse - predicted_window_mse) / predicted_window_mse
    /// is the gap that gap_in_standard_errors counts.
    bool theory_settled = true;
    double window_relative_gap = 0.0;
};

SteadyStateComparison compare_steady_state(const EnsembleResult& simulated, const TheoryPrediction& theory);

/// Every m-th value of a curve (n = 0, m, 2m, ...): the ensemble's decimation, for the theory's curves.
std::vector<double> decimated(const std::vector<double>& curve, std::int64_t m);

} // namespace lmsref
