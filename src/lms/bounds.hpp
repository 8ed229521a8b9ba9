// The few facts about LMS that several layers state: the mean-square stability bound for white input and its warning,
// the input's power, the optimum an M-tap filter converges to. One place, so that a message, a report, the theory
// and a figure say the same.
#pragma once

#include "lms/scenario.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lmsref {

/// The LMS mean-square stability bound for white input of power `input_power`: eta < 2 / ((M + 2) input_power).
double stability_bound(std::int64_t taps, double input_power);
/// sx2, the input's power measured on the data: mean(x^2).
double input_power(const std::vector<double>& x);
/// The input's lag-1 autocorrelation, pooled over the realizations of an N x R matrix (row-major, a realization per
/// column): rho = sum x(n) x(n - 1) / sum x(n)^2. For white input it is 0 with a standard error of about
/// 1 / sqrt(R (N - 1)); beyond 5 of them the input is coloured and the white-input theory does not describe it.
struct LagOne {
    double rho = 0.0;
    double standard_error = 0.0;
    bool coloured() const { return standard_error > 0 && std::abs(rho) > 5.0 * standard_error; }
    /// "lag-1 autocorrelation 0.5, 350 standard errors from white input's 0 (± 0.0014)"
    std::string describe() const;
};
LagOne lag_one(const std::vector<double>& x, std::size_t rows, std::size_t cols);
/// When eta is at or above the mean-square stability bound measured on the data, what to expect, in one line
/// without the "lmsref: warning: " prefix; empty below the bound.
std::optional<std::string> stability_warning(const Scenario& scenario, const Data& data);
/// wo cut or padded with zeros to M taps: the optimum an M-tap filter converges to for white input.
std::vector<double> optimum_for_taps(const std::vector<double>& wo, std::int64_t taps);
/// The Euclidean distance between two weight vectors of the same length.
double distance(const std::vector<double>& a, const std::vector<double>& b);

} // namespace lmsref
