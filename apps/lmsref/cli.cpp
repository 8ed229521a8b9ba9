#include "apps/lmsref/cli.hpp"

#include "apps/lmsref/command.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "lms/family.hpp"
#include "report/report.hpp"
#include "stages/libtorch.hpp"
#include "stages/registry.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <sstream>

namespace lmsref::cli {

namespace {

constexpr std::size_t help_width = 100;

/// The exit codes a command can end with; `failures` says what makes it end with 2.
std::string exit_codes(const std::string& failures, bool with_mismatch = false,
                       const std::string& mismatch = "a zero-init stage disagrees with numpy") {
    return "Exit codes: 0 success, 1 bad input or usage, 2 runtime failure (" + failures + ")" +
           (with_mismatch
                ? ",\n            3 " + mismatch +
                      " beyond --tolerance\n            (its outputs are still written: they are the evidence)."
                : ".");
}

/// CLI11's help with every description wrapped to fit `help_width` columns.
class Formatter : public CLI::Formatter {
public:
    Formatter() { column_width(32); }
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
    generated = 1,  ///< --seed, -N, --sigmav2, --wo, --input, --walk: the generated data
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
        {generated, "--input", &o.input,
         "the input x: white (randn, the notebook's) or ar1:A, x(n) = A x(n-1) + sqrt(1-A^2) randn, -1 < A < 1",
         "INPUT"},
        {generated, "--walk", &o.walk,
         "tracking: the system moves, wo(n+1) = wo(n) + q(n), q ~ N(0, Q I), drawn after x and the noise", "Q"},
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

/// The sample axis and the size of what `what` draws.
void add_figure_options(CLI::App& command, Options& o, const std::string& what) {
    add_value(command, "--x-scale", o.x_scale,
              what + "'s sample axis: linear, log, or auto (log when the transient is under 5% of N)", "SCALE");
    add_value(command, "--size", o.size, what + "'s size in pixels, WxH (default: the figure's own)", "WxH");
}

/// The family's settings (lms/family_updates.hpp), for `family` and `ensemble --algorithm`.
void add_member_options(CLI::App& command, Options& o) {
    add_value(command, "--eps", o.eps, "nlms: w += eta e x / (eps + x.x)", "FLOAT");
    add_value(command, "--gamma", o.gamma, "leaky: w = (1 - eta gamma) w + eta e x", "FLOAT");
    add_value(command, "--beta", o.beta, "momentum, nesterov: optim::SGD's momentum, 0 <= beta < 1 (nesterov: above 0)",
              "FLOAT");
    add_value(command, "--huber-delta", o.huber_delta, "huber: w += eta clip(e, -delta, delta) x", "FLOAT");
    add_value(command, "--lambda", o.lambda, "rls: the forgetting factor, 0 < lambda <= 1", "FLOAT");
    add_value(command, "--rls-delta", o.rls_delta, "rls: P(0) = I / delta", "FLOAT");
}

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

/// The names of `command`'s option that `name` spells but for case and dashes ("-r" and "--R" for
/// "-R/--realizations"), or "".
std::string same_but_for_case(const std::string& name, const CLI::App& command) {
    const auto bare = [](std::string text) {
        text.erase(0, text.find_first_not_of('-'));
        for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return text;
    };
    for (const CLI::Option* option : command.get_options()) {
        std::vector<std::string> names;
        for (const std::string& short_name : option->get_snames()) names.push_back("-" + short_name);
        for (const std::string& long_name : option->get_lnames()) names.push_back("--" + long_name);
        for (const std::string& known : names)
            if (bare(known) == bare(name)) return fmt::format("{}", fmt::join(names, "/"));
    }
    return "";
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
    const std::string cased = same_but_for_case(name, command);
    const std::string near = cased.empty() ? closest_name(name, option_names(command)) : cased;
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

std::string option_spelling(const std::string& field) {
    // A field is spelled as its long option (realizations: --realizations) but for these.
    static const struct {
        const char* field;
        const char* option;
    } exceptions[] = {{"x/d", "--x/--d"}};
    for (const auto& exception : exceptions)
        if (field == exception.field) return exception.option;
    return "--" + field;
}

Parsed parse_command_line(int argc, char** argv) {
    CLI::App app{"lmsref: the LMS adaptive filter of the PyTorch notebook, stage by stage, in C++ with LibTorch.",
                 "lmsref"};
    app.formatter(std::make_shared<Formatter>());
    app.set_version_flag("--version",
                         std::string("lmsref ") + lmsref_version() + " (LibTorch " + libtorch_version() + ")");
    app.footer(exit_codes("divergence, I/O, device, gnuplot", true,
                          "a zero-init stage disagrees with numpy (or a family member's program with\n            "
                          "its recursion)"));
    app.require_subcommand(1);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

    Parsed parsed;
    Options& options = parsed.options;
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
        add_figure_options(*command, options, "--plot");
        command->footer(exit_codes(stage.uses_torch ? "divergence, I/O, device, gnuplot" : "divergence, I/O, gnuplot"));
    }
    CLI::App* compare = app.add_subcommand("compare", "run every stage on the same data and compare with numpy");
    add_scenario_options(*compare, options, all_parts);
    add_output_options(*compare, options);
    add_value(*compare, "--tolerance", options.tolerance,
              "the zero-init stages must keep |w - w_numpy| <= tolerance * max(1, |w_numpy|), element-wise", "FLOAT");
    add_value(*compare, "--plot-dir", options.plot_dir,
              "draw every stage, a gallery, the deviation from numpy and the learning curve into DIR", "DIR");
    add_figure_options(*compare, options, "--plot-dir");
    compare->footer(exit_codes("divergence, I/O, device, gnuplot", true));
    CLI::App* family = app.add_subcommand(
        "family", "the LMS family as PyTorch parts: each member's LibTorch program against its plain recursion");
    family
        ->add_option("members", options.members,
                     "a comma list of members (default: all): lms, nlms, sign-error, sign-data, sign-sign, leaky, "
                     "momentum, nesterov, lmf, huber, adagrad, rmsprop, adam, rls")
        ->type_name("NAME,...");
    add_scenario_options(*family, options, generated | files | filter);
    add_member_options(*family, options);
    add_value(*family, "--tolerance", options.tolerance,
              "each program must keep |w - w_recursion| <= tolerance * max(1, |w_recursion|), element-wise", "FLOAT");
    add_output_options(*family, options);
    add_value(*family, "--plot", options.plot,
              "draw every member's weights and squared error into FILE (.png, .svg, .pdf; - for the terminal)", "FILE");
    add_figure_options(*family, options, "--plot");
    family->footer(exit_codes("divergence, I/O, gnuplot", true, "a member's program disagrees with its recursion"));
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
    add_value(*ensemble, "--algorithm", options.algorithm,
              "the recursion each realization runs: lms (the notebook's), or members of the LMS family (lmsref "
              "family --help lists them), a comma list or all: each on the same realizations, overlaid in --plot; "
              "with --stage sgd each member's LibTorch program runs batched, with --stage all beside its recursion",
              "LIST");
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
    add_figure_options(*ensemble, options, "--plot");
    add_value(*ensemble, "--json", options.json, "also write summary.json's figures to FILE", "FILE");
    ensemble->add_flag("--allow-divergence", options.allow_divergence,
                       "keep diverged realizations (steady-state mean e^2 not finite or above 1e12 mean(d^2)) in the "
                       "mean and say so, instead of failing with exit code 2");
    add_member_options(*ensemble, options);
    add_value(*ensemble, "--progress", options.progress,
              "a progress line on standard error: auto (on a terminal, after a second), always or never", "WHEN");
    ensemble->footer(exit_codes("divergence, I/O, device, gnuplot", true));
    CLI::App* bench = app.add_subcommand("bench", "time every stage: min, median and max us per sample");
    add_scenario_options(*bench, options, all_parts);
    add_value(*bench, "--stages", options.bench_stages, "a comma list of stages (default: all)", "LIST");
    add_value(*bench, "--family", options.bench_family,
              "time these members of the LMS family instead (their LibTorch programs and recursions), a comma list "
              "or all",
              "LIST");
    add_member_options(*bench, options);
    add_value(*bench, "--repeats", options.repeats, "timed runs per stage, after one warm-up", "UINT");
    add_value(*bench, "--json", options.json, "also write the figures as JSON to FILE", "FILE");
    bench->footer(exit_codes("divergence, I/O, device"));
    CLI::App* plot = app.add_subcommand("plot", "draw saved outputs again (files written by --out-dir)");
    add_value(*plot, "--kind", options.kind,
              "weights: each file's trajectory; deviation: each file's distance from --reference; learning: e^2 in "
              "dB of each e file",
              "KIND");
    plot->add_option("files", options.files,
                     "the saved outputs (.npy or .csv): w files, or e files for learning; or an ensemble's --out-dir, "
                     "drawn as the ensemble drew it")
        ->type_name("FILE");
    add_value(*plot, "--reference", options.reference,
              "the trajectory to draw under (weights) or measure from (deviation), e.g. out/numpy/w.npy", "FILE");
    add_value(*plot, "--wo", options.plot_wo, "draw these true coefficients as dashed lines (weights)", "LIST");
    add_value(*plot, "--title", options.title, "the figure's title", "TEXT");
    plot->add_flag("--log-x", options.log_x, "the same as --x-scale log");
    add_figure_options(*plot, options, "the image");
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
            const auto& members = lmsref::family();
            const bool member =
                std::any_of(members.begin(), members.end(), [&](const FamilyMember& m) { return m.name == argv[1]; });
            std::cerr << "lmsref: "
                      << (member ? std::string("'") + argv[1] +
                                       "' is a member of the LMS family, not a command: lmsref "
                                       "family " +
                                       argv[1] + " runs it, ensemble --algorithm " + argv[1] + " its ensemble"
                                 : one_line(unknown_name("command", argv[1], known)))
                      << "\n";
            parsed.exit_code = static_cast<int>(ExitCode::bad_input);
            return parsed;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& help_or_version) { // --help, --version
        parsed.exit_code = checked_exit(app.exit(help_or_version));
        return parsed;
    } catch (const CLI::ParseError& error) {
        std::cerr << one_line(parse_error_message(error, app, argc, argv)) << "\n";
        parsed.exit_code = static_cast<int>(ExitCode::bad_input);
        return parsed;
    }
    for (const CLI::App* command : app.get_subcommands()) { // the one that was given
        parsed.command = command->get_name();
        for (const CLI::Option* option : command->get_options()) {
            if (option->count() == 0) continue;
            for (const std::string& name : option->get_lnames()) options.given_names.insert("--" + name);
            for (const std::string& name : option->get_snames()) options.given_names.insert("-" + name);
        }
    }
    return parsed;
}

} // namespace lmsref::cli
