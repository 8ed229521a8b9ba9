// The family's members four realizations at a time in AVX2 lanes (family_lanes.hpp). This file alone is compiled
// with -mavx2 (CMakeLists.txt), so that lms/family_updates.hpp declares its Lanes4 overloads here and nowhere else;
// nothing here is called before available() says the processor runs AVX2.
#include "ensemble/family_lanes.hpp"

#include "lms/static_taps.hpp"
#include "random/philox_avx512.hpp"
#include "random/simd.hpp"

#include <cstring>
#include <vector>

namespace lmsref::family_lanes {

#if defined(__AVX2__)

namespace {

using family_update::Lanes4;

/// Row 0 of `count` realizations that start from w = 0: ||0 - wo_M||^2 into msd[0] and 0.0 into meanw's row 0, in
/// realization order (start_group's sums).
void start_sums(const Block& b, std::size_t M, std::size_t count) {
    for (std::size_t g = 0; g < count; ++g) {
        double deviation = 0.0;
        for (std::size_t k = 0; k < M; ++k) {
            const double c = 0.0 - b.wo_M[k];
            deviation += c * c;
            b.meanw[k] += 0.0;
        }
        b.msd[0] += deviation;
    }
}

/// One group of `count` realizations (x and d of lane g at x + g N, d + g N; lanes from count on repeat lane 0's
/// data and are not added): the scalar loop's operations, lane by lane, and its sums in realization order.
template <std::size_t StaticM, class Update>
void run_group(const Block& b, Update& update, const double* x, const double* d, std::size_t count, double* steady) {
    const std::size_t N = b.N;
    const std::size_t M = StaticM > 0 ? StaticM : b.M;
    constexpr std::size_t local_taps = StaticM > 0 ? StaticM : 1;
    Lanes4 xM_local[local_taps] = {}, wi_local[local_taps] = {};
    std::vector<Lanes4> xM_heap(StaticM > 0 ? 0 : M), wi_heap(StaticM > 0 ? 0 : M);
    Lanes4* xM = StaticM > 0 ? xM_local : xM_heap.data();
    Lanes4* wi = StaticM > 0 ? wi_local : wi_heap.data();
    const std::size_t lane[4] = {0, count > 1 ? N : 0, count > 2 ? 2 * N : 0, count > 3 ? 3 * N : 0};
    update.reset();
    start_sums(b, M, count);
    double steady_sum[4] = {};
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t k = M - 1; k > 0; --k) xM[k] = xM[k - 1];
        xM[0] = Lanes4{x[lane[0] + i], x[lane[1] + i], x[lane[2] + i], x[lane[3] + i]};
        const Lanes4 di = {d[lane[0] + i], d[lane[1] + i], d[lane[2] + i], d[lane[3] + i]};
        Lanes4 yi = {};
        for (std::size_t k = 0; k < M; ++k) yi += wi[k] * xM[k];
        const Lanes4 ei = di - yi;
        update.update(wi, xM, ei);
        const Lanes4 e2 = ei * ei;
        double* row = b.meanw + (i + 1) * M;
        for (std::size_t g = 0; g < count; ++g) { // add_sample's sums, in realization order
            b.mse[i] += e2[g];
            if (i >= b.steady_start) steady_sum[g] += e2[g];
            double deviation = 0.0;
            for (std::size_t k = 0; k < M; ++k) {
                const double c = wi[k][g] - b.wo_M[k];
                deviation += c * c;
                row[k] += wi[k][g];
            }
            b.msd[i + 1] += deviation;
        }
    }
    for (std::size_t g = 0; g < count; ++g) steady[g] = steady_sum[g];
}

/// Realizations r ... r + 3 on philox's data, made and run together (philox::add_four_realizations_avx512) with the
/// member's update in the lanes: the bits of make_data and run_group.
template <std::size_t StaticM, class Update>
void run_fused(const Block& b, const philox::Problem& p, std::uint64_t r, Update& update, double* steady) {
    update.reset();
    philox::add_four_realizations_avx512<static_cast<int>(StaticM)>(
        p, r, b.mse, b.msd, b.meanw,
        steady, [&update](__m256d * w, const __m256d* xM, const __m256d& e) __attribute__((always_inline, flatten)) {
            Lanes4 wl[StaticM], xl[StaticM];
            for (std::size_t k = 0; k < StaticM; ++k) {
                wl[k] = reinterpret_cast<Lanes4>(w[k]);
                xl[k] = reinterpret_cast<Lanes4>(xM[k]);
            }
            update.update(wl, xl, reinterpret_cast<const Lanes4&>(e));
            for (std::size_t k = 0; k < StaticM; ++k) w[k] = reinterpret_cast<__m256d>(wl[k]);
        });
}

/// Eight realizations whose data are rows (x[8 n + g], d[8 n + g]) in the lanes of Lanes8 with the member's update:
/// run_group's operations lane by lane; each sample's e^2, ||w - wo_M||^2 and w kept for eight samples, then added
/// into the block sums in realization order (philox::add_rows_in_order: lanes 0 ... 3, then 4 ... 7).
template <std::size_t StaticM, class Update>
LMSREF_AVX512_TARGET void run_rows(const Block& b, Update& update, const double* x, const double* d, double* steady) {
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
            for (std::size_t lane = 0; lane < 4; ++lane) { // lanes 0 ... 3 and 4 ... 7 apart
                e2s[0][j][lane] = e2[lane];
                e2s[1][j][lane] = e2[4 + lane];
                devs[0][j][lane] = deviation[lane];
                devs[1][j][lane] = deviation[4 + lane];
                for (std::size_t k = 0; k < M; ++k) {
                    ws[0][j * M + k][lane] = wi[k][lane];
                    ws[1][j * M + k][lane] = wi[k][4 + lane];
                }
            }
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

} // namespace

bool available() {
    return simd::allows(simd::Level::avx2) && __builtin_cpu_supports("avx2");
}

void add_block(const Block& b, std::int64_t begin, std::int64_t end, MakeData make_data, void* context, double* x,
               double* d, double* steady, const philox::Problem* philox) {
    with_static_taps(static_cast<std::int64_t>(b.M), [&](auto taps) {
        constexpr std::size_t StaticM = static_taps_of<decltype(taps)>;
        return with_family_update<StaticM, Lanes4>(b.algorithm, b.M, b.eta, b.family, [&](auto& update) {
            const bool fused = StaticM > 0 && philox != nullptr && philox->history == static_cast<int>(b.M) &&
                               philox::avx512_supported();
            for (std::int64_t r = begin; r < end; r += 4) {
                const auto count = static_cast<std::size_t>(end - r < 4 ? end - r : 4);
                if constexpr (StaticM > 0) {
                    if (fused && count == 4) { // the data made and the member run together, eight samples at a time
                        run_fused<StaticM>(b, *philox, static_cast<std::uint64_t>(r), update, steady + (r - begin));
                        continue;
                    }
                }
                make_data(context, r, count, x, d);
                run_group<StaticM>(b, update, x, d, count, steady + (r - begin));
            }
            return 0;
        });
    });
}

void add_rows_block(const Block& b, std::int64_t begin, std::int64_t end, MakeRows make_rows, MakeData make_data,
                    void* context, double* x, double* d, double* steady) {
    const std::int64_t first = begin; // steady[r - first] is realization r's
    with_static_taps(static_cast<std::int64_t>(b.M), [&](auto taps) {
        constexpr std::size_t StaticM = static_taps_of<decltype(taps)>;
        if constexpr (StaticM > 0) {
            if (philox::avx512_supported()) { // add_rows_in_order is AVX-512's
                const std::int64_t whole = begin + (end - begin) / 8 * 8;
                with_family_update<StaticM, family_update::Lanes8>(
                    b.algorithm, b.M, b.eta, b.family, [&](auto& update) {
                        for (std::int64_t r = begin; r < whole; r += 8)
                            run_rows<StaticM>(b, update, make_rows(context, r, d), d, steady + (r - begin));
                        return 0;
                    });
                begin = whole;
            }
        }
        return 0;
    });
    if (begin < end) add_block(b, begin, end, make_data, context, x, d, steady + (begin - first), nullptr);
}

#else

bool available() {
    return false;
}

void add_block(const Block&, std::int64_t, std::int64_t, MakeData, void*, double*, double*, double*,
               const philox::Problem*) {}
void add_rows_block(const Block&, std::int64_t, std::int64_t, MakeRows, MakeData, void*, double*, double*, double*) {}

#endif

} // namespace lmsref::family_lanes
