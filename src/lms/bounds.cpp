#include "lms/bounds.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lmsref {

double stability_bound(std::int64_t taps, double input_power) {
    return 2.0 / (static_cast<double>(taps + 2) * input_power);
}

std::vector<double> optimum_for_taps(const std::vector<double>& wo, std::int64_t taps) {
    std::vector<double> optimum(static_cast<std::size_t>(taps), 0.0);
    std::copy_n(wo.begin(), std::min(wo.size(), optimum.size()), optimum.begin());
    return optimum;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
    double sum = 0.0;
    for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) sum += (a[k] - b[k]) * (a[k] - b[k]);
    return std::sqrt(sum);
}

double input_power(const std::vector<double>& x) {
    return std::inner_product(x.begin(), x.end(), x.begin(), 0.0) / static_cast<double>(x.size());
}

LagOne lag_one(const std::vector<double>& x, std::size_t rows, std::size_t cols) {
    LagOne result;
    if (rows < 2 || cols == 0) return result;
    double lagged = 0.0, power = 0.0;
    for (std::size_t n = 0; n < rows; ++n)
        for (std::size_t r = 0; r < cols; ++r) {
            const double value = x[n * cols + r];
            power += value * value;
            if (n > 0) lagged += value * x[(n - 1) * cols + r];
        }
    result.rho = power > 0 ? lagged / power : 0.0;
    result.standard_error = 1.0 / std::sqrt(static_cast<double>(cols) * static_cast<double>(rows - 1));
    return result;
}

std::string LagOne::describe() const {
    return "lag-1 autocorrelation " + format_number(rho, "%.3g") + ", " +
           format_number(std::abs(rho) / standard_error, "%.0f") + " standard errors from white input's 0 (± " +
           format_number(standard_error, "%.2g") + ")";
}

std::optional<std::string> stability_warning(const Scenario& s, const Data& data) {
    const double power = input_power(data.x);
    const double bound = stability_bound(s.taps, power);
    if (!(s.step_size >= bound)) return std::nullopt;
    return "eta = " + format_number(s.step_size, "%g") + " is at or above the mean-square stability bound " +
           format_number(bound, "%.3g") + " = 2/((M + 2) sx2) for M = " + std::to_string(s.taps) +
           " and the input power sx2 = " + format_number(power, "%.3g") +
           " measured on x: the filter will probably diverge rather than converge (if it does: exit code 2, nothing "
           "written)";
}

} // namespace lmsref
