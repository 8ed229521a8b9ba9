#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "ensemble/mpi_team.hpp"
#include "lms/bounds.hpp"
#include "plot/plot.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <optional>

namespace lmsref::cli {

Data load_data(const Scenario& scenario) {
    Data data = make_data(scenario);
    for (const std::string& note : data.notes) std::cerr << "lmsref: note: " << note << "\n";
    return data;
}

void warn_about_step_size(const Scenario& scenario, const Data& data) {
    if (const std::optional<std::string> warning = stability_warning(scenario, data))
        std::cerr << "lmsref: warning: " << *warning << "\n";
}

std::uint32_t numpy_seed(const std::string& text) {
    return static_cast<std::uint32_t>(
        parse_count("--seed", text, std::numeric_limits<std::uint32_t>::max(), " (NumPy's seeds are 32-bit)"));
}

std::int64_t bounded_integer(const std::string& option, const std::string& text, const char* symbol, std::int64_t max) {
    const std::string range = std::string("; ") + symbol + " must be from 1 to " + std::to_string(max);
    const std::int64_t value = parse_integer(option, text, range);
    if (value > max) throw InputError(option + ": " + std::to_string(value) + " is not allowed" + range);
    return value;
}

Scenario scenario_from(const Options& o, bool files_may_describe_system) {
    Scenario scenario;
    scenario.seed = numpy_seed(o.seed);
    scenario.samples = bounded_integer("--samples", o.samples, "N", max_samples);
    scenario.taps = bounded_integer("--taps", o.taps, "M", max_taps);
    scenario.step_size = parse_number("--eta", o.eta);
    scenario.noise_variance = parse_number("--sigmav2", o.sigmav2);
    scenario.wo = parse_number_list("--wo", o.wo);
    scenario.input_ar1 = parse_input(o.input);
    scenario.walk = parse_number("--walk", o.walk);
    for (const char* option : {"--x", "--d"})
        if (o.given(option) && (option[2] == 'x' ? o.x_file : o.d_file).empty())
            throw InputError(std::string(option) + ": the path is empty; name a .npy or .csv file");
    scenario.x_file = o.x_file;
    scenario.d_file = o.d_file;
    if (scenario.data_from_files()) {
        for (const std::string option : {"--samples", "--sigmav2", "--wo", "--input", "--walk"})
            if (o.given(option) &&
                (!files_may_describe_system || option == "--samples" || option == "--input" || option == "--walk"))
                throw InputError(option +
                                 ": the data come from --x and --d; give either the files or the generated data's "
                                 "options");
        const bool wo = o.given("--wo"), sigmav2 = o.given("--sigmav2");
        if (wo != sigmav2)
            throw InputError(std::string(wo ? "--wo" : "--sigmav2") +
                             ": with --x and --d, --wo and --sigmav2 together describe the system that made d; give "
                             "both, or neither (then there is no MSD and no theory)");
        scenario.system_known = wo && sigmav2;
    }
    if (o.given("--torch-seed"))
        scenario.torch_seed = parse_count("--torch-seed", o.torch_seed, std::numeric_limits<std::uint64_t>::max());
    validate(scenario);
    return scenario;
}

DrawOptions draw_options(const Options& o) {
    DrawOptions draw;
    draw.x_scale = parse_x_scale(o.x_scale);
    if (o.log_x && o.given("--x-scale") && draw.x_scale != XScale::log)
        throw InputError("--log-x: it means --x-scale log; give one of them");
    if (o.log_x) draw.x_scale = XScale::log;
    if (!o.size.empty()) parse_image_size(o.size, draw);
    return draw;
}

void check_standard_output(const std::string& consequence) {
    errno = 0;
    std::cout.flush();
    const bool failed = !std::cout || std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
    const int error = errno;
    std::string why = failed ? (error != 0 ? std::strerror(error) : "it is closed or full, or its reader went away")
                             : launcher_output_failure();
    if (!why.empty()) throw RuntimeFailure("standard output: cannot write (" + why + "); " + consequence);
}

void publish(OutputSet& outputs, const std::string& closing) {
    std::cout << closing;
    check_standard_output("nothing was published");
    outputs.commit();
}

void check_plot_request(const std::string& target) {
    if (target.empty()) return;
    require_plotting();
    check_plot_target(target);
}

std::string staged_file(OutputSet& outputs, const std::string& target, const char* option) {
    return target.empty() || target == "-" ? target : outputs.file(target, option);
}

double parse_tolerance(const std::string& text) {
    const double tolerance = parse_number("--tolerance", text);
    if (!(tolerance >= 0) || !std::isfinite(tolerance))
        throw InputError("--tolerance: " + text + " is not allowed; it must be finite and >= 0");
    return tolerance;
}

bool runs_any(const std::vector<const FamilyMember*>& members, std::initializer_list<FamilyId> ids) {
    return std::any_of(members.begin(), members.end(), [&](const FamilyMember* member) {
        return std::find(ids.begin(), ids.end(), member->id) != ids.end();
    });
}

FamilyOptions family_options(const Options& o, const std::vector<const FamilyMember*>& members) {
    FamilyOptions f;
    const struct {
        const char* option;
        const std::string* text;
        double* value;
        std::initializer_list<FamilyId> users;
        const char* users_text;
        bool (*allowed)(double);
        const char* rule;
    } settings[] = {
        {"--eps", &o.eps, &f.eps, {FamilyId::nlms}, "nlms, which is", [](double v) { return v >= 0; }, ">= 0"},
        {"--gamma", &o.gamma, &f.gamma, {FamilyId::leaky}, "leaky, which is", [](double v) { return v >= 0; }, ">= 0"},
        {"--beta",
         &o.beta,
         &f.beta,
         {FamilyId::momentum, FamilyId::nesterov},
         "momentum and nesterov, which are",
         [](double v) { return v >= 0 && v < 1; },
         "in [0, 1)"},
        {"--huber-delta",
         &o.huber_delta,
         &f.huber_delta,
         {FamilyId::huber},
         "huber",
         [](double v) { return v > 0; },
         "> 0"},
        {"--lambda",
         &o.lambda,
         &f.lambda,
         {FamilyId::rls},
         "rls",
         [](double v) { return v > 0 && v <= 1; },
         "in (0, 1]"},
        {"--rls-delta",
         &o.rls_delta,
         &f.rls_delta,
         {FamilyId::rls},
         "rls, which is",
         [](double v) { return v > 0; },
         "> 0"},
    };
    for (const auto& s : settings) {
        *s.value = parse_number(s.option, *s.text);
        if (!std::isfinite(*s.value) || !s.allowed(*s.value))
            throw InputError(std::string(s.option) + ": " + *s.text + " is not allowed; it must be finite and " +
                             s.rule);
        if (o.given(s.option) && !runs_any(members, s.users))
            throw InputError(std::string(s.option) + ": it sets " + s.users_text +
                             " not among the members that run; name one, or leave the option out");
    }
    // PyTorch's SGD takes Nesterov momentum only with a momentum: the member is its update, so beta = 0 is refused
    // for it (momentum with beta = 0 is lms).
    if (f.beta == 0.0 && runs_any(members, {FamilyId::nesterov}))
        throw InputError("--beta: 0 is not allowed for nesterov; PyTorch's SGD takes Nesterov momentum only with a "
                         "momentum above 0 (momentum with --beta 0 is lms)");
    return f;
}

int checked_exit(int code) {
    try {
        check_standard_output("its output is lost");
    } catch (const RuntimeFailure& failure) {
        std::cerr << "lmsref: " << failure.what() << "\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    return code;
}

} // namespace lmsref::cli
