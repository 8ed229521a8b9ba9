// `ensemble --rng philox`: Random123's Philox4x32-10, the counter mapping of src/random/philox_data.hpp against the
// values of scripts/philox_reference.py (an independent Python Philox), the normals' moments, and the engine built on
// it.
#include "core/errors.hpp"
#include "ensemble/ensemble.hpp"
#include "ensemble/theory.hpp"
#include "lms/scenario.hpp"
#include "philox_problem.hpp"
#include "random/philox_avx2.hpp"
#include "random/philox_avx512.hpp"
#include "random/philox_data.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace lmsref;
using namespace lmsref::test;

namespace {

Scenario philox_scenario(std::int64_t N, std::int64_t M, std::uint32_t seed) {
    Scenario s;
    s.samples = N;
    s.taps = M;
    s.seed = seed;
    return s; // eta = 0.1, sigmav2 = 0.01, wo = [0.1, 0.2, 0.3]
}

EnsembleOptions philox_options(const Scenario& s, std::int64_t R, int threads) {
    EnsembleOptions o;
    o.scenario = s;
    o.realizations = R;
    o.threads = threads;
    o.rng = Rng::philox;
    return o;
}

// The curves of realizations 0 ... R - 1 made by direct calls of philox::add_realization, summed as the engine
// sums: in realization order within blocks of ensemble_block_size, the blocks added in block order, divided by R.
struct DirectCurves {
    std::vector<double> mse, msd, meanw;
};
DirectCurves direct_curves(const Scenario& s, std::int64_t R) {
    const auto N = static_cast<std::size_t>(s.samples);
    const auto M = static_cast<std::size_t>(s.taps);
    const std::size_t K = std::max(M, s.wo.size());
    std::vector<double> wo_K, wo_M;
    const philox::Problem p = test::philox_problem(s, wo_K, wo_M);
    DirectCurves c{std::vector<double>(N, 0.0), std::vector<double>(N + 1, 0.0), std::vector<double>((N + 1) * M)};
    std::vector<double> hist(K), w(M);
    for (std::int64_t first = 0; first < R; first += ensemble_block_size) {
        DirectCurves block{std::vector<double>(N, 0.0), std::vector<double>(N + 1, 0.0),
                           std::vector<double>((N + 1) * M)};
        for (std::int64_t r = first; r < std::min(R, first + ensemble_block_size); ++r)
            philox::add_realization(p, static_cast<std::uint64_t>(r), hist.data(), w.data(), block.mse.data(),
                                    block.msd.data(), block.meanw.data());
        for (std::size_t j = 0; j < c.mse.size(); ++j) c.mse[j] += block.mse[j];
        for (std::size_t j = 0; j < c.msd.size(); ++j) c.msd[j] += block.msd[j];
        for (std::size_t j = 0; j < c.meanw.size(); ++j) c.meanw[j] += block.meanw[j];
    }
    for (auto* curve : {&c.mse, &c.msd, &c.meanw})
        for (double& value : *curve) value /= static_cast<double>(R);
    return c;
}

} // namespace

TEST_CASE("philox: Random123's Philox4x32-10 gives its known-answer vectors", "[philox]") {
    // Random123's kat_vectors, the three Philox4x32 lines with 10 rounds.
    struct Kat {
        std::uint32_t counter[4], key[2], out[4];
    };
    const Kat kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (const Kat& kat : kats) {
        const philox4x32_ctr_t counter = {{kat.counter[0], kat.counter[1], kat.counter[2], kat.counter[3]}};
        const philox4x32_key_t key = {{kat.key[0], kat.key[1]}};
        const philox4x32_ctr_t out = philox4x32_R(10, counter, key);
        for (int i = 0; i < 4; ++i) CHECK(out.v[i] == kat.out[i]);
    }
}

TEST_CASE("philox: words, uniforms and normals match the independent Python reference", "[philox]") {
    // data/reference/philox/normals.csv, made by scripts/philox_reference.py (a from-scratch Philox4x32-10 checked
    // against Random123's known answers, and log_unit and cos_sin_2pi written out operation for operation). All of
    // it is IEEE arithmetic without a libm: the same bits.
    std::ifstream file(reference_path("philox/normals.csv"));
    REQUIRE(file);
    std::string line;
    std::getline(file, line);
    CHECK(line == "seed,realization,sample,w0,w1,w2,w3,u1,u2,x,v");
    int cases = 0;
    while (std::getline(file, line)) {
        std::vector<std::string> fields;
        std::stringstream stream(line);
        for (std::string field; std::getline(stream, field, ',');) fields.push_back(field);
        REQUIRE(fields.size() == 11);
        const auto seed = static_cast<std::uint32_t>(std::stoull(fields[0]));
        const std::uint64_t r = std::stoull(fields[1]);
        const std::uint64_t n = std::stoull(fields[2]);
        INFO("seed " << seed << ", r " << r << ", n " << n);
        const philox4x32_ctr_t words = philox::words(seed, r, n);
        for (int i = 0; i < 4; ++i) CHECK(words.v[i] == std::stoull(fields[static_cast<std::size_t>(3 + i)]));
        const philox::Uniforms u = philox::uniforms(seed, r, n);
        CHECK(u.u1 == std::strtod(fields[7].c_str(), nullptr));
        CHECK(u.u2 == std::strtod(fields[8].c_str(), nullptr));
        CHECK(u.u1 > 0.0);
        CHECK(u.u1 <= 1.0);
        CHECK(u.u2 >= 0.0);
        CHECK(u.u2 < 1.0);
        const philox::Normals z = philox::normals(seed, r, n);
        const double x = std::strtod(fields[9].c_str(), nullptr);
        const double v = std::strtod(fields[10].c_str(), nullptr);
        CHECK(z.x == x);
        CHECK(z.v == v);
        ++cases;
    }
    CHECK(cases == 15);
}

TEST_CASE("philox: log_unit and cos_sin_2pi are the libm's log, cos and sin within a few units in the last place",
          "[philox]") {
    // log within 4e-16 relative; cos and sin within 1e-15 absolute: the libm's argument 2 pi u is itself rounded,
    // by up to 4.4e-16 near 2 pi, which moves its cos and sin by as much.
    CHECK(philox::log_unit(1.0) == 0.0);
    double worst_log = 0.0, worst_trig = 0.0;
    for (std::uint64_t k = 0; k < 200000; ++k) {
        const double u = static_cast<double>((k * 2654435761ULL * 2654435761ULL) % (1ULL << 53) + 1) * 0x1p-53;
        if (u < 1.0) worst_log = std::max(worst_log, std::abs(philox::log_unit(u) - std::log(u)) / -std::log(u));
        const double v = u < 1.0 ? u : 0.0;
        const philox::CosSin t = philox::cos_sin_2pi(v);
        worst_trig = std::max({worst_trig, std::abs(t.c - std::cos(6.283185307179586 * v)),
                               std::abs(t.s - std::sin(6.283185307179586 * v))});
    }
    for (double u : {0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875}) { // the octants' ends
        const philox::CosSin t = philox::cos_sin_2pi(u);
        worst_trig = std::max({worst_trig, std::abs(t.c - std::cos(6.283185307179586 * u)),
                               std::abs(t.s - std::sin(6.283185307179586 * u))});
    }
    CHECK(worst_log <= 4e-16);
    CHECK(worst_trig <= 1e-15);
    CHECK(philox::log_unit(0x1p-53) == Approx(-53 * std::log(2.0)).epsilon(1e-15));
}

TEST_CASE("philox: the AVX2 twin makes philox::normals' bits, four realizations at a time", "[philox]") {
    if (!philox::avx2_supported()) {
        WARN("skipped: this processor has no AVX2 (the engine then calls philox::normals)");
        return;
    }
    long mismatches = 0, compared = 0;
    for (std::uint32_t seed : {0U, 7U, 4294967295U})
        for (std::uint64_t r0 :
             {std::uint64_t{0}, std::uint64_t{64}, (std::uint64_t{1} << 32) - 2, (std::uint64_t{1} << 40) + 5})
            for (std::uint64_t n = 0; n < 2000; n += (n < 100 ? 1 : 37)) {
                for (std::uint64_t sample : {n, n + (std::uint64_t{1} << 32)}) {
                    double x[4], v[4];
                    philox::normals4_avx2(seed, r0, sample, x, v);
                    for (int g = 0; g < 4; ++g) {
                        const philox::Normals z = philox::normals(seed, r0 + static_cast<std::uint64_t>(g), sample);
                        mismatches += (z.x != x[g]) + (z.v != v[g]);
                        compared += 2;
                    }
                }
            }
    CHECK(compared > 10000);
    CHECK(mismatches == 0);
}

TEST_CASE("philox: the AVX-512 twin makes philox::normals' bits, eight (realization, sample) pairs at a time",
          "[philox]") {
    if (!philox::avx512_supported()) {
        WARN("skipped: this processor has no AVX-512 F, DQ and VL (the engine then uses AVX2 or philox::normals)");
        return;
    }
    long mismatches = 0, compared = 0;
    for (std::uint32_t seed : {0U, 7U, 4294967295U})
        for (std::uint64_t r0 :
             {std::uint64_t{0}, std::uint64_t{64}, (std::uint64_t{1} << 32) - 2, (std::uint64_t{1} << 40) + 5})
            for (std::uint64_t n = 0; n < 2000; n += (n < 100 ? 1 : 37)) {
                // the second sample of a vector crosses 2^32 from (2^32 - 1): its counter's second word changes
                for (std::uint64_t sample : {n, n + (std::uint64_t{1} << 32), (std::uint64_t{1} << 32) - 1}) {
                    double x[8], v[8];
                    philox::normals8_avx512(seed, r0, sample, x, v);
                    for (int lane = 0; lane < 8; ++lane) {
                        const philox::Normals z = philox::normals(seed, r0 + static_cast<std::uint64_t>(lane % 4),
                                                                  sample + static_cast<std::uint64_t>(lane / 4));
                        // the same bits, signs of zero included
                        mismatches += (std::memcmp(&z.x, &x[lane], sizeof z.x) != 0) +
                                      (std::memcmp(&z.v, &v[lane], sizeof z.v) != 0);
                        compared += 2;
                    }
                }
            }
    CHECK(compared > 40000);
    CHECK(mismatches == 0);
}

namespace {

// The vector groups: AVX2's four realizations, AVX-512's four, AVX-512's eight (the width the family's divider-bound
// members take, here with the LMS step).
enum class Group { avx2, avx512, avx512_eight };

// A vector group (add_four_realizations_avx2<M>, add_lms_realizations_avx512<M, 4> or <M, 8>)
// against as many calls of philox::add_realization (realizations first, first + 1, ..., in order, into sums that
// start from the same values): the same bits.
template <int M, Group Kind> bool group_matches(std::int64_t N, std::uint32_t seed, std::uint64_t first, double eta) {
    const std::vector<double> wo_all = {0.1, -0.2, 0.3, 0.05, -0.4, 0.25, 0.15, -0.1};
    std::vector<double> wo(wo_all.begin(), wo_all.begin() + std::min<int>(M, 3 + M % 2)); // len(wo) <= M
    wo.resize(M, 0.0);
    philox::Problem p;
    p.samples = N;
    p.taps = M;
    p.history = M;
    p.step = eta / 2 * 2;
    p.noise_gain = std::sqrt(0.01);
    p.seed = seed;
    p.steady_start = N - std::max<std::int64_t>(1, N / 4);
    p.wo_K = wo.data();
    p.wo_M = wo.data();
    const auto n = static_cast<std::size_t>(N);
    auto start = [&](std::size_t size) { // nonzero starting sums: the realizations are added to what is there
        std::vector<double> v(size);
        for (std::size_t i = 0; i < size; ++i) v[i] = 0.001 * static_cast<double>(i % 17);
        return v;
    };
    std::vector<double> mse = start(n), msd = start(n + 1), meanw = start((n + 1) * M);
    std::vector<double> mse2 = mse, msd2 = msd, meanw2 = meanw;
    constexpr int count = Kind == Group::avx512_eight ? 8 : 4;
    double steady[count], direct[count];
    if constexpr (Kind == Group::avx512_eight)
        philox::add_lms_realizations_avx512<M, 8>(p, first, mse.data(), msd.data(), meanw.data(), steady);
    else if constexpr (Kind == Group::avx512)
        philox::add_lms_realizations_avx512<M, 4>(p, first, mse.data(), msd.data(), meanw.data(), steady);
    else
        philox::add_four_realizations_avx2<M>(p, first, mse.data(), msd.data(), meanw.data(), steady);
    std::vector<double> hist(M), w(M);
    for (std::uint64_t g = 0; g < count; ++g)
        direct[g] =
            philox::add_realization<M, M>(p, first + g, hist.data(), w.data(), mse2.data(), msd2.data(), meanw2.data());
    return same_bits(mse, mse2) && same_bits(msd, msd2) && same_bits(meanw, meanw2) &&
           std::memcmp(steady, direct, sizeof steady) == 0;
}

template <int M, Group Kind> void check_groups() {
    INFO("M = " << M);
    for (std::int64_t N : {1, 5, 8, 9, 16, 37, 100}) {
        INFO("N = " << N);
        CHECK(group_matches<M, Kind>(N, 7, 0, 0.1));
        CHECK(group_matches<M, Kind>(N, 4294967295U, (std::uint64_t{1} << 32) - 2, 0.5));
        CHECK(group_matches<M, Kind>(N, 12345, 640, 3.0)); // diverges: infinities and NaNs, the same bits too
    }
}

// check_groups for every M the vector twins take.
template <Group Kind> void check_groups_up_to_8() {
    check_groups<1, Kind>();
    check_groups<2, Kind>();
    check_groups<3, Kind>();
    check_groups<4, Kind>();
    check_groups<5, Kind>();
    check_groups<6, Kind>();
    check_groups<7, Kind>();
    check_groups<8, Kind>();
}

} // namespace

TEST_CASE("philox: the AVX-512 group adds four realizations as four calls of philox::add_realization, M = 1 ... 8",
          "[philox]") {
    if (!philox::avx512_supported()) {
        WARN("skipped: this processor has no AVX-512 F, DQ and VL (the engine then uses AVX2 or the scalar code)");
        return;
    }
    check_groups_up_to_8<Group::avx512>();
}

TEST_CASE("philox: the AVX-512 group of eight adds eight realizations as eight calls of philox::add_realization, "
          "M = 1 ... 8",
          "[philox]") {
    if (!philox::avx512_supported()) {
        WARN("skipped: this processor has no AVX-512 F, DQ and VL (the engine then uses AVX2 or the scalar code)");
        return;
    }
    check_groups_up_to_8<Group::avx512_eight>();
}

TEST_CASE("philox: the AVX2 group adds four realizations as four calls of philox::add_realization, M = 1 ... 8",
          "[philox]") {
    // The engine prefers AVX-512 where there is one: this keeps the AVX2 group checked there too.
    if (!philox::avx2_supported()) {
        WARN("skipped: this processor has no AVX2 (the engine then uses the scalar code)");
        return;
    }
    check_groups_up_to_8<Group::avx2>();
}

TEST_CASE("philox: 10^6 normals have mean 0, variance 1 and x, v uncorrelated within 5 standard errors", "[philox]") {
    // x_r(n) and v_r(n) for r < 1000, n < 1000: 10^6 of each. For unit normals the standard error of the mean is
    // 1 / sqrt(10^6) = 1e-3, of the sample variance sqrt(2 / 10^6) = 1.4e-3, of mean(x v) 1e-3. The seed is fixed,
    // so the test is deterministic; 5 standard errors would fail by chance with probability 6e-7 for a good
    // generator, and catch a wrong scaling (2 pi, -2 log, the 53-bit layout) that moves a moment by 1%.
    constexpr int side = 1000;
    constexpr double count = double(side) * side;
    double sum_x = 0, sum_v = 0, sum_xx = 0, sum_vv = 0, sum_xv = 0;
    for (std::uint64_t r = 0; r < side; ++r)
        for (std::uint64_t n = 0; n < side; ++n) {
            const philox::Normals z = philox::normals(2024, r, n);
            sum_x += z.x;
            sum_v += z.v;
            sum_xx += z.x * z.x;
            sum_vv += z.v * z.v;
            sum_xv += z.x * z.v;
        }
    const double mean_x = sum_x / count, mean_v = sum_v / count;
    const double var_x = (sum_xx - count * mean_x * mean_x) / (count - 1);
    const double var_v = (sum_vv - count * mean_v * mean_v) / (count - 1);
    const double se_mean = 1.0 / std::sqrt(count), se_var = std::sqrt(2.0 / (count - 1));
    CHECK(std::abs(mean_x) < 5 * se_mean);
    CHECK(std::abs(mean_v) < 5 * se_mean);
    CHECK(std::abs(var_x - 1.0) < 5 * se_var);
    CHECK(std::abs(var_v - 1.0) < 5 * se_var);
    CHECK(std::abs(sum_xv / count) < 5 * se_mean);
    WARN("philox normals: mean " << mean_x << ", " << mean_v << "; variance " << var_x << ", " << var_v);
}

TEST_CASE("philox: realization r of the engine is a direct call of philox::add_realization", "[philox]") {
    // R = 70: a whole group path (groups of 4) and single realizations, two blocks. M = 3 with len(wo) = 3 (the
    // compile-time kernel), M = 2 with len(wo) = 3 (K = 3 > M: the run-time path), M = 10 (run-time M).
    for (std::int64_t M : {3, 2, 10}) {
        INFO("M = " << M);
        const Scenario s = philox_scenario(40, M, 7);
        for (std::int64_t R : {1, 70}) {
            INFO("R = " << R);
            const EnsembleResult result = run_ensemble(philox_options(s, R, 1));
            const DirectCurves direct = direct_curves(s, R);
            CHECK(same_bits(result.mse, direct.mse));
            CHECK(same_bits(result.msd, direct.msd));
            CHECK(same_bits(result.meanw, direct.meanw));
            CHECK(result.rng == Rng::philox);
            CHECK(result.finite);
        }
    }
}

TEST_CASE("philox: ensemble curves are the same bits for threads 1, 2, 3 and 7", "[philox]") {
    for (std::int64_t M : {3, 2}) {
        INFO("M = " << M);
        const Scenario s = philox_scenario(60, M, 11);
        const EnsembleResult one = run_ensemble(philox_options(s, 453, 1)); // 8 blocks, the last one short
        for (int threads : {2, 3, 7}) {
            INFO(threads << " threads");
            const EnsembleResult many = run_ensemble(philox_options(s, 453, threads));
            CHECK(many.threads == threads);
            CHECK(same_bits(one.mse, many.mse));
            CHECK(same_bits(one.msd, many.msd));
            CHECK(same_bits(one.meanw, many.meanw));
            CHECK(one.steady_mse == many.steady_mse);
            CHECK(one.steady_m2 == many.steady_m2);
        }
    }
}

TEST_CASE("philox: the steady-state MSE is within 1% of theory (eta = 0.02, M = 3, R = 20000)", "[philox][theory]") {
    // As the numpy stream's test (test_ensemble.cpp): fixed seed, deterministic; the standard error of the
    // steady-state MSE is about 0.1%, so 1% leaves room for the independence assumption's bias.
    Scenario s = philox_scenario(500, 3, 2024);
    s.step_size = 0.02;
    const EnsembleResult ensemble = run_ensemble(philox_options(s, 20000, 0));
    const TheoryPrediction t = predict(s, 1.0);
    const SteadyStateComparison c = compare_steady_state(ensemble, t);
    CHECK(c.mse_standard_error < 0.002 * c.mse);
    CHECK(std::abs(c.relative_gap) < 0.01);
    WARN("philox steady state: simulated " << c.mse << " +- " << c.mse_standard_error << ", predicted " << t.mse
                                           << ", gap " << c.relative_gap);
}

TEST_CASE("philox: any seed and R fit, and the data must be generated", "[philox]") {
    const Scenario s = philox_scenario(5, 3, 4294967295U);
    const EnsembleResult result = run_ensemble(philox_options(s, 3, 1)); // numpy's seeds would end past 2^32 - 1
    CHECK(result.completed_realizations == 3);
    CHECK(result.first_seed == 4294967295U);
    EnsembleOptions from_files = philox_options(philox_scenario(5, 3, 0), 2, 1);
    CHECK_THROWS_AS(check_ensemble_options(from_files, false), InputError);
    CHECK(parse_rng("philox") == Rng::philox);
    CHECK(parse_rng("numpy") == Rng::numpy);
    CHECK_THROWS_WITH(parse_rng("mt"), "rng: 'mt' is not a generator; use numpy or philox");
    CHECK(std::string(to_string(Rng::philox)) == "philox");
}

TEST_CASE("philox: --device cuda needs the kernel and a GPU, and says which is missing", "[philox]") {
    if (ensemble_cuda_devices() > 0) return;    // the [gpu] tests (test_philox_cuda.cpp) run it
    for (Rng rng : {Rng::philox, Rng::numpy}) { // numpy's data are made on the CPU and copied
        EnsembleOptions options = philox_options(philox_scenario(20, 3, 0), 10, 1);
        options.rng = rng;
        options.device = Device::cuda;
        CHECK_THROWS_AS(run_ensemble(options), RuntimeFailure);
        CHECK_THROWS_WITH(run_ensemble(options),
                          Catch::Contains(ensemble_cuda_built() ? "no CUDA device" : "no CUDA kernel"));
    }
}

TEST_CASE("philox: the vector twins of signals make four realizations' x and d, bit for bit", "[philox]") {
    // The family's members run on them (ensemble --algorithm with --rng philox). N = 45: five chunks of eight and a
    // partial one; K = 5 > M: the history crosses chunks. Each twin runs where the processor has its instructions.
    Scenario s;
    s.samples = 45;
    s.taps = 3;
    s.seed = 77;
    s.wo = {0.3, -0.2, 0.1, 0.05, -0.4};
    std::vector<double> wo_K, wo_M;
    const philox::Problem p = test::philox_problem(s, wo_K, wo_M);
    const std::size_t N = 45, stride = 50;
    std::vector<double> hist(5), x_one(N), d_one(N);
    for (int width : {256, 512}) {
        if (width == 256 && !philox::avx2_supported()) continue;
        if (width == 512 && !philox::avx512_supported()) continue;
        std::vector<double> x(4 * stride, -1.0), d(4 * stride, -1.0);
        if (width == 256) philox::signals_four_avx2(p, 9, x.data(), d.data(), stride);
        if (width == 512) philox::signals_four_avx512(p, 9, x.data(), d.data(), stride);
        for (std::size_t g = 0; g < 4; ++g) {
            CAPTURE(width, g);
            philox::signals(p, 9 + g, hist.data(), x_one.data(), d_one.data());
            CHECK(same_bits(std::vector<double>(x.begin() + g * stride, x.begin() + g * stride + N), x_one));
            CHECK(same_bits(std::vector<double>(d.begin() + g * stride, d.begin() + g * stride + N), d_one));
            CHECK(x[g * stride + N] == -1.0); // nothing written past N
        }
    }
}
