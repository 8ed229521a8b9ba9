// lmsref data: the scenario's x and d, written.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/array_io.hpp"
#include "report/report.hpp"

#include <iostream>

namespace lmsref::cli {

int run_data(const Options& o) {
    const Scenario scenario = scenario_from(o);
    const FileFormat format = parse_file_format(o.format);
    if (o.out_dir.empty()) throw InputError("--out-dir: lmsref data writes x and d into a folder; name it");
    OutputSet outputs(is_output_name);
    const std::string out_dir = outputs.folder(o.out_dir, "--out-dir");
    const Data data = generate_data(scenario);
    outputs.write([&] { write_data(out_dir, data, format); });
    publish(outputs, "lmsref data: N = " + std::to_string(data.samples()) + ", sigmav2 = " +
                         format_number(scenario.noise_variance, "%g") + ", wo = " + format_vector(scenario.wo, "%g") +
                         ", seed = " + std::to_string(scenario.seed) + input_note(scenario) + "\nwrote x" +
                         extension(format) + (data.wo_path.empty() ? " and d" : ", d") + extension(format) +
                         (data.wo_path.empty() ? std::string()
                                               : " and wo" + std::string(extension(format)) + " (the walk's path)") +
                         " to " + o.out_dir + "\n");
    return 0;
}

} // namespace lmsref::cli
