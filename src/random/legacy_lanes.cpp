#include "random/legacy_lanes.hpp"

#include "random/simd.hpp"

#include <algorithm>
#include <cmath>

// GCC 12 warns that its own AVX-512 intrinsics read an "uninitialized" _mm512_undefined_*() operand; they do not.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__FMA__)
#define LMSREF_LEGACY_LANES 1
#include <immintrin.h>
#endif

namespace lmsref::legacy_lanes {

#ifdef LMSREF_LEGACY_LANES

namespace {

using u32x8 = std::uint32_t __attribute__((vector_size(32)));
#define LMSREF_LANES_INLINE inline __attribute__((always_inline))

/// init_genrand in the eight lanes (mt19937::seed's operations).
void seed(u32x8* key, const std::uint32_t* seeds, std::size_t used) {
    u32x8 value = {};
    for (std::size_t g = 0; g < lanes; ++g) value[g] = seeds[g < used ? g : 0];
    key[0] = value;
    for (std::size_t pos = 1; pos < state_size; ++pos) {
        value = 1812433253U * (value ^ (value >> 30)) + static_cast<std::uint32_t>(pos);
        key[pos] = value;
    }
}

/// mt19937::twist in the eight lanes.
void twist(u32x8* key) {
    constexpr std::size_t period = 397;
    const auto next = [](u32x8 upper, u32x8 lower, u32x8 far) {
        const u32x8 y = (upper & 0x80000000U) | (lower & 0x7fffffffU);
        return far ^ (y >> 1) ^ ((0U - (y & 1U)) & 0x9908b0dfU);
    };
    std::size_t i = 0;
    for (; i < state_size - period; ++i) key[i] = next(key[i], key[i + 1], key[i + period]);
    for (; i < state_size - 1; ++i) key[i] = next(key[i], key[i + 1], key[i + period - state_size]);
    key[state_size - 1] = next(key[state_size - 1], key[0], key[period - 1]);
}

LMSREF_LANES_INLINE u32x8 temper(u32x8 y) {
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

/// 2 random_sample() - 1 for the eight lanes from the shifted words a = first >> 5, b = second >> 6. NumPy's
/// (a 2^26 + b) / 2^53, doubled, is v 2^-52 with v = a 2^26 + b < 2^53, all exact; so one fused multiply-add forms
/// v exactly and another rounds v 2^-52 - 1 once, as the scalar 2u - 1 does.
LMSREF_LANES_INLINE __m512d candidate(u32x8 a, u32x8 b) {
    const __m512d v = _mm512_fmadd_pd(_mm512_cvtepi32_pd(reinterpret_cast<__m256i>(a)), _mm512_set1_pd(67108864.0),
                                      _mm512_cvtepi32_pd(reinterpret_cast<__m256i>(b)));
    return _mm512_fmsub_pd(v, _mm512_set1_pd(0x1p-52), _mm512_set1_pd(1.0));
}

/// log(x) for x in (0, 1) to about 2^-60 relative, as H + L (H the double nearest the estimate, |L| <= ulp(H) / 2),
/// and whether H is surely glibc's log(x). glibc's log is within 0.520 ulp of the true value (its source,
/// sysdeps/ieee754/dbl-64/e_log.c: 0.519 ulp with FMA, 0.520 without; "around 0.507" for x in [1 - 2^-4, 1), its
/// other path), so where the estimate lies within 0.47 ulp of H, its own error bound included, every other double is
/// more than 0.53 ulp away and glibc must return H. The rest (L near half an ulp, or H a power of two, whose lower
/// neighbour is half an ulp away) are left to std::log itself: about 9 % of the values.
///
/// x = 2^k m with m in [sqrt(1/2), sqrt(2)); s = (m - 1) / (m + 1) in double-double (|s| <= 0.172); log m =
/// 2 atanh(s) = 2 s + 2 s^3 / 3 + ... + 2 s^23 / 23 (truncated below 2^-64 relative); log x = k ln 2 + log m, ln 2
/// as fdlibm's ln2_hi (k ln2_hi exact) + ln2_lo.
struct Log {
    __m512d hi, lo; // H, L
    __mmask8 sure;  // the lanes where H is glibc's log(x)
};
LMSREF_LANES_INLINE Log log_estimate(__m512d x) {
    __m512d m = _mm512_getmant_pd(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src); // x = 2^k m, m in [1, 2), exactly
    __m512d k = _mm512_getexp_pd(x);
    const __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.4142135623730951), _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5)); // exact
    k = _mm512_mask_add_pd(k, big, k, _mm512_set1_pd(1.0));

    const __m512d one = _mm512_set1_pd(1.0);
    const __m512d u = _mm512_sub_pd(m, one);    // exact (Sterbenz)
    const __m512d a_hi = _mm512_add_pd(m, one); // m + 1 = a_hi + a_lo, a_hi - 1 and a_lo exact (Sterbenz)
    const __m512d a_lo = _mm512_sub_pd(m, _mm512_sub_pd(a_hi, one));
    const __m512d s_hi = _mm512_div_pd(u, a_hi);
    __m512d rem = _mm512_fnmadd_pd(s_hi, a_hi, u); // u - s_hi a_hi, exact
    rem = _mm512_fnmadd_pd(s_hi, a_lo, rem);
    const __m512d s_lo = _mm512_mul_pd(rem, _mm512_rcp14_pd(a_hi)); // 2^-14 of s_lo, itself ~2^-53 s_hi, is plenty

    // p = 2/3 + 2/5 z + ... + 2/23 z^10 at z = s^2, by Estrin's scheme (a short chain of dependent operations).
    const __m512d s2 = _mm512_mul_pd(s_hi, s_hi);
    const __m512d z2 = _mm512_mul_pd(s2, s2), z4 = _mm512_mul_pd(z2, z2), z8 = _mm512_mul_pd(z4, z4);
    const auto pair = [s2](double c0, double c1) __attribute__((always_inline)) {
        return _mm512_fmadd_pd(_mm512_set1_pd(c1), s2, _mm512_set1_pd(c0));
    };
    const __m512d r0 = _mm512_fmadd_pd(pair(2.0 / 7, 2.0 / 9), z2, pair(2.0 / 3, 2.0 / 5));
    const __m512d r1 = _mm512_fmadd_pd(pair(2.0 / 15, 2.0 / 17), z2, pair(2.0 / 11, 2.0 / 13));
    const __m512d r2 = _mm512_fmadd_pd(_mm512_set1_pd(2.0 / 23), z2, pair(2.0 / 19, 2.0 / 21));
    const __m512d p = _mm512_fmadd_pd(r2, z8, _mm512_fmadd_pd(r1, z4, r0));
    __m512d tail = _mm512_mul_pd(_mm512_mul_pd(s_hi, s2), p);  // 2 s^3 / 3 + ...
    tail = _mm512_fmadd_pd(_mm512_add_pd(s2, s2), s_lo, tail); // + 2 s^2 s_lo
    const __m512d two_s_hi = _mm512_add_pd(s_hi, s_hi), two_s_lo = _mm512_add_pd(s_lo, s_lo);

    const __m512d k_hi = _mm512_mul_pd(k, _mm512_set1_pd(0x1.62e42fee00000p-1)); // exact
    // sum + e1 = k_hi + 2 s_hi exactly (Dekker's fast two-sum: k = 0, or |k_hi| >= ln 2 > 2 |s_hi|)
    const __m512d sum = _mm512_add_pd(k_hi, two_s_hi);
    const __m512d e1 = _mm512_sub_pd(two_s_hi, _mm512_sub_pd(sum, k_hi));
    const __m512d lo =
        _mm512_add_pd(e1, _mm512_fmadd_pd(k, _mm512_set1_pd(0x1.a39ef35793c76p-33), _mm512_add_pd(two_s_lo, tail)));
    const __m512d h = _mm512_add_pd(sum, lo);
    const __m512d l = _mm512_sub_pd(lo, _mm512_sub_pd(h, sum)); // exact: |sum| >= |lo|

    // ulp(H) = 2^(exponent - 52) from H's exponent bits. The estimate's own error: under eight roundings of the
    // tail, which 2^-49 |tail| bounds, and s_lo's reciprocal and k ln2_lo's roundings, under 2^-12 ulp: 0.469 ulp
    // leaves room for them below 0.47.
    const __m512i h_bits = _mm512_castpd_si512(h);
    const __m512d ulp = _mm512_castsi512_pd(_mm512_sub_epi64(
        _mm512_and_si512(h_bits, _mm512_set1_epi64(0x7ff0000000000000LL)), _mm512_set1_epi64(52LL << 52)));
    const __m512d margin =
        _mm512_fnmadd_pd(_mm512_abs_pd(tail), _mm512_set1_pd(0x1p-49), _mm512_mul_pd(ulp, _mm512_set1_pd(0.469)));
    const __mmask8 close = _mm512_cmp_pd_mask(_mm512_abs_pd(l), margin, _CMP_LT_OQ);
    const __mmask8 not_power_of_two = _mm512_test_epi64_mask(h_bits, _mm512_set1_epi64(0x000fffffffffffffLL));
    return {h, l, static_cast<__mmask8>(close & not_power_of_two)};
}

/// Each lane's normals appended to its column of the rows (out[8 k + g]), up to count, attempt by attempt: every
/// attempt is written at at[g], which moves on two rows when it is accepted (no branch), so up to two values land
/// past count, in the two rows of scratch. The lanes go side by side, so that the stores of one attempt fall in the
/// same few rows.
struct Appender {
    double* out;
    std::size_t end;       // count rows of eight
    std::size_t at[lanes]; // out's index of each lane's next value
    LMSREF_LANES_INLINE void add(const Workspace& w, std::size_t j) {
        const unsigned accepted = w.accepted[j];
#pragma GCC unroll 8
        for (std::size_t g = 0; g < lanes; ++g) {
            out[at[g]] = w.second[j * lanes + g];
            out[at[g] + lanes] = w.first[j * lanes + g];
            at[g] = std::min(at[g] + 2 * lanes * ((accepted >> g) & 1U), end + g);
        }
    }
};

/// Attempts first ... first + count - 1 in the eight lanes, in two passes (the processor overlaps many attempts):
/// x1, x2 -> r2 and the acceptance (r2 < 1 and r2 != 0), counted into accepted_so_far, with the scalar appends of
/// the twelve attempts before (pending_first ..., already mended) beside this integer work; then log(r2),
/// f = sqrt(-2 log(r2) / r2) and the pair (f x2, f x1) (meaningless where rejected), the divider's division and root
/// beside the estimate's multiply-adds. Where the estimate of log cannot vouch for glibc's bits, redo_unsure makes
/// the pair again (their places are appended to w.unsure).
LMSREF_LANES_INLINE void attempts_of(const u32x8* key, Workspace& w, std::size_t first, std::size_t count,
                                     std::size_t& unsure_count, __m512i& accepted_so_far, Appender& app,
                                     std::size_t pending_first, std::size_t pending_count) {
    constexpr std::size_t most = 12;
    alignas(64) double r2s[most][lanes];
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t j = first + i;
        const __m512d x1 = candidate(temper(key[4 * j]) >> 5, temper(key[4 * j + 1]) >> 6);
        const __m512d x2 = candidate(temper(key[4 * j + 2]) >> 5, temper(key[4 * j + 3]) >> 6);
        const __m512d r2 = _mm512_add_pd(_mm512_mul_pd(x1, x1), _mm512_mul_pd(x2, x2));
        const __mmask8 accept = _mm512_cmp_pd_mask(r2, _mm512_set1_pd(1.0), _CMP_LT_OQ) &
                                _mm512_cmp_pd_mask(r2, _mm512_setzero_pd(), _CMP_NEQ_OQ);
        w.accepted[j] = static_cast<std::uint8_t>(accept);
        accepted_so_far = _mm512_mask_add_epi64(accepted_so_far, accept, accepted_so_far, _mm512_set1_epi64(1));
        _mm512_store_pd(w.x1.data() + j * lanes, x1);
        _mm512_store_pd(w.x2.data() + j * lanes, x2);
        _mm512_store_pd(r2s[i], _mm512_mask_blend_pd(accept, _mm512_set1_pd(0.75), r2)); // harmless where rejected
        if (i < pending_count) app.add(w, pending_first + i);
    }
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    for (std::size_t i = 0; i < count; ++i) {
        const Log log = log_estimate(_mm512_load_pd(r2s[i]));
        const auto unsure = static_cast<__mmask8>(w.accepted[first + i] & ~log.sure); // their places, appended
        const __m512i places = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>((first + i) * lanes)), lane);
        _mm512_storeu_si512(w.unsure.data() + unsure_count, _mm512_maskz_compress_epi64(unsure, places));
        unsure_count += static_cast<std::size_t>(__builtin_popcount(unsure));
        const std::size_t index = (first + i) * lanes;
        const __m512d f =
            _mm512_sqrt_pd(_mm512_div_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0), log.hi), _mm512_load_pd(r2s[i])));
        _mm512_store_pd(w.second.data() + index, _mm512_mul_pd(f, _mm512_load_pd(w.x2.data() + index))); // first out
        _mm512_store_pd(w.first.data() + index, _mm512_mul_pd(f, _mm512_load_pd(w.x1.data() + index)));  // cached
    }
}

/// The pairs whose log the estimate left to glibc (places w.unsure[0 ... count)): LegacyGaussStream's scalar
/// operations, std::log included.
void redo_unsure(Workspace& w, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t index = w.unsure[i];
        const double x1 = w.x1[index];
        const double x2 = w.x2[index];
        const double r2 = x1 * x1 + x2 * x2;
        const double f = std::sqrt(-2.0 * std::log(r2) / r2);
        w.second[index] = f * x2;
        w.first[index] = f * x1;
    }
}

} // namespace

// glibc's error bound is what lets the estimate stand for its log: another C library gets the scalar stream.
bool available() {
#if !defined(__GLIBC__)
    return false;
#endif
    return simd::allows(simd::Level::avx512) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}

void normals(Workspace& w, const std::uint32_t* seeds, std::size_t used, std::size_t count, double* out) {
    auto* key = reinterpret_cast<u32x8*>(w.key.data());
    seed(key, seeds, used);
    Appender app{out, count * lanes, {}};
    for (std::size_t g = 0; g < lanes; ++g) app.at[g] = g;
    __m512i accepted = _mm512_setzero_si512(); // each lane's accepted attempts, a pair each
    const __m512i wanted = _mm512_set1_epi64(static_cast<long long>((count + 1) / 2));
    // A block's attempts twelve at a time (156 = 13 x 12), made, mended where the estimate left log to glibc, and
    // appended while the next twelve are made, until every lane has its count: the last block stops where they do.
    constexpr std::size_t step = 12;
    std::size_t pending_first = 0, pending_count = 0; // attempts made, not yet appended
    bool more = count > 0;
    while (more) {
        twist(key);
        for (std::size_t j = 0; more && j < attempts; j += step) {
            std::size_t unsure = 0;
            attempts_of(key, w, j, step, unsure, accepted, app, pending_first, pending_count);
            redo_unsure(w, unsure);
            pending_first = j;
            pending_count = step;
            more = _mm512_cmplt_epu64_mask(accepted, wanted) != 0;
        }
    }
    for (std::size_t i = 0; i < pending_count; ++i) app.add(w, pending_first + i);
}

void log_estimates(const double* x, std::size_t n, double* out, bool* sure) {
    for (std::size_t i = 0; i + lanes <= n; i += lanes) {
        const Log log = log_estimate(_mm512_loadu_pd(x + i));
        _mm512_storeu_pd(out + i, log.hi);
        for (std::size_t g = 0; g < lanes; ++g) sure[i + g] = ((log.sure >> g) & 1U) != 0;
    }
}

#else

bool available() {
    return false;
}

void normals(Workspace&, const std::uint32_t*, std::size_t, std::size_t, double*) {}
void log_estimates(const double*, std::size_t, double*, bool*) {}

#endif

} // namespace lmsref::legacy_lanes
