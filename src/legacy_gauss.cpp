#include "legacy_gauss.hpp"

#include <algorithm>
#include <cmath>

namespace lmsref {

namespace {
constexpr std::size_t period = 397;
constexpr std::uint32_t matrix_a = 0x9908b0dfU;
constexpr std::uint32_t upper_mask = 0x80000000U;
constexpr std::uint32_t lower_mask = 0x7fffffffU;
constexpr std::size_t pairs = LegacyGaussStream::state_size / 4; // polar attempts per block

// MT19937's twist of one word; `0U - (y & 1U)` selects matrix_a without a branch (the bit is a coin flip).
inline std::uint32_t twist(std::uint32_t upper, std::uint32_t lower, std::uint32_t far) {
    const std::uint32_t y = (upper & upper_mask) | (lower & lower_mask);
    return far ^ (y >> 1) ^ ((0U - (y & 1U)) & matrix_a);
}
} // namespace

void LegacyGaussStream::reseed(std::uint32_t seed) {
    key_[0] = seed; // init_genrand, as LegacyRandom (and NumPy's mt19937_seed) does it
    for (std::size_t pos = 1; pos < state_size; ++pos) {
        const std::uint32_t previous = key_[pos - 1];
        key_[pos] = 1812433253U * (previous ^ (previous >> 30)) + static_cast<std::uint32_t>(pos);
    }
    available_ = 0;
    next_ = 0;
}

void LegacyGaussStream::refill() {
    std::uint32_t* key = key_.data();
    // The twist, in LegacyRandom::generate's three ranges and order: the first reads key[i + period] not yet
    // rewritten, the second key[i + period - state_size] already rewritten by the first.
    std::size_t i = 0;
    for (; i < state_size - period; ++i) key[i] = twist(key[i], key[i + 1], key[i + period]);
    for (; i < state_size - 1; ++i) key[i] = twist(key[i], key[i + 1], key[i + period - state_size]);
    key[state_size - 1] = twist(key[state_size - 1], key[0], key[period - 1]);

    // Tempering, then random_sample's double from each two words, then 2u - 1: the candidates x1, x2 of attempt j
    // are uniform[4j] then uniform[4j + 1]... that is, candidate[2j] = x1 and candidate[2j + 1] = x2.
    alignas(64) std::uint32_t words[state_size];
    for (std::size_t j = 0; j < state_size; ++j) {
        std::uint32_t y = key[j];
        y ^= (y >> 11);
        y ^= (y << 7) & 0x9d2c5680U;
        y ^= (y << 15) & 0xefc60000U;
        y ^= (y >> 18);
        words[j] = y;
    }
    alignas(64) double candidate[state_size / 2];
    for (std::size_t j = 0; j < state_size / 2; ++j) {
        const auto a = static_cast<std::int32_t>(words[2 * j] >> 5);
        const auto b = static_cast<std::int32_t>(words[2 * j + 1] >> 6);
        const double u = (a * 67108864.0 + b) / 9007199254740992.0;
        candidate[j] = 2.0 * u - 1.0;
    }

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
