// `lmsref ensemble`: what it writes, prints and draws, against the library and the single-run commands.
#include "cli_support.hpp"
#include "core/text.hpp"
#include "io/array_io.hpp"
#include "plot/figures.hpp"
#include "random/numpy_random.hpp"
#include "report/ensemble_report.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace lmsref;
using namespace lmsref::test;

namespace {

std::string fresh_folder(const std::string& name) {
    return test::fresh_folder("ensemble_cli", name);
}

/// The library's ensemble at the notebook's defaults but for eta and R.
EnsembleResult default_ensemble(double eta, std::int64_t realizations) {
    EnsembleOptions options;
    options.scenario.step_size = eta;
    options.realizations = realizations;
    return run_ensemble(options);
}

/// x (N x R, a realization per column) from NumPy's stream: white (a = 0), or AR(1) x(n) = a x(n - 1) +
/// sqrt(1 - a^2) u(n); and d = lfilter([0.5, -0.4], 1, x) + 0.2 randn, the system of the trust issue's example.
/// Written as dir/x.npy and dir/d.npy.
void write_made_data(const std::string& dir, double a, std::size_t N = 500, std::size_t R = 2000) {
    LegacyRandom random(1);
    const std::vector<double> u = random.randn(N * R), v = random.randn(N * R);
    Array2D x(N, R), d(N, R);
    for (std::size_t r = 0; r < R; ++r)
        for (std::size_t n = 0; n < N; ++n)
            x(n, r) = n == 0 ? u[r] : a * x(n - 1, r) + std::sqrt(1 - a * a) * u[n * R + r];
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t r = 0; r < R; ++r)
            d(n, r) = 0.5 * x(n, r) - (n > 0 ? 0.4 * x(n - 1, r) : 0.0) + 0.2 * v[n * R + r];
    write_array(dir + "/x.npy", x, FileFormat::npy);
    write_array(dir + "/d.npy", d, FileFormat::npy);
}

std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) names.insert(entry.path().filename().string());
    return names;
}

} // namespace

TEST_CASE("ensemble: the output set is the library's curves, the same bytes whatever the threads", "[ensemble][cli]") {
    const std::string dir = fresh_folder("threads");
    // R = 150: two whole blocks of 64 and a partial one, so threads really split the work.
    const std::string common = "ensemble --seed 11 -N 120 -M 4 --eta 0.05 --wo 0.3,-0.2,0.1,0.05,0.02 -R 150 ";
    Result one = run_lmsref(common + "--threads 1 --out-dir " + dir + "/t1");
    REQUIRE(one.exit_code == 0);
    for (const char* threads : {"2", "3", "7"}) {
        CAPTURE(threads);
        const std::string out = dir + "/t" + threads;
        REQUIRE(run_lmsref(common + "--threads " + threads + " --out-dir " + out).exit_code == 0);
        for (const char* file : {"mse.npy", "msd.npy", "meanw.npy", "mse_theory.npy", "msd_theory.npy"}) {
            CAPTURE(file);
            CHECK(file_bytes(out + "/" + file) == file_bytes(dir + "/t1/" + file));
        }
    }
    CHECK(names_in(dir + "/t1") ==
          std::set<std::string>{"mse.npy", "msd.npy", "meanw.npy", "mse_theory.npy", "msd_theory.npy", "summary.json"});

    // The files hold the library's run, bit for bit.
    EnsembleOptions options;
    options.scenario.seed = 11;
    options.scenario.samples = 120;
    options.scenario.taps = 4;
    options.scenario.step_size = 0.05;
    options.scenario.wo = {0.3, -0.2, 0.1, 0.05, 0.02};
    options.realizations = 150;
    const EnsembleRun run = run_plan(plan_ensemble(options));
    CHECK(read_array(dir + "/t1/mse.npy").values == run.result.mse);
    CHECK(read_array(dir + "/t1/msd.npy").values == run.result.msd);
    const Array2D meanw = read_array(dir + "/t1/meanw.npy");
    CHECK(meanw.rows == 121);
    CHECK(meanw.cols == 4);
    CHECK(meanw.values == run.result.meanw);
    CHECK(read_array(dir + "/t1/mse_theory.npy").values == run.theory.mse_curve);
    CHECK(read_array(dir + "/t1/msd_theory.npy").values == run.theory.msd_curve);

    const auto summary = nlohmann::json::parse(file_bytes(dir + "/t1/summary.json"));
    CHECK(summary["command"] == "ensemble");
    CHECK(summary["realizations"] == 150);
    CHECK(summary["seeds"]["first"] == 11);
    CHECK(summary["seeds"]["last"] == 160);
    CHECK(summary["scenario"]["wo"].size() == 5);
    // J_min = sigmav2 + ||wo beyond M||^2 = 0.01 + 0.02^2, as the library computes it.
    CHECK(summary["theory"]["j_min"].get<double>() == run.theory.j_min);
    CHECK(run.theory.j_min == Approx(0.01 + 0.02 * 0.02).epsilon(1e-15));
    CHECK(summary["theory"]["mean_square_bound"].get<double>() == 2.0 / 6.0);
    CHECK(summary["simulated"]["mse"].get<double>() == run.steady.mse);
    CHECK(summary["simulated"]["steady_state_first_sample"] == 90);
    CHECK(summary["timing"]["threads"] == 1);
    CHECK(summary["timing"]["ns_per_realization_sample"].get<double>() > 0);
}

TEST_CASE("ensemble: one realization is lmsref numpy on the same seed, bit for bit", "[ensemble][cli]") {
    const std::string dir = fresh_folder("single");
    REQUIRE(run_lmsref("ensemble -R 1 --seed 42 -N 999 --out-dir " + dir + "/ens").exit_code == 0);
    REQUIRE(run_lmsref("numpy --seed 42 -N 999 --out-dir " + dir + "/numpy").exit_code == 0);
    const Array2D w = read_array(dir + "/numpy/w.npy");
    const Array2D e = read_array(dir + "/numpy/e.npy");
    CHECK(read_array(dir + "/ens/meanw.npy").values == w.values);
    std::vector<double> squared;
    for (double v : e.values) squared.push_back(v * v);
    CHECK(read_array(dir + "/ens/mse.npy").values == squared);
}

TEST_CASE("ensemble: --x and --d columns give the curves of the realizations they hold", "[ensemble][cli]") {
    const std::string dir = fresh_folder("matrices");
    constexpr int R = 5;
    constexpr int N = 64;
    Array2D x(N, R), d(N, R);
    for (int r = 0; r < R; ++r) {
        Scenario s;
        s.seed = static_cast<std::uint32_t>(3 + r);
        s.samples = N;
        const Data data = generate_data(s);
        for (int n = 0; n < N; ++n) {
            x(n, r) = data.x[n];
            d(n, r) = data.d[n];
        }
    }
    write_array(dir + "/x.npy", x, FileFormat::npy);
    write_array(dir + "/d.csv", d, FileFormat::csv);
    // --wo and --sigmav2: the system that made them (the default), so that the MSD is measured against it.
    const Result files = run_lmsref("ensemble --x " + dir + "/x.npy --d " + dir +
                                    "/d.csv --wo 0.1,0.2,0.3 --sigmav2 0.01 --out-dir " + dir + "/f");
    REQUIRE(files.exit_code == 0);
    CHECK_THAT(files.output, Catch::Contains("realizations   5 (the columns of the files)") &&
                                 Catch::Contains("sx2 = mean(x^2)") && Catch::Contains("theory assumes white input"));
    REQUIRE(run_lmsref("ensemble --seed 3 -N 64 -R 5 --out-dir " + dir + "/g").exit_code == 0);
    // d went through CSV (17 significant digits: exact), so the curves are the same bits.
    for (const char* file : {"mse.npy", "msd.npy", "meanw.npy"}) {
        CAPTURE(file);
        CHECK(read_array(dir + "/f/" + file).values == read_array(dir + "/g/" + file).values);
    }
    const auto summary = nlohmann::json::parse(file_bytes(dir + "/f/summary.json"));
    CHECK(summary["input_power"]["measured"] == true);
    double power = 0;
    for (double v : x.values) power += v * v;
    CHECK(summary["input_power"]["sx2"].get<double>() == power / (N * R));
    CHECK(summary.count("seeds") == 0);

    const Result mismatch =
        run_lmsref("ensemble --x " + dir + "/x.npy --d " + std::string(LMSREF_CLI_ERRORS_DIR) + "/d9.npy");
    CHECK(mismatch.exit_code == 1);
    CHECK_THAT(mismatch.output, Catch::Contains("has shape (9, 1)") && Catch::Contains("(64, 5)"));
}

TEST_CASE("ensemble: the report names the bounds, the steady state beside theory and the time", "[ensemble][cli]") {
    const Result result = run_lmsref("ensemble -R 200 --threads 2");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output,
               Catch::Contains("lmsref ensemble: N = 500, M = 3, eta = 0.1, sigmav2 = 0.01, wo = [0.1, 0.2, 0.3]") &&
                   Catch::Contains("realizations   200 (seeds 0 ... 199") && Catch::Contains("2 threads") &&
                   Catch::Contains("is below 2/((M + 2) sx2) = 0.4 (mean square) and 2/sx2 = 2 (mean)") &&
                   Catch::Contains("the last quarter, n = 375 ... 499") && Catch::Contains("  J_min  ") &&
                   Catch::Contains("0.012 ") && Catch::Contains("ns per realization-sample"));
    CHECK_THAT(result.output, !Catch::Contains("warning"));

    const Result past = run_lmsref("ensemble -R 64 --eta 0.45");
    REQUIRE(past.exit_code == 0);
    CHECK_THAT(past.output, Catch::Contains("lmsref: warning: eta = 0.45 is at or above the mean-square stability "
                                            "bound 2/((M + 2) sx2) = 0.4") &&
                                Catch::Contains("is PAST the mean-square bound") && Catch::Contains("none"));
}

TEST_CASE("ensemble: where theory's curve has not reached its limit, the window's mean of it is the prediction",
          "[ensemble][cli]") {
    // eta = 0.005: LMS's MSD falls by (1 - 2 eta sx2) a sample, so by n = 375 its transient still holds about 25
    // times the steady EMSE; the theory's curve, which holds the transient, averages 0.01206 over the window against
    // its limit 0.01008. The report gives both: the gap to the limit, and the gap its standard errors count.
    const std::string dir = fresh_folder("small_step");
    const Result result = run_lmsref("ensemble -R 2000 --eta 0.005 --progress never --out-dir " + dir + "/out");
    REQUIRE(result.exit_code == 0);
    const auto summary = nlohmann::json::parse(file_bytes(dir + "/out/summary.json"));
    const std::vector<double> curve = read_array(dir + "/out/mse_theory.npy").values;
    REQUIRE(curve.size() == 500);
    double window = 0.0;
    for (std::size_t n = 375; n < 500; ++n) window += curve[n];
    window /= 125;
    const double limit = summary["theory"]["mse"].get<double>();
    const double simulated = summary["simulated"]["mse"].get<double>();
    const double standard_error = summary["simulated"]["mse_standard_error"].get<double>();
    CAPTURE(window, limit, simulated, standard_error);
    CHECK(summary["gap"]["theory_window_mse"].get<double>() == Approx(window).epsilon(1e-12));
    CHECK(window - limit > 0.5 * standard_error);
    CHECK(summary["gap"]["theory_settled"] == false);
    CHECK(summary["gap"]["mse_relative_to_window"].get<double>() ==
          Approx((simulated - window) / window).epsilon(1e-9));
    CHECK(summary["gap"]["mse_in_standard_errors"].get<double>() ==
          Approx((simulated - window) / standard_error).epsilon(1e-9));
    CHECK_THAT(result.output,
               Catch::Contains("(to the limit: not reached by n = 375)") &&
                   Catch::Contains("  in the window                           " + fmt::format("{:.6g}", window)));
    // The figure marks the window as the report does, and draws the same again from the files.
    REQUIRE(run_lmsref("plot " + dir + "/out --out " + dir + "/small_step.svg").exit_code == 0);
    CHECK_THAT(file_bytes(dir + "/small_step.svg"), Catch::Contains("not settled"));
    // At the defaults the curve has long reached its limit: one row, the gap and its standard errors together.
    const Result defaults = run_lmsref("ensemble -R 2000 --progress never");
    REQUIRE(defaults.exit_code == 0);
    CHECK_THAT(defaults.output, !Catch::Contains("in the window") && !Catch::Contains("to the limit"));
}

TEST_CASE("ensemble: the window's fall is measured at full resolution, and a short window cannot tell",
          "[ensemble][cli]") {
    // The halves of the window come from every sample, whatever --decimate keeps of the curves: the same bits at
    // m = 1 and m = 100, and the mean of the full curve's halves (n = 750 ... 874 and 875 ... 999).
    const std::string dir = fresh_folder("halves");
    const std::string run = "ensemble --algorithm nlms -N 1000 -R 1000 --seed 2000 --progress never ";
    REQUIRE(run_lmsref(run + "--out-dir " + dir + "/full").exit_code == 0);
    REQUIRE(run_lmsref(run + "--decimate 100 --out-dir " + dir + "/decimated").exit_code == 0);
    const auto full = nlohmann::json::parse(file_bytes(dir + "/full/summary.json"));
    const auto decimated = nlohmann::json::parse(file_bytes(dir + "/decimated/summary.json"));
    const std::vector<double> mse = read_array(dir + "/full/mse.npy").values;
    REQUIRE(mse.size() == 1000);
    double halves[2] = {0.0, 0.0};
    for (std::size_t n = 750; n < 1000; ++n) halves[n < 875 ? 0 : 1] += mse[n];
    const double drop = halves[0] / 125 - halves[1] / 125;
    const double standard_error = full["simulated"]["mse_standard_error"].get<double>();
    CHECK(full["simulated"]["window_drop"].get<double>() == Approx(drop).epsilon(1e-12));
    CHECK(decimated["simulated"]["window_drop"].get<double>() == full["simulated"]["window_drop"].get<double>());
    CHECK(full["simulated"]["drop_in_standard_errors"].get<double>() ==
          Approx(drop / (2 * standard_error)).epsilon(1e-12));
    CHECK(full["simulated"]["settled"] == true);
    CHECK(decimated["simulated"]["settled"] == true);
    // N = 8: a window of two samples, halves of one, says nothing of settling: null, and the verdict names both
    // the theory's error and a transient it cannot rule out.
    const Result short_run =
        run_lmsref("ensemble --algorithm nlms -N 8 -R 100 --progress never --json " + dir + "/short.json");
    REQUIRE(short_run.exit_code == 0);
    const auto brief = nlohmann::json::parse(file_bytes(dir + "/short.json"));
    CHECK(brief["simulated"]["settled"].is_null());
    CHECK(brief["simulated"]["window_drop"].is_null());
    CHECK(std::abs(brief["gap"]["mse_in_standard_errors"].get<double>()) > 3);
    CHECK_THAT(short_run.output,
               Catch::Contains("is too short to tell whether the filter has") && Catch::Contains("n = 6 ... 7"));
}

TEST_CASE("ensemble: an ensemble that overflows exits 2 and writes nothing", "[ensemble][cli]") {
    const std::string dir = fresh_folder("diverged");
    const Result result =
        run_lmsref("ensemble -R 10 --eta 5 -N 2000 --out-dir " + dir + "/out --json " + dir + "/s.json");
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Contains("the ensemble diverged") && Catch::Contains("past the mean-square"));
    CHECK(names_in(dir).empty());
}

TEST_CASE("ensemble: diverged realizations exit 2 and name their seeds, or stay in the mean when allowed",
          "[ensemble][cli]") {
    // eta = 0.6: some realizations of 200 diverge (test_ensemble.cpp checks which against the explicit runs).
    const EnsembleResult library = default_ensemble(0.6, 200);
    REQUIRE(library.diverged > 3);
    const std::string names = diverged_names(library);
    CHECK_THAT(names, Catch::EndsWith(", ..."));
    const std::string dir = fresh_folder("diverged_some");
    const Result refused = run_lmsref("ensemble --eta 0.6 -R 200 --out-dir " + dir + "/out");
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.output,
               Catch::Contains(std::to_string(library.diverged) + " of 200 realizations diverged (" + names + ")") &&
                   Catch::Contains("--allow-divergence"));
    CHECK(names_in(dir).empty());
    // One of them, alone, is a divergence of `lmsref numpy` too.
    const Result single =
        run_lmsref("numpy --eta 0.6 --seed " + std::to_string(library.first_diverged.back()) + " -N 500");
    CHECK(single.exit_code == 2);
    CHECK_THAT(single.output, Catch::Contains("diverged at sample"));

    const Result allowed = run_lmsref("ensemble --eta 0.6 -R 200 --allow-divergence --json " + dir + "/s.json");
    REQUIRE(allowed.exit_code == 0);
    CHECK_THAT(allowed.output,
               Catch::Contains("diverged       " + std::to_string(library.diverged) + " of 200 realizations") &&
                   Catch::Contains("kept in the mean (--allow-divergence)"));
    const nlohmann::json summary = nlohmann::json::parse(file_bytes(dir + "/s.json"));
    CHECK(summary["divergence"]["diverged"] == library.diverged);
    CHECK(summary["divergence"]["kept_in_mean"] == true);
    CHECK(summary["divergence"]["first"][0] == realization_name(library, library.first_diverged[0]));

    // Kept in the mean, a diverged realization's gap reads in three digits, not twenty: coloured input at 42 % of
    // its mean-square bound, where 3 of 5000 realizations still diverge.
    const Result huge = run_lmsref("ensemble -R 5000 --input ar1:0.9 --allow-divergence --progress never");
    REQUIRE(huge.exit_code == 0);
    std::istringstream lines(huge.output);
    std::string mse_row, curve_row;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("  MSE  ", 0) == 0) mse_row = line;
        if (line.rfind("  MSE curve", 0) == 0) curve_row = line;
    }
    CAPTURE(mse_row, curve_row);
    CHECK(std::regex_search(mse_row, std::regex(" \\+[0-9]\\.[0-9]{2}e\\+[0-9]+ % ")));
    CHECK(std::regex_search(curve_row, std::regex("= [0-9]\\.[0-9]{2}e\\+[0-9]+ % over")));

    // --stage all: a stage whose realizations diverge fails, named.
    const Result all = run_lmsref("ensemble --eta 0.6 -R 64 -N 300 --stage all --seed 14");
    CHECK(all.exit_code == 2);
    CHECK_THAT(all.output, Catch::Contains("FAILED") && Catch::Contains("realizations diverged (seed 14"));
}

TEST_CASE("ensemble: one realization that carries the mean is named, and the gap is not weighed by its standard error",
          "[ensemble][cli]") {
    // eta = 0.38 is below the bound 0.4 and nothing diverges, but a few realizations burst: one holds about 40 % of
    // the mean. The report names it (the library's record) and gives no "standard errors" for the gap.
    const EnsembleResult library = default_ensemble(0.38, 10000);
    REQUIRE(library.diverged == 0);
    REQUIRE(library.largest_steady_share() > 0.2);
    const std::string dir = fresh_folder("dominated");
    const Result result = run_lmsref("ensemble --eta 0.38 -R 10000 --json " + dir + "/s.json");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output,
               Catch::Contains("(no standard error: one realization dominates)") &&
                   Catch::Contains("largest        " + realization_name(library, library.largest_steady_realization) +
                                   " alone holds") &&
                   !Catch::Contains(" standard errors)"));
    const nlohmann::json summary = nlohmann::json::parse(file_bytes(dir + "/s.json"));
    CHECK(summary["largest_realization"]["dominates"] == true);
    CHECK(summary["gap"]["mse_in_standard_errors"].is_null());
    // The batched stage's record is the plain engine's.
    const Result batched = run_lmsref("ensemble --eta 0.38 -R 10000 --stage sgd --chunk 640");
    REQUIRE(batched.exit_code == 0);
    CHECK_THAT(batched.output,
               Catch::Contains("largest        " + realization_name(library, library.largest_steady_realization)));
}

TEST_CASE("ensemble: --stage linear is scored against theory from nn::Linear's random start", "[ensemble][cli]") {
    // nn::Linear's init: each weight uniform on (-1/sqrt(M), 1/sqrt(M)), so MSD(0) = ||wo||^2 + 1/3 = 0.4733 where
    // the zero start gives 0.14. R = 20000: the standard error of the simulated MSD(0) is 0.45 % of it (||w(0) - wo||^2
    // has a standard deviation of 0.30, by NumPy over 10^6 draws); 3 % leaves over six of them for the first samples,
    // and the zero-start theory is 70 % away.
    const std::string dir = fresh_folder("linear_start");
    const Result result = run_lmsref("ensemble --stage linear -R 20000 -N 50 --out-dir " + dir + "/out");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("nn::Linear's default init") && Catch::Contains("MSD(0)"));
    const Array2D msd = read_array(dir + "/out/msd.npy");
    const Array2D theory = read_array(dir + "/out/msd_theory.npy");
    CHECK(theory.values[0] == Approx(0.1 * 0.1 + 0.2 * 0.2 + 0.3 * 0.3 + 1.0 / 3.0).epsilon(1e-12));
    for (std::size_t n = 0; n <= 5; ++n) {
        CAPTURE(n);
        CHECK(msd.values[n] == Approx(theory.values[n]).epsilon(0.03));
    }
    const nlohmann::json summary = nlohmann::json::parse(file_bytes(dir + "/out/summary.json"));
    CHECK(summary["theory"]["initial_weight_variance"] == Approx(1.0 / 9.0).epsilon(1e-15));
}

TEST_CASE("ensemble: data from files have no theory unless --wo and --sigmav2 describe their system",
          "[ensemble][cli]") {
    const std::string dir = fresh_folder("files_theory");
    write_made_data(dir, 0.0);
    const std::string files = "ensemble --x " + dir + "/x.npy --d " + dir + "/d.npy";
    // Without them: the MSE and the mean weights, no MSD, no theory, and every output says why.
    const Result unknown = run_lmsref(files + " --out-dir " + dir + "/u --plot " + dir + "/u.png");
    REQUIRE(unknown.exit_code == 0);
    CHECK_THAT(unknown.output, Catch::Contains("(system unknown)") &&
                                   Catch::Contains("theory         none: the system") &&
                                   !Catch::Contains("  J_min  ") && !Catch::Contains("standard errors)"));
    CHECK(names_in(dir + "/u") == std::set<std::string>{"mse.npy", "meanw.npy", "summary.json"});
    const nlohmann::json summary = nlohmann::json::parse(file_bytes(dir + "/u/summary.json"));
    CHECK(summary["scenario"]["system_known"] == false);
    CHECK(summary["theory"].contains("none"));
    CHECK(summary["gap"].is_null());
    CHECK(summary["curves"]["msd"].is_null());
    CHECK(std::filesystem::file_size(dir + "/u.png") > 1000);

    // With them (the system that made d, here M = 2): theory for white input of the measured power, which these
    // data are; the simulated steady state within 3 standard errors of it (it was +0.6).
    const Result known = run_lmsref(files + " --wo 0.5,-0.4 --sigmav2 0.04 -M 2 --json " + dir + "/k.json");
    REQUIRE(known.exit_code == 0);
    CHECK_THAT(known.output, Catch::Contains("sigmav2 = 0.04, wo = [0.5, -0.4] (given)") &&
                                 Catch::Contains("agree within sampling noise"));
    const nlohmann::json k = nlohmann::json::parse(file_bytes(dir + "/k.json"));
    CHECK(k["theory"]["j_min"] == Approx(0.04).epsilon(1e-15));
    CHECK(std::abs(k["gap"]["mse_in_standard_errors"].get<double>()) < 3.0);
    CHECK(k["scenario"]["wo"] == std::vector<double>{0.5, -0.4});

    // One without the other, and single runs: refused.
    const Result half = run_lmsref(files + " --wo 0.5,-0.4");
    CHECK(half.exit_code == 1);
    CHECK_THAT(half.output, Catch::Contains("--wo: with --x and --d, --wo and --sigmav2 together describe"));
    const Result single = run_lmsref("numpy --x " + dir + "/x.npy --d " + dir + "/d.npy --wo 0.5");
    CHECK(single.exit_code == 1);
}

TEST_CASE("ensemble: a coloured --x gets a warning that the white-input theory does not apply", "[ensemble][cli]") {
    // AR(1) with a = 0.8: the pooled lag-1 autocorrelation is about 0.8, some 800 standard errors (1/sqrt(R (N - 1)))
    // from white input's 0; the white data above are within 5 of them.
    const std::string dir = fresh_folder("coloured");
    write_made_data(dir, 0.8);
    const Result coloured = run_lmsref("ensemble --x " + dir + "/x.npy --d " + dir +
                                       "/d.npy --wo 0.5,-0.4 --sigmav2 "
                                       "0.04 --json " +
                                       dir + "/c.json");
    REQUIRE(coloured.exit_code == 0);
    CHECK_THAT(coloured.output, Catch::Contains("lmsref: warning: --x is coloured (lag-1 autocorrelation 0.7") &&
                                    Catch::Contains("COLOURED"));
    const nlohmann::json c = nlohmann::json::parse(file_bytes(dir + "/c.json"));
    CHECK(c["input_whiteness"]["coloured"] == true);
    CHECK(c["input_whiteness"]["lag1_autocorrelation"].get<double>() == Approx(0.8).margin(0.01));
    const std::string white = fresh_folder("white");
    write_made_data(white, 0.0);
    const Result plain =
        run_lmsref("ensemble --x " + white + "/x.npy --d " + white + "/d.npy --json " + white + "/w.json");
    REQUIRE(plain.exit_code == 0);
    CHECK_THAT(plain.output, !Catch::Contains("coloured") && !Catch::Contains("COLOURED"));
    CHECK(nlohmann::json::parse(file_bytes(white + "/w.json"))["input_whiteness"]["coloured"] == false);
}

TEST_CASE("plot: an ensemble's output folder is drawn again as the run drew it, its curves never squared again",
          "[ensemble][plot]") {
    const std::string dir = fresh_folder("replot");
    write_made_data(dir, 0.0, 200, 300);
    const std::vector<std::pair<std::string, std::string>> runs = {
        {"default", "ensemble -R 300"},
        {"decimated_csv", "ensemble -R 200 -N 700 --decimate 7 --format csv"},
        {"linear", "ensemble -R 128 --stage linear"},
        {"past_bound", "ensemble -R 200 --eta 0.6 --allow-divergence"},
        {"files_unknown", "ensemble --x " + dir + "/x.npy --d " + dir + "/d.npy"},
        {"files_known", "ensemble --x " + dir + "/x.npy --d " + dir + "/d.npy --wo 0.5,-0.4 --sigmav2 0.04 -M 2"},
    };
    for (const auto& [name, arguments] : runs) {
        CAPTURE(name);
        const std::string out = dir + "/" + name;
        REQUIRE(run_lmsref(arguments + " --out-dir " + out + " --plot " + out + ".svg").exit_code == 0);
        const Result again = run_lmsref("plot " + out + " --out " + out + "_again.svg");
        REQUIRE(again.exit_code == 0);
        CHECK(file_bytes(out + "_again.svg") == file_bytes(out + ".svg"));
    }
    // The MSE of an ensemble is a mean square already: --kind learning would square it again; refused, saying what
    // draws it. A folder that is not an ensemble's is refused too.
    const Result learning = run_lmsref("plot --kind learning " + dir + "/default/mse.npy --out " + dir + "/l.png");
    CHECK(learning.exit_code == 1);
    CHECK_THAT(learning.output, Catch::Contains("is an ensemble's mean-square curve, not errors to square"));
    const Result other = run_lmsref("plot " + dir + " --out " + dir + "/o.png");
    CHECK(other.exit_code == 1);
    CHECK_THAT(other.output, Catch::Contains("is a folder without an ensemble's summary.json"));
    CHECK_FALSE(std::filesystem::exists(dir + "/l.png"));
}

TEST_CASE("ensemble --stage all --plot: every stage's curves over the plain engine's, with the theory",
          "[ensemble][plot]") {
    const std::string dir = fresh_folder("all_plot");
    const Result result = run_lmsref("ensemble --stage all -R 128 -N 200 --plot " + dir + "/all.svg");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("plot " + dir + "/all.svg"));
    const std::string svg = file_bytes(dir + "/all.svg");
    CHECK_THAT(svg, Catch::Contains("</svg>") && Catch::Contains("numpy (plain engine)") &&
                        Catch::Contains("linear (random init)") && Catch::Contains("theory (zero start)") &&
                        Catch::Contains("the 6 zero-init stages lie on it") &&
                        Catch::Contains("mean-square deviation"));
    for (const Stage& stage : stages()) CHECK_THAT(svg, Catch::Contains(">" + std::string(stage.name)));
    // Files without their system: the MSE alone, no theory.
    write_made_data(dir, 0.0, 200, 128);
    REQUIRE(run_lmsref("ensemble --stage all --x " + dir + "/x.npy --d " + dir + "/d.npy --plot " + dir + "/f.svg")
                .exit_code == 0);
    const std::string files_svg = file_bytes(dir + "/f.svg");
    CHECK_THAT(files_svg, !Catch::Contains("theory") && !Catch::Contains("mean-square deviation") &&
                              Catch::Contains("mean-square error"));
}

TEST_CASE("ensemble: R = 1 has no standard error and a tiny ensemble no resolved EMSE", "[ensemble][cli]") {
    const Result one = run_lmsref("ensemble -R 1");
    REQUIRE(one.exit_code == 0);
    CHECK_THAT(one.output, Catch::Contains("± n/a") &&
                               Catch::Contains("(n/a: one realization has no standard error)") &&
                               !Catch::Contains("nan") && Catch::Contains("EMSE           not resolved"));
    // One realization's e^2 over its mean is a chi-square of one degree: sampling noise alone gives the curve's fit
    // E|chi2_1 - 1|, here by Simpson's rule over x = t^2, 2 |t^2 - 1| exp(-t^2 / 2) / sqrt(2 pi) dt on [0, 40].
    constexpr int steps = 400000;
    const double h = 40.0 / steps;
    double integral = 0.0;
    for (int i = 0; i <= steps; ++i) {
        const double t = i * h;
        const double weight = i == 0 || i == steps ? 1.0 : i % 2 ? 4.0 : 2.0;
        integral += weight * 2.0 * std::abs(t * t - 1.0) * std::exp(-t * t / 2.0) / std::sqrt(2.0 * 3.141592653589793);
    }
    integral *= h / 3.0;
    CHECK_THAT(one.output, Catch::Contains(fmt::format("(sampling noise alone: about {:.2f} %)", 100.0 * integral)));
    // and the members' table says n/a, not 0, for its standard error
    const Result one_each = run_lmsref("ensemble -R 1 --algorithm lms,rls --progress never");
    REQUIRE(one_each.exit_code == 0);
    CHECK(std::count(one_each.output.begin(), one_each.output.end(), '\n') > 3);
    CHECK_THAT(one_each.output, Catch::Contains("± n/a") && !Catch::Contains("± 0 "));
    // No noise and wo within M taps: J_min = 0, the MSE falls to round-off; the verdict says there is no steady state
    // rather than putting a gap of thousands of standard errors down to the theory.
    const Result noiseless = run_lmsref("ensemble -R 200 --sigmav2 0 --progress never");
    REQUIRE(noiseless.exit_code == 0);
    CHECK_THAT(noiseless.output, Catch::Contains("J_min = 0 (no noise, and wo within the M taps)") &&
                                     Catch::Contains("(J_min = 0: see the verdict)") &&
                                     !Catch::Contains("theory's own error"));
    // -R 5 -N 50: the simulated MSE is below J_min + EMSE by sampling noise; a negative EMSE is not printed.
    const Result tiny = run_lmsref("ensemble -R 5 -N 50");
    REQUIRE(tiny.exit_code == 0);
    CHECK_THAT(tiny.output, Catch::Contains("EMSE           not resolved") && !Catch::Contains("-108") &&
                                Catch::Contains("within two standard errors of 0"));
    // No noise and no system: every realization has e = 0, no spread, no standard error, and nothing diverges
    // (no scale: d = 0); the same for linear's random start, whose errors are tiny but not 0.
    const Result none = run_lmsref("ensemble --wo 0 --sigmav2 0 -R 10");
    REQUIRE(none.exit_code == 0);
    CHECK_THAT(none.output,
               Catch::Contains("(n/a: no spread over realizations, no standard error)") && !Catch::Contains("nan"));
    const Result linear = run_lmsref("ensemble --stage linear --wo 0 --sigmav2 0 -R 64 -N 100");
    REQUIRE(linear.exit_code == 0);
    CHECK_THAT(linear.output, !Catch::Contains("diverged") && !Catch::Contains("nan"));
    const Result many = run_lmsref("ensemble -R 300000 -N 500");
    REQUIRE(many.exit_code == 0);
    CHECK_THAT(many.output, Catch::Contains("beyond sampling noise") && Catch::Contains("independence assumption"));
}

TEST_CASE("ensemble: the progress line goes to standard error when asked, never into the report", "[ensemble][cli]") {
    // Standard error alone: run_command sends it to the pipe, standard output goes nowhere.
    const auto stderr_of = [](const std::string& arguments) {
        return run_command("'" + std::string(LMSREF_EXECUTABLE) + "' " + arguments + " 2>&1 >/dev/null | cat");
    };
    const Result always = stderr_of("ensemble -R 200 -N 100 --progress always");
    // Not a terminal: whole lines, the first block's and the last one's at least.
    CHECK_THAT(always.output, Catch::Contains("lmsref ensemble: 64 of 200 realizations") &&
                                  Catch::Contains("lmsref ensemble: 200 of 200 realizations"));
    const Result never = stderr_of("ensemble -R 200 -N 100 --progress never");
    CHECK(never.output.empty());
    const Result automatic = stderr_of("ensemble -R 200 -N 100"); // not a terminal: silent
    CHECK(automatic.output.empty());
}

TEST_CASE("ensemble: --plot draws simulation over theory in three panels", "[ensemble][plot]") {
    EnsembleOptions options;
    options.realizations = 100;
    const EnsembleRun run = run_plan(plan_ensemble(options));
    const Figure figure = ensemble_figure(run);
    CHECK_THAT(figure.body, Catch::Contains("$mse << EOD") && Catch::Contains("$msd << EOD") &&
                                Catch::Contains("$w << EOD") && Catch::Contains("'J_min 0.01'") &&
                                Catch::Contains("theory''s steady state 0.012") &&
                                Catch::Contains("simulated, R = 100") && Catch::Contains("unset logscale x"));
    // The MSE block holds n, the simulated and the theory's curve in dB.
    const std::size_t start = figure.body.find("$mse << EOD\n") + 12;
    std::stringstream first_row(figure.body.substr(start, figure.body.find('\n', start) - start));
    double n = -1, simulated = 0, theory = 0;
    first_row >> n >> simulated >> theory;
    CHECK(n == 0);
    CHECK(simulated == Approx(10 * std::log10(run.result.mse[0])).epsilon(1e-12));
    CHECK(theory == Approx(10 * std::log10(run.theory.mse_curve[0])).epsilon(1e-12));
    CHECK_THAT(figure.body, Catch::Contains("lmsref ensemble, stage numpy, rng numpy: 100 realizations, N = 500"));
    // R = 100: no residual panel; the MSE's key beside the panel, the steady-state mean in front of the curve.
    CHECK_THAT(figure.body, !Catch::Contains("$gap << EOD") && Catch::Contains("set key outside right top") &&
                                Catch::Contains("lc rgb '#ff7f0e' front"));

    // R = 1000: a residual panel under the MSE, simulated / theory - 1 in %, with the band +-2 sqrt(2 / R).
    options.realizations = 1000;
    const EnsembleRun many = run_plan(plan_ensemble(options));
    const Figure residual = ensemble_figure(many);
    CHECK_THAT(residual.body, Catch::Contains("$gap << EOD") && Catch::Contains("gap (%)"));
    const std::size_t gap_start = residual.body.find("$gap << EOD\n") + 12;
    std::stringstream gap_row(residual.body.substr(gap_start, residual.body.find('\n', gap_start) - gap_start));
    double gap_n = -1, gap = 0;
    gap_row >> gap_n >> gap;
    CHECK(gap_n == 0);
    CHECK(gap == Approx(100 * (many.result.mse[0] / many.theory.mse_curve[0] - 1)).epsilon(1e-9));
    const std::string band = "plot " + format_number(-200 * std::sqrt(2.0 / 1000)) + " with filledcurves";
    CHECK_THAT(residual.body, Catch::Contains(band));

    // A 16-value wo is shortened in the title.
    EnsembleOptions long_wo;
    long_wo.realizations = 10;
    long_wo.scenario.taps = 16;
    long_wo.scenario.step_size = 0.01;
    long_wo.scenario.wo.assign(16, 0.05);
    CHECK_THAT(ensemble_figure(run_plan(plan_ensemble(long_wo))).body,
               Catch::Contains("wo = [0.05, 0.05, 0.05, 0.05, 0.05, ..., 0.05] (16 values)"));
    options.realizations = 100;

    // A long run with a short transient gets a log axis by itself; a step past the bound says so in the title.
    options.scenario.samples = 20000;
    options.realizations = 2;
    CHECK_THAT(ensemble_figure(run_plan(plan_ensemble(options))).body, Catch::Contains("set logscale x"));
    CHECK_THAT(ensemble_figure(run_plan(plan_ensemble(options)), XScale::linear).body,
               Catch::Contains("unset logscale x"));
    options.scenario.samples = 100;
    options.scenario.step_size = 0.45;
    CHECK_THAT(ensemble_figure(run_plan(plan_ensemble(options))).body,
               Catch::Contains("eta = 0.45 is past the mean-square bound 0.4"));

    if (!plotting_built_in()) {
        WARN("plotting is not built in: the image itself is not drawn");
        return;
    }
    const std::string dir = fresh_folder("plot");
    const Result drawn = run_lmsref("ensemble -R 100 --plot " + dir + "/lc.png");
    REQUIRE(drawn.exit_code == 0);
    CHECK(file_bytes(dir + "/lc.png").substr(1, 3) == "PNG");
}

TEST_CASE("ensemble: Ctrl-C in the middle of a long run keeps the previous outputs and leaves nothing",
          "[ensemble][cli]") {
    TemporaryDir dir;
    const std::string out = dir / "o";
    REQUIRE(run_lmsref("ensemble -R 64 -N 50 --out-dir '" + out + "'").exit_code == 0);
    const std::string before = file_bytes(out + "/mse.npy");
    // A run of several seconds; the signal comes once its first progress line shows that it is computing.
    // Job control on (set -m): a script's background command otherwise starts with SIGINT ignored, as Ctrl-C
    // never reaches it, and lmsref keeps a signal ignored at start.
    std::ofstream(dir / "run.sh") << "set -m\n"
                                  << "'" << LMSREF_EXECUTABLE << "' ensemble -R 2000000 --progress always --out-dir '"
                                  << out << "' --plot '" << (dir / "lc.png") << "' >/dev/null 2>'"
                                  << (dir / "progress.txt") << "' &\n"
                                  << "p=$!\nwhile [ ! -s '" << (dir / "progress.txt")
                                  << "' ]; do sleep 0.05; done\nkill -INT $p\nwait $p\n";
    const int status = std::system(("bash '" + (dir / "run.sh") + "'").c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + SIGINT);
    CHECK_THAT(file_bytes(dir / "progress.txt"),
               Catch::Contains("of 2000000 realizations") && !Catch::Contains("2000000 of 2000000"));
    CHECK(file_bytes(out + "/mse.npy") == before);
    CHECK_FALSE(std::filesystem::exists(dir / "lc.png"));
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        names.insert(entry.path().filename().string());
    CHECK(names == std::set<std::string>{"o", "run.sh", "progress.txt"});
}

TEST_CASE("ensemble: --stage all runs every stage on the same realizations and compares their curves",
          "[ensemble][cli]") {
    const std::string dir = fresh_folder("all");
    // R = 130: two whole blocks and a partial one; --chunk 64 makes three chunks.
    const Result result = run_lmsref("ensemble --stage all -R 130 -N 80 --seed 1000 --chunk 64 --threads 2 --json " +
                                     dir + "/all.json --out-dir " + dir + "/out");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output,
               Catch::Contains("6 of 6 zero-init LibTorch stages agree with the plain engine to 1e-12") &&
                   Catch::Contains("differs (random init)"));
    const auto json = nlohmann::json::parse(file_bytes(dir + "/all.json"));
    CHECK(json["agrees"] == true);
    CHECK(json["realizations"] == 130);
    REQUIRE(json["stages"].size() == 8);
    for (const auto& [name, stage] : json["stages"].items()) {
        CAPTURE(name);
        REQUIRE(stage.contains("max_relative_difference"));
        const double worst = std::max({stage["max_relative_difference"]["mse"].get<double>(),
                                       stage["max_relative_difference"]["msd"].get<double>(),
                                       stage["max_relative_difference"]["meanw"].get<double>()});
        if (stage["expected_to_match_numpy"].get<bool>())
            CHECK(worst <= 1e-12);
        else
            CHECK(worst > 1e-3); // linear: its random init shows in the mean weights' first rows
        CHECK(stage["ns_per_realization_sample"].get<double>() > 0);
        CHECK(std::filesystem::exists(dir + "/out/" + name + "/mse.npy"));
    }
    CHECK(file_bytes(dir + "/out/summary.json") == file_bytes(dir + "/all.json"));
}

TEST_CASE("ensemble: a batched stage's files do not depend on the chunk or the threads", "[ensemble][cli]") {
    const std::string dir = fresh_folder("chunks");
    const std::string common = "ensemble --stage sgd -R 150 -N 60 -M 4 --wo 0.3,-0.2,0.1 --seed 21 ";
    REQUIRE(run_lmsref(common + "--chunk 64 --threads 1 --out-dir " + dir + "/a").exit_code == 0);
    REQUIRE(run_lmsref(common + "--chunk 0 --threads 2 --out-dir " + dir + "/b").exit_code == 0);
    REQUIRE(run_lmsref(common + "--chunk 128 --threads 3 --out-dir " + dir + "/c").exit_code == 0);
    for (const char* file : {"mse.npy", "msd.npy", "meanw.npy"}) {
        CAPTURE(file);
        CHECK(file_bytes(dir + "/b/" + file) == file_bytes(dir + "/a/" + file));
        CHECK(file_bytes(dir + "/c/" + file) == file_bytes(dir + "/a/" + file));
    }
    const auto summary = nlohmann::json::parse(file_bytes(dir + "/a/summary.json"));
    CHECK(summary["stage"] == "sgd");
    CHECK(summary["device"] == "cpu");
}

TEST_CASE("ensemble: --stage linear starts realization r where lmsref linear --torch-seed T + r starts",
          "[ensemble][cli]") {
    const std::string dir = fresh_folder("linear");
    REQUIRE(
        run_lmsref("ensemble --stage linear -R 3 -N 40 --seed 5 --torch-seed 9 --out-dir " + dir + "/ens").exit_code ==
        0);
    const Array2D meanw = read_array(dir + "/ens/meanw.npy");
    std::vector<double> first_row(3, 0.0); // the engine's sum: realization 0, then 1, then 2, from 0.0
    for (int r = 0; r < 3; ++r) {
        const std::string out = dir + "/single" + std::to_string(r);
        REQUIRE(run_lmsref("linear -N 40 --seed " + std::to_string(5 + r) + " --torch-seed " + std::to_string(9 + r) +
                           " --out-dir " + out)
                    .exit_code == 0);
        const Array2D w = read_array(out + "/w.npy");
        for (std::size_t k = 0; k < 3; ++k) first_row[k] += w(0, k);
    }
    for (std::size_t k = 0; k < 3; ++k) {
        CAPTURE(k);
        CHECK(meanw(0, k) == first_row[k] / 3);
    }
}

TEST_CASE("gpu: every batched stage on CUDA gives the CPU's curves", "[gpu]") {
    // Run by the CTest test "gpu: the batched stages on CUDA" only where a CUDA device answers. The same
    // realizations on both devices; CUDA's kernels may add in another order, so 1e-12 relative, not bits.
    const std::string dir = fresh_folder("gpu");
    const std::string common = "ensemble --stage all -R 200 -N 100 --seed 3 ";
    const Result gpu = run_lmsref(common + "--device cuda --json " + dir + "/cuda.json");
    INFO(gpu.output);
    REQUIRE(gpu.exit_code == 0);
    REQUIRE(run_lmsref(common + "--device cpu --json " + dir + "/cpu.json").exit_code == 0);
    const auto cuda = nlohmann::json::parse(file_bytes(dir + "/cuda.json"));
    const auto cpu = nlohmann::json::parse(file_bytes(dir + "/cpu.json"));
    CHECK(cuda["device"] == "cuda");
    for (const auto& [name, stage] : cuda["stages"].items()) {
        CAPTURE(name);
        if (name == "numpy") continue; // the plain engine runs on the CPU threads
        CHECK(stage["device"] == "cuda");
        for (const char* curve : {"mse", "msd", "meanw"}) {
            CAPTURE(curve);
            const double on_gpu = stage["max_relative_difference"][curve].get<double>();
            const double on_cpu = cpu["stages"][name]["max_relative_difference"][curve].get<double>();
            if (stage["expected_to_match_numpy"].get<bool>())
                CHECK(on_gpu <= 1e-12);
            else
                CHECK(std::abs(on_gpu - on_cpu) <= 1e-12 * on_cpu); // linear: the same random init on both
        }
    }
    // The LMS family's LibTorch programs on CUDA against their plain recursions, on the CPU.
    const Result family = run_lmsref(
        "ensemble --stage all --algorithm all -R 200 -N 100 --seed 3 --device cuda --json " + dir + "/family.json");
    INFO(family.output);
    REQUIRE(family.exit_code == 0);
    const auto members = nlohmann::json::parse(file_bytes(dir + "/family.json"));
    CHECK(members["algorithms"].size() == 14);
    for (const auto& [name, member] : members["algorithms"].items()) {
        CAPTURE(name);
        CHECK(member["within_tolerance"] == true);
    }
}

TEST_CASE("ensemble --rng philox: the report and summary.json name the generator, the files hold the library's run",
          "[ensemble][cli][philox]") {
    const std::string dir = fresh_folder("philox");
    const Result run = run_lmsref("ensemble --rng philox --seed 9 -N 50 -R 70 --threads 2 --out-dir " + dir + "/out");
    REQUIRE(run.exit_code == 0);
    CHECK_THAT(run.output, Catch::Contains("rng            philox (Random123 Philox4x32-10, Box-Muller)"));
    CHECK_THAT(run.output, Catch::Contains("key --seed 9, counter (sample n, realization r)"));
    const auto summary = nlohmann::json::parse(file_bytes(dir + "/out/summary.json"));
    CHECK(summary["rng"]["name"] == "philox");
    CHECK(summary["device"] == "cpu");
    EnsembleOptions options;
    options.scenario.seed = 9;
    options.scenario.samples = 50;
    options.realizations = 70;
    options.rng = Rng::philox;
    const EnsembleRun library = run_plan(plan_ensemble(options));
    CHECK(read_array(dir + "/out/mse.npy").values == library.result.mse);
    CHECK(read_array(dir + "/out/meanw.npy").values == library.result.meanw);

    const Result numpy = run_lmsref("ensemble -N 20 -R 3 --json " + dir + "/numpy.json");
    REQUIRE(numpy.exit_code == 0);
    CHECK_THAT(numpy.output, Catch::Contains("rng            numpy (NumPy's legacy MT19937 stream"));
    CHECK(nlohmann::json::parse(file_bytes(dir + "/numpy.json"))["rng"]["name"] == "numpy");
}
