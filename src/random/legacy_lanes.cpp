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
#define LMSREF_LANES_INLINE_LAMBDA __attribute__((always_inline))

/// init_genrand in the lanes of `seeded` groups of eight (mt19937::seed's operations), group k's seeds seeds + k step
/// wrapping as uint32, into keys[k]: two 512-bit chains of dependent steps side by side, two groups each (their
/// latency, not their operations, is the cost, and the second chain's steps fill the first's waits).
void seed(const std::array<u32x8*, seeded>& keys, const std::uint32_t* seeds, std::uint32_t step) {
    static_assert(seeded == 4, "two chains of two groups");
    alignas(64) std::uint32_t first[seeded * lanes];
    for (std::size_t k = 0; k < seeded; ++k)
        for (std::size_t g = 0; g < lanes; ++g) first[k * lanes + g] = seeds[g] + static_cast<std::uint32_t>(k) * step;
    __m512i low = _mm512_load_si512(first), high = _mm512_load_si512(first + 2 * lanes); // groups 0, 1 and 2, 3
    const __m512i factor = _mm512_set1_epi32(1812433253);
    const auto advance = [&](__m512i value, std::size_t pos) LMSREF_LANES_INLINE_LAMBDA {
        return _mm512_add_epi32(_mm512_mullo_epi32(factor, _mm512_xor_si512(value, _mm512_srli_epi32(value, 30))),
                                _mm512_set1_epi32(static_cast<int>(pos)));
    };
    for (std::size_t pos = 0; pos < state_size; ++pos) {
        if (pos > 0) {
            low = advance(low, pos);
            high = advance(high, pos);
        }
        keys[0][pos] = reinterpret_cast<u32x8>(_mm512_castsi512_si256(low));
        keys[1][pos] = reinterpret_cast<u32x8>(_mm512_extracti64x4_epi64(low, 1));
        keys[2][pos] = reinterpret_cast<u32x8>(_mm512_castsi512_si256(high));
        keys[3][pos] = reinterpret_cast<u32x8>(_mm512_extracti64x4_epi64(high, 1));
    }
}

/// mt19937::twist in the eight lanes: y, upper's top bit and lower's other 31, in one ternary logic operation; far ^
/// (y >> 1), and the matrix's word added (exclusive or) where y, that is lower, is odd, under a mask.
__attribute__((noinline)) void twist(u32x8* key) {
    constexpr std::size_t period = 397;
    const __m256i top = _mm256_set1_epi32(static_cast<int>(0x80000000U)), one = _mm256_set1_epi32(1);
    const __m256i matrix = _mm256_set1_epi32(static_cast<int>(0x9908b0dfU));
    const auto next = [=](u32x8 upper, u32x8 lower, u32x8 far) {
        const auto lower_i = reinterpret_cast<__m256i>(lower);
        const __m256i y =
            _mm256_ternarylogic_epi32(top, reinterpret_cast<__m256i>(upper), lower_i, 0xCA); // top ? upper : lower
        const __m256i shifted = _mm256_xor_si256(reinterpret_cast<__m256i>(far), _mm256_srli_epi32(y, 1));
        return reinterpret_cast<u32x8>(
            _mm256_mask_xor_epi32(shifted, _mm256_test_epi32_mask(lower_i, one), shifted, matrix));
    };
    std::size_t i = 0;
    for (; i < state_size - period; ++i) key[i] = next(key[i], key[i + 1], key[i + period]);
    for (; i < state_size - 1; ++i) key[i] = next(key[i], key[i + 1], key[i + period - state_size]);
    key[state_size - 1] = next(key[state_size - 1], key[0], key[period - 1]);
}

/// MT19937's tempering, its last step's result masked by low_bits_off: y & ~31 and y & ~63 are NumPy's y >> 5 and
/// y >> 6 times 32 and 64, one ternary logic operation with the last exclusive or instead of a shift after it.
LMSREF_LANES_INLINE u32x8 temper(u32x8 y, std::uint32_t low_bits_off) {
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    return (y ^ (y >> 18)) & ~low_bits_off;
}

/// 2 random_sample() - 1 for the eight lanes from the tempered words, masked: a32 = 32 (first >> 5), b64 = 64 (second
/// >> 6). NumPy's (a 2^26 + b) / 2^53, doubled, is v 2^-52 with v = a 2^26 + b < 2^53, all exact, and v 2^-52 - 1
/// is a double; so a 2^-26 - 1 = a32 2^-31 - 1 (a double), then that plus b 2^-52 = b64 2^-58, each one fused
/// multiply-add rounding an exact double, give it as the scalar 2u - 1 does.
LMSREF_LANES_INLINE __m512d candidate(u32x8 a32, u32x8 b64) {
    const __m512d high = _mm512_fmsub_pd(_mm512_cvtepu32_pd(reinterpret_cast<__m256i>(a32)), _mm512_set1_pd(0x1p-31),
                                         _mm512_set1_pd(1.0));
    return _mm512_fmadd_pd(_mm512_cvtepu32_pd(reinterpret_cast<__m256i>(b64)), _mm512_set1_pd(0x1p-58), high);
}

/// log(x) for x in (0, 1) to about 2^-63 relative, as H + L (H the double nearest the estimate, |L| <= ulp(H) / 2),
/// and whether H is surely glibc's log(x). glibc returns its own value of log(x) before the last rounding, rounded to
/// nearest; where no halfway point between two doubles lies within that value's error of log(x), its double is the
/// nearest to log(x), H wherever the estimate's own error leaves no halfway point within reach either. glibc's
/// error, from its source (sysdeps/ieee754/dbl-64/e_log.c and e_log_data.c), is the smaller of:
///  - 0.520 ulp after the rounding (0.519 with FMA; "around 0.507" for x in [1 - 2^-4, 1), its other path): so
///    under 0.020 ulp before it;
///  - in its main path (x below 1 - 2^-4), 2^-61.6 absolute: its r = z / c - 1 rounded once (2^-55 / N = 2^-62,
///    N = 128), log c in its table (under 2^-66), its polynomial (0x1.88p-65), r^2's rounding (2^-69) and the
///    polynomial's (about 2^-70); its source's own bound, 0.5 + 2.06/N ulp of 2^-56 and the polynomial's, is the
///    same. Allowed here: 2^-61, 1.6 times that, below 0.020 ulp where |log x| >= 1/8.
/// The rest (L near half an ulp, or H a power of two, whose lower neighbour is half an ulp away) are left to
/// std::log itself: about 2 % of the values of a uniform x.
///
/// x = 2^k m, m in [1, 2) in one of 16 intervals [1 + i/16, 1 + (i + 1)/16) of middle c (from interval 8 on, m / 2,
/// c / 2 and k + 1; c = 1 in the last: the table below); s = (m - c) / (m + c) in double-double (|s| <= 0.016);
/// log x = k ln 2 + log c + 2 atanh(s), 2 atanh(s) = 2 s + 2 s^3 / 3 + s^5 q(s^2), q = 2/5 + 2/7 s^2 + 2/9 s^4 +
/// 2/11 s^6 (truncated below 2^-75 relative); ln 2 as fdlibm's ln2_hi + ln2_lo, log c as the table's hi + lo.
namespace log_table {
// Made by scripts/log_table.py: c, log c rounded to a multiple of 2^-42, and the rest of log c.
alignas(64) constexpr double c[16] = {
    0x1.0800000000000p+0, 0x1.1800000000000p+0, 0x1.2800000000000p+0, 0x1.3800000000000p+0,
    0x1.4800000000000p+0, 0x1.5800000000000p+0, 0x1.6800000000000p+0, 0x1.7800000000000p+0,
    0x1.8800000000000p-1, 0x1.9800000000000p-1, 0x1.a800000000000p-1, 0x1.b800000000000p-1,
    0x1.c800000000000p-1, 0x1.d800000000000p-1, 0x1.e800000000000p-1, 0x1.0000000000000p+0};
alignas(64) constexpr double log_c_hi[16] = {
    0x1.f829b0e780000p-6,  0x1.6f0d28ae58000p-4,  0x1.29552f8200000p-3,  0x1.9525a9cf46000p-3,
    0x1.fb9186d5e4000p-3,  0x1.2e8e2bae12000p-2,  0x1.5d1bdbf581000p-2,  0x1.89a3386c14000p-2,
    -0x1.1178e8227e000p-2, -0x1.d1037f2656000p-3, -0x1.823c16551a000p-3, -0x1.365fcb015a000p-3,
    -0x1.da72763844000p-4, -0x1.4d3115d208000p-4, -0x1.894aa149f8000p-5, 0x0.0p+0};
alignas(64) constexpr double log_c_lo[16] = {
    0x1.980267c7e09e4p-45,  -0x1.4b4641b664613p-44, -0x1.5b967f4471dfcp-44, -0x1.297137d9f158fp-44,
    -0x1.d572aab993c87p-47, -0x1.67b1e99b72bd8p-45, -0x1.8d6bdc9c7c238p-44, 0x1.2d5ad38c40882p-45,
    -0x1.1ef78ce2d07f2p-44, 0x1.84a7e75b6f6e4p-47,  -0x1.e0ddb9a631e83p-46, 0x1.fd3a0afb9691bp-44,
    -0x1.a89401fa71733p-46, 0x1.53a2582f4e1efp-48,  -0x1.9a19a8be97661p-44, 0x0.0p+0};
} // namespace log_table
struct Log {
    __m512d hi, lo; // H, L
    __mmask8 sure;  // the lanes where H is glibc's log(x)
};
/// The estimate in two steps: reduce, up to s (its division), then estimate, the rest. The lanes reduce a group's
/// twelve attempts first, so that the divider works through their divisions while the estimates that follow wait
/// on the first of them; they estimate K = 3 side by side, operation by operation: independent chains of dependent
/// operations, so that the processor has the others' work while one waits.
struct Reduced {
    __m512d s_hi, s_lo; // s
    __m512d w, small;   // k ln2_hi + log_c_hi, exact; k ln2_lo + log_c_lo
};
LMSREF_LANES_INLINE Reduced reduce(__m512d x) {
    const __m512d c_low = _mm512_load_pd(log_table::c), c_high = _mm512_load_pd(log_table::c + 8);
    const __m512d hi_low = _mm512_load_pd(log_table::log_c_hi), hi_high = _mm512_load_pd(log_table::log_c_hi + 8);
    const __m512d lo_low = _mm512_load_pd(log_table::log_c_lo), lo_high = _mm512_load_pd(log_table::log_c_lo + 8);
    // x = 2^k m exactly (subnormal x too), m in [0.75, 1.5): getmant halves a mantissa from 1.5 on, and then k is one
    // more than getexp's. The interval i from m's top four bits (vpermt2pd reads an index's low four bits): 0 ... 7 in
    // [1, 1.5), 8 ... 15 in [0.75, 1), their c halved.
    const __m512d m = _mm512_getmant_pd(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
    __m512d k = _mm512_getexp_pd(x);
    const __m512i i = _mm512_srli_epi64(_mm512_castpd_si512(m), 48);
    k = _mm512_mask_add_pd(k, _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.0), _CMP_LT_OQ), k, _mm512_set1_pd(1.0));
    const __m512d c = _mm512_permutex2var_pd(c_low, i, c_high);
    // u = m - c exact (Sterbenz); m + c = a_hi + a_lo, a_lo exact (Dekker's fast two-sum: c and m share a binade,
    // or c = 1 > m); s = s_hi + s_lo, the remainder u - s_hi a_hi exact, then less s_hi a_lo; 2^-14 of s_lo (itself
    // ~2^-53 s_hi) is plenty.
    const __m512d u = _mm512_sub_pd(m, c);
    const __m512d a_hi = _mm512_add_pd(c, m);
    const __m512d s_hi = _mm512_div_pd(u, a_hi);
    const __m512d a_lo = _mm512_sub_pd(m, _mm512_sub_pd(a_hi, c));
    const __m512d log_c_hi = _mm512_permutex2var_pd(hi_low, i, hi_high);
    const __m512d log_c_lo = _mm512_permutex2var_pd(lo_low, i, lo_high);
    __m512d rem = _mm512_fnmadd_pd(s_hi, a_hi, u);
    rem = _mm512_fnmadd_pd(s_hi, a_lo, rem);
    const __m512d s_lo = _mm512_mul_pd(rem, _mm512_rcp14_pd(a_hi));
    // w = k ln2_hi + log_c_hi exactly (multiples of 2^-42 under 2^10)
    return {s_hi, s_lo, _mm512_fmadd_pd(k, _mm512_set1_pd(0x1.62e42fee00000p-1), log_c_hi),
            _mm512_fmadd_pd(k, _mm512_set1_pd(0x1.a39ef35793c76p-33), log_c_lo)};
}
template <int K> LMSREF_LANES_INLINE void estimate(const Reduced* in, Log* out) {
    __m512d s2[K];
    for (int t = 0; t < K; ++t) s2[t] = _mm512_mul_pd(in[t].s_hi, in[t].s_hi);
    __m512d q[K], s3[K], s5[K];
    for (int t = 0; t < K; ++t) {
        const __m512d z2 = _mm512_mul_pd(s2[t], s2[t]);
        const __m512d low = _mm512_fmadd_pd(_mm512_set1_pd(2.0 / 7), s2[t], _mm512_set1_pd(2.0 / 5));
        const __m512d high = _mm512_fmadd_pd(_mm512_set1_pd(2.0 / 11), s2[t], _mm512_set1_pd(2.0 / 9));
        q[t] = _mm512_fmadd_pd(high, z2, low);
    }
    for (int t = 0; t < K; ++t) s3[t] = _mm512_mul_pd(in[t].s_hi, s2[t]);
    for (int t = 0; t < K; ++t) s5[t] = _mm512_mul_pd(s3[t], s2[t]);

    // sum + e1 = w + 2 s_hi exactly (Dekker's fast two-sum: w = 0, or, x being below 1, |w| >= 0.048 > 2 |s_hi|, the
    // same binade at least). lo = e1 + k ln2_lo + log_c_lo + 2 s_lo + 2 s^2 s_lo + s^5 q + (2/3) s^3, the last term
    // last: its one rounding, s3's two and 2/3's (half of one), about 2.4 roundings of |s3|, and the small terms'
    // roundings, bounded by 3 |s3| 2^-53 + 2^-106 |w| and far below the allowance for the rest.
    __m512d two_s_hi[K], two_s_lo[K], sum[K], lo[K], h[K], l[K];
    for (int t = 0; t < K; ++t) two_s_hi[t] = _mm512_add_pd(in[t].s_hi, in[t].s_hi);
    for (int t = 0; t < K; ++t) two_s_lo[t] = _mm512_add_pd(in[t].s_lo, in[t].s_lo);
    for (int t = 0; t < K; ++t) sum[t] = _mm512_add_pd(in[t].w, two_s_hi[t]);
    for (int t = 0; t < K; ++t) lo[t] = _mm512_sub_pd(two_s_hi[t], _mm512_sub_pd(sum[t], in[t].w)); // e1
    for (int t = 0; t < K; ++t) lo[t] = _mm512_add_pd(lo[t], _mm512_add_pd(in[t].small, two_s_lo[t]));
    for (int t = 0; t < K; ++t) lo[t] = _mm512_fmadd_pd(s2[t], two_s_lo[t], lo[t]); // s^2 (2 s_lo) = 2 s^2 s_lo
    for (int t = 0; t < K; ++t) lo[t] = _mm512_fmadd_pd(s5[t], q[t], lo[t]);
    for (int t = 0; t < K; ++t) lo[t] = _mm512_fmadd_pd(s3[t], _mm512_set1_pd(2.0 / 3), lo[t]);
    for (int t = 0; t < K; ++t) h[t] = _mm512_add_pd(sum[t], lo[t]);
    for (int t = 0; t < K; ++t) l[t] = _mm512_sub_pd(lo[t], _mm512_sub_pd(h[t], sum[t])); // exact: |sum| >= |lo|

    // L must stay below half an ulp of H by glibc's error, the larger of 0.469 ulp (0.020 and room for the rest) and
    // half an ulp less A = 2^-61 + 2^-63, and by the estimate's own: 3 |s3| 2^-53 (above), under 0.0004 ulp (it is
    // 1.5 s^2 ulp at most where c = 1 and k = 0, and |log x| > 0.03, ulp >= 2^-57, elsewhere), and, besides, under
    // 2^-63 min(|log x|, 1) (the series' truncation, the table's lo, s_lo's reciprocal, the 2 s^4 s_lo left out,
    // ln 2's two parts, the small terms' roundings): within 0.469's room, under 2^-10 ulp. Two rounding tests, each
    // H + D rounded to nearest, which is H only if |D| <= ulp / 2 (H not a power of two, whose lower neighbour is
    // half an ulp away: left to std::log), settle it without ulp: D = 1.0671 L (|L| <= 0.46856 ulp, under
    // 0.469 - 0.0004), or D = 1.0009 (L + sgn(L) A), L + sgn(L) A rounded once (|L| + A <= 0.49955 ulp, under 0.5 -
    // 0.0004). The second vouches for more only where ulp >= 2^-55, |log x| >= 1/8 (below, A >= 0.039 ulp): x below
    // e^-1/8 < 15/16, glibc's main path.
    const __m512i sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL));
    const __m512i fraction = _mm512_set1_epi64(0xfffffffffffffLL);
    const __m512i absolute = _mm512_castpd_si512(_mm512_set1_pd(0x1.4p-61)); // A
    for (int t = 0; t < K; ++t) {
        const __m512d signed_a = _mm512_castsi512_pd( // sgn(L) A: L's sign bit, A's other bits
            _mm512_ternarylogic_epi64(_mm512_castpd_si512(l[t]), sign, absolute, 0xEA));
        const __m512d relative = _mm512_fmadd_pd(l[t], _mm512_set1_pd(1.0671), h[t]);
        const __m512d beyond = _mm512_fmadd_pd(_mm512_add_pd(l[t], signed_a), _mm512_set1_pd(1.0009), h[t]);
        const __mmask8 close =
            _mm512_cmp_pd_mask(relative, h[t], _CMP_EQ_OQ) | _mm512_cmp_pd_mask(beyond, h[t], _CMP_EQ_OQ);
        const __mmask8 not_power_of_two = _mm512_test_epi64_mask(_mm512_castpd_si512(h[t]), fraction);
        out[t] = {h[t], l[t], static_cast<__mmask8>(close & not_power_of_two)};
    }
}

/// Each lane's normals appended to its column of the rows (out[8 k + g]), up to count, attempt by attempt: every
/// attempt is written at at[g], which moves on two rows when it is accepted (no branch), so up to two values land
/// past count, in the two rows of scratch. The places move in one vector (a masked add and a minimum) as the
/// attempts are made, kept in w.places; the pairs are written later, lane by lane, their places read back from
/// memory (scalar loads, not vector extractions that would take the vector pipes from the tempering beside them).
struct Appender {
    double* out;
    __m512i at;   // out's index of each lane's next value
    __m512i last; // the last index each lane may take: count rows of eight on; at is last once the lane has count
    Appender(double* rows, std::size_t count)
        : out(rows), at(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)),
          last(_mm512_add_epi64(at, _mm512_set1_epi64(static_cast<long long>(count * lanes)))) {}
    LMSREF_LANES_INLINE void place(Workspace& w, std::size_t j, __mmask8 accept) {
        _mm512_store_si512(w.places.data() + j * lanes, at);
        at = _mm512_min_epu64(_mm512_mask_add_epi64(at, accept, at, _mm512_set1_epi64(2 * lanes)), last);
    }
    LMSREF_LANES_INLINE void add(const Workspace& w, std::size_t j) {
        const std::uint64_t* place = w.places.data() + j * lanes;
#pragma GCC unroll 8
        for (std::size_t g = 0; g < lanes; ++g) {
            out[place[g]] = w.second[j * lanes + g];
            out[place[g] + lanes] = w.first[j * lanes + g];
        }
    }
};

/// Attempts first ... first + 11 in the eight lanes, in two passes (the processor overlaps many attempts):
/// x1, x2 -> r2 and the acceptance (r2 < 1 and r2 != 0), moving app's places, with the scalar appends of
/// the twelve attempts before (pending_first ..., already mended) beside this integer work; then, three attempts side
/// by side, log(r2), f = sqrt(-2 log(r2) / r2) and the pair (f x2, f x1) (meaningless where rejected), the divider's
/// division and root beside the estimate's multiply-adds. Where the estimate of log cannot vouch for glibc's bits,
/// redo_unsure asks glibc, and makes the pair again where it differs (their j lanes + g are appended to w.unsure).
constexpr std::size_t group = 12; // attempts per call of attempts_of
static_assert(attempts % group == 0, "a block of 156 attempts is thirteen groups");
LMSREF_LANES_INLINE void attempts_of(const u32x8* key, Workspace& w, std::size_t first, std::size_t& unsure_count,
                                     Appender& app, std::size_t pending_first, std::size_t pending_count) {
    const double* r2s = w.r2.data() + first * lanes;
    for (std::size_t i = 0; i < group; ++i) {
        const std::size_t j = first + i;
        const __m512d x1 = candidate(temper(key[4 * j], 31), temper(key[4 * j + 1], 63));
        const __m512d x2 = candidate(temper(key[4 * j + 2], 31), temper(key[4 * j + 3], 63));
        const __m512d r2 = _mm512_add_pd(_mm512_mul_pd(x1, x1), _mm512_mul_pd(x2, x2));
        const __mmask8 accept = _mm512_cmp_pd_mask(r2, _mm512_set1_pd(1.0), _CMP_LT_OQ) &
                                _mm512_cmp_pd_mask(r2, _mm512_setzero_pd(), _CMP_NEQ_OQ);
        app.place(w, j, accept);
        _mm512_store_pd(w.x1.data() + j * lanes, x1);
        _mm512_store_pd(w.x2.data() + j * lanes, x2);
        // r2, or 0.5 where rejected: the log below runs on every lane and takes x in (0, 1), and its estimate vouches
        // for 0.5 (0.21 ulp from halfway), so that a rejected lane is never unsure (its pair, never kept, is not made
        // again)
        _mm512_store_pd(w.r2.data() + j * lanes, _mm512_mask_blend_pd(accept, _mm512_set1_pd(0.5), r2));
        if (i < pending_count) app.add(w, pending_first + i);
    }
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    constexpr int side = 3; // attempts side by side
    static_assert(group % side == 0, "whole threes");
    Reduced reduced[group];
    for (std::size_t i = 0; i < group; ++i) reduced[i] = reduce(_mm512_load_pd(r2s + i * lanes));
    for (std::size_t i = 0; i < group; i += side) {
        const std::size_t j = first + i;
        __m512d r2[side], f[side];
        Log log[side];
        for (int t = 0; t < side; ++t) r2[t] = _mm512_load_pd(r2s + (i + t) * lanes);
        estimate<side>(reduced + i, log);
        for (int t = 0; t < side; ++t)
            f[t] = _mm512_sqrt_pd(_mm512_div_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0), log[t].hi), r2[t]));
        for (std::size_t t = 0; t < side; ++t) {
            _mm512_store_pd(w.log_hi.data() + (j + t) * lanes, log[t].hi);
            const auto unsure = static_cast<__mmask8>(~log[t].sure); // their j lanes + g, appended
            const __m512i indices = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>((j + t) * lanes)), lane);
            _mm512_storeu_si512(w.unsure.data() + unsure_count, _mm512_maskz_compress_epi64(unsure, indices));
            unsure_count += static_cast<std::size_t>(__builtin_popcount(unsure));
        }
        for (std::size_t t = 0; t < side; ++t) {
            const std::size_t index = (j + t) * lanes;
            _mm512_store_pd(w.second.data() + index, _mm512_mul_pd(f[t], _mm512_load_pd(w.x2.data() + index)));
            _mm512_store_pd(w.first.data() + index, _mm512_mul_pd(f[t], _mm512_load_pd(w.x1.data() + index)));
        }
    }
}

/// The pairs whose log the estimate left to glibc (w.unsure[0 ... count)): std::log(r2), and, where it is not the
/// estimate's H (4 % of them), LegacyGaussStream's scalar operations for f and the pair; where it is H, the lanes'
/// pair is already the scalar code's.
void redo_unsure(Workspace& w, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t index = w.unsure[i];
        const double r2 = w.r2[index];
        const double log_r2 = std::log(r2);
        if (__builtin_expect(log_r2 != w.log_hi[index], 0)) {
            const double f = std::sqrt(-2.0 * log_r2 / r2);
            w.second[index] = f * w.x2[index];
            w.first[index] = f * w.x1[index];
        }
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

void normals(Workspace& w, const std::uint32_t* seeds, std::size_t used, std::size_t count, double* out,
             std::uint32_t step) {
    std::uint32_t mine[lanes];
    for (std::size_t g = 0; g < lanes; ++g) mine[g] = seeds[g < used ? g : 0];
    if (w.ready > 0 && std::equal(mine, mine + lanes, w.next_seeds.begin())) {
        ++w.current; // seeded by a call before
        --w.ready;
    } else {
        std::array<u32x8*, seeded> keys;
        for (std::size_t k = 0; k < seeded; ++k) keys[k] = reinterpret_cast<u32x8*>(w.key[k].data());
        seed(keys, mine, step);
        w.current = 0;
        w.ready = static_cast<int>(seeded) - 1;
        w.step = step;
    }
    for (std::size_t g = 0; g < lanes; ++g) w.next_seeds[g] = mine[g] + w.step;
    auto* key = reinterpret_cast<u32x8*>(w.key[w.current].data());
    Appender app(out, count);
    // A block's attempts twelve at a time (156 = 13 x 12), made, mended where the estimate left log to glibc, and
    // appended while the next twelve are made, until every lane has its count: the last block stops where they do.
    std::size_t pending_first = 0, pending_count = 0; // attempts made, not yet appended
    bool more = count > 0;
    while (more) {
        twist(key);
        for (std::size_t j = 0; more && j < attempts; j += group) {
            std::size_t unsure = 0;
            attempts_of(key, w, j, unsure, app, pending_first, pending_count);
            redo_unsure(w, unsure);
            pending_first = j;
            pending_count = group;
            more = _mm512_cmplt_epu64_mask(app.at, app.last) != 0; // a lane short of count
        }
    }
    for (std::size_t i = 0; i < pending_count; ++i) app.add(w, pending_first + i);
}

void log_estimates(const double* x, std::size_t n, double* out, bool* sure) {
    for (std::size_t i = 0; i + lanes <= n; i += lanes) {
        const Reduced reduced = reduce(_mm512_loadu_pd(x + i));
        Log log;
        estimate<1>(&reduced, &log);
        _mm512_storeu_pd(out + i, log.hi);
        for (std::size_t g = 0; g < lanes; ++g) sure[i + g] = ((log.sure >> g) & 1U) != 0;
    }
}

#else

bool available() {
    return false;
}

void normals(Workspace&, const std::uint32_t*, std::size_t, std::size_t, double*, std::uint32_t) {}
void log_estimates(const double*, std::size_t, double*, bool*) {}

#endif

} // namespace lmsref::legacy_lanes
