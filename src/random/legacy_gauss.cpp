#include "random/legacy_gauss.hpp"

#include <algorithm>
#include <cmath>

namespace lmsref {

namespace {
constexpr std::size_t pairs = LegacyGaussStream::state_size / 4; // polar attempts per block
} // namespace

void LegacyGaussStream::reseed(std::uint32_t seed) {
    mt19937::seed(key_, seed);
    available_ = 0;
    next_ = 0;
}

void LegacyGaussStream::refill() {
    mt19937::twist(key_);
    // Tempering, then random_sample's double from each two words, then 2u - 1: the candidates x1, x2 of attempt j
    // are uniform[4j] then uniform[4j + 1]... that is, candidate[2j] = x1 and candidate[2j + 1] = x2.
    alignas(64) std::uint32_t words[state_size];
    for (std::size_t j = 0; j < state_size; ++j) words[j] = mt19937::temper(key_[j]);
    alignas(64) double candidate[state_size / 2];
    for (std::size_t j = 0; j < state_size / 2; ++j)
        candidate[j] = 2.0 * mt19937::to_double(words[2 * j], words[2 * j + 1]) - 1.0;

    // The rejection, without a branch: every attempt is written at `kept`, which only moves on when it is accepted.
    alignas(64) double x1s[pairs], x2s[pairs], r2s[pairs];
    std::size_t kept = 0;
    for (std::size_t j = 0; j < pairs; ++j) {
        const double x1 = candidate[2 * j];
        const double x2 = candidate[2 * j + 1];
        const double r2 = x1 * x1 + x2 * x2;
        x1s[kept] = x1;
        x2s[kept] = x2;
        r2s[kept] = r2;
        kept += static_cast<std::size_t>((r2 < 1.0) & (r2 != 0.0)); // !(r2 >= 1 || r2 == 0): r2 is never NaN
    }
    double* normals = normals_.data();
    for (std::size_t j = 0; j < kept; ++j) {
        const double f = std::sqrt(-2.0 * std::log(r2s[j]) / r2s[j]);
        normals[2 * j] = f * x2s[j];     // returned first
        normals[2 * j + 1] = f * x1s[j]; // LegacyRandom's cached second value
    }
    available_ = 2 * kept;
    next_ = 0;
}

void LegacyGaussStream::fill(double* out, std::size_t n) {
    while (n > 0) {
        if (next_ == available_) {
            refill();
            continue; // a block may (with probability about 1e-103) reject every attempt
        }
        const std::size_t count = std::min(n, available_ - next_);
        std::copy_n(normals_.data() + next_, count, out);
        next_ += count;
        out += count;
        n -= count;
    }
}

} // namespace lmsref
