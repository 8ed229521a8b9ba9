// d made from x, and the numpy stage's LMS, on eight realizations at once, their data in rows (sample n of realization
// g at x[8 n + g], d[8 n + g], as random/legacy_lanes.hpp makes them), a realization per lane of a 512-bit vector:
// add_group's operations in its order (yi from tap 0, ei = d - yi, w + (eta / 2 * 2 ei) x, ||w - wo_M||^2 from tap
// 0), so each lane holds its single run's bits; the block sums are added eight samples at a time, lanes 0 ... 7 in
// order into each value (philox::add_rows_in_order, twice), as eight calls of add_group add them. Only for
// ensemble.cpp, which calls it where philox::avx512_supported() says the processor has AVX-512.
#pragma once

#include "random/philox_avx512.hpp" // add_rows_in_order, LMSREF_AVX512_TARGET

#include <cstddef>

// GCC 12 warns that its own AVX-512 intrinsics read an "uninitialized" _mm512_undefined_*() operand; they do not.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace lmsref::rows {

#ifdef LMSREF_PHILOX_AVX512

/// d = lfilter(wo, 1, x) + noise_gain noise for eight realizations in rows (wo: L taps), generate_realization's
/// operations lane by lane: each sum from 0.0, oldest tap first, the taps before the start left out, then the noise.
/// Returns whether every value of d is finite.
LMSREF_AVX512_TARGET inline bool filter_eight(const double* wo, std::size_t L, double noise_gain, const double* x,
                                              const double* noise, double* d, std::size_t N) {
    const __m512d gain = _mm512_set1_pd(noise_gain);
    __mmask8 bad = 0;
    for (std::size_t n = 0; n < N; ++n) {
        const std::size_t newest = n < L - 1 ? n : L - 1;
        __m512d sum = _mm512_setzero_pd();
        for (std::size_t k = newest + 1; k-- > 0;)
            sum = _mm512_add_pd(sum, _mm512_mul_pd(_mm512_set1_pd(wo[k]), _mm512_loadu_pd(x + 8 * (n - k))));
        const __m512d dn = _mm512_add_pd(sum, _mm512_mul_pd(gain, _mm512_loadu_pd(noise + 8 * n)));
        _mm512_storeu_pd(d + 8 * n, dn);
        bad |= _mm512_cmp_pd_mask(_mm512_sub_pd(dn, dn), _mm512_setzero_pd(), _CMP_NEQ_UQ); // inf, NaN
    }
    return bad == 0;
}

/// Eight realizations (whole rows) into the block's sums: mse (N), msd (N + 1), meanw ((N + 1) x M); steady[g]:
/// realization g's sum of e^2 from sample steady_start on. step: eta / 2 * 2, the numpy stage's factor.
template <int M>
LMSREF_AVX512_TARGET void add_eight_lms(std::size_t N, const double* wo_M, double step, std::size_t steady_start,
                                        const double* x, const double* d, double* mse, double* msd, double* meanw,
                                        double* steady) {
    double deviation0 = 0.0; // w = 0 at the start
    for (int k = 0; k < M; ++k) {
        const double c = 0.0 - wo_M[k];
        deviation0 += c * c;
    }
    for (int g = 0; g < 8; ++g) {
        msd[0] += deviation0;
        for (int k = 0; k < M; ++k) meanw[k] += 0.0;
    }
    __m512d hist[M], w[M], wo[M];
    for (int k = 0; k < M; ++k) {
        hist[k] = _mm512_setzero_pd();
        w[k] = _mm512_setzero_pd();
        wo[k] = _mm512_set1_pd(wo_M[k]);
    }
    const __m512d step_v = _mm512_set1_pd(step);
    __m512d steady_sum = _mm512_setzero_pd();
    // Per sample of a chunk of eight, lanes 0 ... 3 and 4 ... 7 apart (add_rows_in_order's rows of four).
    alignas(64) double e2s[2][8][4], devs[2][8][4], ws[2][8 * M][4];
    for (std::size_t n0 = 0; n0 < N; n0 += 8) {
        const std::size_t count = N - n0 < 8 ? N - n0 : 8;
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t n = n0 + j;
            for (int k = M - 1; k > 0; --k) hist[k] = hist[k - 1];
            hist[0] = _mm512_loadu_pd(x + 8 * n);
            __m512d yi = _mm512_setzero_pd();
            for (int k = 0; k < M; ++k) yi = _mm512_add_pd(yi, _mm512_mul_pd(w[k], hist[k]));
            const __m512d ei = _mm512_sub_pd(_mm512_loadu_pd(d + 8 * n), yi);
            const __m512d step_e = _mm512_mul_pd(step_v, ei);
            __m512d sum = _mm512_setzero_pd();
            for (int k = 0; k < M; ++k) {
                w[k] = _mm512_add_pd(w[k], _mm512_mul_pd(step_e, hist[k]));
                const __m512d c = _mm512_sub_pd(w[k], wo[k]);
                sum = _mm512_add_pd(sum, _mm512_mul_pd(c, c));
                _mm256_store_pd(ws[0][j * M + k], _mm512_castpd512_pd256(w[k]));
                _mm256_store_pd(ws[1][j * M + k], _mm512_extractf64x4_pd(w[k], 1));
            }
            const __m512d e2 = _mm512_mul_pd(ei, ei);
            if (n >= steady_start) steady_sum = _mm512_add_pd(steady_sum, e2);
            _mm256_store_pd(e2s[0][j], _mm512_castpd512_pd256(e2));
            _mm256_store_pd(e2s[1][j], _mm512_extractf64x4_pd(e2, 1));
            _mm256_store_pd(devs[0][j], _mm512_castpd512_pd256(sum));
            _mm256_store_pd(devs[1][j], _mm512_extractf64x4_pd(sum, 1));
        }
        const int rows = static_cast<int>(count);
        for (int half = 0; half < 2; ++half) { // lanes 0 ... 3, then 4 ... 7: realization order
            philox::add_rows_in_order(e2s[half][0], rows, mse + n0);
            philox::add_rows_in_order(devs[half][0], rows, msd + n0 + 1);
            philox::add_rows_in_order(ws[half][0], rows * M, meanw + (n0 + 1) * M);
        }
    }
    _mm512_storeu_pd(steady, steady_sum);
}

#else

inline bool filter_eight(const double*, std::size_t, double, const double*, const double*, double*, std::size_t) {
    return false;
}

#endif

} // namespace lmsref::rows

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
