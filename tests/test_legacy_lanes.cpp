// NumPy's legacy normals made eight streams at a time (random/legacy_lanes.hpp) against the scalar stream
// (LegacyGaussStream, itself checked against LegacyRandom and NumPy's draws) and against NumPy's stored draws.
// Tolerance: none. Every lane must be the same bits.
#include "random/legacy_gauss.hpp"
#include "random/legacy_lanes.hpp"
#include "random/numpy_random.hpp"
#include "random/simd.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>
#include <stdlib.h> // setenv, unsetenv

using namespace lmsref;
using namespace lmsref::test;

namespace {

// A lane of a call, as the scalar stream makes it: seed, then count normals.
std::vector<double> scalar_normals(std::uint32_t seed, std::size_t count) {
    LegacyGaussStream stream;
    stream.reseed(seed);
    std::vector<double> values(count);
    stream.fill(values.data(), count);
    return values;
}

// One call of the lanes for `used` lanes (seeds[g]): each lane's values, read from its column of the rows. The
// scratch rows past `count` may change; the rows beyond them may not.
// work: a workspace of calls before (which may have seeded this call's streams), or a fresh one.
std::vector<std::vector<double>> lane_normals(const std::uint32_t* seeds, std::size_t used, std::size_t count,
                                              legacy_lanes::Workspace* work = nullptr) {
    constexpr std::size_t G = legacy_lanes::lanes;
    std::unique_ptr<legacy_lanes::Workspace> fresh;
    if (work == nullptr) work = (fresh = std::make_unique<legacy_lanes::Workspace>()).get();
    std::vector<double> rows((count + 3) * G, -7.0);
    legacy_lanes::normals(*work, seeds, used, count, rows.data());
    for (std::size_t g = 0; g < G; ++g) CHECK(rows[(count + 2) * G + g] == -7.0); // nothing past the scratch
    std::vector<std::vector<double>> lanes(G, std::vector<double>(count));
    for (std::size_t g = 0; g < G; ++g)
        for (std::size_t k = 0; k < count; ++k) lanes[g][k] = rows[k * G + g];
    return lanes;
}

// Accepted polar attempts among the first 156 of a seed's stream (the first block of 624 words).
int accepted_in_first_block(std::uint32_t seed) {
    LegacyRandom random(seed);
    int accepted = 0;
    for (int attempt = 0; attempt < 156; ++attempt) {
        const double x1 = 2.0 * random.random_sample() - 1.0;
        const double x2 = 2.0 * random.random_sample() - 1.0;
        const double r2 = x1 * x1 + x2 * x2;
        accepted += (r2 < 1.0 && r2 != 0.0) ? 1 : 0;
    }
    return accepted;
}

} // namespace

TEST_CASE("the lanes run exactly where the processor has AVX-512 and LMSREF_SIMD allows it", "[random][lanes]") {
    const char* limit = std::getenv("LMSREF_SIMD");
    const bool allowed = limit == nullptr || *limit == '\0' || std::string(limit) == "avx512";
    const bool processor = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    REQUIRE(legacy_lanes::available() == (allowed && processor));
}

TEST_CASE("eight lanes give each seed's legacy normals bit for bit", "[random][lanes]") {
    if (!legacy_lanes::available()) {
        WARN("skipped: the lanes do not run here (no AVX-512, or LMSREF_SIMD below avx512)");
        return;
    }
    // Seeds at both ends of NumPy's range (2^32 - 1 wraps to 0 within the group), then groups spread over it.
    std::vector<std::uint32_t> starts = {0U, 4294967288U, 4294967291U};
    for (std::uint32_t k = 0; k < 40; ++k) starts.push_back(2654435761U * (k + 1));
    const std::size_t counts[] = {0, 1, 2, 3, 311, 312, 313, 1000, 1001, 5001};
    std::set<int> acceptances; // lanes of one group reject different numbers of attempts
    std::size_t call = 0;
    for (const std::uint32_t start : starts) {
        std::uint32_t seeds[legacy_lanes::lanes];
        for (std::uint32_t g = 0; g < legacy_lanes::lanes; ++g) seeds[g] = start + g;
        const std::size_t count = counts[call % std::size(counts)];
        const std::size_t used = 1 + call % legacy_lanes::lanes; // partial groups too
        ++call;
        CAPTURE(start, used, count);
        const auto lanes = lane_normals(seeds, used, count);
        for (std::size_t g = 0; g < legacy_lanes::lanes; ++g) { // the unused lanes repeat seeds[0]
            CAPTURE(g);
            require_same_bits(lanes[g], scalar_normals(seeds[g < used ? g : 0], count));
        }
        if (used == legacy_lanes::lanes) {
            std::set<int> group;
            for (const std::uint32_t seed : seeds) group.insert(accepted_in_first_block(seed));
            acceptances.insert(static_cast<int>(group.size()));
        }
    }
    CHECK(*acceptances.rbegin() >= 4); // some group had lanes at four or more different acceptance counts
}

TEST_CASE("a workspace's calls give each seed's normals whoever seeded them", "[random][lanes]") {
    if (!legacy_lanes::available()) {
        WARN("skipped: the lanes do not run here (no AVX-512, or LMSREF_SIMD below avx512)");
        return;
    }
    // A call seeds its eight streams and the 24 after them (seeds + 8, + 16, + 24); the next calls take those while
    // their seeds are the next eight's. Consecutive groups (wrapping past 2^32 - 1) until the seeded ones run out, a
    // repeated group, partial groups (the unused lanes repeat the first seed: 16 and 24 with three lanes each match),
    // a jump back: one workspace.
    const std::uint32_t starts[] = {4294967272U, 4294967280U, 4294967288U, 0U,  8U,  8U,          16U,
                                    24U,         32U,         40U,         12U, 20U, 4294967288U, 0U};
    const std::size_t used_of[] = {8, 8, 8, 8, 8, 8, 3, 3, 8, 8, 8, 8, 8, 8};
    const bool taken_of[] = {false, true, true, true, false, false, false, true, false, true, false, true, false, true};
    auto work = std::make_unique<legacy_lanes::Workspace>();
    for (std::size_t call = 0; call < std::size(starts); ++call) {
        std::uint32_t seeds[legacy_lanes::lanes];
        for (std::uint32_t g = 0; g < legacy_lanes::lanes; ++g) seeds[g] = starts[call] + g;
        const std::size_t used = used_of[call], count = 313 + 100 * call;
        CAPTURE(call, starts[call], used);
        const int ready_before = work->ready;
        const auto lanes = lane_normals(seeds, used, count, work.get());
        // the seeded-ahead state taken, or this call's own and three more seeded
        CHECK(work->ready == (taken_of[call] ? ready_before - 1 : static_cast<int>(legacy_lanes::seeded) - 1));
        for (std::size_t g = 0; g < legacy_lanes::lanes; ++g) {
            CAPTURE(g);
            require_same_bits(lanes[g], scalar_normals(seeds[g < used ? g : 0], count));
        }
    }
}

TEST_CASE("the lanes give NumPy's stored randn draws", "[random][lanes]") {
    if (!legacy_lanes::available()) {
        WARN("skipped: the lanes do not run here (no AVX-512, or LMSREF_SIMD below avx512)");
        return;
    }
    const std::uint32_t seeds[] = {0U, 1U, 42U, 123456789U, 4294967295U};
    const std::size_t count = reference_array("random/randn_0.npy").values.size();
    const auto lanes = lane_normals(seeds, std::size(seeds), count);
    for (std::size_t g = 0; g < std::size(seeds); ++g) {
        CAPTURE(seeds[g]);
        require_same_bits(lanes[g], reference_array("random/randn_" + std::to_string(seeds[g]) + ".npy").values);
    }
}

TEST_CASE("LMSREF_SIMD takes scalar, avx2 or avx512 and refuses anything else", "[random][lanes]") {
    const char* saved = std::getenv("LMSREF_SIMD");
    const std::string before = saved != nullptr ? saved : "";
    const std::pair<const char*, simd::Level> levels[] = {
        {"scalar", simd::Level::scalar}, {"avx2", simd::Level::avx2}, {"avx512", simd::Level::avx512}};
    for (const auto& [text, level] : levels) {
        ::setenv("LMSREF_SIMD", text, 1);
        CHECK(simd::limit() == level);
    }
    ::setenv("LMSREF_SIMD", "scalar", 1);
    CHECK_FALSE(legacy_lanes::available());
    ::setenv("LMSREF_SIMD", "avx3", 1);
    CHECK_THROWS_WITH(simd::limit(), "LMSREF_SIMD: 'avx3' is not scalar, avx2 or avx512");
    if (saved != nullptr)
        ::setenv("LMSREF_SIMD", before.c_str(), 1);
    else
        ::unsetenv("LMSREF_SIMD");
}

TEST_CASE("the lanes' log vouches only for glibc's own values, over hard inputs", "[random][lanes]") {
    if (!legacy_lanes::available()) {
        WARN("skipped: the lanes do not run here (no AVX-512, or LMSREF_SIMD below avx512)");
        return;
    }
    // Where the estimate says sure, its double must be std::log's; it may leave any value to std::log. Inputs: r2 as
    // the polar method makes it (uniform in (0, 1)), values just below 1 (glibc's other path), powers of two and
    // their neighbours (H a power of two), the estimate's table at many scales (each interval's ends and middle,
    // where s is 0), the tiniest r2 (2^-104).
    std::vector<double> x;
    LegacyRandom random(2024);
    for (int i = 0; i < 200000; ++i) x.push_back(1.0 - random.random_sample()); // (0, 1]
    for (int i = 1; i <= 60000; ++i) x.push_back(1.0 - std::ldexp(static_cast<double>(i), -53));
    for (int i = 0; i < 40000; ++i) x.push_back(1.0 - 0x1p-4 * random.random_sample());
    for (int e = 1; e <= 104; ++e)
        for (int step = -64; step <= 64; ++step) {
            const double p = std::ldexp(1.0, -e);
            x.push_back(step < 0 ? std::nextafter(p, 0.0) - (-1 - step) * std::ldexp(p, -53)
                                 : p + step * std::ldexp(p, -52));
            for (int i = 1; i < 32; ++i) x.push_back(std::ldexp(1.0 + i / 32.0 + step * 0x1p-52, -e));
        }
    x.erase(std::remove_if(x.begin(), x.end(), [](double v) { return !(v > 0.0 && v < 1.0); }), x.end());
    // Values whose log lies within 0.05 ulp of halfway between two doubles with |log x| >= 1/8 (long double's logl,
    // about 2^-64 relative, picks them), x uniform in (0, 1) and in binades down to 2^-60: where glibc's absolute
    // error lets the estimate vouch past 0.469 ulp.
    const auto halfway_offset = [](double v) { // |log v - the double nearest it|, in ulps of that double
        const long double exact = std::log(static_cast<long double>(v));
        const double nearest = static_cast<double>(exact);
        return std::fabs(exact - static_cast<long double>(nearest)) / std::ldexp(1.0L, std::ilogb(nearest) - 52);
    };
    const std::size_t near_first = x.size();
    for (int draw = 0; draw < 10000000 && x.size() - near_first < 20000; ++draw) {
        const double v = std::ldexp(1.0 - random.random_sample(), -(draw % 2) * (draw / 2 % 61));
        if (v < 1.0 && std::fabs(std::log(v)) >= 0.125 && halfway_offset(v) > 0.45L) x.push_back(v);
    }
    REQUIRE(x.size() - near_first == 20000);
    x.resize(x.size() / 8 * 8);
    std::vector<double> estimate(x.size());
    std::unique_ptr<bool[]> sure(new bool[x.size()]);
    legacy_lanes::log_estimates(x.data(), x.size(), estimate.data(), sure.get());
    std::size_t vouched = 0, wrong = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!sure[i]) continue;
        ++vouched;
        if (estimate[i] != std::log(x[i])) {
            ++wrong;
            CAPTURE(x[i], estimate[i], std::log(x[i]));
            CHECK(estimate[i] == std::log(x[i]));
        }
    }
    CHECK(wrong == 0);
    // The uniform part: the estimate vouches for about 98 % (2.7 % were left to std::log with glibc's error allowed
    // at 2^-60: 194602 of these 200000 draws; each costs about 16 ns).
    std::size_t uniform_sure = 0;
    for (std::size_t i = 0; i < 200000; ++i) uniform_sure += sure[i] ? 1 : 0;
    CAPTURE(uniform_sure);
    CHECK(uniform_sure > 195500); // 97.75 %: a looser estimate, or a larger A, would hand more to std::log
    CHECK(vouched > x.size() / 2);
    // Past 0.475 ulp only glibc's absolute bound vouches (0.469 ulp alone would not): for 85 % of them (78 % with
    // A = 2^-60 + 2^-63), and where 1/8 <= |log x| < 1/4 for 22 % (none with that A). And near halfway glibc does
    // round some values away from the nearest double, so the estimate has something to get wrong there.
    std::size_t near_far = 0, near_far_sure = 0, glibc_not_nearest = 0, band_far = 0, band_far_sure = 0;
    for (std::size_t i = near_first; i < x.size(); ++i) {
        const bool far = halfway_offset(x[i]) > 0.475L;
        const bool band = std::fabs(std::log(x[i])) < 0.25; // 1/8 <= |log x| < 1/4: ulp 2^-55, A 0.0195 ulp
        near_far += far ? 1 : 0;
        near_far_sure += sure[i] && far ? 1 : 0;
        band_far += band && far ? 1 : 0;
        band_far_sure += band && far && sure[i] ? 1 : 0;
        glibc_not_nearest += std::log(x[i]) != static_cast<double>(std::log(static_cast<long double>(x[i]))) ? 1 : 0;
    }
    CAPTURE(near_far, near_far_sure, band_far, band_far_sure, glibc_not_nearest);
    CHECK(near_far_sure * 100 > near_far * 81);
    CHECK(band_far_sure * 100 > band_far * 10);
    CHECK(glibc_not_nearest > 0);
    // A rejected attempt's lane takes r2 = 0.5, which the estimate must vouch for: normals() hands only the lanes it
    // does not vouch for to glibc, whether accepted or not.
    double rejected[8] = {0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, rejected_log[8];
    bool rejected_sure[8];
    legacy_lanes::log_estimates(rejected, 8, rejected_log, rejected_sure);
    CHECK(rejected_sure[0]);
    CHECK(rejected_log[0] == std::log(0.5));
}
