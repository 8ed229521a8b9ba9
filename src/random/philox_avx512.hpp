// CPU-only twins of src/random/philox_data.hpp's functions in AVX-512 (F, DQ, VL), for speed alone, as
// src/philox_avx2.hpp in AVX2. A 512-bit vector holds eight (realization, sample) pairs: four consecutive realizations
// (the engine's group) times two consecutive samples, so that a group of four realizations fills all eight lanes.
// Normals512 makes philox::normals' values for them: Philox's 32 x 32 -> 64-bit products with vpmuludq, the three-way
// xors in one vpternlogq, the 53-bit integers converted exactly (vcvtqq2pd), log_unit's mantissa and exponent taken
// exactly (vgetmantpd, vgetexppd), cos_sin_2pi's quadrant and fraction taken exactly from u2's 53-bit integer (q = k2
// >> 51, f = (k2 mod 2^51) 2^-51, which are the scalar floor(4 u2) and 4 u2 - q), and masks where the scalar code
// selects. add_realizations_avx512 makes eight samples' normals of four (or eight) realizations at a time this way
// (four, or eight, independent vectors in flight), runs Realization::step_with's LMS update (or a family member's) on
// the previous eight samples in vectors of a realization per lane between their stages (the long chains of dependent
// operations of both overlap), and adds into the block sums as that many calls of philox::add_realization would,
// eight samples at a time.
// Every floating-point operation of the scalar code is here, in the same order, lane by lane, with no fused
// multiply-add; what differs is only how exact values (integers, mantissas, exponents, signs) are obtained: the
// same bits (tests/test_philox.cpp checks the normals against philox::normals and the engine's curves against
// philox::add_realization). The CPU engine uses them when the processor has AVX-512 F, DQ and VL (checked at run
// time) and M = max(M, len(wo)) <= 8; then AVX2, then the scalar functions. The CUDA kernel never sees them.
#pragma once

#include "random/philox_avx2.hpp"
#include "random/philox_data.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef LMSREF_PHILOX_AVX2
#define LMSREF_PHILOX_AVX512 1
#define LMSREF_AVX512_TARGET __attribute__((target("avx2,avx512f,avx512dq,avx512vl")))
#endif

// GCC 12 warns that its own AVX-512 intrinsics read an "uninitialized" _mm512_undefined_*() operand; they do not.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace lmsref {
namespace philox {

#ifdef LMSREF_PHILOX_AVX512

/// Whether this processor (and its operating system: GCC's check includes the saved register state) runs the
/// AVX-512 twins, and LMSREF_SIMD allows them (random/simd.hpp).
inline bool avx512_supported() {
    return simd::allows(simd::Level::avx512) && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

/// Philox's round keys for one seed: k0[i], k1[i] of round i (broadcast to the lanes where they are used).
struct Keys512 {
    long long k0[10], k1[10];
};
inline void make_keys512(std::uint32_t seed, Keys512& keys) {
    std::uint32_t k0 = seed, k1 = key_tag;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += 0x9E3779B9U;
            k1 += 0xBB67AE85U;
        }
        keys.k0[round] = static_cast<long long>(k0);
        keys.k1[round] = static_cast<long long>(k1);
    }
}

/// The normals of S vectors of (realization, sample) pairs, in stages (so that a caller can put other work between
/// them): start, rounds (Philox), integers, log_poly, log_finish, sin_part, cos_part, rotate. Lane l = 4 j + g of
/// vector s holds realization r0 + 4 (s / 4) + g, sample n + 2 (s mod 4) + j (S = 8: two groups of four
/// realizations, eight samples each); after rotate, x[s], v[s] = philox::normals of that pair,
/// the same bits. The S vectors go through each stage together: S independent chains at once.
template <int S> struct Normals512 {
    __m512i c0[S], c1[S], c2[S], c3[S];
    __m512d de[S], sv[S], z[S], p[S], rho[S], f[S], za[S], a[S], sin_a[S], cos_a[S];
    __mmask8 swap[S], qodd[S], qhigh[S];
    __m512d x[S], v[S];

    LMSREF_AVX512_TARGET __attribute__((always_inline)) void start(std::uint64_t r0, std::uint64_t n) {
        const __m512i low32 = _mm512_set1_epi64(0xffffffffLL);
        const __m512i lane_sample = _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0);
        for (int s = 0; s < S; ++s) {
            const auto group = static_cast<std::uint64_t>(s / 4), pair = static_cast<std::uint64_t>(s % 4);
            const __m512i r = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(r0 + 4 * group)),
                                               _mm512_set_epi64(3, 2, 1, 0, 3, 2, 1, 0));
            const __m512i sample =
                _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(n + 2 * pair)), lane_sample);
            c0[s] = sample; // only its low 32 bits are read (vpmuludq)
            c1[s] = _mm512_srli_epi64(sample, 32);
            c2[s] = _mm512_and_si512(r, low32);
            c3[s] = _mm512_srli_epi64(r, 32);
        }
    }

    /// Philox's rounds [from, to). The words live in the low halves of 64-bit lanes; the high halves may hold
    /// garbage, which vpmuludq ignores and which never reaches a low half (xors and products of low halves only),
    /// so nothing is masked.
    LMSREF_AVX512_TARGET __attribute__((always_inline)) void rounds(const Keys512& keys, int from, int to) {
        const __m512i m0 = _mm512_set1_epi64(0xD2511F53LL), m1 = _mm512_set1_epi64(0xCD9E8D57LL);
        for (int round = from; round < to; ++round) {
            const __m512i k0 = _mm512_set1_epi64(keys.k0[round]), k1 = _mm512_set1_epi64(keys.k1[round]);
            for (int s = 0; s < S; ++s) {
                const __m512i p0 = _mm512_mul_epu32(c0[s], m0);
                const __m512i p1 = _mm512_mul_epu32(c2[s], m1);
                c0[s] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[s], k0, 0x96); // a ^ b ^ c
                c2[s] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[s], k1, 0x96);
                c1[s] = p1;
                c3[s] = p0;
            }
        }
    }

    /// The 53-bit integers; u1 and log_unit up to s and z; cos_sin_2pi's quadrant and fraction.
    LMSREF_AVX512_TARGET __attribute__((always_inline)) void integers() {
        // k1 = (w0 >> 5) 2^26 + (w1 >> 6): w0's bits 5 ... 31 at 26 ... 52 (c0 << 21, then the mask), w1's 6 ... 31
        // at 0 ... 25 (its low half moved up, then down). Likewise k2 from w2, w3.
        const __m512i top27 = _mm512_set1_epi64(0x001ffffffc000000LL); // bits 26 ... 52
        const __m512i low51 = _mm512_set1_epi64(0x0007ffffffffffffLL), bit51 = _mm512_set1_epi64(1LL << 51),
                      bit52 = _mm512_set1_epi64(1LL << 52);
        const __m512d one = _mm512_set1_pd(1.0);
        for (int s = 0; s < S; ++s) {
            const __m512i k1 = _mm512_ternarylogic_epi64(_mm512_slli_epi64(c0[s], 21), top27,
                                                         _mm512_srli_epi64(_mm512_slli_epi64(c1[s], 32), 38),
                                                         0xEA); // (a & b) | c
            const __m512i k2 = _mm512_ternarylogic_epi64(_mm512_slli_epi64(c2[s], 21), top27,
                                                         _mm512_srli_epi64(_mm512_slli_epi64(c3[s], 32), 38), 0xEA);
            // u1 = (k1 + 1) 2^-53, exact (k1 + 1 <= 2^53).
            const __m512d u1 =
                _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_add_epi64(k1, _mm512_set1_epi64(1))), _mm512_set1_pd(0x1p-53));
            // log_unit: m in [1, 2) and e, exactly the scalar's bit fields (u1 is a positive normal double).
            __m512d m = _mm512_getmant_pd(u1, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
            de[s] = _mm512_getexp_pd(u1);
            const __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.4142135623730951), _CMP_GT_OQ);
            m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
            de[s] = _mm512_mask_add_pd(de[s], big, de[s], one); // e + 1, an exact small integer
            sv[s] = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
            z[s] = _mm512_mul_pd(sv[s], sv[s]);
            // cos_sin_2pi: u2 = k2 2^-53, u4 = 4 u2 = k2 2^-51 exactly, q = floor(u4) = k2 >> 51 (bits 51 and 52)
            // and f = u4 - q = (k2 mod 2^51) 2^-51, both exact.
            f[s] = _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_and_si512(k2, low51)), _mm512_set1_pd(0x1p-51));
            qodd[s] = _mm512_test_epi64_mask(k2, bit51);
            qhigh[s] = _mm512_test_epi64_mask(k2, bit52);
            swap[s] = _mm512_cmp_pd_mask(f[s], _mm512_set1_pd(0.5), _CMP_GT_OQ);
        }
    }

    LMSREF_AVX512_TARGET __attribute__((always_inline)) void log_poly() {
        const double c[10] = {1.0 / 21.0, 1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0,
                              1.0 / 11.0, 1.0 / 9.0,  1.0 / 7.0,  1.0 / 5.0,  1.0 / 3.0};
        for (int s = 0; s < S; ++s) p[s] = _mm512_set1_pd(1.0 / 23.0);
        for (int i = 0; i < 10; ++i)
            for (int s = 0; s < S; ++s) p[s] = _mm512_add_pd(_mm512_mul_pd(p[s], z[s]), _mm512_set1_pd(c[i]));
    }

    LMSREF_AVX512_TARGET __attribute__((always_inline)) void log_finish() {
        for (int s = 0; s < S; ++s) {
            const __m512d two_s = _mm512_mul_pd(_mm512_set1_pd(2.0), sv[s]);
            const __m512d log_m = _mm512_add_pd(two_s, _mm512_mul_pd(two_s, _mm512_mul_pd(z[s], p[s])));
            const __m512d lg =
                _mm512_add_pd(_mm512_mul_pd(de[s], _mm512_set1_pd(6.93147180369123816490e-01)),
                              _mm512_add_pd(log_m, _mm512_mul_pd(de[s], _mm512_set1_pd(1.90821492927058770002e-10))));
            rho[s] = _mm512_sqrt_pd(_mm512_mul_pd(_mm512_set1_pd(-2.0), lg));
        }
    }

    LMSREF_AVX512_TARGET __attribute__((always_inline)) void sin_part() {
        const double c[7] = {-1.0 / 1307674368000.0, 1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0,
                             -1.0 / 5040.0,          1.0 / 120.0,        -1.0 / 6.0};
        __m512d ps[S];
        for (int s = 0; s < S; ++s) {
            a[s] = _mm512_mul_pd(_mm512_set1_pd(1.5707963267948966),
                                 _mm512_mask_sub_pd(f[s], swap[s], _mm512_set1_pd(1.0), f[s]));
            za[s] = _mm512_mul_pd(a[s], a[s]);
            ps[s] = _mm512_set1_pd(1.0 / 355687428096000.0);
        }
        for (int i = 0; i < 7; ++i)
            for (int s = 0; s < S; ++s) ps[s] = _mm512_add_pd(_mm512_mul_pd(ps[s], za[s]), _mm512_set1_pd(c[i]));
        for (int s = 0; s < S; ++s) sin_a[s] = _mm512_add_pd(a[s], _mm512_mul_pd(a[s], _mm512_mul_pd(za[s], ps[s])));
    }

    LMSREF_AVX512_TARGET __attribute__((always_inline)) void cos_part() {
        const double c[6] = {-1.0 / 87178291200.0, 1.0 / 479001600.0, -1.0 / 3628800.0,
                             1.0 / 40320.0,        -1.0 / 720.0,      1.0 / 24.0};
        __m512d pc[S];
        for (int s = 0; s < S; ++s) pc[s] = _mm512_set1_pd(1.0 / 20922789888000.0);
        for (int i = 0; i < 6; ++i)
            for (int s = 0; s < S; ++s) pc[s] = _mm512_add_pd(_mm512_mul_pd(pc[s], za[s]), _mm512_set1_pd(c[i]));
        for (int s = 0; s < S; ++s)
            cos_a[s] = _mm512_add_pd(_mm512_sub_pd(_mm512_set1_pd(1.0), _mm512_mul_pd(_mm512_set1_pd(0.5), za[s])),
                                     _mm512_mul_pd(_mm512_mul_pd(za[s], za[s]), pc[s]));
    }

    /// The quadrant's rotation: odd = (q & 1) ^ swap picks sin for the cosine; the cosine is negated for q = 1, 2
    /// (bit 0 ^ bit 1 of q), the sine for q = 2, 3 (bit 1). rho (+-t) = +-(rho t) exactly, so the sign goes on the
    /// product.
    LMSREF_AVX512_TARGET __attribute__((always_inline)) void rotate() {
        const __m512d signbit = _mm512_set1_pd(-0.0);
        for (int s = 0; s < S; ++s) {
            const __mmask8 odd = static_cast<__mmask8>(qodd[s] ^ swap[s]);
            const __mmask8 cneg = static_cast<__mmask8>(qodd[s] ^ qhigh[s]);
            const __m512d xc = _mm512_mul_pd(rho[s], _mm512_mask_blend_pd(odd, cos_a[s], sin_a[s]));
            const __m512d vs = _mm512_mul_pd(rho[s], _mm512_mask_blend_pd(odd, sin_a[s], cos_a[s]));
            x[s] = _mm512_mask_xor_pd(xc, cneg, xc, signbit);
            v[s] = _mm512_mask_xor_pd(vs, qhigh[s], vs, signbit);
        }
    }

    /// All the stages, calling between(i) after stage i = 0 ... 7 (work of the caller's to interleave).
    template <class Between>
    LMSREF_AVX512_TARGET __attribute__((always_inline)) void make(const Keys512& keys, std::uint64_t r0,
                                                                  std::uint64_t n, Between&& between) {
        start(r0, n);
        rounds(keys, 0, 2);
        between(0);
        rounds(keys, 2, 4);
        between(1);
        rounds(keys, 4, 6);
        between(2);
        rounds(keys, 6, 8);
        between(3);
        rounds(keys, 8, 10);
        between(4);
        integers();
        between(5);
        sin_part();
        between(6);
        log_poly();
        between(7);
        cos_part();
        log_finish();
        rotate();
    }
};

/// x[g], v[g] = philox::normals(seed, r0 + g, n) and x[4 + g], v[4 + g] = philox::normals(seed, r0 + g, n + 1) for
/// g = 0 ... 3, the same bits (for the tests).
LMSREF_AVX512_TARGET inline void normals8_avx512(std::uint32_t seed, std::uint64_t r0, std::uint64_t n, double* x,
                                                 double* v) {
    Keys512 keys;
    make_keys512(seed, keys);
    Normals512<1> normals;
    normals.make(keys, r0, n, [](int) {});
    _mm512_storeu_pd(x, normals.x[0]);
    _mm512_storeu_pd(v, normals.v[0]);
}

/// philox::signals for realizations first ... first + 3 at once, eight samples at a time (Normals512<4>), d made
/// in the vectors as add_realizations_avx512 makes it (lfilter oldest tap first from 0.0, then the noise):
/// realization first + g's x and d at x + g stride, d + g stride, the same bits.
LMSREF_AVX512_TARGET inline void signals_four_avx512(const Problem& p, std::uint64_t first, double* x, double* d,
                                                     std::size_t stride) {
    Keys512 keys;
    make_keys512(p.seed, keys);
    const int past = p.history - 1;
    // Four values per row, one per realization: the `past` rows before this chunk (zeros before the start), then
    // this chunk's eight.
    std::vector<double> rows(static_cast<std::size_t>(past + 8) * 4, 0.0);
    double(*xs)[4] = reinterpret_cast<double(*)[4]>(rows.data());
    alignas(64) double ds[8][4];
    const __m512d noise_gain = _mm512_set1_pd(p.noise_gain);
    for (std::int64_t n0 = 0; n0 < p.samples; n0 += 8) {
        Normals512<4> made;
        made.make(keys, first, static_cast<std::uint64_t>(n0), [](int) {});
        for (int s = 0; s < 4; ++s) _mm512_storeu_pd(xs[past + 2 * s], made.x[s]);
        for (int s = 0; s < 4; ++s) { // two samples of the four realizations
            if (p.coloured) {         // the noise's normals alone: x is coloured, then d made from it, below
                _mm512_store_pd(ds[2 * s], made.v[s]);
                continue;
            }
            __m512d di = _mm512_setzero_pd();
            for (int k = p.history; k-- > 0;)
                di = _mm512_add_pd(di, _mm512_mul_pd(_mm512_set1_pd(p.wo_K[k]), _mm512_loadu_pd(xs[past + 2 * s - k])));
            _mm512_store_pd(ds[2 * s], _mm512_add_pd(di, _mm512_mul_pd(noise_gain, made.v[s])));
        }
        const std::int64_t count = p.samples - n0 < 8 ? p.samples - n0 : 8;
        for (std::size_t g = 0; g < 4; ++g)
            for (std::int64_t j = 0; j < count; ++j) {
                x[g * stride + static_cast<std::size_t>(n0 + j)] = xs[past + j][g];
                d[g * stride + static_cast<std::size_t>(n0 + j)] = ds[j][g];
            }
        for (int i = 0; i < past; ++i) // the last `past` rows become the history of the next chunk
            for (int g = 0; g < 4; ++g) xs[i][g] = xs[8 + i][g];
    }
    if (p.coloured) colour_signals(p, x, d, stride, 4);
}

/// target[i] += rows[i][0], then rows[i][1], rows[i][2], rows[i][3] for i = 0 ... count - 1 (rows: four values per
/// row, one per realization; 64-byte aligned): the four realizations added in order into each target value, as the
/// scalar loops add them, eight values at a time (a transpose of eight rows by four).
LMSREF_AVX512_TARGET __attribute__((always_inline)) inline void add_rows_in_order(const double* rows, int count,
                                                                                  double* target) {
    const __m512i low_pairs = _mm512_set_epi64(13, 9, 5, 1, 12, 8, 4, 0);    // rows 0 ... 3: columns 0, then 1
    const __m512i high_pairs = _mm512_set_epi64(15, 11, 7, 3, 14, 10, 6, 2); // columns 2, then 3
    int i = 0;
    for (; i + 8 <= count; i += 8) {
        const double* r = rows + 4 * i;
        const __m512d a = _mm512_load_pd(r), b = _mm512_load_pd(r + 8), c = _mm512_load_pd(r + 16),
                      d = _mm512_load_pd(r + 24);
        const __m512d ab01 = _mm512_permutex2var_pd(a, low_pairs, b), ab23 = _mm512_permutex2var_pd(a, high_pairs, b);
        const __m512d cd01 = _mm512_permutex2var_pd(c, low_pairs, d), cd23 = _mm512_permutex2var_pd(c, high_pairs, d);
        __m512d t = _mm512_loadu_pd(target + i);
        t = _mm512_add_pd(t, _mm512_shuffle_f64x2(ab01, cd01, 0x44)); // column 0 of rows i ... i + 7
        t = _mm512_add_pd(t, _mm512_shuffle_f64x2(ab01, cd01, 0xEE));
        t = _mm512_add_pd(t, _mm512_shuffle_f64x2(ab23, cd23, 0x44));
        t = _mm512_add_pd(t, _mm512_shuffle_f64x2(ab23, cd23, 0xEE));
        _mm512_storeu_pd(target + i, t);
    }
    for (; i < count; ++i)
        for (int g = 0; g < 4; ++g) target[i] += rows[4 * i + g];
}

/// Arithmetic on a 256-bit or a 512-bit vector of doubles by one name (add_realizations_avx512's two widths).
namespace lanes {
template <int Width> struct Vector;
template <> struct Vector<4> { using type = __m256d; };
template <> struct Vector<8> { using type = __m512d; };
LMSREF_AVX512_TARGET inline __m256d add(__m256d a, __m256d b) {
    return _mm256_add_pd(a, b);
}
LMSREF_AVX512_TARGET inline __m512d add(__m512d a, __m512d b) {
    return _mm512_add_pd(a, b);
}
LMSREF_AVX512_TARGET inline __m256d sub(__m256d a, __m256d b) {
    return _mm256_sub_pd(a, b);
}
LMSREF_AVX512_TARGET inline __m512d sub(__m512d a, __m512d b) {
    return _mm512_sub_pd(a, b);
}
LMSREF_AVX512_TARGET inline __m256d mul(__m256d a, __m256d b) {
    return _mm256_mul_pd(a, b);
}
LMSREF_AVX512_TARGET inline __m512d mul(__m512d a, __m512d b) {
    return _mm512_mul_pd(a, b);
}
template <class V> LMSREF_AVX512_TARGET inline V load(const double* p);
template <> LMSREF_AVX512_TARGET inline __m256d load<__m256d>(const double* p) {
    return _mm256_load_pd(p);
}
template <> LMSREF_AVX512_TARGET inline __m512d load<__m512d>(const double* p) {
    return _mm512_load_pd(p);
}
template <class V> LMSREF_AVX512_TARGET inline V splat(double s);
template <> LMSREF_AVX512_TARGET inline __m256d splat<__m256d>(double s) {
    return _mm256_set1_pd(s);
}
template <> LMSREF_AVX512_TARGET inline __m512d splat<__m512d>(double s) {
    return _mm512_set1_pd(s);
}
/// v's lanes 0 ... 3 into low (four values), lanes 4 ... 7 (for a 512-bit v) into high.
LMSREF_AVX512_TARGET inline void store_halves(__m256d v, double* low, double*) {
    _mm256_store_pd(low, v);
}
LMSREF_AVX512_TARGET inline void store_halves(__m512d v, double* low, double* high) {
    _mm256_store_pd(low, _mm512_castpd512_pd256(v));
    _mm256_store_pd(high, _mm512_extractf64x4_pd(v, 1));
}
} // namespace lanes

/// philox::add_realization for realizations first ... first + Width - 1 at once (Width = 4 or 8), M = K = StaticM,
/// eight samples at a time: their normals in 512-bit vectors of eight (realization, sample) pairs (Normals512, four
/// per four realizations), d = lfilter + noise, Realization::step_with's LMS recursion in vectors of Width doubles (a
/// lane per realization) keeping each sample's e^2, ||w - wo_M||^2 and w, and the block sums added eight samples at a
/// time in realization order (add_rows_in_order, four realizations at a time). The recursion of samples n ... n + 7
/// runs between the stages of the normals of n + 8 ... n + 15: its chain of dependent operations and theirs overlap.
/// Each value is made by the scalar code's operations in its order: the bits of Width calls of add_realization.
/// steady[g]: realization first + g's sum of e^2 over the steady state. step(w, x, e) updates the M weights w from
/// the regressor x and the a-priori error e, a vector of Width each (the overload below: the LMS step; the family's
/// members pass theirs, src/ensemble/family_lanes.cpp and family_rows.cpp). Width 8 is for a member whose step is a
/// long chain through the divider: one chain for eight realizations, half the instructions of two.
template <int StaticM, int Width, class Step>
LMSREF_AVX512_TARGET void add_realizations_avx512(const Problem& p, std::uint64_t first, double* mse, double* msd,
                                                  double* meanw, double* steady, Step&& step_weights) {
    static_assert(Width == 4 || Width == 8, "four or eight realizations");
    using Vec = typename lanes::Vector<Width>::type;
    constexpr int M = StaticM;
    constexpr int S = 4;         // vectors of normals per four realizations
    constexpr int chunk = 2 * S; // samples per chunk
    constexpr int halves = Width / 4;
    constexpr int past = M - 1; // x rows kept from the chunk before (lfilter's history; zeros before the start)
    static_assert(chunk == 8, "Normals512::make calls between() eight times: a sample's LMS step each");
    double deviation0 = 0.0; // Realization::start: w = 0
    for (int k = 0; k < M; ++k) {
        const double c = 0.0 - p.wo_M[k];
        deviation0 += c * c;
    }
    for (int g = 0; g < Width; ++g) {
        msd[0] += deviation0;
        for (int k = 0; k < M; ++k) meanw[k] += 0.0;
    }
    Keys512 keys;
    make_keys512(p.seed, keys);
    Vec hist[M], w[M], wo_M[M];
    __m512d wo_K[M];
    for (int k = 0; k < M; ++k) {
        hist[k] = lanes::splat<Vec>(0.0);
        w[k] = lanes::splat<Vec>(0.0);
        wo_M[k] = lanes::splat<Vec>(p.wo_M[k]);
        wo_K[k] = _mm512_set1_pd(p.wo_K[k]);
    }
    const __m512d noise_gain = _mm512_set1_pd(p.noise_gain);
    Vec steady_sum = lanes::splat<Vec>(0.0);
    // Rows of Width values, one per realization. xs: the `past` rows before this chunk, this chunk's, the next's.
    // ds: d of this chunk and of the next. e2s, devs, ws: per sample of this chunk, e^2, ||w - wo_M||^2, w (M rows),
    // four realizations per half.
    alignas(64) double xs[past + 2 * chunk][Width] = {}, ds[2 * chunk][Width], e2s[halves][chunk][4],
                                     devs[halves][chunk][4], ws[halves][chunk * M][4];
    // The normals of the chunk at `at` into rows `at` of xs and ds, and its d. A 512-bit vector holds 8 / Width rows:
    // with Width 8, the two groups' vectors of two samples become two rows of eight realizations.
    auto keep = [&](const Normals512<S * halves>& made, int at) LMSREF_AVX512_TARGET {
        __m512d x[Width], v[Width]; // this chunk's rows, 8 / Width per vector
        for (int s = 0; s < S; ++s) {
            if constexpr (Width == 4) {
                x[s] = made.x[s];
                v[s] = made.v[s];
            } else { // samples 2 s and 2 s + 1: group 0's four realizations, then group 1's
                x[2 * s] = _mm512_shuffle_f64x2(made.x[s], made.x[S + s], 0x44);
                x[2 * s + 1] = _mm512_shuffle_f64x2(made.x[s], made.x[S + s], 0xEE);
                v[2 * s] = _mm512_shuffle_f64x2(made.v[s], made.v[S + s], 0x44);
                v[2 * s + 1] = _mm512_shuffle_f64x2(made.v[s], made.v[S + s], 0xEE);
            }
        }
        double* rows = xs[past + at];
        for (int q = 0; q < Width; ++q) _mm512_storeu_pd(rows + 8 * q, x[q]);
        for (int q = 0; q < Width; ++q) { // d = lfilter(wo, 1, x) + noise_gain v, oldest tap first
            __m512d di = _mm512_setzero_pd();
            for (int k = M; k-- > 0;)
                di = _mm512_add_pd(di, _mm512_mul_pd(wo_K[k], _mm512_loadu_pd(rows + 8 * q - k * Width)));
            _mm512_storeu_pd(ds[at] + 8 * q, _mm512_add_pd(di, _mm512_mul_pd(noise_gain, v[q])));
        }
    };
    {
        Normals512<S * halves> made;
        made.make(keys, first, 0, [](int) {});
        keep(made, 0);
    }
    for (std::int64_t n0 = 0; n0 < p.samples; n0 += chunk) {
        const int count = static_cast<int>(p.samples - n0 < chunk ? p.samples - n0 : chunk);
        // Sample n0 + j < N. No test of j in it: between the stages, where the chunk is whole (count = chunk), it
        // forms one basic block with them, which the compiler's scheduler interleaves with their work.
        auto recursion = [&](int j) LMSREF_AVX512_TARGET __attribute__((always_inline)) {
            for (int k = M - 1; k > 0; --k) hist[k] = hist[k - 1];
            hist[0] = lanes::load<Vec>(xs[past + j]);
            Vec yi = lanes::splat<Vec>(0.0);
            for (int k = 0; k < M; ++k) yi = lanes::add(yi, lanes::mul(w[k], hist[k]));
            const Vec ei = lanes::sub(lanes::load<Vec>(ds[j]), yi);
            step_weights(w, static_cast<const Vec*>(hist), ei);
            Vec sum = lanes::splat<Vec>(0.0);
            for (int k = 0; k < M; ++k) {
                const Vec c = lanes::sub(w[k], wo_M[k]);
                sum = lanes::add(sum, lanes::mul(c, c));
                lanes::store_halves(w[k], ws[0][j * M + k], ws[halves - 1][j * M + k]);
            }
            const Vec e2v = lanes::mul(ei, ei);
            if (n0 + j >= p.steady_start) steady_sum = lanes::add(steady_sum, e2v);
            lanes::store_halves(e2v, e2s[0][j], e2s[halves - 1][j]);
            lanes::store_halves(sum, devs[0][j], devs[halves - 1][j]);
        };
        const bool more = n0 + chunk < p.samples;
        if (more) { // the next chunk's normals, this chunk's recursion between their stages
            Normals512<S * halves> made;
            made.make(keys, first, static_cast<std::uint64_t>(n0 + chunk), recursion);
            keep(made, chunk);
        } else {
            for (int j = 0; j < count; ++j) recursion(j);
        }
        for (int h = 0; h < halves; ++h) { // realization order: the first four, then the next four
            add_rows_in_order(e2s[h][0], count, mse + n0);
            add_rows_in_order(devs[h][0], count, msd + n0 + 1);
            add_rows_in_order(ws[h][0], count * M, meanw + (n0 + 1) * M);
        }
        if (!more) break;
        std::memmove(xs[0], xs[chunk], sizeof(double) * Width * (past + chunk));
        std::memmove(ds[0], ds[chunk], sizeof(double) * Width * chunk);
    }
    if constexpr (Width == 4)
        _mm256_storeu_pd(steady, steady_sum);
    else
        _mm512_storeu_pd(steady, steady_sum);
}

/// The LMS recursion (Realization::step_with) for realizations first ... first + Width - 1: w += (step e) x. The
/// engine runs four (Width 4); eight is the width of the family's divider-bound members, here for the tests.
template <int StaticM, int Width>
LMSREF_AVX512_TARGET void add_lms_realizations_avx512(const Problem& p, std::uint64_t first, double* mse, double* msd,
                                                      double* meanw, double* steady) {
    using Vec = typename lanes::Vector<Width>::type;
    const Vec step = lanes::splat<Vec>(p.step);
    add_realizations_avx512<StaticM, Width>(
        p, first, mse, msd, meanw,
        steady, [step](Vec * w, const Vec* x, const Vec& e) LMSREF_AVX512_TARGET __attribute__((always_inline)) {
            const Vec step_e = lanes::mul(step, e);
            for (int k = 0; k < StaticM; ++k) w[k] = lanes::add(w[k], lanes::mul(step_e, x[k]));
        });
}

/// add_realizations_avx512 with a caller's update whose lanes are the vector extension's type Lanes (Width doubles,
/// the family's Lanes4 or Lanes8): update.reset(), then update.update(w, x, e) on each sample, the vectors taken as
/// Lanes and back.
template <int StaticM, int Width, class Lanes, class Update>
void add_updated_realizations_avx512(const Problem& p, std::uint64_t first, double* mse, double* msd, double* meanw,
                                     double* steady, Update& update) {
    using Vec = typename lanes::Vector<Width>::type;
    update.reset();
    add_realizations_avx512<StaticM, Width>(
        p, first, mse, msd, meanw,
        steady, [&update](Vec * w, const Vec* xM, const Vec& e) __attribute__((always_inline, flatten)) {
            Lanes wl[StaticM], xl[StaticM];
            for (int k = 0; k < StaticM; ++k) {
                wl[k] = reinterpret_cast<Lanes>(w[k]);
                xl[k] = reinterpret_cast<Lanes>(xM[k]);
            }
            update.update(wl, xl, reinterpret_cast<const Lanes&>(e));
            for (int k = 0; k < StaticM; ++k) w[k] = reinterpret_cast<Vec>(wl[k]);
        });
}

#else

inline bool avx512_supported() {
    return false;
}
inline void normals8_avx512(std::uint32_t, std::uint64_t, std::uint64_t, double*, double*) {}
inline void signals_four_avx512(const Problem&, std::uint64_t, double*, double*, std::size_t) {}
template <int StaticM, int Width>
void add_lms_realizations_avx512(const Problem&, std::uint64_t, double*, double*, double*, double*) {}
template <int StaticM, int Width, class Lanes, class Update>
void add_updated_realizations_avx512(const Problem&, std::uint64_t, double*, double*, double*, double*, Update&) {}
template <int StaticM, int Width, class Step>
void add_realizations_avx512(const Problem&, std::uint64_t, double*, double*, double*, double*, Step&&) {}

#endif

} // namespace philox
} // namespace lmsref

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
