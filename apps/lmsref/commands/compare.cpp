// lmsref compare: every stage on the same data, against numpy.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "io/array_io.hpp"
#include "lms/torch_module.hpp"
#include "plot/figures.hpp"
#include "plot/plot.hpp"
#include "report/report.hpp"
#include "stages/libtorch.hpp"
#include "stages/runner.hpp"

#include <iostream>

namespace lmsref::cli {

int run_compare(const Options& o) {
    const Scenario scenario = scenario_from(o);
    torch_module(); // a missing LibTorch module is said before any work
    const Device device = resolve_device(parse_device_choice(o.device));
    const FileFormat format = parse_file_format(o.format);
    const double tolerance = parse_tolerance(o.tolerance);
    const DrawOptions draw = draw_options(o);
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
        if (!plot_dir.empty()) plot_comparison(comparison, scenario, data, plot_dir, draw);
    });
    publish(outputs,
            (out_dir.empty() ? "" : "outputs in " + o.out_dir + " (summary.json, x, d and one folder per stage)\n") +
                (plot_dir.empty()
                     ? ""
                     : "plots in " + o.plot_dir + " (one per stage, gallery.png, deviation.png, learning.png)\n"));
    return comparison.agrees() ? 0 : static_cast<int>(ExitCode::out_of_tolerance);
}

} // namespace lmsref::cli
