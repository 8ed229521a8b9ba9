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

std::optional<std::string> stability_warning(const Scenario& s, const Data& data) {
    const double power = input_power(data.x);
    const double bound = stability_bound(s.taps, power);
    if (!(s.step_size >= bound)) return std::nullopt;
    return "eta = " + format_number(s.step_size, "%g") + " is at or above the mean-square stability bound " +
           format_number(bound, "%.3g") + " = 2/((M + 2) sx2) for M = " + std::to_string(s.taps) +
           " and the input power sx2 = " + format_number(power, "%.3g") +
           " measured on x: the filter will probably diverge (exit code 2, nothing written) rather than converge";
}

} // namespace lmsref
