// Divergence: the warning before any work when eta is at or above the mean-square stability bound, the detection of
// a diverging filter by the growth of its weights (not only by overflow), compare's tolerance relative to the
// weights' scale, and generated data that overflows.
//
// The sample indices and bounds below come from NumPy: the notebook's data and `lms` loop run in Python
// (/usr/bin/python3) with the threshold rule of runner.cpp:
//   np.random.seed(seed); x = np.random.randn(N, 1)
//   d = signal.lfilter(wo, 1, x.squeeze()) + np.sqrt(sigmav2) * np.random.randn(N)
//   w = lms(x, d, eta, M)                                   # the notebook's loop, (N + 1) x M
//   T = 1e6 * (norm(w[0]) + rms(d) / rms(x)); beyond = ~(norm(w[1:], axis=1) <= T), True from the first non-finite row
//   sample = 1 + the last index where beyond is False, when beyond[-1]
// which gives, on the default scenario (N 500, M 3, sigmav2 0.01, wo [0.1, 0.2, 0.3], seed 0): T = 386953.40165737,
// sx2 = 0.99695979974948, bound 2 / ((M + 2) sx2) = 0.40121978850152 (M 3) and 0.019667636691251 (M 100);
// eta 1: sample 34, eta 5: sample 6, M 100: sample 107; and with --wo 1e308,1e308,1e308, d[1] = inf is d's first
// non-finite sample.
#include "cli_support.hpp"
#include "core/errors.hpp"
#include "stages/registry.hpp"
#include "stages/runner.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

using namespace lmsref;
using namespace lmsref::test;

namespace {

Scenario scenario_with(double eta, std::int64_t taps = 3, std::int64_t samples = 500) {
    Scenario scenario;
    scenario.step_size = eta;
    scenario.taps = taps;
    scenario.samples = samples;
    return scenario;
}

/// The largest ||w(i)|| of a trajectory.
double largest_norm(const Array2D& w) {
    double largest = 0.0;
    for (std::size_t r = 0; r < w.rows; ++r)
        largest = std::max(largest, distance(w.row(r), std::vector<double>(w.cols)));
    return largest;
}

/// A one-tap trajectory whose weights after sample i are norms[i]; row 0 is 0.
Trajectory one_tap(const std::vector<double>& norms) {
    Trajectory trajectory;
    trajectory.w = Array2D(norms.size() + 1, 1);
    for (std::size_t i = 0; i < norms.size(); ++i) trajectory.w(i + 1, 0) = norms[i];
    return trajectory;
}

} // namespace

TEST_CASE("the stability warning names eta, the bound and what to expect, at or above the bound only", "[divergence]") {
    Scenario scenario = scenario_with(0.1);
    const Data data = generate_data(scenario);
    // The measured input power and the bound, to the last bits NumPy's mean and 2 / (5 sx2) round differently (the
    // sum runs in another order): 1e-14 relative.
    REQUIRE(input_power(data.x) == Approx(0.99695979974948).epsilon(1e-14));
    const double bound = stability_bound(3, input_power(data.x));
    REQUIRE(bound == Approx(0.40121978850152).epsilon(1e-14));
    REQUIRE_FALSE(stability_warning(scenario, data)); // the notebook's eta 0.1

    scenario.step_size = std::nextafter(bound, 0.0);
    REQUIRE_FALSE(stability_warning(scenario, data));
    scenario.step_size = bound; // "at or above"
    REQUIRE(stability_warning(scenario, data));

    scenario.step_size = 1.0;
    const std::optional<std::string> warning = stability_warning(scenario, data);
    REQUIRE(warning);
    REQUIRE(*warning == "eta = 1 is at or above the mean-square stability bound 0.401 = 2/((M + 2) sx2) for M = 3 and "
                        "the input power sx2 = 0.997 measured on x: the filter will probably diverge rather than "
                        "converge (if it does: exit code 2, nothing written)");
    REQUIRE(warning->find('\n') == std::string::npos);

    scenario = scenario_with(0.1, 100); // the default eta is too large for 100 taps
    REQUIRE_THAT(stability_warning(scenario, data).value_or(""),
                 Catch::StartsWith("eta = 0.1 is at or above the mean-square stability bound 0.0197 ") &&
                     Catch::Contains("for M = 100 "));
}

TEST_CASE("the divergence threshold is a million times the data's weight scale", "[divergence]") {
    const Data data = generate_data(Scenario{});
    // NumPy's 1e6 (||w_0|| + rms(d) / rms(x)) with w_0 = 0; lmsref scales the sums against overflow, so the last bits
    // differ: 1e-13 relative.
    REQUIRE(divergence_threshold(data, {0.0, 0.0, 0.0}) == Approx(386953.40165737).epsilon(1e-13));
    // nn::Linear's init counts: it is where that filter starts.
    REQUIRE(divergence_threshold(data, {0.0, 3.0, 4.0}) ==
            Approx(divergence_threshold(data, {0.0, 0.0, 0.0}) + 5e6).epsilon(1e-15));
    // x = 0: no update ever moves the weights, so nothing can diverge; d = 0 and w_0 = 0: the weights stay 0.
    REQUIRE(std::isinf(divergence_threshold({{0.0, 0.0}, {1.0, 2.0}, {}}, {0.0})));
    REQUIRE(divergence_threshold({{1.0, 2.0}, {0.0, 0.0}, {}}, {0.0}) == 0.0);
    REQUIRE_NOTHROW(check_divergence("numpy", one_tap({0.0, 0.0}), {{1.0, 2.0}, {0.0, 0.0}, {}}, Scenario{}));
    // Values beyond 1e154 whose squares overflow are measured without overflow.
    const Data huge{{1e200, -1e200}, {1e200, 1e200}, {}};
    REQUIRE(divergence_threshold(huge, {0.0}) == Approx(1e6).epsilon(1e-15));
}

TEST_CASE("only where the weights end counts: a burst that comes back is no divergence", "[divergence]") {
    // Synthetic one-tap trajectories against x = d = [1, -1, 1, -1] (threshold 1e6 exactly).
    const Data data{{1.0, -1.0, 1.0, -1.0}, {1.0, -1.0, 1.0, -1.0}, {}};
    REQUIRE(divergence_threshold(data, {0.0}) == 1e6);
    const Scenario scenario;
    REQUIRE_NOTHROW(check_divergence("numpy", one_tap({1.0, 1e6, 2.0, 1.0}), data, scenario)); // at, not past
    REQUIRE_NOTHROW(check_divergence("numpy", one_tap({1.0, 5e9, 2.0, 1.0}), data, scenario)); // came back
    try {
        check_divergence("sgd", one_tap({2e6, 1.0, 3e6, 4e6}), data, scenario);
        FAIL("no divergence reported");
    } catch (const DivergenceError& error) {
        REQUIRE(error.sample() == 2); // the first sample of the last excursion, not the first one
        REQUIRE_THAT(error.what(), Catch::StartsWith("sgd: diverged at sample 2 (||w|| passed 1e+06 = 1e6 (||w_0|| + "
                                                     "rms(d)/rms(x)) and never came back: 4e+06 at the end); "));
    }
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    REQUIRE_THROWS_WITH(check_divergence("numpy", one_tap({1.0, 2e6, inf, nan}), data, scenario),
                        Catch::StartsWith("numpy: diverged at sample 1 (||w|| passed 1e+06 = 1e6 (||w_0|| + "
                                          "rms(d)/rms(x)) and stopped being finite at sample 2); "));
    REQUIRE_THROWS_WITH(check_divergence("numpy", one_tap({1.0, nan, nan, nan}), data, scenario),
                        Catch::StartsWith("numpy: diverged at sample 1 (the weights stopped being finite); "));
    // A finite weight whose square overflows is beyond the threshold, not "not finite".
    REQUIRE_THROWS_WITH(check_divergence("numpy", one_tap({1.0, 1e300}), data, scenario),
                        Catch::Contains("at sample 1 (||w|| passed 1e+06") && Catch::Contains("1e+300 at the end"));
}

TEST_CASE("eta 1, eta 5 and 100 taps diverge, in every stage, at NumPy's sample", "[divergence]") {
    struct Case {
        Scenario scenario;
        std::size_t sample; // from NumPy, see the top of this file
    };
    for (const Case& c :
         {Case{scenario_with(1.0), 34}, Case{scenario_with(5.0), 6}, Case{scenario_with(0.1, 100), 107}}) {
        CAPTURE(c.scenario.step_size, c.scenario.taps);
        const Data data = generate_data(c.scenario);
        try {
            run_stage(stages().front(), data, c.scenario, Device::cpu);
            FAIL("numpy did not diverge");
        } catch (const DivergenceError& error) {
            REQUIRE(error.sample() == c.sample);
            REQUIRE_THAT(
                error.what(),
                Catch::StartsWith("numpy: diverged at sample " + std::to_string(c.sample) +
                                  " (||w|| passed 3.87e+05 = 1e6 (||w_0|| + rms(d)/rms(x)) and never came back") &&
                    Catch::EndsWith(c.scenario.taps == 3 ? "must stay below about 0.401"
                                                         : "must stay below about 0.0197"));
        }
        // compare: every stage diverges (a failure, exit 2), none is a mismatch. The zero-init stages compute the
        // same recursion as numpy, so they pass the threshold at the same sample; linear starts elsewhere.
        const Comparison comparison = compare_stages(data, c.scenario, Device::cpu, 1e-12);
        REQUIRE(comparison.failed());
        REQUIRE_FALSE(comparison.agrees());
        for (const StageComparison& stage : comparison.stages) {
            CAPTURE(stage.stage->name);
            REQUIRE_FALSE(stage.run);
            REQUIRE(stage.diverged);
            REQUIRE_THAT(stage.failure, Catch::StartsWith(std::string(stage.stage->name) + ": diverged at sample "));
            if (stage.stage->starts_from_zero)
                REQUIRE_THAT(stage.failure, Catch::Contains("at sample " + std::to_string(c.sample) + " ("));
        }
    }
}

TEST_CASE("filters just under the bound converge in every stage, for 1 to 64 taps", "[divergence]") {
    // eta = 0.99 of the bound measured on the data. (At 0.999 a 64-tap filter can end nearly 1e9 times beyond the
    // data's scale after 1e5 samples: it has not converged, and lmsref says so.)
    for (std::int64_t taps : {1, 2, 3, 8, 16, 32, 64}) {
        CAPTURE(taps);
        Scenario scenario = scenario_with(0.1, taps, 2000); // eta: set below, from the data
        const Data data = generate_data(scenario);
        scenario.step_size = 0.99 * stability_bound(taps, input_power(data.x));
        REQUIRE_FALSE(stability_warning(scenario, data));
        const Comparison comparison = compare_stages(data, scenario, Device::cpu, 1e-12);
        for (const StageComparison& stage : comparison.stages) {
            CAPTURE(stage.stage->name, stage.failure);
            REQUIRE(stage.run);
        }
        // Tolerance 1e-12 relative, the stages' own (tests/test_stages.cpp): near the bound too, the zero-init
        // stages stay within rounding of numpy (measured: at most 3e-14).
        REQUIRE(comparison.agrees());
    }
}

TEST_CASE("long runs just under the bound do not trip, also through bursts that pass the threshold", "[divergence]") {
    // numpy only (the LibTorch stages take ~20 us a sample). eta = 0.99 of the measured bound.
    struct Case {
        std::int64_t taps;
        std::int64_t samples;
        std::uint32_t seed;
    };
    std::vector<Case> cases{{3, 1000000, 0}, {8, 1000000, 0}};
    for (std::int64_t taps : {1, 2, 3, 8, 16, 32, 64}) cases.push_back({taps, 100000, 1});
    bool burst_seen = false;
    for (const Case& c : cases) {
        CAPTURE(c.taps, c.samples, c.seed);
        Scenario scenario = scenario_with(0.1, c.taps, c.samples); // eta: set below, from the data
        scenario.seed = c.seed;
        const Data data = generate_data(scenario);
        scenario.step_size = 0.99 * stability_bound(c.taps, input_power(data.x));
        const StageRun run = run_stage(stages().front(), data, scenario, Device::cpu); // no DivergenceError
        const Array2D& w = run.trajectory.w;
        const double threshold = divergence_threshold(data, w.row(0));
        // It ends at the data's scale: 1e-3 of the threshold is 1000 times the scale (measured: at most about 60).
        REQUIRE(distance(w.row(w.rows - 1), std::vector<double>(w.cols)) < 1e-3 * threshold);
        // An outlier of x sits in M consecutive regressors; near the bound the weights burst, then come back
        // (M = 8, N = 1e6, seed 0: about 10 times the threshold around sample 45104).
        burst_seen |= largest_norm(w) > threshold;
    }
    REQUIRE(burst_seen);
}

TEST_CASE("compare's tolerance is relative to the weights' scale", "[divergence]") {
    Scenario scenario;
    scenario.samples = 300;
    scenario.wo = {1e6, -2e6, 3e6}; // weights of order 1e6, whose rounding differences exceed 1e-12
    scenario.noise_variance = 1e10;
    const Data data = generate_data(scenario);
    const Comparison comparison = compare_stages(data, scenario, Device::cpu, 1e-12);
    const Array2D& numpy = comparison.stages.front().run->trajectory.w;
    bool absolute_beyond = false;
    for (const StageComparison& c : comparison.stages) {
        CAPTURE(c.stage->name);
        REQUIRE(c.run);
        // Both measures, recomputed here from the trajectories.
        const Array2D& w = c.run->trajectory.w;
        double absolute = 0.0;
        double scaled = 0.0;
        for (std::size_t k = 0; k < w.values.size(); ++k) {
            absolute = std::max(absolute, std::abs(w.values[k] - numpy.values[k]));
            scaled =
                std::max(scaled, std::abs(w.values[k] - numpy.values[k]) / std::max(1.0, std::abs(numpy.values[k])));
        }
        REQUIRE(c.max_deviation == absolute);
        REQUIRE(c.max_scaled_deviation == scaled);
        REQUIRE(c.within(1e-12) == (scaled <= 1e-12));
        if (c.stage->starts_from_zero) absolute_beyond |= absolute > 1e-12;
    }
    REQUIRE(absolute_beyond);     // an absolute tolerance would call rounding a mismatch here...
    REQUIRE(comparison.agrees()); // ...the relative one does not
    // For weights below 1 the measure stays absolute.
    const Comparison small = compare_stages(generate_data(Scenario{}), Scenario{}, Device::cpu, 1e-12);
    for (const StageComparison& c : small.stages) REQUIRE(c.max_scaled_deviation == c.max_deviation);
}

TEST_CASE("generated data that overflows is refused naming --wo and the first non-finite sample", "[divergence]") {
    Scenario scenario;
    scenario.wo = {1e308, 1e308, 1e308};
    REQUIRE_THROWS_AS(generate_data(scenario), InputError);
    REQUIRE_THROWS_WITH(generate_data(scenario), "wo: d = lfilter(wo, 1, x) + noise overflows float64: d[1] = inf "
                                                 "is its first non-finite sample; use smaller coefficients");
    scenario.wo = {1e307, 1e307, 1e307}; // large but finite: accepted
    REQUIRE_NOTHROW(generate_data(scenario));
}

TEST_CASE("cli: a diverged compare is a failure, not a mismatch, and writes nothing", "[divergence][cli]") {
    TemporaryDir dir;
    const Result result = run_lmsref("compare --eta 5 --out-dir out", "", dir.path());
    INFO(result.output);
    REQUIRE(result.exit_code == 2);
    REQUIRE_THAT(result.output, Catch::Contains("DIVERGED") && Catch::Contains("numpy: diverged at sample 6 (") &&
                                    Catch::Contains("nothing was written: a stage failed"));
    REQUIRE_THAT(result.output, !Catch::Contains("MISMATCH"));
    REQUIRE(std::filesystem::is_empty(dir.path()));
}
