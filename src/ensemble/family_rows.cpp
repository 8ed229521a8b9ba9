// The family's members on eight realizations whose data are rows, a realization per lane of a 512-bit vector
// (family_lanes.hpp's add_rows): the one file compiled for AVX-512 in this layer (CMakeLists.txt), called only after
// philox::avx512_supported() said yes. Each lane performs the scalar update's operations in their order: the same
// bits as the single run (tests/test_family_ensemble.cpp).
#include "ensemble/family_lanes.hpp"

#include "lms/static_taps.hpp"
#include "random/philox_avx512.hpp"

#include <cstring>
#include <type_traits>

namespace lmsref::family_lanes {

#if defined(__AVX512F__)

namespace {

/// Eight realizations whose data are rows (x[8 n + g], d[8 n + g]) in the lanes of Lanes8 with the member's update:
/// run_group's operations lane by lane; each sample's e^2, ||w - wo_M||^2 and w kept for eight samples, then added
/// into the block sums in realization order (philox::add_rows_in_order: lanes 0 ... 3, then 4 ... 7).
template <std::size_t StaticM, class Update>
void run_rows(const Block& b, Update& update, const double* x, const double* d, double* steady) {
    using family_update::Lanes8;
    using family_update::splat;
    constexpr std::size_t M = StaticM;
    const std::size_t N = b.N;
    Lanes8 xM[M] = {}, wi[M] = {};
    update.reset();
    start_sums(b, M, 8);
    Lanes8 wo[M];
    for (std::size_t k = 0; k < M; ++k) wo[k] = splat<Lanes8>(b.wo_M[k]);
    Lanes8 steady_sum = {};
    alignas(64) double e2s[2][8][4], devs[2][8][4], ws[2][8 * M][4];
    for (std::size_t n0 = 0; n0 < N; n0 += 8) {
        const std::size_t count = N - n0 < 8 ? N - n0 : 8;
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t n = n0 + j;
            for (std::size_t k = M - 1; k > 0; --k) xM[k] = xM[k - 1];
            std::memcpy(&xM[0], x + 8 * n, sizeof(Lanes8));
            Lanes8 di;
            std::memcpy(&di, d + 8 * n, sizeof(Lanes8));
            Lanes8 yi = {};
            for (std::size_t k = 0; k < M; ++k) yi += wi[k] * xM[k];
            const Lanes8 ei = di - yi;
            update.update(wi, xM, ei);
            const Lanes8 e2 = ei * ei;
            if (n >= b.steady_start) steady_sum += e2;
            Lanes8 deviation = {};
            for (std::size_t k = 0; k < M; ++k) {
                const Lanes8 c = wi[k] - wo[k];
                deviation += c * c;
            }
            // lanes 0 ... 3 and 4 ... 7 apart
            philox::lanes::store_halves(reinterpret_cast<__m512d>(e2), e2s[0][j], e2s[1][j]);
            philox::lanes::store_halves(reinterpret_cast<__m512d>(deviation), devs[0][j], devs[1][j]);
            for (std::size_t k = 0; k < M; ++k)
                philox::lanes::store_halves(reinterpret_cast<__m512d>(wi[k]), ws[0][j * M + k], ws[1][j * M + k]);
        }
        const int rows = static_cast<int>(count);
        for (int half = 0; half < 2; ++half) { // realization order
            philox::add_rows_in_order(e2s[half][0], rows, b.mse + n0);
            philox::add_rows_in_order(devs[half][0], rows, b.msd + n0 + 1);
            philox::add_rows_in_order(ws[half][0], rows * static_cast<int>(M), b.meanw + (n0 + 1) * M);
        }
    }
    for (std::size_t g = 0; g < 8; ++g) steady[g] = steady_sum[g];
}

/// body(taps, update): a member's Lanes8 update for the block's M (taps::value, at most 8), reset for a run.
template <class Body> void with_rows_update(const Block& b, Body&& body) {
    with_static_taps(static_cast<std::int64_t>(b.M), [&](auto taps) {
        constexpr std::size_t StaticM = static_taps_of<decltype(taps)>;
        if constexpr (StaticM > 0) {
            with_family_update<StaticM, family_update::Lanes8>(
                b.algorithm, b.M, b.eta, b.family, *b.tables, [&](auto& update) {
                    body(std::integral_constant<std::size_t, StaticM>{}, update);
                    return 0;
                });
        }
        return 0;
    });
}

} // namespace

void add_rows(const Block& b, std::int64_t begin, std::int64_t end, MakeRows make_rows, void* context, double* d,
              double* steady) {
    with_rows_update(b, [&](auto taps, auto& update) {
        for (std::int64_t r = begin; r < end; r += 8)
            run_rows<decltype(taps)::value>(b, update, make_rows(context, r, d), d, steady + (r - begin));
    });
}

void add_fused_rows(const Block& b, const philox::Problem& p, std::int64_t begin, std::int64_t end, double* steady) {
    with_rows_update(b, [&](auto taps, auto& update) {
        for (std::int64_t r = begin; r < end; r += 8)
            philox::add_updated_realizations_avx512<static_cast<int>(decltype(taps)::value), 8, family_update::Lanes8>(
                p, static_cast<std::uint64_t>(r), b.mse, b.msd, b.meanw, steady + (r - begin), update);
    });
}

bool divide_by_constant_in_lanes(const double* a, std::size_t n, const family_update::Divisor& d, double* out) {
#if defined(__AVX512DQ__)
    if (!philox::avx512_supported()) return false;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        family_update::Lanes8 v;
        std::memcpy(&v, a + i, sizeof v);
        const family_update::Lanes8 q = family_update::divide_by_constant(v, d);
        std::memcpy(out + i, &q, sizeof q);
    }
    return true;
#else
    (void)a, (void)n, (void)d, (void)out;
    return false; // Lanes8's divide_by_constant is a / c itself here: nothing of the lanes' own to check
#endif
}

#else

bool divide_by_constant_in_lanes(const double*, std::size_t, const family_update::Divisor&, double*) {
    return false;
}
void add_rows(const Block&, std::int64_t, std::int64_t, MakeRows, void*, double*, double*) {}
void add_fused_rows(const Block&, const philox::Problem&, std::int64_t, std::int64_t, double*) {}

#endif

} // namespace lmsref::family_lanes
