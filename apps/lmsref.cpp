// lmsref: the command-line front end. It parses options, calls the library, prints, and maps errors to exit codes.
#include "basics.hpp"
#include "bench.hpp"
#include "errors.hpp"
#include "figures.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "stage.hpp"
#include "text.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <limits>
#include <new>

namespace {

using namespace lmsref;

constexpr const char* exit_codes_help =
    "Exit codes: 0 success, 1 bad input or usage, 2 runtime failure (divergence, I/O, device),\n"
    "            3 compare: a zero-init stage disagrees with numpy beyond --tolerance.";

/// Everything the subcommands read from the command line.
struct Options {
    Scenario scenario;
    // Read as text and parsed by the library, so that every bad value gets the same kind of message.
    std::string seed = "0";
    std::string torch_seed;
    std::string wo = "0.1,0.2,0.3";
    std::string device = "cpu";
    std::string out_dir;
    std::string format = "npy";
    double tolerance = 1e-12;
    std::string plot;     // a stage's figure
    std::string plot_dir; // compare's figures
    // lmsref plot
    std::string kind = "weights";
    std::vector<std::string> files;
    std::string reference;
    std::string title;
    std::string out;
    std::string plot_wo; // dashed lines on a re-plot
    // lmsref basics
    std::string section;
    bool list_sections = false;
    std::string basics_device = "auto";
    // lmsref bench
    std::string bench_stages;
    int repeats = 20;
    std::string json;
};

void add_scenario_options(CLI::App& command, Options& o) {
    command.add_option("--seed", o.seed, "NumPy seed for x and the noise (np.random.seed), 0 ... 2^32 - 1")
        ->capture_default_str();
    CLI::Option* samples =
        command.add_option("-N,--samples", o.scenario.samples, "number of samples N")->capture_default_str();
    command.add_option("-M,--taps", o.scenario.taps, "adaptive filter length M")->capture_default_str();
    command.add_option("--eta", o.scenario.step_size, "step size eta")->capture_default_str();
    command.add_option("--sigmav2", o.scenario.noise_variance, "variance of the measurement noise")
        ->capture_default_str();
    command.add_option("--wo", o.wo, "the unknown system, a comma list of any length")->capture_default_str();
    CLI::Option* x = command.add_option("--x", o.scenario.x_file, "read x from this .npy or .csv file (N or N x 1)");
    CLI::Option* d = command.add_option("--d", o.scenario.d_file, "read d from this .npy or .csv file (N or N x 1)");
    x->needs(d);
    d->needs(x);
    samples->excludes(x);
    command.add_option("--torch-seed", o.torch_seed,
                       "seed for nn::Linear's default init, 0 ... 2^64 - 1 "
                       "(default: --seed)");
    command.add_option("--device", o.device, "where the LibTorch stages run")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
        ->capture_default_str();
}

void add_output_options(CLI::App& command, Options& o, bool out_dir_required) {
    CLI::Option* out = command.add_option("--out-dir", o.out_dir, "write the outputs into this folder");
    if (out_dir_required) out->required();
    command.add_option("--format", o.format, "file format of the outputs")
        ->check(CLI::IsMember({"npy", "csv"}))
        ->capture_default_str();
}

/// The scenario's data, with a note on standard error for each file whose dtype was converted.
Data load_data(const Scenario& scenario) {
    Data data = make_data(scenario);
    for (const std::string& note : data.notes) std::cerr << "lmsref: note: " << note << "\n";
    return data;
}

/// --seed: NumPy's seeds are 32-bit.
std::uint32_t numpy_seed(const std::string& text) {
    return static_cast<std::uint32_t>(
        parse_count("--seed", text, std::numeric_limits<std::uint32_t>::max(), " (NumPy's seeds are 32-bit)"));
}

/// The scenario the options describe, checked.
Scenario scenario_from(const Options& o, const CLI::App& command) {
    Scenario scenario = o.scenario;
    scenario.seed = numpy_seed(o.seed);
    scenario.wo = parse_number_list("--wo", o.wo);
    if (command.count("--torch-seed") > 0)
        scenario.torch_seed = parse_count("--torch-seed", o.torch_seed, std::numeric_limits<std::uint64_t>::max());
    validate(scenario);
    return scenario;
}

std::string folder_of(const std::string& file) {
    const std::string folder = std::filesystem::path(file).parent_path().string();
    return folder.empty() ? "." : folder;
}

/// A plot target is checked before any work: a build without plotting, an unknown image type, a folder that
/// cannot be written.
void check_plot_output(const std::string& target) {
    if (target.empty()) return;
    require_plotting();
    check_plot_target(target);
    if (target != "-") check_output_dir(folder_of(target));
}

int run_one_stage(const Stage& stage, const Options& o, const CLI::App& command) {
    const Scenario scenario = scenario_from(o, command);
    const Device device = resolve_device(parse_device_choice(o.device));
    const FileFormat format = parse_file_format(o.format);
    if (!o.out_dir.empty()) check_output_dir(o.out_dir);
    check_plot_output(o.plot);
    const Data data = load_data(scenario);
    const StageRun run = run_stage(stage, data, scenario, device);
    std::cout << stage_report(run, scenario, data);
    if (!o.out_dir.empty()) {
        prepare_output_dir(o.out_dir);
        write_trajectory(o.out_dir, run.trajectory, format);
        std::cout << "  outputs    " << o.out_dir << "\n";
    }
    if (!o.plot.empty()) { // the data outputs are written first: a plotting failure loses nothing
        const StageRun numpy = &stage == &stages().front() ? run : run_stage(stages().front(), data, scenario, device);
        std::cout << std::flush;
        render(stage_figure(run, numpy, scenario, data), o.plot);
        if (o.plot != "-") std::cout << "  plot       " << o.plot << "\n";
    }
    return 0;
}

int run_compare(const Options& o, const CLI::App& command) {
    const Scenario scenario = scenario_from(o, command);
    const Device device = resolve_device(parse_device_choice(o.device));
    const FileFormat format = parse_file_format(o.format);
    if (!(o.tolerance >= 0))
        throw InputError("--tolerance: " + format_number(o.tolerance, "%g") + " is not allowed; it must be >= 0");
    if (!o.out_dir.empty()) check_output_dir(o.out_dir);
    if (!o.plot_dir.empty()) check_plot_output((std::filesystem::path(o.plot_dir) / "gallery.png").string());
    const Data data = load_data(scenario);
    const Comparison comparison = compare_stages(data, scenario, device, o.tolerance);
    std::cout << comparison_report(comparison, scenario, data, device);
    if (comparison.failed()) { // a failed stage has no outputs to write, and half a set of outputs would mislead
        if (!o.out_dir.empty() || !o.plot_dir.empty()) std::cout << "nothing was written: a stage failed\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    if (!o.out_dir.empty()) {
        write_comparison(o.out_dir, comparison, scenario, data, device, format);
        std::cout << "outputs in " << o.out_dir << " (summary.json, x, d and one folder per stage)\n";
    }
    if (!o.plot_dir.empty()) {
        prepare_output_dir(o.plot_dir);
        plot_comparison(comparison, scenario, data, o.plot_dir);
        std::cout << "plots in " << o.plot_dir << " (one per stage, gallery.png, deviation.png, learning.png)\n";
    }
    return comparison.agrees() ? 0 : static_cast<int>(ExitCode::out_of_tolerance);
}

int run_data(const Options& o, const CLI::App& command) {
    const Scenario scenario = scenario_from(o, command);
    const FileFormat format = parse_file_format(o.format);
    check_output_dir(o.out_dir);
    const Data data = load_data(scenario);
    prepare_output_dir(o.out_dir);
    write_data(o.out_dir, data, format);
    std::cout << "lmsref data: " << describe_scenario(scenario, data) << "\nwrote x" << extension(format) << " and d"
              << extension(format) << " to " << o.out_dir << "\n";
    return 0;
}

int run_plot(const Options& o) {
    const PlotKind kind = parse_plot_kind(o.kind);
    check_plot_output(o.out);
    const std::vector<double> wo = o.plot_wo.empty() ? std::vector<double>{} : parse_number_list("--wo", o.plot_wo);
    render(replot(kind, o.files, o.reference, wo, o.title), o.out);
    if (o.out != "-") std::cout << "lmsref plot: wrote " << o.out << "\n";
    return 0;
}

int run_basics(const Options& o) {
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
    const std::vector<const Stage*> selected = select_stages(o.bench_stages);
    check_repeats(o.repeats);
    if (!o.json.empty()) check_output_dir(folder_of(o.json));
    const Data data = load_data(scenario);
    const BenchResult result = bench_stages(selected, data, scenario, device, o.repeats);
    std::cout << bench_report(result, scenario, data, device);
    if (!o.json.empty()) {
        write_file_atomically(o.json, bench_json(result, scenario, data, device));
        std::cout << "wrote " << o.json << "\n";
    }
    return 0;
}

int run_list() {
    for (const Stage& stage : stages()) {
        std::printf("%-12s %-20s %s\n", std::string(stage.name).c_str(), std::string(stage.notebook_function).c_str(),
                    std::string(stage.summary).c_str());
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"lmsref: the LMS adaptive filter of the PyTorch notebook, stage by stage, in C++ with LibTorch.",
                 "lmsref"};
    app.set_version_flag("--version",
                         std::string("lmsref ") + lmsref_version() + " (LibTorch " + libtorch_version() + ")");
    app.footer(exit_codes_help);
    app.require_subcommand(1);

    Options options;
    std::vector<std::pair<const Stage*, CLI::App*>> stage_commands;
    for (const Stage& stage : stages()) {
        CLI::App* command =
            app.add_subcommand(std::string(stage.name), std::string(stage.summary) + " (the notebook's " +
                                                            std::string(stage.notebook_function) + ")");
        add_scenario_options(*command, options);
        add_output_options(*command, options, false);
        command->add_option("--plot", options.plot,
                            "draw the weights over numpy's into FILE (.png, .svg, .pdf; - for the terminal)");
        stage_commands.emplace_back(&stage, command);
    }
    CLI::App* compare = app.add_subcommand("compare", "run every stage on the same data and compare with numpy");
    add_scenario_options(*compare, options);
    add_output_options(*compare, options, false);
    compare->add_option("--tolerance", options.tolerance, "max |w - w_numpy| allowed for the zero-init stages")
        ->capture_default_str();
    compare->add_option("--plot-dir", options.plot_dir,
                        "draw every stage, a gallery, the deviation from numpy and the learning curve into DIR");
    CLI::App* data = app.add_subcommand("data", "write the scenario's x and d");
    add_scenario_options(*data, options);
    add_output_options(*data, options, true);
    CLI::App* bench = app.add_subcommand("bench", "time every stage: min, median and max us per sample");
    add_scenario_options(*bench, options);
    bench->add_option("--stages", options.bench_stages, "a comma list of stages (default: all)");
    bench->add_option("--repeats", options.repeats, "timed runs per stage, after one warm-up")->capture_default_str();
    bench->add_option("--json", options.json, "also write the figures as JSON to FILE");
    CLI::App* plot = app.add_subcommand("plot", "draw saved outputs again (files written by --out-dir)");
    plot->add_option("--kind", options.kind,
                     "weights: each file's trajectory; deviation: each file's distance "
                     "from --reference; learning: e^2 in dB of each e file")
        ->check(CLI::IsMember({"weights", "deviation", "learning"}))
        ->capture_default_str();
    plot->add_option("files", options.files, "the saved outputs (.npy or .csv): w files, or e files for learning")
        ->required();
    plot->add_option("--reference", options.reference,
                     "the trajectory to draw under (weights) or measure from "
                     "(deviation), e.g. out/numpy/w.npy");
    plot->add_option("--wo", options.plot_wo, "draw these true coefficients as dashed lines (weights)");
    plot->add_option("--title", options.title, "the figure's title");
    plot->add_option("--out", options.out, "the image to write (.png, .svg, .pdf; - for the terminal)")->required();
    CLI::App* basics = app.add_subcommand("basics", "the notebook's tensor tour: each C++ line and what it prints");
    basics->add_option("--section", options.section, "only this section (see --list)");
    basics->add_flag("--list", options.list_sections, "name the sections");
    basics->add_option("--seed", options.seed, "seed for rand, randn and the NumPy draws")->capture_default_str();
    basics->add_option("--device", options.basics_device, "the devices section's choice")
        ->check(CLI::IsMember({"cpu", "cuda", "auto"}))
        ->capture_default_str();
    CLI::App* list = app.add_subcommand("list", "the stages and what each one adds");

    if (argc > 1 && argv[1][0] != '-') { // for an unknown command CLI11 would only say that one is required
        const std::vector<CLI::App*> commands = app.get_subcommands({});
        std::string known;
        bool found = false;
        for (const CLI::App* command : commands) {
            known += (known.empty() ? "" : ", ") + command->get_name();
            found |= command->get_name() == argv[1];
        }
        if (!found) {
            std::cerr << "lmsref: unknown command '" << argv[1] << "'; the commands are " << known << "\n";
            return static_cast<int>(ExitCode::bad_input);
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : static_cast<int>(ExitCode::bad_input);
    }

    try {
        for (const auto& [stage, command] : stage_commands)
            if (command->parsed()) return run_one_stage(*stage, options, *command);
        if (compare->parsed()) return run_compare(options, *compare);
        if (data->parsed()) return run_data(options, *data);
        if (plot->parsed()) return run_plot(options);
        if (basics->parsed()) return run_basics(options);
        if (bench->parsed()) return run_bench(options, *bench);
        if (list->parsed()) return run_list();
    } catch (const Error& error) {
        std::cerr << "lmsref: " << error.what() << "\n";
        return static_cast<int>(error.code());
    } catch (const std::bad_alloc&) {
        std::cerr << "lmsref: out of memory; try a smaller --samples or --taps\n";
        return static_cast<int>(ExitCode::runtime_failure);
    } catch (const std::exception& error) {
        std::string message = error.what();
        std::cerr << "lmsref: " << message.substr(0, message.find('\n')) << "\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    return static_cast<int>(ExitCode::bad_input);
}
