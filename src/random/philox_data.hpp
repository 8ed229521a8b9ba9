// The ensemble's counter-based data (`ensemble --rng philox`): realization r's signals made sample by sample from
// Random123's Philox4x32-10, with no state to carry, so that any realization and any sample can be made anywhere
// (a CPU thread, a CUDA thread) from (seed, r, n) alone. No LibTorch, no standard library beyond <cmath> and
// <cstdint>: this header is compiled by the C++ compiler for the CPU engine (src/ensemble/ensemble.cpp) and by nvcc for
// the CUDA kernel (src/ensemble/cuda/), and both call the same LMSREF_HOST_DEVICE functions, so the CPU tests exercise
// the kernel's arithmetic. log, cos and sin are this header's own (log_unit, cos_sin_2pi: + - * / and IEEE sqrt only,
// no libm), so with no fused multiply-add on either side (-ffp-contract=off, nvcc --fmad=false) host and device make
// the same bits, and so does scripts/philox_reference.py.
//
// The mapping, fixed (the reference is scripts/philox_reference.py, a from-scratch Philox4x32-10 in Python, checked
// against Random123's known-answer vectors; data/reference/philox/ holds its values, tests/test_philox.cpp checks
// them):
//
//   counter = { n mod 2^32, n div 2^32, r mod 2^32, r div 2^32 }    (sample n, realization r, both 0-based)
//   key     = { seed, 0x6c6d7372 }                                   (seed: --seed; the second word spells "lmsr")
//   out     = Philox4x32-10(counter, key)                            (Random123's philox4x32, 10 rounds)
//
//   k1 = (out[0] >> 5) 2^26 + (out[1] >> 6),  u1 = (k1 + 1) 2^-53 in (0, 1]    (53 bits, NumPy's layout; never 0,
//   k2 = (out[2] >> 5) 2^26 + (out[3] >> 6),  u2 = k2 2^-53       in [0, 1)     so log(u1) is finite)
//
//   Box-Muller: rho = sqrt(-2 log(u1)) (log: log_unit),
//   x_r(n) = rho cos(2 pi u2)  the input sample     (cos, sin: cos_sin_2pi, reduced by quarter turns of u2 exactly)
//   v_r(n) = rho sin(2 pi u2)  the noise sample, unit variance
//
// One Philox call per sample gives both normals. The desired signal is the numpy path's:
// d_r(n) = lfilter(wo, 1, x_r)(n) + sqrt(sigmav2) v_r(n), lfilter's sum taken oldest tap first from 0.0 over wo
// zero-padded to K = max(M, len(wo)) taps (the padding, and the taps before the start, multiply zeros: they add +-0
// to a sum that is still 0.0, the same bits as leaving them out, and the loop keeps a length known to the compiler).
#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define LMSREF_HOST_DEVICE __host__ __device__
#else
#define LMSREF_HOST_DEVICE
#endif

namespace lmsref {
namespace philox {

/// The second key word, a fixed tag ("lmsr" in ASCII).
constexpr std::uint32_t key_tag = 0x6c6d7372U;

/// Random123's Philox4x32-10 of sample n of realization r: the four 32-bit words of the mapping above.
LMSREF_HOST_DEVICE inline philox4x32_ctr_t words(std::uint32_t seed, std::uint64_t realization, std::uint64_t sample) {
    philox4x32_ctr_t counter = {{static_cast<std::uint32_t>(sample), static_cast<std::uint32_t>(sample >> 32),
                                 static_cast<std::uint32_t>(realization),
                                 static_cast<std::uint32_t>(realization >> 32)}};
    philox4x32_key_t key = {{seed, key_tag}};
    return philox4x32_R(10, counter, key);
}

/// The 53-bit integer of two words: (a >> 5) 2^26 + (b >> 6), as NumPy's random_sample takes two MT19937 words.
LMSREF_HOST_DEVICE inline std::uint64_t bits53(std::uint32_t a, std::uint32_t b) {
    return (static_cast<std::uint64_t>(a >> 5) << 26) | static_cast<std::uint64_t>(b >> 6);
}

/// The two uniforms of sample n of realization r: u1 in (0, 1], u2 in [0, 1).
struct Uniforms {
    double u1;
    double u2;
};
LMSREF_HOST_DEVICE inline Uniforms uniforms(std::uint32_t seed, std::uint64_t realization, std::uint64_t sample) {
    const philox4x32_ctr_t out = words(seed, realization, sample);
    constexpr double two_to_minus_53 = 1.0 / 9007199254740992.0;
    return {static_cast<double>(bits53(out.v[0], out.v[1]) + 1) * two_to_minus_53,
            static_cast<double>(bits53(out.v[2], out.v[3])) * two_to_minus_53};
}

/// The bits of a double and back (memcpy on the host, CUDA's intrinsics on the device).
LMSREF_HOST_DEVICE inline std::uint64_t bits_of(double value) {
#ifdef __CUDA_ARCH__
    return static_cast<std::uint64_t>(__double_as_longlong(value));
#else
    std::uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
#endif
}
LMSREF_HOST_DEVICE inline double double_of(std::uint64_t bits) {
#ifdef __CUDA_ARCH__
    return __longlong_as_double(static_cast<long long>(bits));
#else
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
#endif
}

/// log(u) for u in (0, 1], a positive normal double, from + - * / alone (no libm: the same bits on host and
/// device, and in scripts/philox_reference.py): u = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(s),
/// s = (m - 1) / (m + 1), |s| <= 0.172, by its series to s^23 (the next term is below 1e-18 of the sum), and
/// e log 2 in two parts (fdlibm's ln2_hi, ln2_lo). Accurate to a few units in the last place.
LMSREF_HOST_DEVICE inline double log_unit(double u) {
    const std::uint64_t bits = bits_of(u);
    int e = static_cast<int>(bits >> 52) - 1023;
    double m = double_of((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL); // [1, 2)
    if (m > 1.4142135623730951) {
        m = m * 0.5;
        e = e + 1;
    }
    const double s = (m - 1.0) / (m + 1.0);
    const double z = s * s;
    double p = 1.0 / 23.0;
    p = p * z + 1.0 / 21.0;
    p = p * z + 1.0 / 19.0;
    p = p * z + 1.0 / 17.0;
    p = p * z + 1.0 / 15.0;
    p = p * z + 1.0 / 13.0;
    p = p * z + 1.0 / 11.0;
    p = p * z + 1.0 / 9.0;
    p = p * z + 1.0 / 7.0;
    p = p * z + 1.0 / 5.0;
    p = p * z + 1.0 / 3.0;
    const double log_m = 2.0 * s + 2.0 * s * (z * p);
    const double de = static_cast<double>(e);
    return de * 6.93147180369123816490e-01 + (log_m + de * 1.90821492927058770002e-10);
}

/// cos(2 pi u) and sin(2 pi u) for u in [0, 1), from + - * alone (same bits everywhere, as log_unit): the quadrant
/// q = floor(4 u) and f = 4 u - q (both exact), the angle a = (pi / 2) f, or (pi / 2)(1 - f) with sin and cos
/// swapped when f > 1/2, so that a <= pi / 4; Taylor series to a^17 (sin) and a^16 (cos), whose next terms are
/// below 1e-17; then the quadrant's rotation. Accurate to a few units in the last place.
struct CosSin {
    double c;
    double s;
};
LMSREF_HOST_DEVICE inline CosSin cos_sin_2pi(double u) {
    const double u4 = 4.0 * u;
    const int q = static_cast<int>(u4);
    const double f = u4 - static_cast<double>(q);
    const bool swap = f > 0.5;
    const double a = 1.5707963267948966 * (swap ? 1.0 - f : f); // selects, not indexed arrays: no local memory on a GPU
    const double z = a * a;
    double ps = 1.0 / 355687428096000.0; // sin: a (1 - z/3! + z^2/5! - ... + z^8/17!)
    ps = ps * z - 1.0 / 1307674368000.0;
    ps = ps * z + 1.0 / 6227020800.0;
    ps = ps * z - 1.0 / 39916800.0;
    ps = ps * z + 1.0 / 362880.0;
    ps = ps * z - 1.0 / 5040.0;
    ps = ps * z + 1.0 / 120.0;
    ps = ps * z - 1.0 / 6.0;
    const double sin_a = a + a * (z * ps);
    double pc = 1.0 / 20922789888000.0; // cos: 1 - z/2! + z^2/4! - ... + z^8/16!
    pc = pc * z - 1.0 / 87178291200.0;
    pc = pc * z + 1.0 / 479001600.0;
    pc = pc * z - 1.0 / 3628800.0;
    pc = pc * z + 1.0 / 40320.0;
    pc = pc * z - 1.0 / 720.0;
    pc = pc * z + 1.0 / 24.0;
    const double cos_a = (1.0 - 0.5 * z) + (z * z) * pc;
    // The quadrant's rotation without a branch (q is random: a branch would be mispredicted): by quarter turns,
    // (cos, sin) of (pi / 2) f becomes (c0, s0), (-s0, c0), (-c0, -s0), (s0, -c0) for q = 0, 1, 2, 3; multiplying
    // by +-1 is exact.
    const bool odd = ((q & 1) != 0) != swap; // sin and cos trade places an odd number of times
    const double first = odd ? sin_a : cos_a, second = odd ? cos_a : sin_a;
    return {((((q + 1) >> 1) & 1) != 0 ? -1.0 : 1.0) * first, (((q >> 1) & 1) != 0 ? -1.0 : 1.0) * second};
}

/// x_r(n) and v_r(n): Box-Muller on the two uniforms.
struct Normals {
    double x;
    double v;
};
LMSREF_HOST_DEVICE inline Normals normals(std::uint32_t seed, std::uint64_t realization, std::uint64_t sample) {
    const Uniforms u = uniforms(seed, realization, sample);
    const double rho = sqrt(-2.0 * log_unit(u.u1));
    const CosSin t = cos_sin_2pi(u.u2);
    return {rho * t.c, rho * t.s};
}

/// What one realization needs besides r: plain values and pointers (host memory for the CPU engine, device memory
/// for the kernel).
struct Problem {
    std::int64_t samples = 0;      ///< N
    int taps = 0;                  ///< M
    int history = 0;               ///< K = max(M, len(wo)): the x values kept, newest first
    double step = 0.0;             ///< the numpy stage's eta / 2 * 2
    double noise_gain = 0.0;       ///< sqrt(sigmav2)
    std::uint32_t seed = 0;        ///< the key's first word
    std::int64_t steady_start = 0; ///< the first sample of the steady state (the last quarter)
    /// A realization whose steady-state mean e^2 is above this (or not finite) diverged (ensemble.hpp).
    double diverged_above = 1.7976931348623157e308;
    const double* wo_K = nullptr; ///< K taps: the unknown system wo, zero-padded to K
    const double* wo_M = nullptr; ///< M taps: wo cut or zero-padded to M (for ||w - wo_M||^2)
    /// --input ar1:A: x(n) = ar1 x(n - 1) + ar1_gain u(n), x(0) = u(0), u the normals (signals() and its vector
    /// twins; the engine's fused paths and the CUDA kernel make white input).
    bool coloured = false;
    double ar1 = 0.0, ar1_gain = 1.0;
};

/// One realization's state: the last K x values, newest first (hist[0] = x(n), zeros before the start; its first M
/// are the regressor xM), and the M weights. StaticM, StaticK > 0: sizes known at compile time (unrolled loops,
/// the arrays in registers); 0: from the problem, at run time.
template <int StaticM = 0, int StaticK = 0> struct Realization {
    double* hist; ///< K values
    double* w;    ///< M values

    LMSREF_HOST_DEVICE int M(const Problem& p) const { return StaticM > 0 ? StaticM : p.taps; }
    LMSREF_HOST_DEVICE int K(const Problem& p) const { return StaticK > 0 ? StaticK : p.history; }

    /// Row 0: x history and weights zero; returns ||w(0) - wo_M||^2, summed from tap 0.
    LMSREF_HOST_DEVICE double start(const Problem& p) {
        for (int k = 0; k < K(p); ++k) hist[k] = 0.0;
        double deviation = 0.0;
        for (int k = 0; k < M(p); ++k) {
            w[k] = 0.0;
            const double c = 0.0 - p.wo_M[k];
            deviation += c * c;
        }
        return deviation;
    }

    /// Sample n: makes x(n), d(n), then the numpy stage's update (regressor newest first, yi summed from tap 0,
    /// ei = d - yi, wi + eta / 2 * 2 * ei * xM). Returns e(n)^2; w holds w(n + 1), *deviation ||w(n + 1) - wo_M||^2.
    LMSREF_HOST_DEVICE double step(const Problem& p, std::uint64_t realization, std::int64_t n, double* deviation) {
        return step_with(p, normals(p.seed, realization, static_cast<std::uint64_t>(n)), deviation);
    }

    /// step's work once the sample's normals z = normals(p.seed, realization, n) are made (the CPU engine makes
    /// four realizations' at once: src/philox_avx2.hpp).
    LMSREF_HOST_DEVICE double step_with(const Problem& p, Normals z, double* deviation) {
        for (int k = K(p) - 1; k > 0; --k) hist[k] = hist[k - 1];
        hist[0] = z.x;
        double di = 0.0; // lfilter(wo, 1, x)(n), oldest tap first
        for (int k = K(p); k-- > 0;) di += p.wo_K[k] * hist[k];
        di = di + p.noise_gain * z.v;
        double yi = 0.0;
        for (int k = 0; k < M(p); ++k) yi += w[k] * hist[k];
        const double ei = di - yi;
        double sum = 0.0;
        for (int k = 0; k < M(p); ++k) {
            w[k] = w[k] + p.step * ei * hist[k];
            const double c = w[k] - p.wo_M[k];
            sum += c * c;
        }
        *deviation = sum;
        return ei * ei;
    }
};

/// Realization r's x(n) and d(n), n < N, into x and d: the values Realization::step makes, the same bits (the LMS
/// family's members other than lms run on them), or with coloured input x filtered as p says, before d is made.
/// `hist` is the caller's K values of scratch.
inline void signals(const Problem& p, std::uint64_t realization, double* hist, double* x, double* d) {
    for (int k = 0; k < p.history; ++k) hist[k] = 0.0;
    for (std::int64_t n = 0; n < p.samples; ++n) {
        const Normals z = normals(p.seed, realization, static_cast<std::uint64_t>(n));
        const double xn = p.coloured && n > 0 ? p.ar1 * hist[0] + p.ar1_gain * z.x : z.x;
        for (int k = p.history - 1; k > 0; --k) hist[k] = hist[k - 1];
        hist[0] = xn;
        double di = 0.0; // lfilter(wo, 1, x)(n), oldest tap first, as step_with
        for (int k = p.history; k-- > 0;) di += p.wo_K[k] * hist[k];
        x[n] = xn;
        d[n] = di + p.noise_gain * z.v;
    }
}

/// Coloured input (p.coloured), for the vector twins, which make white normals: the `count` signals x + g stride
/// through the AR(1) filter in place, x(n) = ar1 x(n - 1) + ar1_gain u(n) for n >= 1, then d + g stride (the noise's
/// normals on entry) made from them as filter_signal makes it: `signals`'s operations, the signals interleaved
/// sample by sample so that their chains of dependent operations overlap.
inline void colour_signals(const Problem& p, double* x, double* d, std::size_t stride, std::size_t count) {
    for (std::int64_t n = 1; n < p.samples; ++n)
        for (std::size_t g = 0; g < count; ++g) {
            double* xg = x + g * stride;
            xg[n] = p.ar1 * xg[n - 1] + p.ar1_gain * xg[n];
        }
    for (std::int64_t n = 0; n < p.samples; ++n) {
        const std::int64_t newest = n < p.history - 1 ? n : p.history - 1;
        for (std::size_t g = 0; g < count; ++g) {
            const double* xg = x + g * stride;
            double di = 0.0;
            for (std::int64_t k = newest + 1; k-- > 0;) di += p.wo_K[k] * xg[n - k];
            d[g * stride + static_cast<std::size_t>(n)] =
                di + p.noise_gain * d[g * stride + static_cast<std::size_t>(n)];
        }
    }
}

/// d from x and the noise's normals v, in place (d holds v on entry): d(n) = lfilter(wo, 1, x)(n) + noise_gain v(n),
/// oldest tap first from 0.0, as Realization::step_with makes it (the taps before the start add zeros to 0.0 there,
/// which changes nothing): the same bits. For the vector twins of `signals`, which make x and v four realizations
/// at a time.
inline void filter_signal(const Problem& p, const double* x, double* d) {
    for (std::int64_t n = 0; n < p.samples; ++n) {
        double di = 0.0;
        const std::int64_t newest = n < p.history - 1 ? n : p.history - 1;
        for (std::int64_t k = newest + 1; k-- > 0;) di += p.wo_K[k] * x[n - k];
        d[n] = di + p.noise_gain * d[n];
    }
}

/// Runs realization r from start to end, adding its terms into the caller's per-sample sums: mse[n] += e(n)^2
/// (n < N), msd[n] += ||w(n) - wo_M||^2 and meanw[n M + k] += w_k(n) (n <= N). Returns the sum of e(n)^2 over the
/// steady state (n >= steady_start). `hist` and `w` are the caller's K and M values of scratch. The CPU engine runs
/// Realization::step four realizations interleaved (or its AVX2 twin, src/philox_avx2.hpp), the CUDA kernel one
/// per thread; the tests check the engine's curves against calls of this function.
template <int StaticM = 0, int StaticK = 0>
LMSREF_HOST_DEVICE double add_realization(const Problem& p, std::uint64_t realization, double* hist, double* w,
                                          double* mse, double* msd, double* meanw) {
    Realization<StaticM, StaticK> state{hist, w};
    const int M = state.M(p);
    msd[0] += state.start(p);
    for (int k = 0; k < M; ++k) meanw[k] += 0.0;
    double steady = 0.0;
    for (std::int64_t n = 0; n < p.samples; ++n) {
        double deviation = 0.0;
        const double e2 = state.step(p, realization, n, &deviation);
        mse[n] += e2;
        if (n >= p.steady_start) steady += e2;
        msd[n + 1] += deviation;
        double* row = meanw + (n + 1) * M;
        for (int k = 0; k < M; ++k) row[k] += w[k];
    }
    return steady;
}

} // namespace philox
} // namespace lmsref
