// lmsref: the command-line front end. It parses options, calls the library, prints, and maps errors to exit codes.
#include "core/errors.hpp"
#include "core/text.hpp"
#include "ensemble/mpi_team.hpp"
#include "io/files.hpp"
#include "io/output_set.hpp"
#include "lms/stage.hpp"
#include "lms/torch_module.hpp"
#include "plot/figures.hpp"
#include "report/bench.hpp"
#include "report/ensemble_report.hpp"
#include "report/report.hpp"
#include "stages/libtorch.hpp"
#include "stages/registry.hpp"
#include "stages/runner.hpp"
#include "tour/basics.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <new>
#include <optional>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace lmsref;

constexpr std::int64_t max_samples = 1000000000;
constexpr std::int64_t max_taps = 1000000;
constexpr std::size_t help_width = 100;

/// The exit codes a command can end with; `failures` says what makes it end with 2.
std::string exit_codes(const std::string& failures, bool with_mismatch = false) {
    return "Exit codes: 0 success, 1 bad input or usage, 2 runtime failure (" + failures + ")" +
           (with_mismatch ? ",\n            3 a zero-init stage disagrees with numpy beyond --tolerance (its outputs\n"
                            "            are still written: they are the evidence)."
                          : ".");
}

/// Everything the subcommands read from the command line, as text: the library parses every value, so that each
/// bad value gets the same kind of message (the option, the value, what is allowed).
struct Options {
    std::string seed = "0";
    std::string samples = std::to_string(Scenario{}.samples);
    std::string taps = std::to_string(Scenario{}.taps);
    std::string eta = format_number(Scenario{}.step_size, "%g");
    std::string sigmav2 = format_number(Scenario{}.noise_variance, "%g");
    std::string wo = "0.1,0.2,0.3";
    std::string x_file;
    std::string d_file;
    std::string torch_seed;
    std::string device = "cpu";
    std::string out_dir;
    std::string format = "npy";
    std::string tolerance = "1e-12";
    std::string plot;     // a stage's figure
    std::string plot_dir; // compare's figures
    // lmsref plot
    std::string kind = "weights";
    std::vector<std::string> files;
    std::string reference;
    std::string title;
    std::string out;
    std::string plot_wo; // dashed lines on a re-plot
    bool log_x = false;
    // lmsref basics
    std::string section;
    bool list_sections = false;
    std::string basics_device = "auto";
    // lmsref ensemble
    std::string realizations = "1000";
    std::string threads = "0";
    std::string decimate = "1";
    std::string progress = "auto";
    std::string x_scale = "auto";
    std::string ensemble_stage = "numpy";
    std::string rng = "numpy";
    std::string chunk = "0";
    // lmsref bench
    std::string bench_stages;
    std::string repeats = "20";
    std::string json;
};

/// CLI11's help with every description wrapped to fit `help_width` columns.
class Formatter : public CLI::Formatter {
public:
    Formatter() { column_width(30); }
    std::string make_option_desc(const CLI::Option* option) const override {
        return wrapped(CLI::Formatter::make_option_desc(option), help_width - get_column_width());
    }
    std::string make_subcommand(const CLI::App* command) const override {
        std::stringstream out;
        CLI::detail::format_help(out, command->get_name(),
                                 wrapped(command->get_description(), help_width - get_column_width()),
                                 get_column_width());
        return out.str();
    }

    std::string make_description(const CLI::App* app) const override {
        return wrapped(app->get_description(), help_width) + "\n";
    }

private:
    static std::string wrapped(const std::string& text, std::size_t width) {
        std::string out;
        std::size_t line = 0;
        std::stringstream words(text);
        for (std::string word; words >> word;) {
            const bool new_line = line > 0 && line + 1 + word.size() > width;
            out += (new_line ? "\n" : line > 0 ? " " : "") + word;
            line = (new_line || line == 0 ? 0 : line + 1) + word.size();
        }
        return out;
    }
};

/// Which scenario options a command takes.
enum Parts : unsigned {
    generated = 1,  ///< --seed, -N, --sigmav2, --wo: the generated data
    files = 2,      ///< --x, --d: data read from files
    filter = 4,     ///< -M, --eta: the adaptive filter
    torch_seed = 8, ///< --torch-seed: nn::Linear's default init
    device = 16,    ///< --device: where LibTorch runs
    all_parts = 31
};

/// An option that takes a `type` ("UINT", "FILE", ...); --help shows its default, if it has one.
CLI::Option* add_value(CLI::App& command, const std::string& names, std::string& value, const std::string& description,
                       const std::string& type) {
    return command.add_option(names, value, description)->type_name(type)->capture_default_str();
}

void add_scenario_options(CLI::App& command, Options& o, unsigned parts) {
    const struct {
        unsigned part;
        const char* names;
        std::string* value;
        const char* description;
        const char* type;
    } options[] = {
        // in --help's order
        {generated, "--seed", &o.seed, "NumPy seed for x and the noise (np.random.seed), 0 ... 2^32 - 1", "UINT"},
        {generated, "-N,--samples", &o.samples, "number of samples N", "UINT"},
        {filter, "-M,--taps", &o.taps, "adaptive filter length M", "UINT"},
        {filter, "--eta", &o.eta, "step size eta", "FLOAT"},
        {generated, "--sigmav2", &o.sigmav2, "variance of the measurement noise", "FLOAT"},
        {generated, "--wo", &o.wo, "the unknown system, a comma list of any length", "LIST"},
        {files, "--x", &o.x_file, "read x from this .npy or .csv file (N or N x 1), with --d", "FILE"},
        {files, "--d", &o.d_file, "read d from this .npy or .csv file (N or N x 1), with --x", "FILE"},
        {torch_seed, "--torch-seed", &o.torch_seed,
         "seed of nn::Linear's default init, 0 ... 2^64 - 1 (default: --seed)", "UINT"},
        {device, "--device", &o.device, "where the LibTorch stages run: cpu, cuda or auto", "DEVICE"},
    };
    for (const auto& option : options)
        if (parts & option.part) add_value(command, option.names, *option.value, option.description, option.type);
}

void add_output_options(CLI::App& command, Options& o) {
    add_value(command, "--out-dir", o.out_dir, "write the outputs into this folder (replaced as a whole)", "DIR");
    add_value(command, "--format", o.format, "file format of the outputs: npy or csv", "FORMAT");
}

/// The scenario's data, with a note on standard error for each file whose dtype was converted.
Data load_data(const Scenario& scenario) {
    Data data = make_data(scenario);
    for (const std::string& note : data.notes) std::cerr << "lmsref: note: " << note << "\n";
    return data;
}

/// Before the work: a step size past the mean-square stability bound is worth a word, not a refusal.
void warn_about_step_size(const Scenario& scenario, const Data& data) {
    if (const std::optional<std::string> warning = stability_warning(scenario, data))
        std::cerr << "lmsref: warning: " << *warning << "\n";
}

/// --seed: NumPy's seeds are 32-bit.
std::uint32_t numpy_seed(const std::string& text) {
    return static_cast<std::uint32_t>(
        parse_count("--seed", text, std::numeric_limits<std::uint32_t>::max(), " (NumPy's seeds are 32-bit)"));
}

/// A whole number option with an upper bound (the lower bounds are validate()'s).
std::int64_t bounded_integer(const std::string& option, const std::string& text, const char* symbol, std::int64_t max) {
    const std::string range = std::string("; ") + symbol + " must be from 1 to " + std::to_string(max);
    const std::int64_t value = parse_integer(option, text, range);
    if (value > max) throw InputError(option + ": " + std::to_string(value) + " is not allowed" + range);
    return value;
}

/// The scenario the options describe, checked.
Scenario scenario_from(const Options& o, const CLI::App& command) {
    Scenario scenario;
    scenario.seed = numpy_seed(o.seed);
    scenario.samples = bounded_integer("--samples", o.samples, "N", max_samples);
    scenario.taps = bounded_integer("--taps", o.taps, "M", max_taps);
    scenario.step_size = parse_number("--eta", o.eta);
    scenario.noise_variance = parse_number("--sigmav2", o.sigmav2);
    scenario.wo = parse_number_list("--wo", o.wo);
    for (const char* option : {"--x", "--d"})
        if (command.get_option_no_throw(option) != nullptr && command.count(option) > 0 &&
            (option[2] == 'x' ? o.x_file : o.d_file).empty())
            throw InputError(std::string(option) + ": the path is empty; name a .npy or .csv file");
    scenario.x_file = o.x_file;
    scenario.d_file = o.d_file;
    if (scenario.data_from_files())
        for (const char* option : {"--samples", "--sigmav2", "--wo"})
            if (command.get_option_no_throw(option) != nullptr && command.count(option) > 0)
                throw InputError(std::string(option) +
                                 ": the data come from --x and --d; give either the files or the generated data's "
                                 "options");
    if (command.get_option_no_throw("--torch-seed") != nullptr && command.count("--torch-seed") > 0)
        scenario.torch_seed = parse_count("--torch-seed", o.torch_seed, std::numeric_limits<std::uint64_t>::max());
    validate(scenario);
    return scenario;
}

/// Throws RuntimeFailure, saying `consequence`, unless everything printed so far has reached standard output: a
/// reader that went away (`| head`), a closed or full standard output, or mpirun's (launcher_output_failure).
void check_standard_output(const std::string& consequence) {
    errno = 0;
    std::cout.flush();
    const bool failed = !std::cout || std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
    const int error = errno;
    std::string why = failed ? (error != 0 ? std::strerror(error) : "it is closed or full, or its reader went away")
                             : launcher_output_failure();
    if (!why.empty()) throw RuntimeFailure("standard output: cannot write (" + why + "); " + consequence);
}

/// Publishes the run's outputs once what it printed, `closing` (the lines that name them) included, has reached
/// standard output; otherwise the set is dropped rather than published behind an error. Nothing is printed after:
/// once the set is in place the run has succeeded.
void publish(OutputSet& outputs, const std::string& closing = "") {
    std::cout << closing;
    check_standard_output("nothing was published");
    outputs.commit();
}

/// A plot request is checked before any work: a build without plotting, an unknown image type.
void check_plot_request(const std::string& target) {
    if (target.empty()) return;
    require_plotting();
    check_plot_target(target);
}

/// Where to write a file target (--plot, --json, --out) within the output set; "-" and "" stay as they are.
std::string staged_file(OutputSet& outputs, const std::string& target, const char* option) {
    return target.empty() || target == "-" ? target : outputs.file(target, option);
}

int run_one_stage(const Stage& stage, const Options& o, const CLI::App& command) {
    const Scenario scenario = scenario_from(o, command);
    if (stage.uses_torch) torch_module(); // a missing LibTorch module is said before any work
    const Device device = stage.uses_torch ? resolve_device(parse_device_choice(o.device)) : Device::cpu;
    const FileFormat format = parse_file_format(o.format);
    check_plot_request(o.plot);
    OutputSet outputs(is_output_name);
    const std::string out_dir = o.out_dir.empty() ? "" : outputs.folder(o.out_dir, "--out-dir");
    const std::string plot = staged_file(outputs, o.plot, "--plot");
    const Data data = load_data(scenario);
    warn_about_step_size(scenario, data);
    const StageRun run = run_stage(stage, data, scenario, device);
    std::cout << stage_report(run, scenario, data) << std::flush;
    outputs.write([&] {
        if (!out_dir.empty()) write_trajectory(out_dir, run.trajectory, format);
        if (plot.empty()) return;
        const StageRun numpy = &stage == &stages().front() ? run : run_stage(stages().front(), data, scenario, device);
        render(stage_figure(run, numpy, scenario, data), plot);
    });
    publish(outputs, (out_dir.empty() ? "" : "  outputs    " + o.out_dir + "\n") +
                         (plot.empty() || plot == "-" ? "" : "  plot       " + o.plot + "\n"));
    return 0;
}

/// --tolerance: finite and >= 0.
double parse_tolerance(const std::string& text) {
    const double tolerance = parse_number("--tolerance", text);
    if (!(tolerance >= 0) || !std::isfinite(tolerance))
        throw InputError("--tolerance: " + text + " is not allowed; it must be finite and >= 0");
    return tolerance;
}

int run_compare(const Options& o, const CLI::App& command) {
    const Scenario scenario = scenario_from(o, command);
    torch_module(); // a missing LibTorch module is said before any work
    const Device device = resolve_device(parse_device_choice(o.device));
    const FileFormat format = parse_file_format(o.format);
    const double tolerance = parse_tolerance(o.tolerance);
    if (!o.plot_dir.empty()) require_plotting();
    OutputSet outputs(is_output_name);
    const std::string out_dir = o.out_dir.empty() ? "" : outputs.folder(o.out_dir, "--out-dir");
    const std::string plot_dir = o.plot_dir.empty() ? "" : outputs.folder(o.plot_dir, "--plot-dir");
    const Data data = load_data(scenario);
    warn_about_step_size(scenario, data);
    const Comparison comparison = compare_stages(data, scenario, device, tolerance);
    std::cout << comparison_report(comparison, scenario, data, device) << std::flush;
    if (comparison.failed()) { // a failed stage has no outputs to write, and half a set of outputs would mislead
        if (!out_dir.empty() || !plot_dir.empty()) std::cout << "nothing was written: a stage failed\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    outputs.write([&] {
        if (!out_dir.empty()) write_comparison(out_dir, comparison, scenario, data, device, format);
        if (!plot_dir.empty()) plot_comparison(comparison, scenario, data, plot_dir);
    });
    publish(outputs,
            (out_dir.empty() ? "" : "outputs in " + o.out_dir + " (summary.json, x, d and one folder per stage)\n") +
                (plot_dir.empty()
                     ? ""
                     : "plots in " + o.plot_dir + " (one per stage, gallery.png, deviation.png, learning.png)\n"));
    return comparison.agrees() ? 0 : static_cast<int>(ExitCode::out_of_tolerance);
}

int run_data(const Options& o, const CLI::App& command) {
    const Scenario scenario = scenario_from(o, command);
    const FileFormat format = parse_file_format(o.format);
    if (o.out_dir.empty()) throw InputError("--out-dir: lmsref data writes x and d into a folder; name it");
    OutputSet outputs(is_output_name);
    const std::string out_dir = outputs.folder(o.out_dir, "--out-dir");
    const Data data = generate_data(scenario);
    outputs.write([&] { write_data(out_dir, data, format); });
    publish(outputs, "lmsref data: N = " + std::to_string(data.samples()) +
                         ", sigmav2 = " + format_number(scenario.noise_variance, "%g") +
                         ", wo = " + format_vector(scenario.wo, "%g") + ", seed = " + std::to_string(scenario.seed) +
                         "\nwrote x" + extension(format) + " and d" + extension(format) + " to " + o.out_dir + "\n");
    return 0;
}

int run_plot(const Options& o) {
    const PlotKind kind = parse_plot_kind(o.kind);
    if (o.out.empty()) throw InputError("--out: name the image to write (.png, .svg, .pdf; - for the terminal)");
    check_plot_request(o.out);
    const std::vector<double> wo = o.plot_wo.empty() ? std::vector<double>{} : parse_number_list("--wo", o.plot_wo);
    const Figure figure = replot(kind, o.files, o.reference, wo, o.title, o.log_x);
    OutputSet outputs(is_output_name);
    const std::string out = staged_file(outputs, o.out, "--out");
    outputs.write([&] { render(figure, out); });
    publish(outputs, o.out == "-" ? "" : "lmsref plot: wrote " + o.out + "\n");
    return 0;
}

int run_basics(const Options& o, const CLI::App& command) {
    if (command.count("--section") > 0 && trim(o.section).empty())
        throw InputError("--section: the name is empty; lmsref basics --list names the sections (leave the option out "
                         "for all)");
    if (o.list_sections) {
        for (const BasicsSectionInfo& section : basics_sections())
            std::printf("%-14s %s\n", std::string(section.name).c_str(), std::string(section.title).c_str());
        return 0;
    }
    BasicsOptions options;
    options.seed = numpy_seed(o.seed);
    options.device = parse_device_choice(o.basics_device);
    std::cout << basics_tour(o.section, options);
    return 0;
}

int run_bench(const Options& o, const CLI::App& command) {
    const Scenario scenario = scenario_from(o, command);
    const Device device = resolve_device(parse_device_choice(o.device));
    if (command.count("--stages") > 0 && trim(o.bench_stages).empty())
        throw InputError("--stages: the list is empty; name stages, e.g. --stages numpy,sgd (leave the option out for "
                         "all)");
    const std::vector<const Stage*> selected = select_stages(o.bench_stages);
    if (std::any_of(selected.begin(), selected.end(), [](const Stage* stage) { return stage->uses_torch; }))
        torch_module(); // a missing LibTorch module is said before any work
    const auto repeats = static_cast<int>(
        parse_count("--repeats", o.repeats, std::numeric_limits<int>::max(), " (timed runs per stage)"));
    check_repeats(repeats);
    OutputSet outputs(is_output_name);
    const std::string json = staged_file(outputs, o.json, "--json");
    const Data data = load_data(scenario);
    warn_about_step_size(scenario, data);
    const BenchResult result = bench_stages(selected, data, scenario, device, repeats);
    std::cout << bench_report(result, scenario, data, device) << std::flush;
    if (!json.empty()) outputs.write([&] { write_file_atomically(json, bench_json(result, scenario, data, device)); });
    publish(outputs, json.empty() ? "" : "wrote " + o.json + "\n");
    return 0;
}

/// The progress line of a long ensemble on standard error: realizations done, their rate, the time left. On a
/// terminal it is one line redrawn in place (and erased at the end); elsewhere (`--progress always` into a log) a
/// line every few seconds. `auto` shows it on a terminal once the run has taken a second.
class ProgressLine {
public:
    enum class Mode { automatic, always, never };

    ProgressLine(std::int64_t total, Mode mode)
        : total_(total), mode_(mode), terminal_(::isatty(STDERR_FILENO) == 1), start_(Clock::now()), last_(start_) {}

    /// Called by the engine after each block, with its lock held: quick unless a line is due.
    void operator()(std::int64_t done) {
        if (mode_ == Mode::never || (mode_ == Mode::automatic && !terminal_)) return;
        const auto now = Clock::now();
        const double elapsed = seconds(now - start_);
        if (mode_ == Mode::automatic && elapsed < 1.0) return;
        if (done < total_ && shown_ && seconds(now - last_) < (terminal_ ? 0.1 : 5.0)) return;
        last_ = now;
        shown_ = true;
        const double rate = static_cast<double>(done) / std::max(elapsed, 1e-9);
        const std::string line =
            fmt::format("lmsref ensemble: {} of {} realizations, {:.0f} per second, {:.0f} s left", done, total_, rate,
                        static_cast<double>(total_ - done) / std::max(rate, 1e-9));
        std::cerr << (terminal_ ? "\r\033[K" + line : line + "\n") << std::flush;
    }

    /// Erases the line from a terminal.
    void finish() const {
        if (shown_ && terminal_) std::cerr << "\r\033[K" << std::flush;
    }

    static Mode parse(const std::string& text) {
        if (text == "auto") return Mode::automatic;
        if (text == "always") return Mode::always;
        if (text == "never") return Mode::never;
        throw InputError("--progress: '" + text + "' is not allowed; use auto, always or never");
    }

private:
    using Clock = std::chrono::steady_clock;
    static double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
    std::int64_t total_;
    Mode mode_;
    bool terminal_;
    Clock::time_point start_;
    Clock::time_point last_;
    bool shown_ = false;
};

/// --stage of `ensemble`: a stage of the table, or nullptr for `all`.
const Stage* ensemble_stage(const std::string& text) {
    if (text == "all") return nullptr;
    try {
        return &find_stage(text);
    } catch (const InputError& error) {
        throw InputError(std::string("--stage: ") + error.what() + ", or all");
    }
}

/// Runs `step` on rank 0 of an MPI launch only (all of it when alone: team null); a failure there is every rank's
/// (Team::check), so that no rank is left waiting for the others and all exit with rank 0's code.
template <class Step> void on_rank_zero(Team* team, const Step& step) {
    if (team == nullptr) return step();
    std::exception_ptr failure;
    if (team->rank() == 0) try {
            step();
        } catch (...) {
            failure = std::current_exception();
        }
    team->check(failure);
}

void publish_comparison(const Options& o, const EnsembleComparison& comparison, OutputSet& outputs,
                        const std::string& out_dir, const std::string& json, FileFormat format);

/// `ensemble --stage all`: every stage on the same realizations, their curves against the plain engine's.
int run_ensemble_comparison(const Options& o, const EnsemblePlan& plan, FileFormat format) {
    if (!o.plot.empty())
        throw InputError("--plot: draws one stage's ensemble; give --stage numpy (or another stage), not all");
    const double tolerance = parse_tolerance(o.tolerance);
    OutputSet outputs(is_output_name);
    std::string out_dir, json;
    on_rank_zero(plan.options.team, [&] {
        out_dir = o.out_dir.empty() ? "" : outputs.folder(o.out_dir, "--out-dir");
        json = staged_file(outputs, o.json, "--json");
    });
    const EnsembleComparison comparison = compare_ensemble_stages(plan, tolerance);
    std::cout << ensemble_comparison_report(comparison) << std::flush;
    if (comparison.failed()) {
        if (!out_dir.empty() || !json.empty()) std::cout << "nothing was written: a stage failed\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    on_rank_zero(plan.options.team, [&] { publish_comparison(o, comparison, outputs, out_dir, json, format); });
    return comparison.agrees() ? 0 : static_cast<int>(ExitCode::out_of_tolerance);
}

void publish_comparison(const Options& o, const EnsembleComparison& comparison, OutputSet& outputs,
                        const std::string& out_dir, const std::string& json, FileFormat format) {
    outputs.write([&] {
        if (!json.empty()) write_file_atomically(json, ensemble_comparison_json(comparison));
        if (out_dir.empty()) return;
        for (const EnsembleStageRun& s : comparison.stages) {
            const std::string dir = (std::filesystem::path(out_dir) / std::string(s.stage->name)).string();
            std::filesystem::create_directory(dir);
            write_ensemble(dir, *s.run, format);
        }
        write_file_atomically((std::filesystem::path(out_dir) / "summary.json").string(),
                              ensemble_comparison_json(comparison));
    });
    publish(outputs, (out_dir.empty() ? "" : "outputs in " + o.out_dir + " (summary.json and one folder per stage)\n") +
                         (json.empty() ? "" : "wrote " + o.json + "\n"));
}

int run_ensemble_command(const Options& o, const CLI::App& command) {
    EnsembleOptions options;
    options.scenario = scenario_from(o, command);
    if (options.scenario.data_from_files() && command.count("--realizations") > 0)
        throw InputError("--realizations: the data come from --x and --d, one realization per column; give either "
                         "the files or --realizations");
    options.realizations = bounded_integer("--realizations", o.realizations, "R", std::int64_t{1} << 40);
    options.threads = static_cast<int>(parse_count("--threads", o.threads, 4096, " (0: all cores)"));
    options.decimate = bounded_integer("--decimate", o.decimate, "m", max_samples);
    const Stage* stage = ensemble_stage(o.ensemble_stage);
    options.rng = parse_rng(o.rng);
    BatchedOptions batched;
    batched.chunk = static_cast<std::int64_t>(parse_count("--chunk", o.chunk, std::int64_t{1} << 40, " (0: auto)"));
    batched.first_torch_seed = options.scenario.linear_init_seed();
    if (stage == nullptr || stage->uses_torch) {
        torch_module(); // a missing LibTorch module is said before any work
        batched.device = resolve_device(parse_device_choice(o.device));
        set_torch_threads(options.threads > 0 ? options.threads : available_cores());
    } else { // the plain engine: CPU threads, or its CUDA kernel (philox data made there, numpy's copied)
        const DeviceChoice choice = parse_device_choice(o.device);
        if (choice == DeviceChoice::cuda)
            options.device = Device::cuda; // the library checks the kernel and the GPU
        else if (choice == DeviceChoice::automatic && options.rng == Rng::philox && ensemble_cuda_devices() > 0)
            options.device = Device::cuda;
    }
    const FileFormat format = parse_file_format(o.format);
    const ProgressLine::Mode progress_mode = ProgressLine::parse(o.progress);
    const XScale x_scale = parse_x_scale(o.x_scale);
    check_plot_request(o.plot);
    EnsemblePlan plan = plan_ensemble(options, stage, batched);
    for (const std::string& note : plan.notes) std::cerr << "lmsref: note: " << note << "\n";
    if (plan.theory.past_mean_square_bound)
        std::cerr << "lmsref: warning: eta = " << format_number(plan.options.scenario.step_size, "%g")
                  << " is at or above the mean-square stability bound 2/((M + 2) sx2) = "
                  << format_number(plan.theory.mean_square_bound, "%.6g")
                  << ": theory has no steady state, and the curves grow\n";
    // Under mpirun, the ranks share the realizations (all of them read the options and files above alike); rank 0
    // alone prints, shows progress and writes.
    const std::unique_ptr<Team> team = join_launched_team();
    plan.options.team = team.get();
    if (stage == nullptr) return run_ensemble_comparison(o, plan, format);
    OutputSet outputs(is_output_name);
    std::string out_dir, plot, json;
    on_rank_zero(team.get(), [&] {
        out_dir = o.out_dir.empty() ? "" : outputs.folder(o.out_dir, "--out-dir");
        plot = staged_file(outputs, o.plot, "--plot");
        json = staged_file(outputs, o.json, "--json");
    });
    ProgressLine progress(plan.options.realizations, progress_mode); // the engine calls it on rank 0 alone
    plan.options.progress = std::ref(progress);
    const EnsembleRun run = run_plan(std::move(plan));
    progress.finish();
    run.check_finite();
    std::cout << ensemble_report(run) << std::flush;
    on_rank_zero(team.get(), [&] {
        outputs.write([&] {
            if (!out_dir.empty()) write_ensemble(out_dir, run, format);
            if (!json.empty()) write_file_atomically(json, ensemble_summary_json(run));
            if (!plot.empty()) render(ensemble_figure(run, x_scale), plot);
        });
        publish(outputs, (out_dir.empty() ? ""
                                          : "  outputs        " + o.out_dir +
                                                " (mse, msd, meanw, mse_theory, msd_theory, summary.json)\n") +
                             (json.empty() ? "" : "  summary        " + o.json + "\n") +
                             (plot.empty() || plot == "-" ? "" : "  plot           " + o.plot + "\n"));
    });
    return 0;
}

int run_list() {
    for (const Stage& stage : stages()) {
        std::printf("%-12s %-20s %s\n", std::string(stage.name).c_str(), std::string(stage.notebook_function).c_str(),
                    std::string(stage.summary).c_str());
    }
    return 0;
}

// ------------------------------------------------------------------------------------------------- parse errors

std::vector<std::string> command_names(const CLI::App& app) {
    std::vector<std::string> names;
    for (const CLI::App* command : app.get_subcommands({})) names.push_back(command->get_name());
    return names;
}

/// The option names a command knows, as typed: "--eta", "-N", "--samples", ...
std::vector<std::string> option_names(const CLI::App& command) {
    std::vector<std::string> names;
    for (const CLI::Option* option : command.get_options()) {
        for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
        for (const std::string& name : option->get_snames()) names.push_back("-" + name);
    }
    return names;
}

/// An argument the command does not take: name the option or value, and what was meant when it is close.
std::string unexpected_argument(const CLI::App& app, const CLI::App& command, const std::string& argument) {
    const std::string prefix = "lmsref " + command.get_name() + ": ";
    const std::string help = " (lmsref " + command.get_name() + " --help lists its options)";
    if (argument.empty() || argument[0] != '-' || argument == "-")
        return prefix + "unexpected argument " + quote_value(argument) + "; lists take commas, e.g. --wo 0.1,0.2,0.3" +
               help;
    const std::string name = argument.substr(0, argument.find('='));
    std::vector<std::string> others;
    for (const CLI::App* other : app.get_subcommands({})) {
        const std::vector<std::string> names = option_names(*other);
        if (other != &command && std::find(names.begin(), names.end(), name) != names.end())
            others.push_back(other->get_name());
    }
    if (!others.empty())
        return prefix + name + " is not an option of " + command.get_name() +
               "; the commands that take it: " + fmt::format("{}", fmt::join(others, ", "));
    const std::string near = closest_name(name, option_names(command));
    return prefix + "unknown option " + name + (near.empty() ? "" : "; did you mean " + near + "?") + help;
}

/// CLI11's parse errors in lmsref's words: one line, with the option and what is allowed.
std::string parse_error_message(const CLI::ParseError& error, const CLI::App& app, int argc, char** argv) {
    const CLI::App* command = nullptr;
    for (const CLI::App* candidate : app.get_subcommands({}))
        if (argc > 1 && candidate->get_name() == argv[1]) command = candidate;
    const std::string what = error.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr && command != nullptr) {
        const std::vector<std::string> extras = command->remaining();
        if (!extras.empty()) { // an unknown option before a value that was then taken for an argument: the option
            const auto option = std::find_if(extras.begin(), extras.end(),
                                             [](const std::string& e) { return e.size() > 1 && e[0] == '-'; });
            return unexpected_argument(app, *command, option != extras.end() ? *option : extras.front());
        }
    }
    if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr && command != nullptr) {
        const auto end = std::find(argv + 1, argv + argc, std::string("--"));
        if (end != argv + argc) // what follows "--" is arguments, and only `plot` takes any
            return "lmsref " + command->get_name() + ": unexpected argument " +
                   quote_value(end + 1 != argv + argc ? end[1] : "") + " after '--', which ends the options; " +
                   command->get_name() + " takes no arguments, so drop the '--'";
    }
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
        const std::string option = what.substr(0, what.find(':'));
        return "lmsref: " + option + " needs a value" +
               (command != nullptr ? " (lmsref " + command->get_name() + " --help)" : "");
    }
    if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && command == nullptr)
        return fmt::format("lmsref: give a command: {}", fmt::join(command_names(app), ", ")) +
               " (lmsref --help says what each does)";
    return "lmsref: " + what.substr(0, what.find('\n'));
}

} // namespace

/// Standard input, output and error closed at start (`>&-`) are opened on /dev/null for reading, so that no file
/// lmsref opens takes their numbers and writing to them fails as it should.
void occupy_closed_standard_streams() {
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd)
        if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) ::open("/dev/null", O_RDONLY); // the lowest free number
}

/// What a command that returned `code` ends with: its code once everything it printed has reached standard output,
/// else a one-line error and exit code 2.
int checked_exit(int code) {
    try {
        check_standard_output("its output is lost");
    } catch (const RuntimeFailure& failure) {
        std::cerr << "lmsref: " << failure.what() << "\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    return code;
}

int main(int argc, char** argv) {
    occupy_closed_standard_streams();
    remove_outputs_on_signals(); // first, before any thread starts
    // Under mpirun, rank 0 speaks for all: the others' messages would repeat its own (a failure on another rank
    // reaches rank 0 through Team::check).
    static struct : std::streambuf {
        int overflow(int c) override { return c; }
    } unheard;
    if (launched_rank() > 0) {
        std::cout.rdbuf(&unheard);
        std::cerr.rdbuf(&unheard);
    }
    // A closed standard output is an error to report (see published()), not a signal that ends lmsref with its
    // output set half made.
    std::signal(SIGPIPE, SIG_IGN);

    CLI::App app{"lmsref: the LMS adaptive filter of the PyTorch notebook, stage by stage, in C++ with LibTorch.",
                 "lmsref"};
    app.formatter(std::make_shared<Formatter>());
    app.set_version_flag("--version",
                         std::string("lmsref ") + lmsref_version() + " (LibTorch " + libtorch_version() + ")");
    app.footer(exit_codes("divergence, I/O, device, gnuplot", true));
    app.require_subcommand(1);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

    Options options;
    std::vector<std::pair<const Stage*, CLI::App*>> stage_commands;
    for (const Stage& stage : stages()) {
        CLI::App* command =
            app.add_subcommand(std::string(stage.name), std::string(stage.summary) + " (the notebook's " +
                                                            std::string(stage.notebook_function) + ")");
        add_scenario_options(*command, options,
                             generated | files | filter | (stage.uses_torch ? device : 0U) |
                                 (stage.starts_from_zero ? 0U : torch_seed));
        add_output_options(*command, options);
        add_value(*command, "--plot", options.plot,
                  "draw the weights over numpy's into FILE (.png, .svg, .pdf; - for the terminal)", "FILE");
        command->footer(exit_codes(stage.uses_torch ? "divergence, I/O, device, gnuplot" : "divergence, I/O, gnuplot"));
        stage_commands.emplace_back(&stage, command);
    }
    CLI::App* compare = app.add_subcommand("compare", "run every stage on the same data and compare with numpy");
    add_scenario_options(*compare, options, all_parts);
    add_output_options(*compare, options);
    add_value(*compare, "--tolerance", options.tolerance,
              "the zero-init stages must keep |w - w_numpy| <= tolerance * max(1, |w_numpy|), element-wise", "FLOAT");
    add_value(*compare, "--plot-dir", options.plot_dir,
              "draw every stage, a gallery, the deviation from numpy and the learning curve into DIR", "DIR");
    compare->footer(exit_codes("divergence, I/O, device, gnuplot", true));
    CLI::App* data = app.add_subcommand("data", "write the scenario's x and d");
    add_scenario_options(*data, options, generated);
    add_output_options(*data, options);
    data->footer(exit_codes("I/O"));
    CLI::App* ensemble = app.add_subcommand(
        "ensemble", "Monte Carlo learning curves over R realizations (MSE, MSD, mean weights) beside the theory");
    add_scenario_options(*ensemble, options, all_parts);
    ensemble->get_option("--x")->description("read x from this .npy or .csv file: N x R, a realization per column");
    ensemble->get_option("--d")->description("read d from this .npy or .csv file: N x R, like --x");
    ensemble->get_option("--torch-seed")
        ->description("--stage linear: realization r starts from nn::Linear's init after torch::manual_seed(T + r) "
                      "(default T: --seed)");
    ensemble->get_option("--device")
        ->description("where the realizations run: cpu, or cuda (the numpy stage's CUDA kernel, or a batched stage's "
                      "tensors on the GPU), or auto (cuda for --rng philox when there is a GPU)");
    add_value(*ensemble, "-R,--realizations", options.realizations,
              "realizations R; realization r runs on the data of --seed S + r", "UINT");
    add_value(*ensemble, "--stage", options.ensemble_stage,
              "the stage that runs the realizations: numpy (the plain loop), a LibTorch stage batched over "
              "realizations, or all (each on the same realizations, compared with numpy's curves)",
              "STAGE");
    add_value(*ensemble, "--rng", options.rng,
              "the generated data's generator: numpy (realization r = --seed S + r, NumPy's stream) or philox "
              "(Random123's counter-based Philox4x32-10, key --seed, counter (n, r); --stage numpy only)",
              "RNG");
    add_value(*ensemble, "--threads", options.threads,
              "CPU threads (and LibTorch's) per process, 0 for all the cores it may use; the curves are the same "
              "bits whatever T, and under mpirun whatever the number of ranks",
              "UINT");
    add_value(*ensemble, "--chunk", options.chunk,
              "realizations a batched stage runs at once, in whole blocks of 64 (0: on the CPU as many as keep the "
              "weights within about 32 MB, on CUDA as many as memory holds); the curves do not depend on it",
              "UINT");
    add_value(*ensemble, "--tolerance", options.tolerance,
              "(--stage all) a zero-init stage's curves must keep max |c - c_numpy| <= tolerance * max |c_numpy|",
              "FLOAT");
    add_value(*ensemble, "--decimate", options.decimate, "keep every m-th value of the curves (msesim's decimation)",
              "UINT");
    add_output_options(*ensemble, options);
    add_value(*ensemble, "--plot", options.plot,
              "draw the curves over the theory into FILE (.png, .svg, .pdf; - for the terminal)", "FILE");
    add_value(*ensemble, "--x-scale", options.x_scale,
              "--plot's sample axis: linear, log, or auto (log when the transient is under 5% of N)", "SCALE");
    add_value(*ensemble, "--json", options.json, "also write summary.json's figures to FILE", "FILE");
    add_value(*ensemble, "--progress", options.progress,
              "a progress line on standard error: auto (on a terminal, after a second), always or never", "WHEN");
    ensemble->footer(exit_codes("divergence, I/O, device, gnuplot", true));
    CLI::App* bench = app.add_subcommand("bench", "time every stage: min, median and max us per sample");
    add_scenario_options(*bench, options, all_parts);
    add_value(*bench, "--stages", options.bench_stages, "a comma list of stages (default: all)", "LIST");
    add_value(*bench, "--repeats", options.repeats, "timed runs per stage, after one warm-up", "UINT");
    add_value(*bench, "--json", options.json, "also write the figures as JSON to FILE", "FILE");
    bench->footer(exit_codes("divergence, I/O, device"));
    CLI::App* plot = app.add_subcommand("plot", "draw saved outputs again (files written by --out-dir)");
    add_value(*plot, "--kind", options.kind,
              "weights: each file's trajectory; deviation: each file's distance from --reference; learning: e^2 in "
              "dB of each e file",
              "KIND");
    plot->add_option("files", options.files, "the saved outputs (.npy or .csv): w files, or e files for learning")
        ->type_name("FILE");
    add_value(*plot, "--reference", options.reference,
              "the trajectory to draw under (weights) or measure from (deviation), e.g. out/numpy/w.npy", "FILE");
    add_value(*plot, "--wo", options.plot_wo, "draw these true coefficients as dashed lines (weights)", "LIST");
    add_value(*plot, "--title", options.title, "the figure's title", "TEXT");
    plot->add_flag("--log-x", options.log_x, "draw the iteration on a log scale (iteration 0 is left out)");
    add_value(*plot, "--out", options.out, "the image to write (.png, .svg, .pdf; - for the terminal)", "FILE");
    plot->footer(exit_codes("I/O, gnuplot"));
    CLI::App* basics = app.add_subcommand("basics", "the notebook's tensor tour: each C++ line and what it prints");
    add_value(*basics, "--section", options.section, "only this section (see --list)", "NAME");
    basics->add_flag("--list", options.list_sections, "name the sections");
    add_value(*basics, "--seed", options.seed, "seed for rand, randn and the NumPy draws", "UINT");
    add_value(*basics, "--device", options.basics_device, "the devices section's choice: cpu, cuda or auto", "DEVICE");
    basics->footer(exit_codes("device"));
    CLI::App* list = app.add_subcommand("list", "the stages and what each one adds");
    list->footer(""); // it cannot fail: no exit codes to explain

    if (argc > 1 && argv[1][0] != '-') { // for an unknown command CLI11 would only say that one is required
        const std::vector<std::string> known = command_names(app);
        if (std::find(known.begin(), known.end(), argv[1]) == known.end()) {
            std::cerr << "lmsref: " << one_line(unknown_name("command", argv[1], known)) << "\n";
            return static_cast<int>(ExitCode::bad_input);
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& help_or_version) { // --help, --version
        return checked_exit(app.exit(help_or_version));
    } catch (const CLI::ParseError& error) {
        std::cerr << one_line(parse_error_message(error, app, argc, argv)) << "\n";
        return static_cast<int>(ExitCode::bad_input);
    }

    try {
        if (launched_size() > 1 && !ensemble->parsed())
            throw InputError("mpirun: only `lmsref ensemble` shares its work among MPI ranks; run this command "
                             "without mpirun");
        for (const auto& [stage, command] : stage_commands)
            if (command->parsed()) return checked_exit(run_one_stage(*stage, options, *command));
        if (compare->parsed()) return checked_exit(run_compare(options, *compare));
        if (data->parsed()) return checked_exit(run_data(options, *data));
        if (ensemble->parsed()) return checked_exit(run_ensemble_command(options, *ensemble));
        if (plot->parsed()) return checked_exit(run_plot(options));
        if (basics->parsed()) return checked_exit(run_basics(options, *basics));
        if (bench->parsed()) return checked_exit(run_bench(options, *bench));
        if (list->parsed()) return checked_exit(run_list());
    } catch (const Error& error) {
        std::cerr << "lmsref: " << one_line(error.what()) << "\n";
        return static_cast<int>(error.code());
    } catch (const std::bad_alloc&) {
        std::cerr << "lmsref: out of memory; try a smaller --samples or --taps\n";
        return static_cast<int>(ExitCode::runtime_failure);
    } catch (const std::exception& error) {
        std::string message = error.what();
        std::cerr << "lmsref: " << one_line(message.substr(0, message.find('\n'))) << "\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    return static_cast<int>(ExitCode::bad_input);
}
