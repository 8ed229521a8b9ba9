#include "lfilter.hpp"

#include <algorithm>
#include <cstddef>

namespace lmsref {

std::vector<double> lfilter_fir(const std::vector<double>& b, const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) {
        const std::size_t newest = std::min(n, b.size() - 1); // the oldest sample that reaches y(n) is x(n - newest)
        double sum = 0.0;
        for (std::size_t k = newest + 1; k-- > 0;) sum += b[k] * x[n - k];
        y[n] = sum;
    }
    return y;
}

} // namespace lmsref
