// The lmsref executable end to end, on small cases: what it prints, what it writes and how it exits.
#include "cli_support.hpp"
#include "runner.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

using namespace lmsref;
using namespace lmsref::test;

TEST_CASE("cli: a stage prints its summary and writes its outputs", "[cli]") {
    TemporaryDir dir;
    const Result result = run_lmsref("autograd --seed 3 -N 40 --eta 0.2 --out-dir '" + dir.path() + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::Contains("lmsref autograd") && Catch::Contains("N = 40, M = 3, eta = 0.2") &&
                                    Catch::Contains("||w_N - wo||") && Catch::Contains("us/sample"));
    // The files hold the same trajectory the library computes.
    Scenario scenario;
    scenario.seed = 3;
    scenario.samples = 40;
    scenario.step_size = 0.2;
    const StageRun run = run_stage(find_stage("autograd"), generate_data(scenario), scenario, Device::cpu);
    REQUIRE(read_array(dir / "w.npy").values == run.trajectory.w.values);
    REQUIRE(read_array(dir / "w.npy").rows == 41);
    REQUIRE(read_array(dir / "y.npy").values == run.trajectory.y);
    REQUIRE(read_array(dir / "e.npy").values == run.trajectory.e);
    REQUIRE_FALSE(std::filesystem::exists(dir / "loss.npy")); // autograd has no loss block
}

TEST_CASE("cli: compare prints the table, writes summary.json and every stage's folder", "[cli]") {
    TemporaryDir dir;
    const Result result = run_lmsref("compare -N 60 --format csv --out-dir '" + dir.path() + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::Contains("7 of 7 zero-init stages (numpy included) agree with numpy to 1e-12"));
    for (const Stage& stage : stages()) {
        CAPTURE(stage.name);
        REQUIRE_THAT(result.output, Catch::Contains(std::string(stage.name)));
        REQUIRE(read_array(dir / (std::string(stage.name) + "/w.csv")).rows == 61);
    }
    REQUIRE(std::filesystem::exists(dir / "mseloss/loss.csv"));
    REQUIRE(read_signal(dir / "x.csv") == generate_data(Scenario{[] {
                                              Scenario s;
                                              s.samples = 60;
                                              return s;
                                          }()})
                                              .x);
    std::ifstream summary(dir / "summary.json");
    const std::string json((std::istreambuf_iterator<char>(summary)), std::istreambuf_iterator<char>());
    REQUIRE_THAT(json, Catch::Contains("\"agrees\": true") && Catch::Contains("\"linear-zero\": {") &&
                           Catch::Contains("\"N\": 60"));
}

TEST_CASE("cli: compare exits 3 when a stage is outside the tolerance", "[cli]") {
    // At tolerance 0, a stage that rounds differently from numpy anywhere is a mismatch.
    const Result result = run_lmsref("compare -N 50 --tolerance 0");
    INFO(result.output);
    Scenario scenario;
    scenario.samples = 50;
    const Comparison strict = compare_stages(generate_data(scenario), scenario, Device::cpu, 0.0);
    REQUIRE_FALSE(strict.agrees()); // the autograd and SGD updates round differently from the plain loop
    REQUIRE(result.exit_code == 3);
    REQUIRE_THAT(result.output, Catch::Contains("MISMATCH"));
}

TEST_CASE("cli: data writes x and d, which stages read back", "[cli]") {
    TemporaryDir dir;
    Result result = run_lmsref("data --seed 5 -N 30 --out-dir '" + dir.path() + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    Scenario scenario;
    scenario.seed = 5;
    scenario.samples = 30;
    const Data data = generate_data(scenario);
    REQUIRE(read_signal(dir / "x.npy") == data.x);
    REQUIRE(read_signal(dir / "d.npy") == data.d);
    result = run_lmsref("numpy --x '" + (dir / "x.npy") + "' --d '" + (dir / "d.npy") + "' --out-dir '" +
                        (dir / "run") + "'");
    REQUIRE(result.exit_code == 0);
    const StageRun run = run_stage(stages().front(), data, scenario, Device::cpu);
    REQUIRE(read_array(dir / "run/w.npy").values == run.trajectory.w.values);
}

TEST_CASE("cli: list, --help and --version", "[cli]") {
    Result result = run_lmsref("list");
    REQUIRE(result.exit_code == 0);
    for (const Stage& stage : stages())
        REQUIRE_THAT(result.output, Catch::Contains(std::string(stage.notebook_function)));
    result = run_lmsref("--help");
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::Contains("compare") && Catch::Contains("Exit codes"));
    result = run_lmsref("sgd --help");
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::Contains("--torch-seed") && Catch::Contains("--wo"));
    result = run_lmsref("--version");
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::StartsWith("lmsref ") && Catch::Contains("LibTorch"));
}

namespace {

struct ErrorCase {
    int exit_code;
    std::size_t lines; // 0: not counted (compare prints its table)
    std::string message;
    std::string arguments;
};

std::string trim(const std::string& text) {
    const auto begin = text.find_first_not_of(' ');
    return begin == std::string::npos ? "" : text.substr(begin, text.find_last_not_of(' ') - begin + 1);
}

std::string with_fixtures(std::string text) {
    const std::string placeholder = "{fixtures}";
    for (std::size_t at; (at = text.find(placeholder)) != std::string::npos;)
        text.replace(at, placeholder.size(), LMSREF_CLI_ERRORS_DIR);
    return text;
}

/// tests/cli_errors/cases.txt: exit code | lines | message | arguments.
std::vector<ErrorCase> error_cases() {
    std::vector<ErrorCase> cases;
    std::ifstream in(std::string(LMSREF_CLI_ERRORS_DIR) + "/cases.txt");
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        std::stringstream parts(line);
        for (std::string field; fields.size() < 3 && std::getline(parts, field, '|');) fields.push_back(trim(field));
        std::string rest;
        std::getline(parts, rest);
        cases.push_back(
            {std::stoi(fields[0]), std::stoul(fields[1]), with_fixtures(fields[2]), with_fixtures(trim(rest))});
    }
    return cases;
}

} // namespace

TEST_CASE("cli: every wrong command gets a clear message, its exit code, and leaves no file", "[cli][errors]") {
    const std::vector<ErrorCase> cases = error_cases();
    REQUIRE(cases.size() >= 20);
    for (const ErrorCase& c : cases) {
        CAPTURE(c.arguments);
        TemporaryDir dir; // the working folder: relative outputs would land here
        const Result result = run_lmsref(c.arguments, "", dir.path());
        INFO(result.output);
        REQUIRE(result.exit_code == c.exit_code);
        REQUIRE_THAT(result.output, Catch::Contains(c.message));
        if (c.lines > 0)
            REQUIRE(static_cast<std::size_t>(std::count(result.output.begin(), result.output.end(), '\n')) == c.lines);
        REQUIRE(std::filesystem::is_empty(dir.path()));
    }
}

TEST_CASE("cli: a float32 input is read as float64, and lmsref says so", "[cli][errors]") {
    const Result result = run_lmsref(with_fixtures("numpy --x {fixtures}/x10.npy --d {fixtures}/d10_float32.npy"));
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output,
                 Catch::Contains("lmsref: note: ") &&
                     Catch::Contains("d10_float32.npy holds float32 values; lmsref read them as float64"));
}

TEST_CASE("cli: --plot and --plot-dir draw; without gnuplot the data outputs are still written", "[cli][plot]") {
    TemporaryDir dir;
    Result result = run_lmsref("linear-zero -N 80 --plot '" + (dir / "w.svg") + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    std::ifstream svg(dir / "w.svg");
    REQUIRE_THAT(std::string(std::istreambuf_iterator<char>(svg), {}), Catch::Contains("linear-zero w_k"));

    result = run_lmsref("compare -N 80 --plot-dir '" + (dir / "plots") + "'");
    REQUIRE(result.exit_code == 0);
    for (const Stage& stage : stages())
        REQUIRE(std::filesystem::exists(dir / ("plots/" + std::string(stage.name) + ".png")));
    for (const char* name : {"gallery.png", "deviation.png", "learning.png"})
        REQUIRE(std::filesystem::exists(dir / ("plots/" + std::string(name))));

    result = run_lmsref("plot --kind deviation --reference '" + reference_path("default/numpy/w.npy") + "' '" +
                        reference_path("default/linear/w.npy") + "' --out '" + (dir / "dev.png") + "'");
    REQUIRE(result.exit_code == 0);
    REQUIRE(std::filesystem::exists(dir / "dev.png"));

    result = run_lmsref("sgd -N 80 --plot '" + (dir / "w.jpg") + "' --out-dir '" + (dir / "jpg") + "'");
    REQUIRE(result.exit_code == 1); // refused before any work: nothing written
    REQUIRE_THAT(result.output, Catch::Contains("use .png, .svg or .pdf"));
    REQUIRE_FALSE(std::filesystem::exists(dir / "jpg"));

    result = run_lmsref("sgd -N 80 --plot '" + (dir / "none.png") + "' --out-dir '" + (dir / "kept") + "'",
                        "LMSREF_GNUPLOT=/nonexistent/gnuplot");
    REQUIRE(result.exit_code == 2);
    REQUIRE_THAT(result.output, Catch::Contains("lmsref: gnuplot not found") && Catch::Contains("gnuplot-nox"));
    REQUIRE(std::filesystem::exists(dir / "kept/w.npy"));
    REQUIRE_FALSE(std::filesystem::exists(dir / "none.png"));
}

TEST_CASE("cli: basics prints the tour, one section, or the list", "[cli][basics]") {
    Result result = run_lmsref("basics");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::StartsWith("== Tensors") && Catch::Contains("== Autograd") &&
                                    Catch::Contains(">>> torch::linspace(0, 1, 10)"));
    result = run_lmsref("basics --section autograd");
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::StartsWith("== Autograd") && !Catch::Contains("== Tensors") &&
                                    Catch::Contains(">>> x0.grad()"));
    result = run_lmsref("basics --list");
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::Contains("view-reshape") && Catch::Contains("conversion"));
    result = run_lmsref("basics --section nope");
    REQUIRE(result.exit_code == 1);
    REQUIRE_THAT(result.output, Catch::Contains("unknown section 'nope'"));
}

TEST_CASE("cli: bench times the chosen stages and writes the JSON the Python twin writes", "[cli][bench]") {
    TemporaryDir dir;
    const Result result = run_lmsref("bench -N 50 --repeats 2 --stages sgd,numpy --json '" + (dir / "b.json") + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::Contains("numpy") && Catch::Contains("sgd") && !Catch::Contains("autograd") &&
                                    Catch::Contains("x numpy"));
    std::ifstream in(dir / "b.json");
    const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* key :
         {"\"scenario\"", "\"libtorch\"", "\"device\"", "\"stages\"", "\"sgd\"", "\"min_us_per_sample\"",
          "\"median_us_per_sample\"", "\"max_us_per_sample\"", "\"repeats\": 2"})
        REQUIRE_THAT(json, Catch::Contains(key));
    // With data from files, the JSON names the files rather than a seed that played no part.
    REQUIRE(run_lmsref(with_fixtures("bench --repeats 1 --stages numpy --x {fixtures}/x10.npy --d "
                                     "{fixtures}/d10_float32.npy --json '") +
                       (dir / "files.json") + "'")
                .exit_code == 0);
    REQUIRE_THAT(file_bytes(dir / "files.json"), Catch::Contains("\"x_file\": ") && !Catch::Contains("\"seed\""));
    REQUIRE(run_lmsref("bench --stages adam").exit_code == 1);
    REQUIRE(run_lmsref("bench --repeats 0").exit_code == 1);
}

TEST_CASE("cli: compare --seed 42 -N 999 writes the Python notebook's trajectories", "[cli][reference]") {
    // The reference scenario seed42 is the notebook run with np.random.seed(42), N = 999 and the other defaults;
    // its torch seed is 42 too, which is what --torch-seed defaults to here. Tolerance 1e-12, as in test_stages.
    TemporaryDir dir;
    const Result result = run_lmsref("compare --seed 42 -N 999 --out-dir '" + dir.path() + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE(file_bytes(dir / "x.npy") == file_bytes(reference_path("seed42/x.npy")));
    for (const Stage& stage : stages()) {
        const std::string name(stage.name);
        CAPTURE(name);
        const Array2D w = read_array(dir / (name + "/w.npy"));
        REQUIRE(max_abs_difference(w.values, reference_array("seed42/" + name + "/w.npy").values) <= 1e-12);
        REQUIRE(max_abs_difference(read_signal(dir / (name + "/y.npy")),
                                   reference_array("seed42/" + name + "/y.npy").values) <= 1e-12);
    }
}
