// The lmsref executable end to end, on small cases: what it prints, what it writes and how it exits.
#include "cli_support.hpp"
#include "core/text.hpp"
#include "report/bench.hpp"
#include "report/report.hpp"
#include "stages/libtorch.hpp"
#include "stages/registry.hpp"
#include "stages/runner.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

using namespace lmsref;
using namespace lmsref::test;
using Json = nlohmann::ordered_json; // keeps the file's order of keys

namespace {

/// The numbers of the row of `table` that starts with `first` followed by a number: the numbers after `first`, up
/// to the first word that is not one. Empty when no row starts so.
std::vector<double> table_row(const std::string& table, const std::string& first) {
    std::istringstream lines(table);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string word;
        if (!(words >> word) || word != first) continue;
        std::vector<double> numbers;
        while (words >> word) {
            char* end = nullptr;
            const double value = std::strtod(word.c_str(), &end);
            if (word.empty() || *end != '\0') break;
            numbers.push_back(value);
        }
        if (!numbers.empty()) return numbers;
    }
    return {};
}

/// What the scenario object of summary.json and bench's JSON holds for data generated from `scenario`.
void check_scenario_json(const Json& json, const Scenario& scenario) {
    CAPTURE(json.dump());
    REQUIRE(json.at("N").get<std::int64_t>() == scenario.samples);
    REQUIRE(json.at("M").get<std::int64_t>() == scenario.taps);
    REQUIRE(json.at("eta").get<double>() == scenario.step_size);
    REQUIRE(json.at("sigmav2").get<double>() == scenario.noise_variance);
    REQUIRE(json.at("wo").get<std::vector<double>>() == scenario.wo);
    REQUIRE(json.at("seed").get<std::uint32_t>() == scenario.seed);
    REQUIRE(json.at("torch_seed").get<std::uint64_t>() == scenario.linear_init_seed());
    REQUIRE_FALSE(json.contains("x_file"));
    REQUIRE_FALSE(json.contains("d_file"));
}

std::vector<std::string> keys_of(const Json& object) {
    std::vector<std::string> keys;
    for (const auto& item : object.items()) keys.push_back(item.key());
    return keys;
}

} // namespace

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
    Scenario scenario;
    scenario.samples = 60;
    REQUIRE(read_signal(dir / "x.csv") == generate_data(scenario).x);

    // summary.json: the scenario, the versions, and every stage's figures as the library computes them.
    const Json summary = Json::parse(file_bytes(dir / "summary.json"));
    CAPTURE(summary.dump(2));
    REQUIRE(summary.at("lmsref") == lmsref_version());
    REQUIRE(summary.at("libtorch") == libtorch_version());
    REQUIRE(summary.at("device") == "cpu");
    REQUIRE(summary.at("tolerance").get<double>() == 1e-12);
    REQUIRE(summary.at("agrees") == true);
    check_scenario_json(summary.at("scenario"), scenario);
    const Comparison expected = compare_stages(generate_data(scenario), scenario, Device::cpu, 1e-12);
    REQUIRE(expected.agrees());
    std::vector<std::string> names;
    for (const Stage& stage : stages()) names.emplace_back(stage.name);
    REQUIRE(keys_of(summary.at("stages")) == names); // registry order, numpy first
    for (const StageComparison& c : expected.stages) {
        const std::string name(c.stage->name);
        CAPTURE(name);
        const Json& json = summary.at("stages").at(name);
        REQUIRE(json.at("notebook_function") == std::string(c.stage->notebook_function));
        REQUIRE(json.at("expected_to_match_numpy") == c.stage->starts_from_zero);
        REQUIRE_FALSE(json.contains("failure"));
        REQUIRE(c.run.has_value());
        REQUIRE(json.at("device") == "cpu");
        REQUIRE(json.at("max_abs_deviation_from_numpy").get<double>() == c.max_deviation);
        REQUIRE(json.at("final_distance_from_numpy").get<double>() == c.final_distance);
        REQUIRE(json.at("within_tolerance") == c.within(1e-12));
        REQUIRE(json.at("final_weights").get<std::vector<double>>() == c.run->trajectory.final_weights());
        // The time is the run's own: the table printed it with 3 decimals.
        const double us_per_sample = json.at("us_per_sample").get<double>();
        REQUIRE(us_per_sample > 0);
        const std::vector<double> row = table_row(result.output, name);
        REQUIRE_FALSE(row.empty());
        REQUIRE(std::abs(row.front() - us_per_sample) <= 0.0005 + 1e-9);
    }
    REQUIRE(summary.at("stages").at("linear").at("within_tolerance") == false); // default init: differs early
}

TEST_CASE("cli: compare says whether linear's random start has met numpy's weights", "[cli]") {
    // The library's distances, start and end: met once the start's has shrunk a hundredfold (the defaults: 1e-17),
    // not at eta = 1e-9, where the start's trace stays.
    for (const double eta : {0.1, 1e-9}) {
        Scenario scenario;
        scenario.step_size = eta;
        const Comparison comparison = compare_stages(generate_data(scenario), scenario, Device::cpu, 1e-12);
        const auto linear = std::find_if(comparison.stages.begin(), comparison.stages.end(),
                                         [](const StageComparison& c) { return !c.stage->starts_from_zero; });
        REQUIRE(linear != comparison.stages.end());
        REQUIRE(linear->run);
        CAPTURE(eta, linear->initial_distance, linear->final_distance);
        CHECK(linear->initial_distance > 0.1);
        const bool met = linear->final_distance <= 0.01 * linear->initial_distance;
        CHECK(met == (eta == 0.1));
        const Result result = run_lmsref(eta == 0.1 ? "compare" : "compare --eta 1e-9");
        REQUIRE(result.exit_code == 0);
        CHECK_THAT(result.output, met ? Catch::Contains("linear (default init) differs early as expected")
                                      : Catch::Contains("has not met them by the end"));
    }
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
    result = run_lmsref("linear --help"); // each command lists its own options: only linear has a torch seed
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::Contains("--torch-seed") && Catch::Contains("--wo"));
    result = run_lmsref("--version");
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output, Catch::StartsWith("lmsref ") && Catch::Contains("LibTorch"));
}

namespace {

/// A wrong command of tests/cli_errors/cases.txt.
struct ErrorCase {
    std::size_t line = 0; // in cases.txt, from 1
    int exit_code = 0;
    std::size_t lines = 0;         // 0: not counted (compare prints its table)
    std::string message;           // {fixtures} replaced
    std::string arguments;         // {fixtures} replaced
    std::string written_arguments; // as cases.txt writes them
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
        text.replace(at, from.size(), to);
    return text;
}

std::string with_fixtures(const std::string& text) {
    return replace_all(text, "{fixtures}", LMSREF_CLI_ERRORS_DIR);
}

/// tests/cli_errors/cases.txt: exit code | lines | message | arguments. Blank lines and lines starting with # are
/// not cases (the same rule as tests/CMakeLists.txt's). Throws for a line that is neither.
std::vector<ErrorCase> error_cases() {
    std::vector<ErrorCase> cases;
    std::ifstream in(std::string(LMSREF_CLI_ERRORS_DIR) + "/cases.txt");
    if (!in) throw std::runtime_error("cannot read cli_errors/cases.txt");
    const std::regex case_line(R"(([^|]*)\|([^|]*)\|([^|]*)\|(.*))");
    const std::regex whole_number(R"(\d+)");
    std::size_t number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        line = trim(line, " \t\r\n");
        if (line.empty() || line[0] == '#') continue;
        const std::string where = "cli_errors/cases.txt:" + std::to_string(number) + ": ";
        std::smatch fields; // the arguments may hold '|', and are empty for lmsref alone
        if (!std::regex_match(line, fields, case_line))
            throw std::runtime_error(where + "not 'exit code | lines | message | arguments'");
        const auto field = [&](std::size_t k) { return trim(fields[k].str(), " \t\r\n"); };
        if (!std::regex_match(field(1), whole_number) || !std::regex_match(field(2), whole_number))
            throw std::runtime_error(where + "the exit code and the line count must be whole numbers");
        if (field(3).empty()) throw std::runtime_error(where + "the message is empty");
        cases.push_back({number, std::stoi(field(1)), std::stoul(field(2)), with_fixtures(field(3)),
                         with_fixtures(field(4)), field(4)});
    }
    return cases;
}

/// The CTest names tests/CMakeLists.txt gives the cases: "cli_error: " and the arguments without the fixtures
/// folder ("(no arguments)" for none); a repeated name gets " (line N)".
std::vector<std::string> error_case_test_names(const std::vector<ErrorCase>& cases) {
    std::vector<std::string> names;
    for (const ErrorCase& c : cases) {
        std::string name =
            "cli_error: " +
            replace_all(c.written_arguments.empty() ? "(no arguments)" : c.written_arguments, "{fixtures}/", "");
        if (std::find(names.begin(), names.end(), name) != names.end())
            name += " (line " + std::to_string(c.line) + ")";
        names.push_back(name);
    }
    return names;
}

/// The test names CTest lists with label `label`, in its order.
std::vector<std::string> ctest_names(const std::string& label) {
    const Result listed =
        run_command("cd '" LMSREF_TESTS_BINARY_DIR "' && '" LMSREF_CTEST_COMMAND "' -N -L '^" + label + "$'");
    INFO(listed.output);
    REQUIRE(listed.exit_code == 0);
    std::vector<std::string> names;
    std::istringstream lines(listed.output);
    const std::regex test_line(R"(^\s*Test\s+#\d+: (.*)$)"); // "  Test  #53: cli_error: numpy -N 0"
    std::smatch match;
    for (std::string line; std::getline(lines, line);)
        if (std::regex_match(line, match, test_line)) names.push_back(match[1]);
    return names;
}

/// Runs the case in an empty working folder: its exit code, its message, its number of lines, and no file left.
void check_error_case(const ErrorCase& c) {
    CAPTURE(c.line, c.arguments);
    TemporaryDir dir; // the working folder: relative outputs would land here
    const Result result = run_lmsref(c.arguments, "", dir.path());
    INFO(result.output);
    REQUIRE(result.exit_code == c.exit_code);
    REQUIRE_THAT(result.output, Catch::Contains(c.message));
    if (c.lines > 0)
        REQUIRE(static_cast<std::size_t>(std::count(result.output.begin(), result.output.end(), '\n')) == c.lines);
    REQUIRE(std::filesystem::is_empty(dir.path()));
}

} // namespace

// CTest runs this once per case, as "cli_error: <arguments>", with LMSREF_CLI_ERROR_LINE set to the case's line
// (tests/CMakeLists.txt); without it, every case runs, each in a section of its own.
TEST_CASE("cli: one wrong command of cli_errors/cases.txt", "[cli][errors][cli_error_case]") {
    const std::vector<ErrorCase> cases = error_cases();
    if (const char* selected = std::getenv("LMSREF_CLI_ERROR_LINE")) {
        const auto c = std::find_if(cases.begin(), cases.end(), [&](const ErrorCase& candidate) {
            return std::to_string(candidate.line) == selected;
        });
        INFO("LMSREF_CLI_ERROR_LINE=" << selected);
        if (c == cases.end())
            FAIL("that line of cli_errors/cases.txt is not a case: the file changed since CMake read it; build again "
                 "(the build reconfigures)");
        check_error_case(*c);
    } else {
        for (const ErrorCase& c : cases) DYNAMIC_SECTION("cases.txt:" << c.line << ": " << c.written_arguments) {
                check_error_case(c);
            }
    }
}

TEST_CASE("cli: cases.txt holds at least 40 wrong commands, and CTest runs each as a test of its own",
          "[cli][errors]") {
    std::vector<ErrorCase> cases;
    REQUIRE_NOTHROW(cases = error_cases());
    REQUIRE(cases.size() >= 40);
    // The per-case tests CTest knows are those of cases.txt as it is now, in its order: none dropped, none stale.
    const std::vector<std::string> registered = ctest_names("cli_error");
    INFO("after an edit of cases.txt, build again: the build reconfigures and registers the cases anew");
    REQUIRE(registered.size() == cases.size());
    REQUIRE(registered == error_case_test_names(cases));
}

TEST_CASE("cli: a float32 input is read as float64, and lmsref says so", "[cli][errors]") {
    const Result result = run_lmsref(with_fixtures("numpy --x {fixtures}/x10.npy --d {fixtures}/d10_float32.npy"));
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output,
                 Catch::Contains("lmsref: note: ") &&
                     Catch::Contains("d10_float32.npy holds float32 values; lmsref read them as float64"));
}

TEST_CASE("cli: --plot and --plot-dir draw, and without gnuplot nothing of the run is written", "[cli][plot]") {
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
    REQUIRE_FALSE(std::filesystem::exists(dir / "kept")); // the output set is published whole or not at all
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
    const Json bench = Json::parse(file_bytes(dir / "b.json"));
    CAPTURE(bench.dump(2));
    REQUIRE(bench.at("implementation") == "lmsref");
    REQUIRE(bench.at("lmsref") == lmsref_version());
    REQUIRE(bench.at("libtorch") == libtorch_version());
    REQUIRE(bench.at("device") == "cpu");
    const int threads = bench.at("threads").get<int>();
    REQUIRE(threads >= 1);
    REQUIRE_THAT(result.output, Catch::Contains(std::to_string(threads) + " intra-op thread"));
    Scenario scenario;
    scenario.samples = 50;
    check_scenario_json(bench.at("scenario"), scenario);
    REQUIRE(keys_of(bench.at("stages")) == std::vector<std::string>{"numpy", "sgd"}); // registry order
    const double numpy_median = bench.at("stages").at("numpy").at("median_us_per_sample").get<double>();
    for (const std::string name : {"numpy", "sgd"}) {
        CAPTURE(name);
        const Json& json = bench.at("stages").at(name);
        REQUIRE(json.at("repeats") == 2);
        REQUIRE(json.at("device") == "cpu");
        const double min = json.at("min_us_per_sample").get<double>();
        const double median = json.at("median_us_per_sample").get<double>();
        const double max = json.at("max_us_per_sample").get<double>();
        REQUIRE(0 < min);
        REQUIRE(min <= median);
        REQUIRE(median <= max);
        REQUIRE(median == Approx((min + max) / 2)); // the median of two runs
        // The table printed the same times with 4 decimals, and the median's ratio to numpy's with 1.
        const std::vector<double> row = table_row(result.output, name);
        REQUIRE(row.size() == 4);
        REQUIRE(std::abs(row[0] - min) <= 0.00005 + 1e-9);
        REQUIRE(std::abs(row[1] - median) <= 0.00005 + 1e-9);
        REQUIRE(std::abs(row[2] - max) <= 0.00005 + 1e-9);
        REQUIRE(std::abs(row[3] - median / numpy_median) <= 0.05 + 1e-9);
    }
    // With data from files, the JSON names the files rather than a seed that played no part.
    REQUIRE(run_lmsref(with_fixtures("bench --repeats 1 --stages numpy --x {fixtures}/x10.npy --d "
                                     "{fixtures}/d10_float32.npy --json '") +
                       (dir / "files.json") + "'")
                .exit_code == 0);
    const Json files = Json::parse(file_bytes(dir / "files.json"));
    CAPTURE(files.dump(2));
    const Json& from_files = files.at("scenario");
    REQUIRE(from_files.at("x_file") == with_fixtures("{fixtures}/x10.npy"));
    REQUIRE(from_files.at("d_file") == with_fixtures("{fixtures}/d10_float32.npy"));
    REQUIRE(from_files.at("N") == 10);
    for (const char* absent : {"seed", "sigmav2", "wo"}) REQUIRE_FALSE(from_files.contains(absent));
    REQUIRE(keys_of(files.at("stages")) == std::vector<std::string>{"numpy"});
    REQUIRE(files.at("stages").at("numpy").at("repeats") == 1);
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

TEST_CASE("bench's JSON escapes the file names it holds", "[report][bench]") {
    Scenario scenario;
    scenario.x_file = "data/x \"quoted\" C:\\path.npy";
    scenario.d_file = "data/d\ttab\x01.npy";
    Data data;
    data.x.assign(10, 0.5);
    data.d.assign(10, 0.25);
    BenchResult result;
    result.repeats = 2;
    StageTiming numpy;
    numpy.stage = &stages().front();
    numpy.us_per_sample = {0.1, 0.3};
    result.stages = {numpy};
    result.numpy = numpy;
    const Json json = Json::parse(bench_json(result, scenario, data, Device::cpu));
    CAPTURE(json.dump(2));
    REQUIRE(json.at("scenario").at("x_file") == scenario.x_file);
    REQUIRE(json.at("scenario").at("d_file") == scenario.d_file);
    REQUIRE(json.at("scenario").at("N") == 10);
    REQUIRE(keys_of(json.at("stages")) == std::vector<std::string>{"numpy"});
    REQUIRE(json.at("stages").at("numpy").at("median_us_per_sample").get<double>() == numpy.median());
    REQUIRE(json.at("stages").at("numpy").at("max_us_per_sample").get<double>() == 0.3);
}

TEST_CASE("cli: a message is one short line, whatever the value or the name it quotes", "[cli][errors]") {
    TemporaryDir dir;
    // A 20 MB CSV token, a CR-only file of 14 MB, a 100,000-digit number, a name with a newline and bytes that are
    // not UTF-8: each message is one line of at most 300 bytes (the value cut near 80 characters).
    std::ofstream(dir / "token.csv") << std::string(20'000'000, '7') << "x\n";
    std::string cr_only;
    for (int k = 0; k < 2'000'000; ++k) cr_only += "0.12345\r";
    std::ofstream(dir / "cr.csv") << cr_only;
    const struct {
        std::string arguments, message;
    } cases[] = {
        {"numpy --x '" + (dir / "token.csv") + "' --d '" + (dir / "token.csv") + "'",
         "'" + std::string(80, '7') + "... (20000001 bytes in all)' is not a number"},
        {"numpy --x '" + (dir / "cr.csv") + "' --d '" + (dir / "cr.csv") + "'",
         "'0.12345\\r0.12345\\r0.12345\\r0.12345\\r0.12345\\r0.12345\\r0.12345\\r0.12345\\r0.12345\\r0.12345\\r... "
         "(15999999 bytes in all)' is not a number (lines that end in a carriage return alone?"},
        {"numpy --eta $(head -c 100000 /dev/zero | tr '\\0' 9)", "(100000 bytes in all)' is out of range"},
        {"numpy --x \"$(printf 'a\\nb.npy')\" --d d.npy", "lmsref: a\\nb.npy: cannot open"},
        {"numpy --x 'missing\xff\xfe.csv' --d d.npy", "lmsref: missing\\xff\\xfe.csv: cannot open"},
        {"numpy --wo 0.1,$(printf 'x\\033[2J')", "item 2 ('x\\x1b[2J') is not a number"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.arguments);
        const Result result = run_lmsref(c.arguments, "", dir.path());
        INFO(result.output.substr(0, 400));
        REQUIRE(result.exit_code == 1);
        REQUIRE(std::count(result.output.begin(), result.output.end(), '\n') == 1);
        REQUIRE(result.output.size() <= 300);
        REQUIRE_THAT(result.output, Catch::Contains(c.message));
    }
    // The environment's values too: the timeout's message says what is allowed, with the value as set.
    const Result timeout = run_lmsref("numpy -N 5 --plot p.png", "LMSREF_GNUPLOT_TIMEOUT=0", dir.path());
    REQUIRE(timeout.exit_code == 1);
    REQUIRE_THAT(timeout.output, Catch::Contains("LMSREF_GNUPLOT_TIMEOUT: '0' is not allowed; give the seconds gnuplot "
                                                 "may take, a number above 0 and at most 1e6"));
}

TEST_CASE("cli: LibTorch is loaded only by the commands that need it, and a missing module is one line", "[cli]") {
    TemporaryDir dir;
    // lmsref alone, without the module beside it: the commands without LibTorch work, the others say why not.
    const std::string alone = dir / "lmsref";
    std::filesystem::copy_file(LMSREF_EXECUTABLE, alone);
    std::filesystem::permissions(alone, std::filesystem::perms::owner_all);
    const auto run = [&](const std::string& arguments) { return run_command("'" + alone + "' " + arguments); };
    for (const char* works : {"--version", "list", "numpy -N 50", "ensemble -R 20 -N 50", "data -N 5 --out-dir d"}) {
        CAPTURE(works);
        const Result result = run_command("cd '" + dir.path() + "' && '" + alone + "' " + works);
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
    }
    for (const char* needs : {"compare -N 50", "sgd -N 50", "basics --list", "ensemble --stage sgd -R 20 -N 50",
                              "tensor -N 50 --device auto"}) {
        CAPTURE(needs);
        const Result result = run(needs);
        INFO(result.output);
        REQUIRE(result.exit_code == 2);
        REQUIRE(std::count(result.output.begin(), result.output.end(), '\n') == 1);
        REQUIRE_THAT(result.output,
                     Catch::Contains("lmsref: the LibTorch module " + (dir / "liblmsref_torch.so") + " is missing"));
    }
    // A module that is not one: refused with the loader's reason, still one line.
    std::ofstream(dir / "liblmsref_torch.so") << "not a shared library\n";
    const Result broken = run("compare -N 50");
    INFO(broken.output);
    REQUIRE(broken.exit_code == 2);
    REQUIRE(std::count(broken.output.begin(), broken.output.end(), '\n') == 1);
    REQUIRE_THAT(broken.output, Catch::Contains("lmsref: the LibTorch module " + (dir / "liblmsref_torch.so") +
                                                " cannot be loaded ("));
    // The commands that never touch LibTorch do not load it: the dynamic loader's own account (LD_DEBUG=files, into
    // LD_DEBUG_OUTPUT.<pid>) of numpy names no libtorch, that of sgd names the module.
    const auto loaded_files = [&](const std::string& command) {
        const std::string folder = dir / ("ld-" + command.substr(0, command.find(' ')));
        std::filesystem::create_directories(folder);
        REQUIRE(run_command("LD_DEBUG=files LD_DEBUG_OUTPUT='" + folder + "/ld' '" + LMSREF_EXECUTABLE + "' " +
                            command + " >/dev/null")
                    .exit_code == 0);
        std::string account;
        for (const auto& entry : std::filesystem::directory_iterator(folder)) account += file_bytes(entry.path());
        REQUIRE_THAT(account, Catch::Contains("file=")); // the account is there
        return account;
    };
    REQUIRE(loaded_files("numpy -N 5").find("libtorch") == std::string::npos);
    REQUIRE_THAT(loaded_files("sgd -N 5"), Catch::Contains("liblmsref_torch.so") && Catch::Contains("libtorch"));
}
