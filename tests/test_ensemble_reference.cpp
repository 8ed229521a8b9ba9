// The Monte Carlo ensemble (src/ensemble/ensemble.hpp) against NumPy: data/reference/ensemble/<name>/ holds the
// notebook's own `lms` run on the data of seeds S ... S + R - 1 and averaged with NumPy (scripts/make_reference.py).
//
// Tolerance: 1e-12 relative, |got - expected| <= 1e-12 max(|expected|, smallest normal). Each realization's loop is
// the notebook's `lms`, bit for bit (checked below for R = 1 against the numpy stage's reference), so only the order
// of the additions can differ. np.mean over the realizations adds them one after another; the engine does too within
// a block of 64, but then adds the block sums, so from R = 65 on the mean is the same sum rounded differently. And
// np.sum over the taps of msd uses NumPy's pairwise summation (eight partial sums for 8 taps or more) where the
// engine adds the taps in order. Either way each curve value is a few ulps from the exact mean; the relative error
// grows only where the sum cancels (the mean weights of taps whose wo is zero). Measured: the same bits for R <= 64
// and M <= 8; msd 4e-16 for M = 10; 7e-16 (mse), 2e-15 (msd), 9e-14 (meanw) over three blocks. 1e-12 is 10 times
// that, yet far below any real difference (a wrong seed, sample or tap moves the curves by 1e-3 or more).
#include "ensemble/ensemble.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace lmsref;
using namespace lmsref::test;

namespace {

/// One reference ensemble: the parameters it was made with and NumPy's curves.
struct EnsembleReference {
    std::string name;
    Scenario scenario;
    std::int64_t realizations = 0;
    std::vector<double> mse;   // N
    std::vector<double> msd;   // N + 1
    std::vector<double> meanw; // (N + 1) x M, row-major
};

/// ensemble/<name>/: params.txt (the scenarios' "key value" lines, plus R) and the curves.
EnsembleReference ensemble_reference(const std::string& name) {
    EnsembleReference reference;
    reference.name = name;
    const std::string folder = "ensemble/" + name + "/";
    const ReferenceScenario parameters = reference_scenario("ensemble/" + name);
    reference.scenario = parameters.scenario;
    reference.realizations = parameters.realizations;
    const Scenario& s = reference.scenario;
    reference.mse = reference_array(folder + "mse.npy").values;
    reference.msd = reference_array(folder + "msd.npy").values;
    const Array2D meanw = reference_array(folder + "meanw.npy");
    if (meanw.rows != static_cast<std::size_t>(s.samples + 1) || meanw.cols != static_cast<std::size_t>(s.taps))
        throw std::runtime_error(folder + "meanw.npy: not (N + 1) x M");
    reference.meanw = meanw.values;
    return reference;
}

/// Every folder of data/reference/ensemble, sorted.
std::vector<std::string> ensemble_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(reference_path("ensemble")))
        if (entry.is_directory()) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

EnsembleOptions options_for(const EnsembleReference& reference, int threads, std::int64_t decimate = 1) {
    EnsembleOptions o;
    o.scenario = reference.scenario;
    o.realizations = reference.realizations;
    o.threads = threads;
    o.decimate = decimate;
    return o;
}

/// Every m-th value (n = 0, m, 2m, ...) of a curve, or of the rows of an M-column row-major matrix.
std::vector<double> every(const std::vector<double>& values, std::size_t m, std::size_t columns = 1) {
    std::vector<double> kept;
    for (std::size_t row = 0; row * columns < values.size(); row += m)
        kept.insert(kept.end(), values.begin() + static_cast<std::ptrdiff_t>(row * columns),
                    values.begin() + static_cast<std::ptrdiff_t>((row + 1) * columns));
    return kept;
}

/// The worst |got - expected| / max(|expected|, smallest normal) and where it is.
struct Worst {
    double relative = 0.0;
    std::size_t index = 0;
};

Worst worst_relative(const std::vector<double>& got, const std::vector<double>& expected) {
    Worst worst;
    for (std::size_t j = 0; j < expected.size(); ++j) {
        const double scale = std::max(std::abs(expected[j]), std::numeric_limits<double>::min());
        const double relative = std::abs(got[j] - expected[j]) / scale;
        if (!(relative <= worst.relative)) worst = {relative, j}; // NaN counts as the worst
    }
    return worst;
}

constexpr double tolerance = 1e-12;

/// Checks one curve against NumPy's: the same length, every value within the tolerance.
void check_curve(const char* curve, const std::vector<double>& got, const std::vector<double>& expected) {
    CAPTURE(curve, got.size(), expected.size());
    REQUIRE(got.size() == expected.size());
    const Worst worst = worst_relative(got, expected);
    CAPTURE(worst.relative, worst.index, got[worst.index], expected[worst.index]);
    CHECK(worst.relative <= tolerance);
}

} // namespace

TEST_CASE("ensemble reference: the set covers partial and several blocks, M below and above len(wo), a run-time M",
          "[ensemble]") {
    // What the other test cases rely on the reference set to exercise (scripts/make_reference.py, ENSEMBLES).
    const std::vector<std::string> names = ensemble_names();
    REQUIRE(names.size() >= 3);
    bool partial_block = false, several_blocks = false, cut = false, padded = false, odd_n = false, run_time_m = false,
         high_seed = false, has_default = false;
    for (const std::string& name : names) {
        const EnsembleReference reference = ensemble_reference(name);
        const Scenario& s = reference.scenario;
        CAPTURE(name);
        REQUIRE(reference.realizations >= 1);
        CHECK(reference.mse.size() == static_cast<std::size_t>(s.samples));
        CHECK(reference.msd.size() == static_cast<std::size_t>(s.samples + 1));
        partial_block |= reference.realizations % ensemble_block_size != 0;
        several_blocks |= reference.realizations > 2 * ensemble_block_size;
        cut |= static_cast<std::size_t>(s.taps) < s.wo.size();
        padded |= static_cast<std::size_t>(s.taps) > s.wo.size();
        odd_n |= s.samples % 2 == 1;
        run_time_m |= s.taps > 8; // the engine compiles loops for M = 1 ... 8
        high_seed |= s.seed > 0xffffffffU - 2 * static_cast<std::uint32_t>(ensemble_block_size);
        has_default |= name == "default";
    }
    CHECK(partial_block);
    CHECK(several_blocks);
    CHECK(cut);
    CHECK(padded);
    CHECK(odd_n);
    CHECK(run_time_m);
    CHECK(high_seed);
    CHECK(has_default);
}

TEST_CASE("ensemble reference: mse, msd and meanw equal NumPy's over seeds S ... S + R - 1, with 0 and 3 threads",
          "[ensemble]") {
    for (const std::string& name : ensemble_names()) {
        const EnsembleReference reference = ensemble_reference(name);
        CAPTURE(name);
        const EnsembleResult all_cores = run_ensemble(options_for(reference, 0));
        const EnsembleResult three = run_ensemble(options_for(reference, 3));
        for (const EnsembleResult* result : {&all_cores, &three}) {
            CAPTURE(result->threads);
            CHECK(result->completed_realizations == reference.realizations);
            CHECK_FALSE(result->stopped);
            CHECK(result->finite);
            CHECK(result->first_seed == reference.scenario.seed);
            CHECK(result->last_seed ==
                  reference.scenario.seed + static_cast<std::uint32_t>(reference.realizations - 1));
            check_curve("mse", result->mse, reference.mse);
            check_curve("msd", result->msd, reference.msd);
            check_curve("meanw", result->meanw, reference.meanw);
        }
        // The engine's own promise: the threads decide nothing about the bits.
        CHECK(same_bits(all_cores.mse, three.mse));
        CHECK(same_bits(all_cores.msd, three.msd));
        CHECK(same_bits(all_cores.meanw, three.meanw));
    }
}

TEST_CASE("ensemble reference: decimation by 7 keeps every 7th value of NumPy's curves", "[ensemble]") {
    for (const std::string& name : ensemble_names()) {
        const EnsembleReference reference = ensemble_reference(name);
        CAPTURE(name);
        const EnsembleResult kept = run_ensemble(options_for(reference, 3, 7));
        const auto N = static_cast<std::size_t>(reference.scenario.samples);
        const auto M = static_cast<std::size_t>(reference.scenario.taps);
        CHECK(kept.decimate == 7);
        CHECK(kept.mse.size() == (N - 1) / 7 + 1);                        // n = 0, 7, ... <= N - 1
        CHECK(kept.meanw_rows() == static_cast<std::int64_t>(N / 7 + 1)); // rows n = 0, 7, ... <= N
        check_curve("mse", kept.mse, every(reference.mse, 7));
        check_curve("msd", kept.msd, every(reference.msd, 7));
        check_curve("meanw", kept.meanw, every(reference.meanw, 7, M));
    }
}

TEST_CASE("ensemble reference: one realization of the default ensemble is the numpy stage's run, bit for bit",
          "[ensemble]") {
    // R = 1 with seed 0: the sums hold the one run (0.0 + v = v, v / 1 = v), which must be the notebook's `lms` on
    // the default scenario's data (default/numpy/), bit for bit: meanw = w, mse = e^2, msd = sum over taps of
    // (w - wo_M)^2 added in tap order from 0.0, as the engine does.
    const EnsembleReference ensemble = ensemble_reference("default");
    const ReferenceScenario single = reference_scenario("default");
    const Scenario& s = ensemble.scenario;
    REQUIRE(s.seed == single.scenario.seed);
    REQUIRE(s.samples == single.scenario.samples);
    REQUIRE(s.taps == single.scenario.taps);
    REQUIRE(s.step_size == single.scenario.step_size);
    REQUIRE(s.noise_variance == single.scenario.noise_variance);
    REQUIRE(s.wo == single.scenario.wo);

    EnsembleReference one = ensemble;
    one.realizations = 1;
    for (int threads : {0, 3}) {
        CAPTURE(threads);
        const EnsembleResult result = run_ensemble(options_for(one, threads));
        const Array2D w = reference_array("default/numpy/w.npy");
        const Array2D e = reference_array("default/numpy/e.npy");
        const auto N = static_cast<std::size_t>(s.samples);
        const auto M = static_cast<std::size_t>(s.taps);
        REQUIRE(w.rows == N + 1);
        REQUIRE(w.cols == M);
        REQUIRE(e.values.size() == N);
        CHECK(same_bits(result.meanw, w.values));
        std::vector<double> e2, msd;
        for (double value : e.values) e2.push_back(value * value);
        for (std::size_t n = 0; n <= N; ++n) {
            double deviation = 0.0;
            for (std::size_t k = 0; k < M; ++k) {
                const double c = w(n, k) - (k < s.wo.size() ? s.wo[k] : 0.0);
                deviation += c * c;
            }
            msd.push_back(deviation);
        }
        CHECK(same_bits(result.mse, e2));
        CHECK(same_bits(result.msd, msd));
    }
}
