// A speed device for plain loops over the M taps: small M as a compile-time constant, so that the compiler unrolls
// the loops over the taps and keeps xM and wi in registers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace lmsref {

/// Whether with_static_taps handed f a compile-time M (an integral_constant) rather than a run-time one.
template <typename Taps> inline constexpr bool is_static_taps = !std::is_same_v<std::decay_t<Taps>, std::size_t>;

/// The compile-time M that with_static_taps handed f, or 0 for a run-time one: `static_taps_of<decltype(taps)>`.
template <typename Taps> constexpr std::size_t static_taps_value() {
    if constexpr (is_static_taps<Taps>)
        return std::decay_t<Taps>::value;
    else
        return 0;
}
template <typename Taps> inline constexpr std::size_t static_taps_of = static_taps_value<Taps>();

/// Returns f(M), with M a std::integral_constant<std::size_t, M> for M = 1 ... 8 and a std::size_t beyond. Both
/// convert to std::size_t, so f is written once: the same operations in the same order either way, the same bits.
template <typename F> auto with_static_taps(std::int64_t M, F&& f) {
    using std::integral_constant;
    switch (M) {
    case 1: return f(integral_constant<std::size_t, 1>{});
    case 2: return f(integral_constant<std::size_t, 2>{});
    case 3: return f(integral_constant<std::size_t, 3>{});
    case 4: return f(integral_constant<std::size_t, 4>{});
    case 5: return f(integral_constant<std::size_t, 5>{});
    case 6: return f(integral_constant<std::size_t, 6>{});
    case 7: return f(integral_constant<std::size_t, 7>{});
    case 8: return f(integral_constant<std::size_t, 8>{});
    default: return f(static_cast<std::size_t>(M));
    }
}

} // namespace lmsref
