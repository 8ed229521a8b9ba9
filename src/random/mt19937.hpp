// MT19937 as NumPy's legacy generator runs it: init_genrand seeding, the twist, the tempering and random_sample's
// 53-bit double. Shared by LegacyRandom (numpy_random.hpp) and the ensemble's LegacyGaussStream (legacy_gauss.hpp),
// which draw the same numbers in different arrangements.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace lmsref::mt19937 {

constexpr std::size_t state_size = 624;
using State = std::array<std::uint32_t, state_size>;

/// `np.random.seed(seed)`: init_genrand, as NumPy's mt19937_seed does it.
inline void seed(State& key, std::uint32_t value) {
    key[0] = value;
    for (std::size_t pos = 1; pos < state_size; ++pos) {
        const std::uint32_t previous = key[pos - 1];
        key[pos] = 1812433253U * (previous ^ (previous >> 30)) + static_cast<std::uint32_t>(pos);
    }
}

/// The next 624 words, in place. Three ranges in this order: the first reads key[i + 397] not yet rewritten, the
/// second key[i + 397 - 624] already rewritten by the first.
inline void twist(State& key) {
    constexpr std::size_t period = 397;
    const auto next = [](std::uint32_t upper, std::uint32_t lower, std::uint32_t far) {
        const std::uint32_t y = (upper & 0x80000000U) | (lower & 0x7fffffffU);
        return far ^ (y >> 1) ^ ((0U - (y & 1U)) & 0x9908b0dfU); // matrix_a when the low bit is set, no branch
    };
    std::size_t i = 0;
    for (; i < state_size - period; ++i) key[i] = next(key[i], key[i + 1], key[i + period]);
    for (; i < state_size - 1; ++i) key[i] = next(key[i], key[i + 1], key[i + period - state_size]);
    key[state_size - 1] = next(key[state_size - 1], key[0], key[period - 1]);
}

/// One word of the state as the generator outputs it.
inline std::uint32_t temper(std::uint32_t y) {
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

/// `random_sample()`'s double in [0, 1) from two consecutive outputs.
inline double to_double(std::uint32_t first, std::uint32_t second) {
    const auto a = static_cast<std::int32_t>(first >> 5);
    const auto b = static_cast<std::int32_t>(second >> 6);
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

} // namespace lmsref::mt19937
