// lmsref <stage>: one stage of the notebook on the scenario, its report, files and figure.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "io/array_io.hpp"
#include "lms/torch_module.hpp"
#include "plot/figures.hpp"
#include "report/report.hpp"
#include "stages/libtorch.hpp"
#include "stages/registry.hpp"
#include "stages/runner.hpp"

#include <iostream>

namespace lmsref::cli {

int run_one_stage(const Stage& stage, const Options& o) {
    const Scenario scenario = scenario_from(o);
    if (stage.uses_torch) torch_module(); // a missing LibTorch module is said before any work
    const Device device = stage.uses_torch ? resolve_device(parse_device_choice(o.device)) : Device::cpu;
    const FileFormat format = parse_file_format(o.format);
    check_plot_request(o.plot);
    const DrawOptions draw = draw_options(o);
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
        render(sized(stage_figure(run, numpy, scenario, data, draw.x_scale), draw), plot);
    });
    publish(outputs, (out_dir.empty() ? "" : "  outputs    " + o.out_dir + "\n") +
                         (plot.empty() || plot == "-" ? "" : "  plot       " + o.plot + "\n"));
    return 0;
}

} // namespace lmsref::cli
