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

} // namespace

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

namespace {

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

} // namespace

bool available() {
    return simd::allows(simd::Level::avx2) && __builtin_cpu_supports("avx2");
}

void add_block(const Block& b, std::int64_t begin, std::int64_t end, MakeData make_data, void* context, double* x,
               double* d, double* steady, const philox::Problem* philox) {
    with_static_taps(static_cast<std::int64_t>(b.M), [&](auto taps) {
        constexpr std::size_t StaticM = static_taps_of<decltype(taps)>;
        const bool fused =
            StaticM > 0 && philox != nullptr && philox->history == static_cast<int>(b.M) && philox::avx512_supported();
        // A member whose step is a long chain through the divider runs eight realizations per chain (family_rows.cpp)
        std::int64_t from = begin;
        if (fused && divider_bound(b.algorithm)) {
            from = begin + (end - begin) / 8 * 8;
            if (from > begin) add_fused_rows(b, *philox, begin, from, steady);
        }
        if (from == end) return 0;
        return with_family_update<StaticM, Lanes4>(b.algorithm, b.M, b.eta, b.family, *b.tables, [&](auto& update) {
            for (std::int64_t r = from; r < end; r += 4) {
                const auto count = static_cast<std::size_t>(end - r < 4 ? end - r : 4);
                if constexpr (StaticM > 0) {
                    if (fused && count == 4) { // the data made and the member run together, eight samples at a time
                        // the member's update on philox's data made beside it (the bits of make_data and run_group)
                        philox::add_updated_realizations_avx512<static_cast<int>(StaticM), 4, Lanes4>(
                            *philox, static_cast<std::uint64_t>(r), b.mse, b.msd, b.meanw, steady + (r - begin),
                            update);
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
    const std::int64_t whole = b.M <= 8 && philox::avx512_supported() ? begin + (end - begin) / 8 * 8 : begin;
    if (whole > begin) add_rows(b, begin, whole, make_rows, context, d, steady);
    if (whole < end) add_block(b, whole, end, make_data, context, x, d, steady + (whole - begin), nullptr);
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
