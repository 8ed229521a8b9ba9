// The Monte Carlo ensemble (src/ensemble/ensemble.hpp) and the theory beside it (src/ensemble/theory.hpp).
#include "core/errors.hpp"
#include "ensemble/ensemble.hpp"
#include "ensemble/theory.hpp"
#include "lms/scenario.hpp"
#include "random/legacy_gauss.hpp"
#include "random/legacy_lanes.hpp"
#include "random/numpy_random.hpp"
#include "random/philox_avx512.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace lmsref;
using namespace lmsref::test;

namespace {

// The `numpy` stage's loop, written out plainly: e and the (N + 1) x M weights of one run.
struct PlainRun {
    std::vector<double> e;
    std::vector<std::vector<double>> w;
};

PlainRun plain_lms(const Data& data, std::size_t M, double eta) {
    const std::size_t N = data.x.size();
    std::vector<double> xM(M, 0.0), wi(M, 0.0);
    PlainRun run{std::vector<double>(N), std::vector<std::vector<double>>(N + 1, std::vector<double>(M, 0.0))};
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t k = M - 1; k > 0; --k) xM[k] = xM[k - 1];
        xM[0] = data.x[i];
        double yi = 0.0;
        for (std::size_t k = 0; k < M; ++k) yi += wi[k] * xM[k];
        const double ei = data.d[i] - yi;
        for (std::size_t k = 0; k < M; ++k) wi[k] = wi[k] + eta / 2 * 2 * ei * xM[k];
        run.e[i] = ei;
        run.w[i + 1] = wi;
    }
    return run;
}

Scenario small_scenario(std::int64_t N, std::int64_t M, std::uint32_t seed) {
    Scenario s;
    s.samples = N;
    s.taps = M;
    s.seed = seed;
    return s; // eta = 0.1, sigmav2 = 0.01, wo = [0.1, 0.2, 0.3]: the notebook's
}

EnsembleOptions options_for(const Scenario& s, std::int64_t R, int threads) {
    EnsembleOptions o;
    o.scenario = s;
    o.realizations = R;
    o.threads = threads;
    return o;
}

double relative_difference(double a, double b) {
    return a == b ? 0.0 : std::abs(a - b) / std::max(std::abs(a), std::abs(b));
}

// The ensemble the theory tests compare with: eta = 0.02, M = 3, R = 20000, seed 2024. Computed once.
Scenario slow_step_scenario() {
    Scenario s = small_scenario(500, 3, 2024);
    s.step_size = 0.02;
    return s;
}

const EnsembleResult& slow_step_ensemble() {
    static const EnsembleResult result = run_ensemble(options_for(slow_step_scenario(), 20000, 0));
    return result;
}

// The means over the explicit runs of seeds S ... S + R - 1 (plain_lms on generate_data), summed in realization
// order as the engine's blocks sum them: e^2, ||w - wo_M||^2 (from tap 0) and w at every sample.
struct ExplicitMeans {
    std::vector<double> mse, msd, meanw;
};
ExplicitMeans explicit_means(const Scenario& s, std::int64_t R) {
    const auto M = static_cast<std::size_t>(s.taps);
    const auto N = static_cast<std::size_t>(s.samples);
    ExplicitMeans sums{std::vector<double>(N, 0.0), std::vector<double>(N + 1, 0.0),
                       std::vector<double>((N + 1) * M, 0.0)};
    for (std::int64_t r = 0; r < R; ++r) {
        Scenario sr = s;
        sr.seed = s.seed + static_cast<std::uint32_t>(r);
        const PlainRun run = plain_lms(generate_data(sr), M, s.step_size);
        for (std::size_t n = 0; n < N; ++n) sums.mse[n] += run.e[n] * run.e[n];
        for (std::size_t n = 0; n <= N; ++n) {
            double deviation = 0.0;
            for (std::size_t k = 0; k < M; ++k) {
                const double c = run.w[n][k] - (k < s.wo.size() ? s.wo[k] : 0.0);
                deviation += c * c;
                sums.meanw[n * M + k] += run.w[n][k];
            }
            sums.msd[n] += deviation;
        }
    }
    for (std::vector<double>* part : {&sums.mse, &sums.msd, &sums.meanw})
        for (double& value : *part) value /= static_cast<double>(R);
    return sums;
}

// Checks that an ensemble of R realizations (R = 1: its sums are the run itself; R = 8: one group of the lanes, its
// sums in realization order, as explicit_means) gives explicit_means, bit for bit.
void check_runs(const Scenario& s, std::int64_t R) {
    const EnsembleResult ensemble = run_ensemble(options_for(s, R, 1));
    const ExplicitMeans expected = explicit_means(s, R);
    CHECK(same_bits(ensemble.mse, expected.mse));
    CHECK(same_bits(ensemble.msd, expected.msd));
    CHECK(same_bits(ensemble.meanw, expected.meanw));
    CHECK(ensemble.first_seed == s.seed);
    CHECK(ensemble.last_seed == s.seed + static_cast<std::uint32_t>(R - 1));
}

} // namespace

TEST_CASE("ensemble: LegacyGaussStream draws LegacyRandom's normals, bit for bit", "[ensemble]") {
    // Odd and even pieces, pieces that end on the cached second value, and runs over many 624-word blocks (about
    // 245 normals each), for seeds at both ends of the 32-bit range.
    for (std::uint32_t seed : {0U, 1U, 12345U, 4294967295U}) {
        LegacyRandom reference(seed);
        LegacyGaussStream stream;
        stream.reseed(seed);
        for (std::size_t piece : {1, 37, 37, 2, 500, 1, 5000, 244, 246}) {
            std::vector<double> expected(piece), got(piece);
            for (double& value : expected) value = reference.gauss();
            stream.fill(got.data(), piece);
            CAPTURE(seed, piece);
            CHECK(same_bits(expected, got));
        }
    }
}

TEST_CASE("ensemble: realization r is the numpy loop on the data of seed S + r, bit for bit", "[ensemble]") {
    // N odd: x leaves a cached gauss value that the noise uses first. M = 2, 3 (compiled loops), 11 (run-time M).
    for (std::int64_t M : {2, 3, 11})
        for (std::uint32_t seed : {0U, 7U, 4294967295U}) {
            CAPTURE(M, seed);
            check_runs(small_scenario(37, M, seed), 1);
        }
}

TEST_CASE("ensemble: d is generate_data's for every length of wo, and its overflow names the seed", "[ensemble]") {
    // Eight realizations, where the lanes run: they make d eight at a time, the taps unrolled for 1 ... 8 of them, a
    // loop beyond; the first len(wo) - 1 samples take fewer taps, all of them where N is shorter still.
    for (std::size_t L : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12})
        for (std::int64_t N : {5, 40}) {
            Scenario s = small_scenario(N, 3, 11);
            s.wo.clear();
            for (std::size_t k = 0; k < L; ++k) s.wo.push_back((k % 2 == 0 ? 0.3 : -0.2) / static_cast<double>(k + 1));
            CAPTURE(L, N);
            check_runs(s, 8);
        }
    // A d that overflows: the error names the first seed whose d does, as one realization at a time would.
    Scenario s = small_scenario(40, 3, 100);
    s.wo = {1e308, 1e308, 1e308};
    REQUIRE_THROWS_WITH(run_ensemble(options_for(s, 16, 1)),
                        Catch::StartsWith("wo: d = lfilter(wo, 1, x) + noise overflows float64 with seed 100: d["));
}

TEST_CASE("ensemble: curves are the means of the explicit runs of seeds S ... S + R - 1", "[ensemble]") {
    // M = 3 and M = 4 with a 3-tap wo (wo_M zero-padded), two threads. R = 5 <= one block, under a group of the
    // lanes: the engine adds in realization order, as explicit_means does, the same terms: the same bits.
    for (std::int64_t M : {3, 4}) {
        const Scenario s = small_scenario(50, M, 123);
        const std::int64_t R = 5;
        const EnsembleResult ensemble = run_ensemble(options_for(s, R, 2));
        const ExplicitMeans expected = explicit_means(s, R);
        CAPTURE(M);
        CHECK(same_bits(ensemble.mse, expected.mse));
        CHECK(same_bits(ensemble.msd, expected.msd));
        CHECK(same_bits(ensemble.meanw, expected.meanw));
        CHECK(ensemble.first_seed == 123);
        CHECK(ensemble.last_seed == 127);
    }
}

TEST_CASE("ensemble: the same bits whatever the number of threads", "[ensemble]") {
    // R = 1000 is not a multiple of the block size (64): the last block is short.
    const Scenario s = small_scenario(100, 3, 5);
    const EnsembleResult one = run_ensemble(options_for(s, 1000, 1));
    for (int threads : {2, 3, 7}) {
        const EnsembleResult many = run_ensemble(options_for(s, 1000, threads));
        CAPTURE(threads);
        CHECK(many.threads == threads);
        CHECK(same_bits(one.mse, many.mse));
        CHECK(same_bits(one.msd, many.msd));
        CHECK(same_bits(one.meanw, many.meanw));
        CHECK(std::memcmp(&one.steady_mse, &many.steady_mse, sizeof(double)) == 0);
        CHECK(std::memcmp(&one.steady_m2, &many.steady_m2, sizeof(double)) == 0);
    }
}

TEST_CASE("ensemble: eight blocks side by side in the lanes give every block's bits", "[ensemble]") {
    // Where the lanes run, eight whole blocks go at once, realization r of each block in a lane of its own; the rest
    // a block at a time. R = 2 x 512 + 64 + 37: two such runs of eight blocks, a whole block, a short one; the last
    // seed is 2^32 - 1. Against LMSREF_SIMD=avx2 (no lanes: a block at a time, four realizations in
    // AVX2 lanes) and three threads: the same bits, curves and steady state, white and coloured input, M = 3 and 5.
    const char* saved = std::getenv("LMSREF_SIMD");
    const std::string before = saved != nullptr ? saved : "";
    const std::int64_t R = 2 * 512 + 64 + 37;
    for (std::int64_t M : {3, 5})
        for (bool coloured : {false, true}) {
            Scenario s = small_scenario(60, M, static_cast<std::uint32_t>(4294967296 - R));
            if (coloured) s.input_ar1 = 0.5;
            CAPTURE(M, coloured);
            const EnsembleResult lanes = run_ensemble(options_for(s, R, 1));
            const EnsembleResult threads = run_ensemble(options_for(s, R, 3));
            ::setenv("LMSREF_SIMD", "avx2", 1);
            const EnsembleResult avx2 = run_ensemble(options_for(s, R, 1));
            if (saved != nullptr)
                ::setenv("LMSREF_SIMD", before.c_str(), 1);
            else
                ::unsetenv("LMSREF_SIMD");
            for (const EnsembleResult* other : {&threads, &avx2}) {
                CHECK(same_bits(lanes.mse, other->mse));
                CHECK(same_bits(lanes.msd, other->msd));
                CHECK(same_bits(lanes.meanw, other->meanw));
                CHECK(std::memcmp(&lanes.steady_mse, &other->steady_mse, sizeof(double)) == 0);
                CHECK(std::memcmp(&lanes.steady_m2, &other->steady_m2, sizeof(double)) == 0);
                CHECK(lanes.largest_steady_realization == other->largest_steady_realization);
            }
        }
}

TEST_CASE("ensemble: matrices and sources give the curves of the realizations they hold", "[ensemble]") {
    // Column r of an N x R matrix holding the data of seed S + r: the same sums in the same order, so the same bits.
    const Scenario s = small_scenario(40, 4, 99);
    const std::int64_t R = 70; // two blocks
    const auto N = static_cast<std::size_t>(s.samples);
    std::vector<double> x(N * R), d(N * R);
    for (std::int64_t r = 0; r < R; ++r) {
        Scenario sr = s;
        sr.seed = s.seed + static_cast<std::uint32_t>(r);
        const Data data = generate_data(sr);
        for (std::size_t n = 0; n < N; ++n) {
            x[n * R + static_cast<std::size_t>(r)] = data.x[n];
            d[n * R + static_cast<std::size_t>(r)] = data.d[n];
        }
    }
    const EnsembleResult generated = run_ensemble(options_for(s, R, 2));
    const EnsembleResult from_matrices = run_ensemble_matrices(options_for(s, R, 3), x, d);
    CHECK_FALSE(from_matrices.generated);
    CHECK(same_bits(generated.mse, from_matrices.mse));
    CHECK(same_bits(generated.msd, from_matrices.msd));
    CHECK(same_bits(generated.meanw, from_matrices.meanw));
    std::vector<double> too_short(N * R - 1);
    CHECK_THROWS_AS(run_ensemble_matrices(options_for(s, R, 1), too_short, d), InputError);
}

TEST_CASE("ensemble: decimation keeps every m-th value of the full curves", "[ensemble]") {
    const Scenario s = small_scenario(50, 3, 11);
    const EnsembleResult full = run_ensemble(options_for(s, 100, 2));
    EnsembleOptions o = options_for(s, 100, 2);
    o.decimate = 7;
    const EnsembleResult kept = run_ensemble(o);
    // n = 0, 7, ..., 49 for e (8 values) and 0, 7, ..., 49 for w's rows 0 ... 50 (8 rows).
    REQUIRE(kept.mse.size() == 8);
    REQUIRE(kept.msd.size() == 8);
    REQUIRE(kept.meanw_rows() == 8);
    CHECK(same_bits(kept.mse, decimated(full.mse, 7)));
    CHECK(same_bits(kept.msd, decimated(full.msd, 7)));
    for (std::int64_t j = 0; j < kept.meanw_rows(); ++j)
        for (std::int64_t k = 0; k < 3; ++k) CHECK(kept.meanw[j * 3 + k] == full.meanw[(7 * j) * 3 + k]);
    CHECK(kept.sample_of(7) == 49);
    // The steady state is computed at full resolution whatever the decimation.
    CHECK(kept.steady_mse == full.steady_mse);
}

TEST_CASE("ensemble: the last seed must fit NumPy's 32 bits", "[ensemble]") {
    const Scenario s = small_scenario(10, 3, 4294967295U - 10);
    CHECK_NOTHROW(run_ensemble(options_for(s, 11, 1))); // last seed 2^32 - 1
    CHECK_THROWS_AS(run_ensemble(options_for(s, 12, 1)), InputError);
    try {
        run_ensemble(options_for(s, 12, 1));
    } catch (const InputError& error) {
        const std::string message = error.what();
        CHECK(message.find('\n') == std::string::npos);
        CHECK(message.find("4294967296") != std::string::npos);
    }
    CHECK_THROWS_AS(run_ensemble(options_for(s, 0, 1)), InputError);
    EnsembleOptions o = options_for(s, 1, 1);
    o.decimate = 0;
    CHECK_THROWS_AS(run_ensemble(o), InputError);
}

TEST_CASE("ensemble: a stop request keeps the completed blocks", "[ensemble]") {
    // With one thread the stop set after the first block is seen before the next starts: the blocks in progress are
    // kept, one (64 realizations), or the eight that share the lanes where they run (512), and the result has the
    // same bits as an ensemble of that many.
    const std::int64_t kept = legacy_lanes::available() && philox::avx512_supported() ? 512 : 64;
    const Scenario s = small_scenario(30, 3, 1);
    std::atomic<bool> stop{false};
    std::vector<std::int64_t> reported;
    EnsembleOptions o = options_for(s, 1000, 1);
    o.stop = &stop;
    o.progress = [&](std::int64_t done) {
        reported.push_back(done);
        stop = true;
    };
    const EnsembleResult stopped = run_ensemble(o);
    CHECK(stopped.stopped);
    CHECK(stopped.completed_realizations == kept);
    std::vector<std::int64_t> blocks_added;
    for (std::int64_t done = 64; done <= kept; done += 64) blocks_added.push_back(done);
    CHECK(reported == blocks_added);
    const EnsembleResult first_block = run_ensemble(options_for(s, kept, 1));
    CHECK(same_bits(stopped.mse, first_block.mse));
    CHECK(same_bits(stopped.meanw, first_block.meanw));
}

TEST_CASE("theory: the closed forms are the limits of the recursion", "[theory]") {
    // Run long enough that a^N is far below 1e-16; the fixed-point iteration then sits within a few ulps / (1 - a)
    // of its limit (here 1 - a >= 0.03: a few 1e-14 relative at worst), so 1e-12 relative.
    struct Case {
        std::int64_t M;
        double eta, sx2;
        std::vector<double> wo;
    };
    for (const Case& c :
         {Case{3, 0.02, 1.0, {0.1, 0.2, 0.3}}, Case{5, 0.05, 2.5, {0.5, -0.4, 0.3, 0.2, 0.1, 0.05, 0.02}},
          Case{2, 0.3, 0.7, {1.0, 0.5, 0.25}}}) {
        Scenario s;
        s.samples = 20000;
        s.taps = c.M;
        s.step_size = c.eta;
        s.wo = c.wo;
        for (StartModel start : {StartModel::stationary, StartModel::prewindowed}) {
            const TheoryPrediction t = predict(s, c.sx2, start);
            REQUIRE_FALSE(t.past_mean_square_bound);
            CHECK(std::pow(t.a, 20000.0) < 1e-100);
            CAPTURE(c.M, c.eta, c.sx2, static_cast<int>(start));
            CHECK(relative_difference(c.sx2 * t.msd_curve.back(), t.emse) <= 1e-12);
            CHECK(relative_difference(t.msd_curve.back(), t.msd) <= 1e-12);
            CHECK(relative_difference(t.mse_curve.back(), t.mse) <= 1e-12);
            CHECK(relative_difference(t.emse / t.j_min, t.misadjustment) <= 1e-12);
        }
    }
    // J_min and the bounds, by hand: wo beyond M = [0.1, 0.05, 0.02] for M = 4 of a 7-tap wo.
    Scenario s;
    s.taps = 4;
    s.wo = {0.5, -0.4, 0.3, 0.2, 0.1, 0.05, 0.02};
    const TheoryPrediction t = predict(s, 2.0);
    CHECK(t.j_min == Approx(0.01 + 2.0 * (0.01 + 0.0025 + 0.0004)).epsilon(1e-14));
    CHECK(t.mean_bound == 1.0);
    CHECK(t.mean_square_bound == Approx(1.0 / 6.0).epsilon(1e-15));
}

TEST_CASE("theory: the simulated steady state is within 1% of the prediction (eta = 0.02, M = 3)", "[theory]") {
    // R = 20000, fixed seed: deterministic. The standard error of the steady-state MSE is about 0.1% here (checked
    // below), so 1% leaves room for the independence assumption's small bias while still catching a wrong formula
    // (a factor of 2 in eta moves the predicted MSE by 3%).
    const EnsembleResult& ensemble = slow_step_ensemble();
    const TheoryPrediction t = predict(slow_step_scenario(), 1.0);
    const SteadyStateComparison c = compare_steady_state(ensemble, t);
    CHECK(c.first_sample == 375);
    CHECK(c.mse_standard_error < 0.002 * c.mse);
    CHECK(std::abs(c.relative_gap) < 0.01);
    CHECK(std::abs(c.mse - t.mse) / t.mse == Approx(std::abs(c.relative_gap)));
    // The steady state is the mean of the curve over the window (up to the order of the additions).
    double window = 0.0;
    for (std::size_t n = 375; n < 500; ++n) window += ensemble.mse[n];
    CHECK(c.mse == Approx(window / 125).epsilon(1e-12));
    WARN("steady state: simulated " << c.mse << " +- " << c.mse_standard_error << ", predicted " << t.mse << ", gap "
                                    << c.relative_gap << " (" << c.gap_in_standard_errors
                                    << " standard errors), EMSE gap " << c.emse_relative_gap);
}

TEST_CASE("theory: the transient follows the prediction after the first 5M samples", "[theory]") {
    // mse[n] averages R values of e_r(n)^2. With e(n) Gaussian of variance MSE(n), e^2 has variance 2 MSE(n)^2, so
    // mse[n] has a standard error of MSE(n) sqrt(2 / R) = 1% of MSE(n) for R = 20000. Over the 485 samples checked,
    // the largest of 485 (correlated) standard normals stays below about 3.5, and the independence assumption adds a
    // bias of order eta: 5 standard errors, i.e. 5% relative.
    const EnsembleResult& ensemble = slow_step_ensemble();
    const TheoryPrediction t = predict(slow_step_scenario(), 1.0);
    const double standard_error = std::sqrt(2.0 / 20000.0);
    double worst = 0.0;
    for (std::size_t n = 15; n < 500; ++n)
        worst = std::max(worst, std::abs(ensemble.mse[n] - t.mse_curve[n]) / (t.mse_curve[n] * standard_error));
    WARN("transient: largest gap after 5M samples " << worst << " standard errors");
    CHECK(worst < 5.0);
}

TEST_CASE("theory: the pre-windowed start fits the first M samples better than the stationary recursion", "[theory]") {
    // Over n = 0 ... M - 1 the stationary recursion counts taps that hold no data yet: MSE(0) = J_min + ||wo||^2
    // = 0.15 against the true sigmav2 + wo_0^2 = 0.02. The pre-windowed one is exact at n = 0 (within 5 standard
    // errors, as above) and closer at every one of the first M samples. M = 3 and M = 6 (more taps start empty).
    for (std::int64_t M : {3, 6}) {
        Scenario s = slow_step_scenario();
        s.taps = M;
        s.samples = 2 * M;
        const EnsembleResult ensemble = run_ensemble(options_for(s, 20000, 0));
        const TheoryPrediction windowed = predict(s, 1.0, StartModel::prewindowed);
        const TheoryPrediction stationary = predict(s, 1.0, StartModel::stationary);
        const double standard_error = std::sqrt(2.0 / 20000.0);
        CAPTURE(M);
        CHECK(std::abs(ensemble.mse[0] - windowed.mse_curve[0]) < 5 * standard_error * windowed.mse_curve[0]);
        double windowed_error = 0.0, stationary_error = 0.0;
        for (std::size_t n = 0; n < static_cast<std::size_t>(M); ++n) {
            const double w = std::abs(ensemble.mse[n] - windowed.mse_curve[n]) / ensemble.mse[n];
            const double p = std::abs(ensemble.mse[n] - stationary.mse_curve[n]) / ensemble.mse[n];
            CAPTURE(n, ensemble.mse[n], windowed.mse_curve[n], stationary.mse_curve[n]);
            CHECK(w < p);
            windowed_error += w;
            stationary_error += p;
        }
        WARN("first " << M << " samples: mean relative error " << windowed_error / static_cast<double>(M)
                      << " pre-windowed, " << stationary_error / static_cast<double>(M) << " stationary");
        CHECK(windowed_error < 0.1 * stationary_error);
    }
}

TEST_CASE("theory: a step past the mean-square bound is reported, and the ensemble grows", "[theory]") {
    // M = 3, sx2 = 1: the mean-square bound is 2/5 = 0.4. eta = 0.6 is past it (a = 1.6), below the mean bound 2.
    Scenario s = small_scenario(1000, 3, 3);
    s.step_size = 0.6;
    const TheoryPrediction t = predict(s, 1.0);
    CHECK(t.past_mean_square_bound);
    CHECK_FALSE(t.past_mean_bound);
    CHECK(t.a == Approx(1.6).epsilon(1e-15));
    CHECK(std::isinf(t.emse));
    CHECK(std::isinf(t.misadjustment));
    CHECK(t.msd_curve[100] > 1e6 * t.msd_curve[0]); // the prediction grows, returned as it is
    CHECK_FALSE(predict(small_scenario(500, 3, 0), 1.0).past_mean_square_bound); // the notebook's eta = 0.1
    // The simulation grows too (the tapped delay line is somewhat more stable than the independence assumption
    // says, so it grows more slowly than a^n: about 1e21 times J_min here, so 1e10 is a wide margin).
    const EnsembleResult grown = run_ensemble(options_for(s, 64, 2));
    CHECK(grown.steady_mse > 1e10 * t.j_min);
    // eta = 1.2 leaves float64's range within 1000 samples: the result says so.
    s.step_size = 1.2;
    CHECK_FALSE(run_ensemble(options_for(s, 64, 2)).finite);
    s.step_size = 2.5; // past both bounds
    CHECK(predict(s, 1.0).past_mean_bound);
}

TEST_CASE("theory: the mean weights follow (1 - eta sx2)^(n - k) towards wo, tap k from sample k on", "[theory]") {
    // E w_k(n) = wo_k (1 - (1 - eta sx2)^(n - k)) for n > k (0 before): closed form against the recursion, then
    // against the simulation. The simulated mean of a tap has a standard error of about sqrt(MSD(n) / (M R)),
    // at most sqrt(0.14 / 3 / 20000) = 1.5e-3 at the start and 1.3e-4 in the steady state; 6 of the largest
    // (1e-2) would let a wrong exponent or a tap started one sample off through, so the check is relative to
    // each sample's own standard error, within 5 (the largest of 1503 correlated normals stays below about 4).
    const Scenario s = slow_step_scenario();
    const TheoryPrediction t = predict(s, 1.0);
    const std::size_t M = 3;
    for (std::size_t n : {0, 1, 2, 3, 10, 100, 500})
        for (std::size_t k = 0; k < M; ++k) {
            const double expected = n > k ? s.wo[k] * (1.0 - std::pow(1.0 - 0.02, static_cast<double>(n - k))) : 0.0;
            CAPTURE(n, k);
            CHECK(t.meanw_curve[n * M + k] == Approx(expected).epsilon(1e-12).margin(1e-300));
        }
    const EnsembleResult& ensemble = slow_step_ensemble();
    double worst = 0.0;
    for (std::size_t n = 1; n <= 500; ++n) {
        const double standard_error = std::sqrt(t.msd_curve[n] / M / 20000.0);
        for (std::size_t k = 0; k < M; ++k)
            worst = std::max(worst, std::abs(ensemble.meanw[n * M + k] - t.meanw_curve[n * M + k]) / standard_error);
    }
    WARN("mean weights: largest gap " << worst << " standard errors");
    CHECK(worst < 5.0);
}

namespace {

// The numpy loop as a batched stage, in plain C++: what every LibTorch batched stage computes, realization by
// realization, with the loop's exact arithmetic.
void plain_batched(const BatchedInput& in, const BatchedTrajectories& out) {
    const auto N = static_cast<std::size_t>(in.N);
    const auto M = static_cast<std::size_t>(in.M);
    const auto C = static_cast<std::size_t>(in.C);
    for (std::size_t c = 0; c < C; ++c) {
        Data data;
        for (std::size_t n = 0; n < N; ++n) {
            data.x.push_back(in.x[n * C + c]);
            data.d.push_back(in.d[n * C + c]);
        }
        const PlainRun run = plain_lms(data, M, in.eta);
        for (std::size_t n = 0; n < N; ++n) out.e[n * C + c] = run.e[n];
        for (std::size_t n = 0; n <= N; ++n)
            for (std::size_t k = 0; k < M; ++k) out.w[(n * M + k) * C + c] = run.w[n][k];
    }
}

} // namespace

TEST_CASE("ensemble: a batched stage's curves do not depend on the chunk or the threads", "[ensemble]") {
    // R = 200: three whole blocks and a partial one. Chunks of one block, two blocks, and 1000 (all of R) give the
    // plain engine's bits: add_trajectory adds what add_group adds, in the same order.
    for (const std::int64_t M : {3, 10}) {
        const Scenario s = small_scenario(90, M, 5);
        const EnsembleResult plain = run_ensemble(options_for(s, 200, 2));
        for (const std::int64_t chunk : {64, 128, 1000})
            for (const int threads : {1, 3}) {
                CAPTURE(M, chunk, threads);
                BatchedOptions batched;
                batched.stage = plain_batched;
                batched.chunk = chunk;
                const EnsembleResult result = run_ensemble_batched(options_for(s, 200, threads), batched);
                CHECK(same_bits(result.mse, plain.mse));
                CHECK(same_bits(result.msd, plain.msd));
                CHECK(same_bits(result.meanw, plain.meanw));
                CHECK(result.steady_mse == plain.steady_mse);
                CHECK(result.steady_m2 == plain.steady_m2);
                CHECK(result.completed_realizations == 200);
            }
    }
    CHECK(ensemble_chunk(500, 3, 100000, 0) == 2624); // 32e6 / (8 (N + 1) M) = 2661, in whole blocks
    CHECK(ensemble_chunk(500, 3, 1000, 1000) == 960); // whole blocks
    CHECK(ensemble_chunk(100000, 16, 1000, 0) == 64); // at least one block
    CHECK(ensemble_chunk(500, 3, 100, 0) == 128);     // never more than R in whole blocks
    CHECK(ensemble_chunk(500, 3, 10000, 100) == 64);  // whole blocks
    CHECK(ensemble_chunk(500, 3, 10000, 1) == 64);
}

TEST_CASE("ensemble: a batched stage's chunk on CUDA is sized by memory (all of R where it fits)", "[ensemble]") {
    // N = 500, M = 3: 8 (5 N + (N + 1) M) = 32024 bytes a realization on the host (a quarter of it used),
    // 16 (3 N + (N + 1) M) = 48048 on the device (half of it used).
    const double GiB = 1024.0 * 1024.0 * 1024.0;
    CHECK(ensemble_chunk(500, 3, 1000000, 0, Device::cuda, 128 * GiB, 141e9) == 1000000);  // the H200 machine
    CHECK(ensemble_chunk(500, 3, 10000000, 0, Device::cuda, 128 * GiB, 141e9) == 1072896); // 32 GiB / 32024
    CHECK(ensemble_chunk(500, 3, 10000000, 0, Device::cuda, 1e12, 4e9) == 41600);          // 2e9 / 48048
    CHECK(ensemble_chunk(500, 3, 1000, 0, Device::cuda, 1e12, 1e12) == 1024);              // R in whole blocks
    CHECK(ensemble_chunk(500, 3, 100000, 0, Device::cuda, 1e6, 1e6) == 64);                // at least one block
    CHECK(ensemble_chunk(500, 3, 10000, 100, Device::cuda) == 64);                         // --chunk as asked
    CHECK(ensemble_chunk(500, 3, 100000, 0, Device::cpu, 1e12, 1e12) == 2624);             // the CPU's: its cache
    CHECK(ensemble_chunk(500, 3, 1000000, 0, Device::cuda) >= 64);                         // this machine's memory
}

TEST_CASE("ensemble: diverged realizations and the largest one are those of the explicit runs", "[ensemble]") {
    // eta = 0.6 is past the mean-square bound 0.4: some of 200 realizations blow up within N = 500, most do not. The
    // explicit runs of seeds S ... S + R - 1 say which: the steady-state mean e^2 (last quarter) above
    // 1e12 (||wo||^2 + sigmav2) or not finite. R = 200 spans four blocks, the last one short.
    Scenario s = small_scenario(500, 3, 0);
    s.step_size = 0.6;
    const std::int64_t R = 200;
    const double level = 1e12 * (0.01 + 0.1 * 0.1 + 0.2 * 0.2 + 0.3 * 0.3);
    std::vector<std::int64_t> diverged;
    double largest = -1.0;
    std::int64_t largest_at = -1;
    for (std::int64_t r = 0; r < R; ++r) {
        Scenario sr = s;
        sr.seed = static_cast<std::uint32_t>(r);
        const PlainRun run = plain_lms(generate_data(sr), 3, s.step_size);
        double steady = 0.0;
        for (std::size_t n = 375; n < 500; ++n) steady += run.e[n] * run.e[n];
        steady /= 125.0;
        if (!(steady <= level)) diverged.push_back(r);
        if (steady > largest) {
            largest = steady;
            largest_at = r;
        }
    }
    REQUIRE(diverged.size() > 3);   // the case tests something: several diverge ...
    REQUIRE(diverged.size() < 100); // ... and many do not
    for (int threads : {1, 3}) {
        const EnsembleResult result = run_ensemble(options_for(s, R, threads));
        CAPTURE(threads);
        CHECK(result.divergence_level == level);
        CHECK(result.diverged == static_cast<std::int64_t>(diverged.size()));
        CHECK(result.first_diverged == std::vector<std::int64_t>(diverged.begin(), diverged.begin() + 3));
        CHECK(result.largest_steady_realization == largest_at);
        CHECK(result.largest_steady == Approx(largest).epsilon(1e-12)); // the same terms, summed in the same order
    }
    // Matrices of the same data: the level from the measured mean(d^2), the same realizations.
    std::vector<double> x(500 * R), d(500 * R);
    double d_power = 0.0;
    for (std::int64_t r = 0; r < R; ++r) {
        Scenario sr = s;
        sr.seed = static_cast<std::uint32_t>(r);
        const Data data = generate_data(sr);
        for (std::size_t n = 0; n < 500; ++n) {
            x[n * R + static_cast<std::size_t>(r)] = data.x[n];
            d[n * R + static_cast<std::size_t>(r)] = data.d[n];
        }
    }
    for (double value : d) d_power += value * value;
    EnsembleOptions from_files = options_for(s, R, 2);
    const EnsembleResult matrices = run_ensemble_matrices(from_files, x, d);
    CHECK(matrices.divergence_level == 1e12 * (d_power / static_cast<double>(d.size())));
    CHECK(matrices.largest_steady_realization == largest_at);
}

TEST_CASE("ensemble: a realization that dominates the mean is found on every back end alike", "[ensemble]") {
    // eta = 0.38, just below the bound: no realization diverges, but one of 3000 holds a large share of the mean.
    // The plain loop, philox's data and the threads agree on the record; the batched path is checked in
    // test_ensemble_cli.cpp.
    Scenario s = small_scenario(500, 3, 0);
    s.step_size = 0.38;
    const EnsembleResult one = run_ensemble(options_for(s, 3000, 1));
    const EnsembleResult many = run_ensemble(options_for(s, 3000, 3));
    CHECK(one.diverged == 0);
    CHECK(one.largest_steady_realization == many.largest_steady_realization);
    CHECK(std::memcmp(&one.largest_steady, &many.largest_steady, sizeof(double)) == 0);
    CHECK(one.largest_steady_share() > 0.1);
    EnsembleOptions philox = options_for(s, 3000, 1);
    philox.rng = Rng::philox;
    EnsembleOptions philox_threads = philox;
    philox_threads.threads = 3;
    const EnsembleResult a = run_ensemble(philox), b = run_ensemble(philox_threads);
    CHECK(a.largest_steady_realization == b.largest_steady_realization);
    CHECK(std::memcmp(&a.largest_steady, &b.largest_steady, sizeof(double)) == 0);
    CHECK(a.diverged == b.diverged);
}
