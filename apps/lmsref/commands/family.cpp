// lmsref family: each member of the LMS family as its LibTorch program, against its plain recursion.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "io/array_io.hpp"
#include "lms/bounds.hpp"
#include "lms/family.hpp"
#include "lms/torch_module.hpp"
#include "plot/figures.hpp"
#include "plot/plot.hpp"
#include "report/report.hpp"
#include "stages/runner.hpp"

#include <iostream>
#include <optional>

namespace lmsref::cli {

int run_family(const Options& o) {
    std::vector<const FamilyMember*> members;
    try {
        members = parse_members(o.members);
    } catch (const InputError& error) { // the names are arguments here, not --algorithm
        throw InputError("family: " + error.detail());
    }
    const FamilyOptions options = family_options(o, members);
    const Scenario scenario = scenario_from(o);
    torch_module(); // a missing LibTorch module is said before any work
    const FileFormat format = parse_file_format(o.format);
    const double tolerance = parse_tolerance(o.tolerance);
    const DrawOptions draw = draw_options(o);
    check_plot_request(o.plot);
    OutputSet outputs(is_output_name);
    const std::string out_dir = o.out_dir.empty() ? "" : outputs.folder(o.out_dir, "--out-dir");
    const std::string plot = staged_file(outputs, o.plot, "--plot");
    const Data data = load_data(scenario);
    // LMS's mean-square bound, for the members it bounds: lms and leaky on eta, momentum and nesterov on their
    // effective step eta / (1 - beta).
    const auto runs = [&](FamilyId id) { return runs_any(members, {id}); };
    if (runs(FamilyId::lms) || runs(FamilyId::leaky)) warn_about_step_size(scenario, data);
    if (runs(FamilyId::momentum) || runs(FamilyId::nesterov)) {
        Scenario effective = scenario;
        effective.step_size = scenario.step_size / (1 - options.beta);
        if (const std::optional<std::string> warning = stability_warning(effective, data))
            std::cerr << "lmsref: warning: "
                      << (!runs(FamilyId::nesterov)   ? "momentum"
                          : !runs(FamilyId::momentum) ? "nesterov"
                                                      : "momentum and nesterov")
                      << ", with eta / (1 - beta) for eta: " << *warning << "\n";
    }
    const FamilyComparison comparison = compare_family(members, data, scenario, options, tolerance);
    std::cout << family_report(comparison, scenario, data) << std::flush;
    if (comparison.failed()) { // half a set of outputs would mislead
        if (!out_dir.empty() || !plot.empty()) std::cout << "nothing was written: a member failed\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    outputs.write([&] {
        if (!out_dir.empty()) write_family(out_dir, comparison, scenario, data, format);
        if (!plot.empty()) render(sized(family_plot(comparison, scenario, data, draw.x_scale), draw), plot);
    });
    publish(outputs, (out_dir.empty() ? "" : "outputs in " + o.out_dir + " (summary.json, x, d and NAME/w, NAME/e)\n") +
                         (plot.empty() || plot == "-" ? "" : "plot " + o.plot + "\n"));
    return comparison.agrees() ? 0 : static_cast<int>(ExitCode::out_of_tolerance);
}

} // namespace lmsref::cli
