#include "numpy_random.hpp"

#include <cmath>

namespace lmsref {

namespace {
constexpr std::size_t period = 397;
constexpr std::uint32_t matrix_a = 0x9908b0dfU;
constexpr std::uint32_t upper_mask = 0x80000000U;
constexpr std::uint32_t lower_mask = 0x7fffffffU;
} // namespace

LegacyRandom::LegacyRandom(std::uint32_t seed) {
    // init_genrand, as NumPy's mt19937_seed does it.
    key_[0] = seed;
    for (std::size_t pos = 1; pos < state_size; ++pos) {
        const std::uint32_t previous = key_[pos - 1];
        key_[pos] = 1812433253U * (previous ^ (previous >> 30)) + static_cast<std::uint32_t>(pos);
    }
    pos_ = state_size;
}

void LegacyRandom::generate() {
    auto twist = [](std::uint32_t upper, std::uint32_t lower, std::uint32_t far) {
        const std::uint32_t y = (upper & upper_mask) | (lower & lower_mask);
        return far ^ (y >> 1) ^ ((y & 1U) ? matrix_a : 0U);
    };
    std::size_t i = 0;
    for (; i < state_size - period; ++i) key_[i] = twist(key_[i], key_[i + 1], key_[i + period]);
    for (; i < state_size - 1; ++i) key_[i] = twist(key_[i], key_[i + 1], key_[i + period - state_size]);
    key_[state_size - 1] = twist(key_[state_size - 1], key_[0], key_[period - 1]);
    pos_ = 0;
}

std::uint32_t LegacyRandom::next_uint32() {
    if (pos_ == state_size) generate();
    std::uint32_t y = key_[pos_++];
    // Tempering.
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

double LegacyRandom::random_sample() {
    const std::int32_t a = static_cast<std::int32_t>(next_uint32() >> 5);
    const std::int32_t b = static_cast<std::int32_t>(next_uint32() >> 6);
    return (a * 67108864.0 + b) / 9007199254740992.0;
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
