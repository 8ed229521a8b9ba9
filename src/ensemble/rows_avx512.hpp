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
/// Samples first ... N - 1 with all L taps (first >= L - 1), the taps in registers; returns d * 0 added up, NaN
/// where some d is not finite (one multiply-add a sample instead of a compare).
template <std::size_t L>
LMSREF_AVX512_TARGET inline __m512d filter_taps(const double* wo, __m512d gain, const double* x, const double* noise,
                                                double* d, std::size_t first, std::size_t N) {
    __m512d taps[L];
    for (std::size_t k = 0; k < L; ++k) taps[k] = _mm512_set1_pd(wo[k]);
    __m512d nan_sum = _mm512_setzero_pd();
    for (std::size_t n = first; n < N; ++n) {
        __m512d sum = _mm512_setzero_pd();
        for (std::size_t k = L; k-- > 0;)
            sum = _mm512_add_pd(sum, _mm512_mul_pd(taps[k], _mm512_loadu_pd(x + 8 * (n - k))));
        const __m512d dn = _mm512_add_pd(sum, _mm512_mul_pd(gain, _mm512_loadu_pd(noise + 8 * n)));
        _mm512_storeu_pd(d + 8 * n, dn);
        nan_sum = _mm512_fmadd_pd(dn, _mm512_setzero_pd(), nan_sum);
    }
    return nan_sum;
}
/// Returns whether every value of d is finite.
LMSREF_AVX512_TARGET inline bool filter_eight(const double* wo, std::size_t L, double noise_gain, const double* x,
                                              const double* noise, double* d, std::size_t N) {
    const __m512d gain = _mm512_set1_pd(noise_gain);
    __m512d nan_sum = _mm512_setzero_pd();
    std::size_t n = 0;
    const auto sample = [&](std::size_t newest) LMSREF_AVX512_TARGET __attribute__((always_inline)) {
        __m512d sum = _mm512_setzero_pd();
        for (std::size_t k = newest + 1; k-- > 0;)
            sum = _mm512_add_pd(sum, _mm512_mul_pd(_mm512_set1_pd(wo[k]), _mm512_loadu_pd(x + 8 * (n - k))));
        const __m512d dn = _mm512_add_pd(sum, _mm512_mul_pd(gain, _mm512_loadu_pd(noise + 8 * n)));
        _mm512_storeu_pd(d + 8 * n, dn);
        nan_sum = _mm512_fmadd_pd(dn, _mm512_setzero_pd(), nan_sum);
    };
    for (; n < N && n + 1 < L; ++n) sample(n); // the start: taps before sample 0 left out
    switch (L) {
    case 1: nan_sum = _mm512_add_pd(nan_sum, filter_taps<1>(wo, gain, x, noise, d, n, N)); break;
    case 2: nan_sum = _mm512_add_pd(nan_sum, filter_taps<2>(wo, gain, x, noise, d, n, N)); break;
    case 3: nan_sum = _mm512_add_pd(nan_sum, filter_taps<3>(wo, gain, x, noise, d, n, N)); break;
    case 4: nan_sum = _mm512_add_pd(nan_sum, filter_taps<4>(wo, gain, x, noise, d, n, N)); break;
    case 5: nan_sum = _mm512_add_pd(nan_sum, filter_taps<5>(wo, gain, x, noise, d, n, N)); break;
    case 6: nan_sum = _mm512_add_pd(nan_sum, filter_taps<6>(wo, gain, x, noise, d, n, N)); break;
    case 7: nan_sum = _mm512_add_pd(nan_sum, filter_taps<7>(wo, gain, x, noise, d, n, N)); break;
    case 8: nan_sum = _mm512_add_pd(nan_sum, filter_taps<8>(wo, gain, x, noise, d, n, N)); break;
    default:
        for (; n < N; ++n) sample(L - 1);
    }
    return _mm512_cmp_pd_mask(nan_sum, nan_sum, _CMP_UNORD_Q) == 0;
}

/// ||w - wo_M||^2 at the start, w = 0: the scalar code's terms in its order.
template <int M> inline double start_deviation(const double* wo_M) {
    double deviation = 0.0;
    for (int k = 0; k < M; ++k) {
        const double c = 0.0 - wo_M[k];
        deviation += c * c;
    }
    return deviation;
}

/// The recursions' state at the start: no regressors yet, w = 0, no steady-state sum; wo_M in every lane.
template <int M, int G>
LMSREF_AVX512_TARGET __attribute__((always_inline)) inline void
start(const double* wo_M, __m512d (&hist)[G][M], __m512d (&w)[G][M], __m512d (&wo)[M], __m512d (&steady_sum)[G]) {
    for (int k = 0; k < M; ++k) wo[k] = _mm512_set1_pd(wo_M[k]);
    for (int i = 0; i < G; ++i) {
        steady_sum[i] = _mm512_setzero_pd();
        for (int k = 0; k < M; ++k) hist[i][k] = w[i][k] = _mm512_setzero_pd();
    }
}

/// Sample n of G groups' recursions up to the update: the regressors shifted in (x at sample n), the a-priori error
/// ei = d - yi, yi from tap 0 (from its first term, not 0.0 plus it: add_lms says why the bits are the same), and
/// step ei.
template <int M, int G>
LMSREF_AVX512_TARGET __attribute__((always_inline)) inline void
a_priori(const double* const* x, const double* const* d, std::size_t n, __m512d step, __m512d (&hist)[G][M],
         const __m512d (&w)[G][M], __m512d (&ei)[G], __m512d (&step_e)[G]) {
    __m512d yi[G];
    for (int i = 0; i < G; ++i) {
        for (int k = M - 1; k > 0; --k) hist[i][k] = hist[i][k - 1];
        hist[i][0] = _mm512_loadu_pd(x[i] + 8 * n);
        yi[i] = _mm512_mul_pd(w[i][0], hist[i][0]);
    }
    for (int k = 1; k < M; ++k)
        for (int i = 0; i < G; ++i) yi[i] = _mm512_add_pd(yi[i], _mm512_mul_pd(w[i][k], hist[i][k]));
    for (int i = 0; i < G; ++i) {
        ei[i] = _mm512_sub_pd(_mm512_loadu_pd(d[i] + 8 * n), yi[i]);
        step_e[i] = _mm512_mul_pd(step, ei[i]);
    }
}

/// 8 G realizations (G groups of eight, whole rows: group i's data at x[i], d[i]) into the block's sums: mse (N),
/// msd (N + 1), meanw ((N + 1) x M); steady[8 i + g]: realization 8 i + g's sum of e^2 from sample steady_start on.
/// step: eta / 2 * 2, the numpy stage's factor. The groups' recursions interleave, so that one's chain of dependent
/// operations (w -> y -> e -> w) fills the other's wait; the sums take group 0's lanes, then group 1's.
/// yi and ||w - wo_M||^2 start from their first term, not from 0.0 plus it: the same bits. 0.0 + p is p but where p
/// is -0.0: never for c^2, and for w_0 x_0 it changes at most the sign of a zero yi; then every yi + w_k x_k after
/// it is the same but where all are zeros, and ei = d - yi, taking its sign only where d is zero too, is squared or
/// multiplies into w + step ei x, the same for either sign (w is never -0.0: it starts at +0.0, and adding a zero
/// to +0.0, or a sum that cancels exactly, gives +0.0).
template <int M, int G>
LMSREF_AVX512_TARGET void add_lms(std::size_t N, const double* wo_M, double step, std::size_t steady_start,
                                  const double* const* x, const double* const* d, double* mse, double* msd,
                                  double* meanw, double* steady) {
    const double deviation0 = start_deviation<M>(wo_M);
    for (int g = 0; g < 8 * G; ++g) {
        msd[0] += deviation0;
        for (int k = 0; k < M; ++k) meanw[k] += 0.0;
    }
    __m512d hist[G][M], w[G][M], wo[M], steady_sum[G];
    start<M, G>(wo_M, hist, w, wo, steady_sum);
    const __m512d step_v = _mm512_set1_pd(step);
    // Per sample of a chunk of eight, per group, lanes 0 ... 3 and 4 ... 7 apart (add_rows_in_order's rows of four).
    alignas(64) double e2s[G][2][8][4], devs[G][2][8][4], ws[G][2][8 * M][4];
    const auto keep = [](double* half0, double* half1, __m512d v) LMSREF_AVX512_TARGET __attribute__((always_inline)) {
        _mm256_store_pd(half0, _mm512_castpd512_pd256(v));
        _mm256_store_pd(half1, _mm512_extractf64x4_pd(v, 1));
    };
    for (std::size_t n0 = 0; n0 < N; n0 += 8) {
        const std::size_t count = N - n0 < 8 ? N - n0 : 8;
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t n = n0 + j;
            __m512d ei[G], step_e[G], sum[G];
            a_priori<M, G>(x, d, n, step_v, hist, w, ei, step_e);
            for (int k = 0; k < M; ++k)
                for (int i = 0; i < G; ++i) {
                    w[i][k] = _mm512_add_pd(w[i][k], _mm512_mul_pd(step_e[i], hist[i][k]));
                    const __m512d c = _mm512_sub_pd(w[i][k], wo[k]);
                    sum[i] = k == 0 ? _mm512_mul_pd(c, c) : _mm512_add_pd(sum[i], _mm512_mul_pd(c, c));
                    const std::size_t at = j * static_cast<std::size_t>(M) + static_cast<std::size_t>(k);
                    keep(ws[i][0][at], ws[i][1][at], w[i][k]);
                }
            for (int i = 0; i < G; ++i) {
                const __m512d e2 = _mm512_mul_pd(ei[i], ei[i]);
                if (n >= steady_start) steady_sum[i] = _mm512_add_pd(steady_sum[i], e2);
                keep(e2s[i][0][j], e2s[i][1][j], e2);
                keep(devs[i][0][j], devs[i][1][j], sum[i]);
            }
        }
        const int rows = static_cast<int>(count);
        for (int i = 0; i < G; ++i)
            for (int half = 0; half < 2; ++half) { // lanes 0 ... 3, then 4 ... 7, group by group: realization order
                philox::add_rows_in_order(e2s[i][half][0], rows, mse + n0);
                philox::add_rows_in_order(devs[i][half][0], rows, msd + n0 + 1);
                philox::add_rows_in_order(ws[i][half][0], rows * M, meanw + (n0 + 1) * M);
            }
    }
    for (int i = 0; i < G; ++i) _mm512_storeu_pd(steady + 8 * i, steady_sum[i]);
}

/// add_lms's recursions for G groups of eight realizations whose lane b belongs to block b of eight blocks side by
/// side (group i: the blocks' realization r + i), into the eight blocks' sums interleaved: sums[8 j + b] is entry j
/// of block b's mse (N), msd (N + 1) and meanw ((N + 1) x M), one after the other. A block's realizations are its
/// lane's, so its in-order sums are vector additions, group 0's, then group 1's: no transposes, and each block's
/// sums the bits add_lms gives them. steady[8 i + b]: group i's realization in block b, its sum of e^2 from sample
/// steady_start on.
template <int M, int G>
LMSREF_AVX512_TARGET void add_lms_blocks(std::size_t N, const double* wo_M, double step, std::size_t steady_start,
                                         const double* const* x, const double* const* d, double* sums, double* steady) {
    double* mse = sums;
    double* msd = sums + 8 * N;
    double* meanw = sums + 8 * (2 * N + 1);
    const double deviation0 = start_deviation<M>(wo_M);
    {
        __m512d msd0 = _mm512_loadu_pd(msd), meanw0[M];
        for (int k = 0; k < M; ++k) meanw0[k] = _mm512_loadu_pd(meanw + 8 * k);
        for (int i = 0; i < G; ++i) {
            msd0 = _mm512_add_pd(msd0, _mm512_set1_pd(deviation0));
            for (int k = 0; k < M; ++k) meanw0[k] = _mm512_add_pd(meanw0[k], _mm512_setzero_pd());
        }
        _mm512_storeu_pd(msd, msd0);
        for (int k = 0; k < M; ++k) _mm512_storeu_pd(meanw + 8 * k, meanw0[k]);
    }
    __m512d hist[G][M], w[G][M], wo[M], steady_sum[G];
    start<M, G>(wo_M, hist, w, wo, steady_sum);
    const __m512d step_v = _mm512_set1_pd(step);
    for (std::size_t n = 0; n < N; ++n) {
        __m512d ei[G], step_e[G], sum[G];
        a_priori<M, G>(x, d, n, step_v, hist, w, ei, step_e);
        double* meanw_n = meanw + 8 * (n + 1) * M;
        for (int k = 0; k < M; ++k) {
            __m512d mean = _mm512_loadu_pd(meanw_n + 8 * k);
            for (int i = 0; i < G; ++i) {
                w[i][k] = _mm512_add_pd(w[i][k], _mm512_mul_pd(step_e[i], hist[i][k]));
                const __m512d c = _mm512_sub_pd(w[i][k], wo[k]);
                sum[i] = k == 0 ? _mm512_mul_pd(c, c) : _mm512_add_pd(sum[i], _mm512_mul_pd(c, c));
                mean = _mm512_add_pd(mean, w[i][k]);
            }
            _mm512_storeu_pd(meanw_n + 8 * k, mean);
        }
        __m512d squares = _mm512_loadu_pd(mse + 8 * n), deviations = _mm512_loadu_pd(msd + 8 * (n + 1));
        for (int i = 0; i < G; ++i) {
            const __m512d e2 = _mm512_mul_pd(ei[i], ei[i]);
            if (n >= steady_start) steady_sum[i] = _mm512_add_pd(steady_sum[i], e2);
            squares = _mm512_add_pd(squares, e2);
            deviations = _mm512_add_pd(deviations, sum[i]);
        }
        _mm512_storeu_pd(mse + 8 * n, squares);
        _mm512_storeu_pd(msd + 8 * (n + 1), deviations);
    }
    for (int i = 0; i < G; ++i) _mm512_storeu_pd(steady + 8 * i, steady_sum[i]);
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
