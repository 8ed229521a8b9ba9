// `lmsref family` and `lmsref ensemble --algorithm`: what they print, write and draw, against the library.
#include "cli_support.hpp"
#include "ensemble/ensemble.hpp"
#include "io/array_io.hpp"
#include "lms/family.hpp"
#include "lms/scenario.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

using namespace lmsref;
using namespace lmsref::test;

namespace {

std::string fresh_folder(const std::string& name) {
    return test::fresh_folder("family_cli", name);
}

/// The lines of `text` that contain `part`.
std::size_t lines_with(const std::string& text, const std::string& part) {
    std::istringstream lines(text);
    std::size_t count = 0;
    for (std::string line; std::getline(lines, line);) count += line.find(part) != std::string::npos ? 1 : 0;
    return count;
}

} // namespace

TEST_CASE("family: every member's program agrees with its recursion, and its outputs are the program's", "[family]") {
    const std::string dir = fresh_folder("all");
    const Result result = run_lmsref("family -M 8 --wo 0.3,-0.2,0.1,0.05 -N 300 --eta 0.02 --out-dir " + dir + "/out");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("14 of 14 LibTorch programs equal their plain recursions to 1e-12"));
    CHECK(lines_with(result.output, " ok ") == 14);
    const auto summary = nlohmann::json::parse(file_bytes(dir + "/out/summary.json"));
    CHECK(summary["agrees"] == true);
    CHECK(summary["members"].size() == 14);
    // Each member's w.npy and e.npy: (N + 1) x M and N x 1, within 1e-12 of the recursion (the same data).
    Scenario s;
    s.taps = 8;
    s.wo = {0.3, -0.2, 0.1, 0.05};
    s.samples = 300;
    s.step_size = 0.02;
    const Data data = generate_data(s);
    for (const FamilyMember& member : family()) {
        CAPTURE(member.name);
        const Array2D w = read_array(dir + "/out/" + std::string(member.name) + "/w.npy");
        const Array2D e = read_array(dir + "/out/" + std::string(member.name) + "/e.npy");
        const Trajectory plain = member.run(data.x, data.d, s.step_size, 8, FamilyOptions{});
        REQUIRE(w.rows == 301);
        REQUIRE(w.cols == 8);
        REQUIRE(e.rows == 300);
        CHECK(largest_relative_difference(w.values, plain.w.values) <= 1e-12);
        CHECK(largest_relative_difference(e.values, plain.e) <= 1e-12);
        CHECK(summary["members"][std::string(member.name)]["within_tolerance"] == true);
    }
}

TEST_CASE("family: a tolerance of 0 is a mismatch with the outputs kept, a divergence writes nothing", "[family]") {
    const std::string dir = fresh_folder("verdicts");
    // sign-error's program rounds in LibTorch's order (4.4e-16 at the defaults): at tolerance 0 it is a MISMATCH,
    // exit 3, and the outputs are still written (they are the evidence).
    Result result = run_lmsref("family sign-error,sign-sign --tolerance 0 --out-dir " + dir + "/kept");
    CHECK(result.exit_code == 3);
    CHECK_THAT(result.output, Catch::Contains("MISMATCH"));
    CHECK(std::filesystem::exists(dir + "/kept/sign-error/w.npy"));
    // lmf's e^3 runs away at eta = 5: DIVERGED, exit 2, and no folder.
    result = run_lmsref("family lms,lmf --eta 5 --out-dir " + dir + "/none --plot " + dir + "/none.png");
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Contains("DIVERGED") && Catch::Contains("lmf: diverged at sample") &&
                                  Catch::Contains("nothing was written: a member failed"));
    CHECK_FALSE(std::filesystem::exists(dir + "/none"));
    CHECK_FALSE(std::filesystem::exists(dir + "/none.png"));
    // lmf has no step bound here, so its advice is a smaller --eta; and lms past LMS's bound is warned of first.
    CHECK_THAT(result.output, Catch::Contains("a smaller --eta may keep it converging (lmf has no step bound here)") &&
                                  Catch::Contains("lmsref: warning: eta = 5 is at or above the mean-square"));
    // momentum's bound is LMS's on its effective step eta / (1 - beta): at eta = 0.3 and beta = 0.9 (3, past 0.4),
    // the warning and the divergence both say so, rather than that 0.3 must stay below 0.4.
    result = run_lmsref("family momentum --eta 0.3 --beta 0.9 -N 2000");
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output,
               Catch::Contains("lmsref: warning: momentum, with eta / (1 - beta) for eta: eta = 3 is at or above") &&
                   Catch::Contains("momentum: diverged at sample") &&
                   Catch::Contains("eta / (1 - beta) = 3 must stay below about") && !Catch::Contains("eta = 0.3 must"));
}

TEST_CASE("family: --plot draws every member, and the settings reach the programs", "[family]") {
    const std::string dir = fresh_folder("plot");
    const Result result = run_lmsref("family nlms,leaky,rls --gamma 0.2 --lambda 0.98 --plot " + dir + "/f.png");
    REQUIRE(result.exit_code == 0);
    CHECK(std::filesystem::file_size(dir + "/f.png") > 10000);
    CHECK_THAT(result.output, Catch::Contains("(gamma = 0.2)") && Catch::Contains("(lambda = 0.98, delta = 0.01)") &&
                                  Catch::Contains("3 of 3 LibTorch programs"));
}

TEST_CASE("ensemble --algorithm: a member's report, files and theory", "[family][ensemble]") {
    const std::string dir = fresh_folder("member");
    const Result result = run_lmsref("ensemble --algorithm nlms -M 8 --wo 0.5,-0.4,0.3,0.2 -R 300 -N 200 --out-dir " +
                                     dir + "/out --plot " + dir + "/nlms.png --progress never");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("algorithm      nlms (eps = 1e-06): w += eta e x / (eps + x.x)") &&
                                  Catch::Contains("EMSE = eta J_min M / ((2 - eta)(M - 2))") &&
                                  Catch::Contains("bound          0 < eta < 2"));
    const auto summary = nlohmann::json::parse(file_bytes(dir + "/out/summary.json"));
    CHECK(summary["algorithm"]["name"] == "nlms");
    CHECK(summary["theory"]["known"] == true);
    CHECK(summary["theory"]["curves"] == false);
    // N = 200 leaves the window (n = 150 ... 199) in nlms's transient at M = 8 (its MSD's time constant is about
    // M / (eta (2 - eta)) = 42 samples): the MSE still falls through it. At R = 300 the fall, from the window's first
    // half to its second, is between four and six standard errors of the window's mean: perhaps unsettled, so the
    // verdict names the transient beside the theory's error.
    const std::vector<double> mse = read_array(dir + "/out/mse.npy").values;
    double first_half = 0.0, second_half = 0.0;
    for (std::size_t n = 150; n < 175; ++n) first_half += mse[n];
    for (std::size_t n = 175; n < 200; ++n) second_half += mse[n];
    const double drop = (first_half - second_half) / 25;
    const double standard_error = summary["simulated"]["mse_standard_error"].get<double>();
    CAPTURE(drop, standard_error);
    CHECK(summary["simulated"]["window_drop"].get<double>() == Approx(drop).epsilon(1e-12));
    CHECK(drop > 4 * standard_error);
    CHECK(drop < 6 * standard_error);
    CHECK(summary["simulated"]["settled"] == true);
    CHECK_THAT(result.output, Catch::Contains("theory's own error (its assumption above), or in part a") &&
                                  Catch::Contains("transient that the window still holds"));
    // At R = 2000 the fall is beyond six standard errors: not settled, and the verdict says only that.
    const Result longer = run_lmsref("ensemble --algorithm nlms -M 8 --wo 0.5,-0.4,0.3,0.2 -R 2000 -N 200 --json " +
                                     dir + "/longer.json --progress never");
    REQUIRE(longer.exit_code == 0);
    const auto longer_summary = nlohmann::json::parse(file_bytes(dir + "/longer.json"));
    CHECK(longer_summary["simulated"]["window_drop"].get<double>() >
          6 * longer_summary["simulated"]["mse_standard_error"].get<double>());
    CHECK(longer_summary["simulated"]["settled"] == false);
    CHECK_THAT(longer.output, Catch::Contains("verdict        the MSE still falls through the window") &&
                                  Catch::Contains("the filter has not settled by n = 150") &&
                                  !Catch::Contains("theory's own error"));
    // and in the members' table: the gap marked, the fall in the notes (lms's theory curve holds its transient)
    const Result table = run_lmsref("ensemble --algorithm lms,nlms -M 8 --wo 0.5,-0.4,0.3,0.2 -R 2000 -N 200 "
                                    "--progress never");
    REQUIRE(table.exit_code == 0);
    CHECK(lines_with(table.output, "(not settled)") == 1);
    CHECK(lines_with(table.output, "not settled: the MSE still falls through the window") == 1);
    CHECK_THAT(table.output, Catch::Contains("nlms (eps = 1e-06)") && Catch::Contains("% (not settled)"));
    // nlms's theory is a steady state: no theory curves among the files
    CHECK(std::filesystem::exists(dir + "/out/mse.npy"));
    CHECK(std::filesystem::exists(dir + "/out/msd.npy"));
    CHECK_FALSE(std::filesystem::exists(dir + "/out/mse_theory.npy"));
    CHECK(std::filesystem::file_size(dir + "/nlms.png") > 10000);
    // lmsref plot DIR draws it again from the files and summary.json, the member's theory included: the same bytes
    REQUIRE(run_lmsref("plot " + dir + "/out --out " + dir + "/again.png").exit_code == 0);
    CHECK(file_bytes(dir + "/again.png") == file_bytes(dir + "/nlms.png"));
    // The curves are the library's
    EnsembleOptions options;
    options.scenario.taps = 8;
    options.scenario.wo = {0.5, -0.4, 0.3, 0.2};
    options.scenario.samples = 200;
    options.realizations = 300;
    options.algorithm = FamilyId::nlms;
    CHECK(same_bits(read_array(dir + "/out/mse.npy").values, run_ensemble(options).mse));
    // A member without theory says so
    const Result adam = run_lmsref("ensemble --algorithm adam -R 50 -N 100 --progress never");
    REQUIRE(adam.exit_code == 0);
    CHECK_THAT(adam.output, Catch::Contains("theory         none: no published closed form checked here"));
    // Without a theory the window is still judged: RMSprop's MSE rises through it at M = 8, eta = 0.02, N = 200,
    // as its squared gradients' average shrinks (a rise beyond three standard errors of its own is no steady state).
    const Result rising = run_lmsref("ensemble --algorithm rmsprop -M 8 --wo 0.5,-0.4,0.3,0.2 -N 200 -R 4000 --eta "
                                     "0.02 --progress never --json " +
                                     dir + "/rising.json");
    REQUIRE(rising.exit_code == 0);
    const auto rising_summary = nlohmann::json::parse(file_bytes(dir + "/rising.json"));
    CHECK(rising_summary["simulated"]["drop_in_standard_errors"].get<double>() < -3);
    CHECK(rising_summary["simulated"]["settled"] == false);
    CHECK_THAT(rising.output, Catch::Contains("window         the MSE still rises through it (its second half is") &&
                                  Catch::Contains("above its first"));
}

TEST_CASE("ensemble --algorithm A,B,...: one table, one folder per member, one figure", "[family][ensemble]") {
    const std::string dir = fresh_folder("members");
    const Result result = run_lmsref("ensemble --algorithm lms,nlms,rls -R 200 -N 200 --out-dir " + dir +
                                     "/out --plot " + dir + "/all.png --json " + dir + "/all.json --progress never");
    REQUIRE(result.exit_code == 0);
    CHECK(lines_with(result.output, "lms ") >= 1);
    CHECK_THAT(result.output, Catch::Contains("rls (lambda = 1, delta = 0.01)") &&
                                  Catch::Contains("MSE(n) = J_min (1 + M / (n - M - 1))"));
    for (const char* member : {"lms", "nlms", "rls"})
        CHECK(std::filesystem::exists(dir + "/out/" + std::string(member) + "/mse.npy"));
    const auto json = nlohmann::json::parse(file_bytes(dir + "/all.json"));
    CHECK(json["algorithms"].size() == 3);
    CHECK(json["algorithms"]["rls"]["theory"]["curves"] == true);
    CHECK(std::filesystem::file_size(dir + "/all.png") > 10000);
    // --algorithm lms alone is the plain ensemble, report and all
    const Result lms = run_lmsref("ensemble --algorithm lms -R 100 -N 100 --progress never");
    const Result plain = run_lmsref("ensemble -R 100 -N 100 --progress never");
    REQUIRE(lms.exit_code == 0);
    const auto without_time = [](const std::string& text) { return text.substr(0, text.find("  time ")); };
    CHECK(without_time(lms.output) == without_time(plain.output));
    // A member that diverges fails the run, and nothing is written
    const Result diverged =
        run_lmsref("ensemble --algorithm lms,lmf --eta 3 -R 64 -N 200 --out-dir " + dir + "/none --progress never");
    CHECK(diverged.exit_code == 2);
    CHECK_THAT(diverged.output, Catch::Contains("FAILED") && Catch::Contains("nothing was written"));
    CHECK_FALSE(std::filesystem::exists(dir + "/none"));
}

TEST_CASE("ensemble --algorithm with --stage sgd and --stage all: the members' LibTorch programs, batched",
          "[family][ensemble]") {
    const std::string dir = fresh_folder("programs");
    Result result = run_lmsref("ensemble --stage all --algorithm nlms,rls,adam -R 100 -N 80 --json " + dir +
                               "/p.json --progress never");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("3 of 3 LibTorch programs agree with their recursions to 1e-12"));
    const auto json = nlohmann::json::parse(file_bytes(dir + "/p.json"));
    CHECK(json["algorithms"]["rls"]["within_tolerance"] == true);
    // --tolerance 0: a program rounds in LibTorch's order, so some curve differs: exit 3
    result = run_lmsref("ensemble --stage all --algorithm nlms -R 64 -N 80 --tolerance 0 --progress never");
    CHECK(result.exit_code == 3);
    CHECK_THAT(result.output, Catch::Contains("MISMATCH"));
    // --stage sgd: one member's program, its report
    result =
        run_lmsref("ensemble --stage sgd --algorithm leaky -R 64 -N 80 --out-dir " + dir + "/leaky --progress never");
    REQUIRE(result.exit_code == 0);
    CHECK_THAT(result.output, Catch::Contains("its LibTorch program (optim::SGD with") &&
                                  Catch::Contains("weight_decay), batched over realizations, cpu"));
    CHECK(std::filesystem::exists(dir + "/leaky/mse_theory.npy"));
    // another stage is not a member's program
    result = run_lmsref("ensemble --stage tensor --algorithm nlms -R 64 -N 80");
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains("give --stage sgd"));
}
