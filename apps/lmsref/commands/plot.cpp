// lmsref plot: saved outputs drawn again.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "plot/figures.hpp"
#include "plot/plot.hpp"
#include "report/ensemble_report.hpp"
#include "report/report.hpp"

#include <filesystem>
#include <iostream>

namespace lmsref::cli {

namespace {

/// An ensemble's output folder (`lmsref ensemble --out-dir`), drawn as the ensemble drew it.
Figure ensemble_folder_figure(const Options& o) {
    for (const char* option : {"--kind", "--reference", "--wo", "--title"})
        if (o.given(option))
            throw InputError(std::string(option) + ": " + o.files.front() +
                             " is an ensemble's output set, drawn as its run drew it; leave " + option + " out");
    return ensemble_figure(load_ensemble_run(o.files.front()), draw_options(o).x_scale);
}

/// An ensemble's mean-square curve given as errors to square: refused, with what draws it.
void refuse_mean_squares(const Options& o) {
    for (const std::string& file : o.files) {
        const std::filesystem::path path(file);
        const std::string stem = path.stem().string();
        const std::string dir = path.has_parent_path() ? path.parent_path().string() : ".";
        if ((stem == "mse" || stem == "msd" || stem == "mse_theory" || stem == "msd_theory") && is_ensemble_output(dir))
            throw InputError(file + " is an ensemble's mean-square curve, not errors to square; `lmsref plot " + dir +
                             " --out FILE` draws the ensemble's figure");
    }
}

} // namespace

int run_plot(const Options& o) {
    if (o.out.empty()) throw InputError("--out: name the image to write (.png, .svg, .pdf; - for the terminal)");
    check_plot_request(o.out);
    std::error_code error;
    const bool folder = o.files.size() == 1 && std::filesystem::is_directory(o.files.front(), error);
    if (folder && !is_ensemble_output(o.files.front()))
        throw InputError(o.files.front() + " is a folder without an ensemble's summary.json; give the files to draw");
    const PlotKind kind = parse_plot_kind(o.kind);
    if (kind == PlotKind::learning) refuse_mean_squares(o);
    const std::vector<double> wo = o.plot_wo.empty() ? std::vector<double>{} : parse_number_list("--wo", o.plot_wo);
    const DrawOptions draw = draw_options(o);
    const Figure figure =
        sized(folder ? ensemble_folder_figure(o) : replot(kind, o.files, o.reference, wo, o.title, draw.x_scale), draw);
    OutputSet outputs(is_output_name);
    const std::string out = staged_file(outputs, o.out, "--out");
    outputs.write([&] { render(figure, out); });
    publish(outputs, o.out == "-" ? "" : "lmsref plot: wrote " + o.out + "\n");
    return 0;
}

} // namespace lmsref::cli
