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

/// G groups of eight realizations whose data are rows (group i's x[i][8 n + g], d[i][8 n + g]) in the lanes of
/// Lanes8, group i with updates[i]: run_group's operations lane by lane; each sample's e^2, ||w - wo_M||^2 and w kept
/// for eight samples, then added into the block sums in realization order (philox::add_rows_in_order: group 0's
/// lanes 0 ... 3, then 4 ... 7, then group 1's). With G = 2 the groups' steps interleave, so that one's chain of
/// dependent operations (w -> y -> e -> w, through the divider for the adaptive-step members) fills the other's wait.
template <std::size_t StaticM, std::size_t G, class Update>
void run_rows(const Block& b, Update* updates, const double* const* x, const double* const* d, double* steady) {
    using family_update::Lanes8;
    using family_update::splat;
    constexpr std::size_t M = StaticM;
    const std::size_t N = b.N;
    Lanes8 xM[G][M] = {}, wi[G][M] = {};
    for (std::size_t i = 0; i < G; ++i) updates[i].reset();
    start_sums(b, M, 8 * G);
    Lanes8 wo[M];
    for (std::size_t k = 0; k < M; ++k) wo[k] = splat<Lanes8>(b.wo_M[k]);
    Lanes8 steady_sum[G] = {};
    alignas(64) double e2s[G][2][8][4], devs[G][2][8][4], ws[G][2][8 * M][4];
    for (std::size_t n0 = 0; n0 < N; n0 += 8) {
        const std::size_t count = N - n0 < 8 ? N - n0 : 8;
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t n = n0 + j;
            for (std::size_t i = 0; i < G; ++i) {
                for (std::size_t k = M - 1; k > 0; --k) xM[i][k] = xM[i][k - 1];
                std::memcpy(&xM[i][0], x[i] + 8 * n, sizeof(Lanes8));
                Lanes8 di;
                std::memcpy(&di, d[i] + 8 * n, sizeof(Lanes8));
                Lanes8 yi = {};
                for (std::size_t k = 0; k < M; ++k) yi += wi[i][k] * xM[i][k];
                const Lanes8 ei = di - yi;
                updates[i].update(wi[i], xM[i], ei);
                const Lanes8 e2 = ei * ei;
                if (n >= b.steady_start) steady_sum[i] += e2;
                Lanes8 deviation = {};
                for (std::size_t k = 0; k < M; ++k) {
                    const Lanes8 c = wi[i][k] - wo[k];
                    deviation += c * c;
                }
                // lanes 0 ... 3 and 4 ... 7 apart
                philox::lanes::store_halves(reinterpret_cast<__m512d>(e2), e2s[i][0][j], e2s[i][1][j]);
                philox::lanes::store_halves(reinterpret_cast<__m512d>(deviation), devs[i][0][j], devs[i][1][j]);
                for (std::size_t k = 0; k < M; ++k)
                    philox::lanes::store_halves(reinterpret_cast<__m512d>(wi[i][k]), ws[i][0][j * M + k],
                                                ws[i][1][j * M + k]);
            }
        }
        const int rows = static_cast<int>(count);
        for (std::size_t i = 0; i < G; ++i)
            for (int half = 0; half < 2; ++half) { // realization order
                philox::add_rows_in_order(e2s[i][half][0], rows, b.mse + n0);
                philox::add_rows_in_order(devs[i][half][0], rows, b.msd + n0 + 1);
                philox::add_rows_in_order(ws[i][half][0], rows * static_cast<int>(M), b.meanw + (n0 + 1) * M);
            }
    }
    for (std::size_t i = 0; i < G; ++i)
        for (std::size_t g = 0; g < 8; ++g) steady[8 * i + g] = steady_sum[i][g];
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
        constexpr std::size_t M = decltype(taps)::value;
        // Two groups at a time where the chain is what costs: up to four taps, and at any M for a member whose step
        // goes through the divider. With more taps two sets of a simple member's state no longer fit the registers:
        // at M = 5 to 8, sign-data, sign-sign, momentum and nesterov ran 2 to 7 % slower with two, RLS 4 to 8 %
        // (nlms 3 % faster at M = 5 and 6, level at 8).
        const bool two_groups = M <= 4 || divider_bound(b.algorithm);
        std::remove_reference_t<decltype(update)> updates[2] = {update, update};
        double* const d_of[2] = {d, d + 8 * b.N};
        for (std::int64_t r = begin; r < end;) {
            if (two_groups && end - r >= 16) { // the rows of each group in their own buffers (slots 0 and 1)
                const double* const x_of[2] = {make_rows(context, r, d_of[0], 0),
                                               make_rows(context, r + 8, d_of[1], 1)};
                run_rows<M, 2>(b, updates, x_of, d_of, steady + (r - begin));
                r += 16;
            } else {
                const double* const x_of[1] = {make_rows(context, r, d_of[0], 0)};
                run_rows<M, 1>(b, updates, x_of, d_of, steady + (r - begin));
                r += 8;
            }
        }
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
