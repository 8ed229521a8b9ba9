#include "random/numpy_random.hpp"

#include <cmath>

namespace lmsref {

std::uint32_t LegacyRandom::next_uint32() {
    if (pos_ == state_size) {
        mt19937::twist(key_);
        pos_ = 0;
    }
    return mt19937::temper(key_[pos_++]);
}

double LegacyRandom::random_sample() {
    const std::uint32_t first = next_uint32();
    return mt19937::to_double(first, next_uint32());
}

double LegacyRandom::gauss() {
    if (has_gauss_) {
        has_gauss_ = false;
        const double value = cached_gauss_;
        cached_gauss_ = 0.0;
        return value;
    }
    double x1 = 0.0;
    double x2 = 0.0;
    double r2 = 0.0;
    do {
        x1 = 2.0 * random_sample() - 1.0;
        x2 = 2.0 * random_sample() - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    cached_gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
}

std::vector<double> LegacyRandom::randn(std::size_t n) {
    std::vector<double> draws(n);
    for (double& draw : draws) draw = gauss();
    return draws;
}

} // namespace lmsref
