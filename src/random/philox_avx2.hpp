// CPU-only twins of src/random/philox_data.hpp's functions in AVX2, four consecutive realizations at once (a lane
// each), for speed alone: normals4_avx2 makes philox::normals' values (Philox's 32 x 32 -> 64-bit products with
// vpmuludq, the uniforms from their two exact halves, log_unit and cos_sin_2pi with blends where the scalar code
// selects), and add_four_realizations_avx2 runs Realization::step_with's LMS update and adds into the block sums as
// four calls of philox::add_realization would. The same operations in the same order, lane by lane, with no fused
// multiply-add: the same bits (tests/test_philox.cpp checks the normals against philox::normals and the engine's curves
// against philox::add_realization). The CPU engine uses them when the processor has AVX2 but not AVX-512 (checked at
// run time; with AVX-512 it takes src/philox_avx512.hpp's) and M = max(M, len(wo)) <= 8, the scalar functions
// otherwise. The CUDA kernel never sees them.
#pragma once

#include "random/philox_data.hpp"
#include "random/simd.hpp"

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LMSREF_PHILOX_AVX2 1
#include <immintrin.h>
#endif

namespace lmsref {
namespace philox {

#ifdef LMSREF_PHILOX_AVX2

/// Whether this processor runs the AVX2 twins, and LMSREF_SIMD allows them (random/simd.hpp).
inline bool avx2_supported() {
    return simd::allows(simd::Level::avx2) && __builtin_cpu_supports("avx2");
}

/// x[g], v[g] = philox::normals(seed, r0 + g, n) for g = 0 ... 3, the same bits.
__attribute__((target("avx2"), always_inline)) inline void normals4_avx2_inline(std::uint32_t seed, std::uint64_t r0,
                                                                                std::uint64_t n, double* x, double* v) {
    const __m256i low32 = _mm256_set1_epi64x(0xffffffffLL);
    __m256i c0 = _mm256_set1_epi64x(static_cast<long long>(n & 0xffffffffULL));
    __m256i c1 = _mm256_set1_epi64x(static_cast<long long>(n >> 32));
    const __m256i r = _mm256_add_epi64(_mm256_set1_epi64x(static_cast<long long>(r0)), _mm256_set_epi64x(3, 2, 1, 0));
    __m256i c2 = _mm256_and_si256(r, low32);
    __m256i c3 = _mm256_srli_epi64(r, 32);
    const __m256i m0 = _mm256_set1_epi64x(0xD2511F53LL), m1 = _mm256_set1_epi64x(0xCD9E8D57LL);
    std::uint32_t k0 = seed, k1 = key_tag;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += 0x9E3779B9U;
            k1 += 0xBB67AE85U;
        }
        const __m256i p0 = _mm256_mul_epu32(c0, m0);
        const __m256i p1 = _mm256_mul_epu32(c2, m1);
        const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1), _mm256_set1_epi64x(k0));
        const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3), _mm256_set1_epi64x(k1));
        c1 = _mm256_and_si256(p1, low32);
        c3 = _mm256_and_si256(p0, low32);
        c0 = n0;
        c2 = n2;
    }
    const __m256i magic = _mm256_set1_epi64x(0x4330000000000000LL);
    const __m256d two52 = _mm256_set1_pd(4503599627370496.0);
// Exact for values below 2^52: the integer in the mantissa of 2^52 + value, less 2^52.
#define LMSREF_TO_DOUBLE(small) _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256((small), magic)), two52)
    const __m256d u1 =
        _mm256_add_pd(_mm256_mul_pd(LMSREF_TO_DOUBLE(_mm256_srli_epi64(c0, 5)), _mm256_set1_pd(0x1p-27)),
                      _mm256_mul_pd(LMSREF_TO_DOUBLE(_mm256_add_epi64(_mm256_srli_epi64(c1, 6), _mm256_set1_epi64x(1))),
                                    _mm256_set1_pd(0x1p-53)));
    const __m256d u2 =
        _mm256_add_pd(_mm256_mul_pd(LMSREF_TO_DOUBLE(_mm256_srli_epi64(c2, 5)), _mm256_set1_pd(0x1p-27)),
                      _mm256_mul_pd(LMSREF_TO_DOUBLE(_mm256_srli_epi64(c3, 6)), _mm256_set1_pd(0x1p-53)));
    // log_unit
    const __m256i bits = _mm256_castpd_si256(u1);
    const __m256d ef = LMSREF_TO_DOUBLE(_mm256_srli_epi64(bits, 52));
    __m256d m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                                                    _mm256_set1_epi64x(0x3ff0000000000000LL)));
    const __m256d big = _mm256_cmp_pd(m, _mm256_set1_pd(1.4142135623730951), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    const __m256d de =
        _mm256_add_pd(_mm256_sub_pd(ef, _mm256_set1_pd(1023.0)), _mm256_and_pd(big, _mm256_set1_pd(1.0)));
    const __m256d one = _mm256_set1_pd(1.0);
    const __m256d s = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
    const __m256d z = _mm256_mul_pd(s, s);
    __m256d p = _mm256_set1_pd(1.0 / 23.0);
    const double inv[10] = {1.0 / 21.0, 1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0,
                            1.0 / 11.0, 1.0 / 9.0,  1.0 / 7.0,  1.0 / 5.0,  1.0 / 3.0};
    for (double c : inv) p = _mm256_add_pd(_mm256_mul_pd(p, z), _mm256_set1_pd(c));
    const __m256d two = _mm256_set1_pd(2.0);
    const __m256d log_m =
        _mm256_add_pd(_mm256_mul_pd(two, s), _mm256_mul_pd(_mm256_mul_pd(two, s), _mm256_mul_pd(z, p)));
    const __m256d lg =
        _mm256_add_pd(_mm256_mul_pd(de, _mm256_set1_pd(6.93147180369123816490e-01)),
                      _mm256_add_pd(log_m, _mm256_mul_pd(de, _mm256_set1_pd(1.90821492927058770002e-10))));
    const __m256d rho = _mm256_sqrt_pd(_mm256_mul_pd(_mm256_set1_pd(-2.0), lg));
    // cos_sin_2pi
    const __m256d u4 = _mm256_mul_pd(_mm256_set1_pd(4.0), u2);
    const __m128i q = _mm256_cvttpd_epi32(u4);
    const __m256d f = _mm256_sub_pd(u4, _mm256_cvtepi32_pd(q));
    const __m256d swap = _mm256_cmp_pd(f, _mm256_set1_pd(0.5), _CMP_GT_OQ);
    const __m256d a =
        _mm256_mul_pd(_mm256_set1_pd(1.5707963267948966), _mm256_blendv_pd(f, _mm256_sub_pd(one, f), swap));
    const __m256d za = _mm256_mul_pd(a, a);
    __m256d ps = _mm256_set1_pd(1.0 / 355687428096000.0);
    const double sc[7] = {-1.0 / 1307674368000.0, 1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0,
                          -1.0 / 5040.0,          1.0 / 120.0,        -1.0 / 6.0};
    for (double c : sc) ps = _mm256_add_pd(_mm256_mul_pd(ps, za), _mm256_set1_pd(c));
    const __m256d sin_a = _mm256_add_pd(a, _mm256_mul_pd(a, _mm256_mul_pd(za, ps)));
    __m256d pc = _mm256_set1_pd(1.0 / 20922789888000.0);
    const double cc[6] = {-1.0 / 87178291200.0, 1.0 / 479001600.0, -1.0 / 3628800.0,
                          1.0 / 40320.0,        -1.0 / 720.0,      1.0 / 24.0};
    for (double c : cc) pc = _mm256_add_pd(_mm256_mul_pd(pc, za), _mm256_set1_pd(c));
    const __m256d cos_a = _mm256_add_pd(_mm256_sub_pd(one, _mm256_mul_pd(_mm256_set1_pd(0.5), za)),
                                        _mm256_mul_pd(_mm256_mul_pd(za, za), pc));
    const __m256i q64 = _mm256_cvtepi32_epi64(q);
    const __m256i i1 = _mm256_set1_epi64x(1);
    const __m256d qodd = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(q64, i1), i1));
    const __m256d odd = _mm256_xor_pd(qodd, swap);
    const __m256d cv = _mm256_blendv_pd(cos_a, sin_a, odd), sv = _mm256_blendv_pd(sin_a, cos_a, odd);
    const __m256i cneg = _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_srli_epi64(_mm256_add_epi64(q64, i1), 1), i1), i1);
    const __m256i sneg = _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_srli_epi64(q64, 1), i1), i1);
    const __m256d signbit = _mm256_set1_pd(-0.0);
    const __m256d cs = _mm256_xor_pd(cv, _mm256_and_pd(_mm256_castsi256_pd(cneg), signbit));
    const __m256d ss = _mm256_xor_pd(sv, _mm256_and_pd(_mm256_castsi256_pd(sneg), signbit));
    _mm256_storeu_pd(x, _mm256_mul_pd(rho, cs));
    _mm256_storeu_pd(v, _mm256_mul_pd(rho, ss));
}
#undef LMSREF_TO_DOUBLE

/// x[g], v[g] = philox::normals(seed, r0 + g, n) for g = 0 ... 3, the same bits (callable from any code; the
/// engine's AVX2 loop inlines normals4_avx2_inline itself).
__attribute__((target("avx2"))) inline void normals4_avx2(std::uint32_t seed, std::uint64_t r0, std::uint64_t n,
                                                          double* x, double* v) {
    normals4_avx2_inline(seed, r0, n, x, v);
}

/// philox::signals for realizations first ... first + 3 at once: realization first + g's x and d at x + g stride,
/// d + g stride, the same bits (normals4_avx2, then filter_signal).
__attribute__((target("avx2"))) inline void signals_four_avx2(const Problem& p, std::uint64_t first, double* x,
                                                              double* d, std::size_t stride) {
    alignas(32) double xs[4], vs[4];
    for (std::int64_t n = 0; n < p.samples; ++n) {
        normals4_avx2_inline(p.seed, first, static_cast<std::uint64_t>(n), xs, vs);
        for (std::size_t g = 0; g < 4; ++g) {
            x[g * stride + static_cast<std::size_t>(n)] = xs[g];
            d[g * stride + static_cast<std::size_t>(n)] = vs[g];
        }
    }
    if (p.coloured)
        colour_signals(p, x, d, stride, 4);
    else
        for (std::size_t g = 0; g < 4; ++g) filter_signal(p, x + g * stride, d + g * stride);
}

/// philox::add_realization for realizations first ... first + 3 at once, M = K = StaticM, in AVX2 (a lane per
/// realization; Realization::step_with's operations in its order, lane by lane), adding into the block's sums in
/// realization order: the bits of four calls of add_realization. steady[g]: realization first + g's sum of e^2 over
/// the steady state.
template <int StaticM>
__attribute__((target("avx2"))) void add_four_realizations_avx2(const Problem& p, std::uint64_t first, double* mse,
                                                                double* msd, double* meanw, double* steady) {
    constexpr int M = StaticM;
    double deviation0 = 0.0; // Realization::start: w = 0
    for (int k = 0; k < M; ++k) {
        const double c = 0.0 - p.wo_M[k];
        deviation0 += c * c;
    }
    for (int g = 0; g < 4; ++g) {
        msd[0] += deviation0;
        for (int k = 0; k < M; ++k) meanw[k] += 0.0;
    }
    __m256d hist[M], w[M], wo_K[M], wo_M[M];
    for (int k = 0; k < M; ++k) {
        hist[k] = _mm256_setzero_pd();
        w[k] = _mm256_setzero_pd();
        wo_K[k] = _mm256_set1_pd(p.wo_K[k]);
        wo_M[k] = _mm256_set1_pd(p.wo_M[k]);
    }
    const __m256d step = _mm256_set1_pd(p.step), noise_gain = _mm256_set1_pd(p.noise_gain);
    __m256d steady_sum = _mm256_setzero_pd();
    alignas(32) double x[4], v[4], e2[4], deviation[4], wk[M][4];
    for (std::int64_t n = 0; n < p.samples; ++n) {
        normals4_avx2_inline(p.seed, first, static_cast<std::uint64_t>(n), x, v);
        for (int k = M - 1; k > 0; --k) hist[k] = hist[k - 1];
        hist[0] = _mm256_load_pd(x);
        __m256d di = _mm256_setzero_pd(); // lfilter, oldest tap first
        for (int k = M; k-- > 0;) di = _mm256_add_pd(di, _mm256_mul_pd(wo_K[k], hist[k]));
        di = _mm256_add_pd(di, _mm256_mul_pd(noise_gain, _mm256_load_pd(v)));
        __m256d yi = _mm256_setzero_pd();
        for (int k = 0; k < M; ++k) yi = _mm256_add_pd(yi, _mm256_mul_pd(w[k], hist[k]));
        const __m256d ei = _mm256_sub_pd(di, yi);
        const __m256d step_ei = _mm256_mul_pd(step, ei);
        __m256d sum = _mm256_setzero_pd();
        for (int k = 0; k < M; ++k) {
            w[k] = _mm256_add_pd(w[k], _mm256_mul_pd(step_ei, hist[k]));
            const __m256d c = _mm256_sub_pd(w[k], wo_M[k]);
            sum = _mm256_add_pd(sum, _mm256_mul_pd(c, c));
            _mm256_store_pd(wk[k], w[k]);
        }
        const __m256d e2v = _mm256_mul_pd(ei, ei);
        if (n >= p.steady_start) steady_sum = _mm256_add_pd(steady_sum, e2v);
        _mm256_store_pd(e2, e2v);
        _mm256_store_pd(deviation, sum);
        double* row = meanw + (n + 1) * M;
        for (int g = 0; g < 4; ++g) { // the sums, in realization order
            mse[n] += e2[g];
            msd[n + 1] += deviation[g];
            for (int k = 0; k < M; ++k) row[k] += wk[k][g];
        }
    }
    _mm256_storeu_pd(steady, steady_sum);
}

#else

inline bool avx2_supported() {
    return false;
}
inline void normals4_avx2(std::uint32_t, std::uint64_t, std::uint64_t, double*, double*) {}
inline void signals_four_avx2(const Problem&, std::uint64_t, double*, double*, std::size_t) {}
template <int StaticM>
void add_four_realizations_avx2(const Problem&, std::uint64_t, double*, double*, double*, double*) {}

#endif

} // namespace philox
} // namespace lmsref
