// lmsref plot: saved outputs drawn again.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "report/report.hpp"
#include "core/text.hpp"
#include "plot/figures.hpp"
#include "plot/plot.hpp"

#include <iostream>

namespace lmsref::cli {

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

} // namespace lmsref::cli
