#include "plot/figures.hpp"

#include "lms/family.hpp"

#include "stages/registry.hpp"

#include "io/array_io.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <optional>

namespace lmsref {

namespace {

const char* const other_colours[] = {"#17becf", "#bcbd22", "#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c"};

std::vector<double> known_wo(const Scenario& scenario) {
    return scenario.data_from_files() ? std::vector<double>{} : wiener_solution(scenario);
}

/// The series name of a saved file: its folder's name (out/linear/w.npy -> "linear"), else the file's stem.
std::string series_name(const std::string& file) {
    const std::filesystem::path path(file);
    const std::string folder = path.parent_path().filename().string();
    return folder.empty() || folder == "." ? path.stem().string() : folder;
}

std::string series_colour(const std::string& name, std::size_t index) {
    for (const Stage& stage : stages())
        if (stage.name == name) return std::string(stage.colour);
    return other_colours[index % std::size(other_colours)];
}

/// An ensemble figure's title: `title` and the coloured input with its eigenvalue spread on a second line; a title
/// too long for one line (a long wo) starts that line at wo instead.
std::string wrapped_title(std::string title, const EnsembleRun& run) {
    const std::string input = describe_input(run);
    const std::size_t wo = title.find(", wo = ");
    if (title.size() > 140 && wo != std::string::npos) {
        title.replace(wo, 2, "\n");
        return input.empty() ? title : title + ", " + input;
    }
    return input.empty() ? title : title + "\n" + input;
}

} // namespace

std::string figure_title(const Scenario& s, const Data& data) {
    std::string title = "N = " + std::to_string(data.samples()) + ", M = " + std::to_string(s.taps) +
                        ", eta = " + format_number(s.step_size, "%g");
    if (!s.data_from_files())
        title += ", sigmav2 = " + format_number(s.noise_variance, "%g") + ", seed = " + std::to_string(s.seed) +
                 input_note(s);
    return title;
}

void parse_image_size(const std::string& text, DrawOptions& options) {
    const std::size_t x = text.find('x');
    const auto side = [&](const std::string& part) {
        if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos || part.size() > 5) return -1;
        return std::stoi(part);
    };
    const int width = x == std::string::npos ? -1 : side(text.substr(0, x));
    const int height = x == std::string::npos ? -1 : side(text.substr(x + 1));
    if (width < 300 || width > 10000 || height < 300 || height > 10000)
        throw InputError(Field{"size"}, "'" + text +
                                            "' is not allowed; give WxH in pixels, each from 300 to 10000 "
                                            "(e.g. 1600x1200)");
    options.width = width;
    options.height = height;
}

Figure sized(Figure figure, const DrawOptions& options) {
    if (options.width > 0) figure.width = options.width;
    if (options.height > 0) figure.height = options.height;
    return figure;
}

bool weights_log_x(const std::vector<const Array2D*>& series, XScale scale) {
    if (scale != XScale::automatic || series.empty()) return scale == XScale::log;
    const std::size_t samples = series.front()->rows - 1;
    return samples >= 2000 && 20 * transient_iterations(series) < samples;
}

Figure stage_figure(const StageRun& run, const StageRun& numpy, const Scenario& scenario, const Data& data,
                    XScale scale) {
    const Stage& stage = *run.stage;
    const WeightsSeries series{std::string(stage.name), std::string(stage.colour), &run.trajectory.w};
    const WeightsSeries reference{std::string(numpy.stage->name), "", &numpy.trajectory.w};
    const bool alone = run.stage == numpy.stage; // numpy over itself would hide it
    const bool log_x = weights_log_x({&run.trajectory.w, &numpy.trajectory.w}, scale);
    return weights_figure("lmsref " + std::string(stage.name) + " (" + std::string(stage.notebook_function) + ")" +
                              (alone ? "" : " over " + reference.label) + ": " + figure_title(scenario, data),
                          series, alone ? nullptr : &reference, known_wo(scenario), log_x);
}

std::vector<std::string> plot_comparison(const Comparison& comparison, const Scenario& scenario, const Data& data,
                                         const std::string& dir, const DrawOptions& draw) {
    const StageComparison& numpy = comparison.stages.front();
    if (!numpy.run) throw RuntimeFailure("compare --plot-dir: numpy failed, so there is nothing to compare with");
    const WeightsSeries reference{std::string(numpy.stage->name), "", &numpy.run->trajectory.w};
    const std::string title = figure_title(scenario, data);
    const auto path = [&](const std::string& name) { return (std::filesystem::path(dir) / name).string(); };
    std::vector<std::string> written;

    std::vector<WeightsSeries> panels;
    std::vector<WeightsSeries> deviations;
    std::vector<ErrorSeries> errors;
    for (const StageComparison& c : comparison.stages) {
        if (!c.run) continue;
        const Stage& stage = *c.stage;
        render(sized(stage_figure(*c.run, *numpy.run, scenario, data, draw.x_scale), draw),
               path(std::string(stage.name) + ".png"));
        written.push_back(path(std::string(stage.name) + ".png"));
        std::string label = std::string(stage.name);
        if (&c != &numpy) label += "   max dev " + format_number(c.max_deviation, "%.1e");
        panels.push_back({label, std::string(stage.colour), &c.run->trajectory.w});
        if (&c != &numpy)
            deviations.push_back({std::string(stage.name), std::string(stage.colour), &c.run->trajectory.w});
        if (&c == &numpy) // every zero-init stage coincides with numpy here; linear does not
            errors.push_back({"numpy (and every zero-init stage)", std::string(stage.colour), &c.run->trajectory.e});
        else if (!stage.starts_from_zero)
            errors.push_back({std::string(stage.name), std::string(stage.colour), &c.run->trajectory.e});
    }
    // One axis for every figure of the set: the slowest stage decides.
    std::vector<const Array2D*> trajectories;
    for (const WeightsSeries& panel : panels) trajectories.push_back(panel.w);
    const bool log_x = weights_log_x(trajectories, draw.x_scale);
    render(sized(gallery_figure("lmsref compare: " + title, panels, &reference, known_wo(scenario), log_x), draw),
           path("gallery.png"));
    render(sized(deviation_figure("distance of every stage's weights from numpy's: " + title, deviations, reference,
                                  log_x),
                 draw),
           path("deviation.png"));
    render(sized(learning_figure("learning curve: " + title, errors,
                                 scenario.data_from_files() ? std::nan("") : scenario.noise_variance, log_x),
                 draw),
           path("learning.png"));
    for (const char* name : {"gallery.png", "deviation.png", "learning.png"}) written.push_back(path(name));
    return written;
}

PlotKind parse_plot_kind(const std::string& text) {
    static const Choice<PlotKind> choices[] = {
        {"weights", PlotKind::weights}, {"deviation", PlotKind::deviation}, {"learning", PlotKind::learning}};
    return parse_choice(Field{"kind"}, text, "a kind of plot", choices);
}

Figure replot(PlotKind kind, const std::vector<std::string>& files, const std::string& reference_file,
              const std::vector<double>& wo, const std::string& title, XScale scale) {
    if (files.empty()) throw InputError("lmsref plot: give at least one file to plot");
    if (kind == PlotKind::deviation && reference_file.empty())
        throw InputError(Field{"kind"},
                         "deviation needs --reference, the trajectory (e.g. out/numpy/w.npy) to measure from");
    if (kind == PlotKind::learning && !reference_file.empty())
        throw InputError(Field{"reference"}, "--kind learning draws no reference; leave it out");
    if (kind != PlotKind::weights && !wo.empty())
        throw InputError(Field{"wo"}, "only --kind weights draws wo; leave it out");

    if (kind == PlotKind::learning) {
        std::vector<std::vector<double>> signals;
        for (const std::string& file : files) signals.push_back(read_signal(file));
        std::vector<ErrorSeries> series;
        for (std::size_t k = 0; k < files.size(); ++k) {
            // loss.npy holds the notebook's loss, e² already: it is drawn as it is, not squared again
            const bool loss = std::filesystem::path(files[k]).stem() == "loss";
            series.push_back({series_name(files[k]), series_colour(series_name(files[k]), k), &signals[k], loss});
        }
        return learning_figure(title.empty() ? "learning curve" : title, series, std::nan(""), scale == XScale::log);
    }

    std::vector<Array2D> arrays;
    for (const std::string& file : files) arrays.push_back(read_array(file));
    const std::optional<Array2D> reference =
        reference_file.empty() ? std::nullopt : std::optional<Array2D>(read_array(reference_file));
    const Array2D& shape = reference ? *reference : arrays.front();
    for (std::size_t k = 0; k < files.size(); ++k)
        if (arrays[k].rows != shape.rows || arrays[k].cols != shape.cols)
            throw InputError(files[k] + ": has shape (" + std::to_string(arrays[k].rows) + ", " +
                             std::to_string(arrays[k].cols) + ") but " + (reference ? reference_file : files.front()) +
                             " has (" + std::to_string(shape.rows) + ", " + std::to_string(shape.cols) + ")");
    std::vector<WeightsSeries> series;
    for (std::size_t k = 0; k < files.size(); ++k)
        series.push_back({series_name(files[k]), series_colour(series_name(files[k]), k), &arrays[k]});
    const WeightsSeries drawn_reference{series_name(reference_file), "", reference ? &*reference : nullptr};
    std::vector<const Array2D*> drawn;
    for (const Array2D& array : arrays) drawn.push_back(&array);
    if (reference) drawn.push_back(&*reference);
    const bool log_x = weights_log_x(drawn, scale);
    if (kind == PlotKind::deviation)
        return deviation_figure(title.empty() ? "distance from " + reference_file : title, series, drawn_reference,
                                log_x);
    const WeightsSeries* under = reference ? &drawn_reference : nullptr;
    if (series.size() == 1) {
        const std::string named = under ? series.front().label + " over " + under->label : files.front();
        return weights_figure(title.empty() ? named : title, series.front(), under, wo, log_x);
    }
    return gallery_figure(title.empty() ? "weights" : title, series, under, wo, log_x);
}

XScale parse_x_scale(const std::string& text) {
    static const Choice<XScale> choices[] = {
        {"auto", XScale::automatic}, {"linear", XScale::linear}, {"log", XScale::log}};
    return parse_choice(Field{"x-scale"}, text, "a scale", choices);
}

namespace {

/// The sample axis of an ensemble's figures: log when asked, or (auto) when the transient is under 5 % of N.
bool ensemble_log_x(const EnsembleRun& run, XScale scale) {
    const TheoryPrediction& t = run.theory;
    if (scale != XScale::automatic || t.past_mean_square_bound || !(t.a < 1)) return scale == XScale::log;
    const auto M = static_cast<std::size_t>(run.result.taps);
    const double transient = static_cast<double>(std::max<std::size_t>(M, run.scenario.wo.size())) + 5.0 / (1.0 - t.a);
    return transient < 0.05 * static_cast<double>(run.result.samples);
}

} // namespace

Figure ensemble_figure(const EnsembleRun& run, XScale scale) {
    const EnsembleResult& r = run.result;
    const TheoryPrediction& t = run.theory;
    const auto M = static_cast<std::size_t>(r.taps);
    const auto m = static_cast<std::size_t>(r.decimate);
    EnsembleCurves c;
    const std::string what = run.is_member() ? "algorithm " + std::string(member_of(run.algorithm).name)
                                             : "stage " + std::string(run.stage != nullptr ? run.stage->name : "numpy");
    c.title =
        wrapped_title(fmt::format("lmsref ensemble, {}, {}: {} realization{}, {}", what,
                                  r.generated ? "rng " + std::string(to_string(r.rng)) : std::string("data from files"),
                                  r.completed_realizations, r.completed_realizations == 1 ? "" : "s",
                                  describe_ensemble(run, 6, false)),
                      run);
    c.decimate = m;
    c.mse = r.mse;
    c.msd = r.msd;
    c.mse_theory = decimated(t.mse_curve, r.decimate);
    c.msd_theory = decimated(t.msd_curve, r.decimate);
    c.meanw = Array2D(static_cast<std::size_t>(r.meanw_rows()), M);
    c.meanw.values = r.meanw;
    c.meanw_theory = Array2D(c.meanw.rows, M);
    if (t.meanw_curve.empty()) c.meanw_theory = Array2D(0, M); // a member whose theory has no mean weights
    for (std::size_t j = 0; j < c.meanw.rows && !t.meanw_curve.empty(); ++j)
        for (std::size_t k = 0; k < M; ++k) c.meanw_theory(j, k) = t.meanw_curve[j * m * M + k];
    if (run.scenario.system_known) c.wo = wiener_solution(run.scenario); // wo cut to M; R^-1 p when coloured
    c.j_min = t.j_min;
    c.mse_limit = t.mse;
    c.msd_limit = t.msd;
    c.steady_start = static_cast<std::size_t>(run.steady.first_sample);
    c.steady_mse = run.steady.mse;
    // The window is marked where the report says it is no steady state: a steady-state theory's (or no theory's)
    // window that the MSE still falls or rises through, or a theory's curve short of its limit there.
    const bool curves = run.is_member() ? run.member_theory.known && run.member_theory.curves : true;
    c.settled = curves ? run.steady.theory_settled : !run.steady.settling_known || run.steady.settled;
    c.simulated_label = fmt::format("simulated, R = {}", r.completed_realizations);
    c.realizations = static_cast<std::size_t>(r.completed_realizations);
    if (r.diverged > 0) c.simulated_label += fmt::format(" ({} diverged, kept)", r.diverged);
    c.log_x = ensemble_log_x(run, scale);
    if (t.past_mean_square_bound)
        c.note = fmt::format("eta = {:g} is past the mean-square bound {:.4g}: theory has no steady state",
                             run.scenario.step_size, t.mean_square_bound);
    c.theory_label = run.input_power_measured ? "theory (white input of the measured power)" : "theory";
    if (run.is_member()) {
        const MemberTheory& theory = run.member_theory;
        if (!theory.known) {
            c.mse_limit = c.msd_limit = 0.0;
            c.note = "no theory for " + std::string(member_of(run.algorithm).name) + ": " + theory.none;
        } else if (!theory.curves) {
            c.theory_label.clear();
            c.note = "theory gives the steady state only: " + theory.model;
        } else {
            c.theory_label = "theory: " + theory.model;
        }
        c.title += ", " + member_settings(run.algorithm, run.family);
    }
    if (!run.scenario.system_known) { // files without --wo and --sigmav2: no MSD, no theory
        c.msd.clear();
        c.msd_theory.clear();
        c.mse_theory.clear();
        c.meanw_theory = Array2D(0, M);
        c.j_min = c.mse_limit = c.msd_limit = 0.0;
        c.theory_label.clear();
        c.note = "no theory: the system behind --x and --d is unknown";
    }
    return ensemble_curves_figure(c);
}

Figure stage_comparison_figure(const EnsembleComparison& comparison, XScale scale) {
    const EnsembleRun& reference = *comparison.stages.front().run;
    const EnsembleResult& r = reference.result;
    const bool known = reference.scenario.system_known;
    StageCurves c;
    c.title =
        wrapped_title(fmt::format("lmsref ensemble --stage all: {} realization{}, {}", r.completed_realizations,
                                  r.completed_realizations == 1 ? "" : "s", describe_ensemble(reference, 6, false)),
                      reference);
    c.decimate = static_cast<std::size_t>(r.decimate);
    for (const EnsembleStageRun& s : comparison.stages) {
        if (!s.run) continue;
        std::string label = std::string(s.stage->name);
        if (&s == &comparison.stages.front())
            label += " (plain engine)";
        else if (!s.stage->starts_from_zero)
            label += " (random init)";
        c.series.push_back({label, std::string(s.stage->colour), s.run->result.mse,
                            known ? s.run->result.msd : std::vector<double>{}});
    }
    if (known && !reference.theory.past_mean_square_bound) {
        c.mse_theory = decimated(reference.theory.mse_curve, r.decimate);
        c.msd_theory = decimated(reference.theory.msd_curve, r.decimate);
        c.theory_label = "theory (zero start)";
    }
    double largest = 0.0;
    std::size_t zero_init = 0;
    for (const EnsembleStageRun& s : comparison.stages)
        if (s.run && s.stage->starts_from_zero && &s != &comparison.stages.front()) {
            largest = std::max(largest, s.largest_difference());
            ++zero_init;
        }
    if (zero_init > 0)
        c.note =
            fmt::format("the {} zero-init stages lie on it: largest relative difference {:.1e}", zero_init, largest);
    c.log_x = ensemble_log_x(reference, scale);
    return stage_curves_figure(c);
}

namespace {

/// The colour of the k-th member drawn in a family figure: fourteen apart, one per member of the family.
std::string member_colour(std::size_t k) {
    static const char* const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                          "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39"};
    return colours[k % std::size(colours)];
}

} // namespace

Figure family_plot(const FamilyComparison& comparison, const Scenario& scenario, const Data& data, XScale scale) {
    std::vector<WeightsSeries> panels;
    std::vector<ErrorSeries> errors;
    std::vector<const Array2D*> drawn;
    std::size_t k = 0;
    for (const FamilyRun& run : comparison.members) {
        if (!run.ran()) continue;
        const std::string colour = member_colour(k++);
        panels.push_back({std::string(run.member->name), colour, &run.program.w});
        errors.push_back({std::string(run.member->name), colour, &run.program.e});
        drawn.push_back(&run.program.w);
    }
    const std::vector<double> wo = scenario.data_from_files() ? std::vector<double>{} : wiener_solution(scenario);
    return family_figure("lmsref family: " + figure_title(scenario, data), panels, errors,
                         scenario.data_from_files() ? std::nan("") : scenario.noise_variance, wo,
                         weights_log_x(drawn, scale));
}

Figure members_figure(const std::vector<EnsembleMemberRun>& runs, XScale scale) {
    const auto first = std::find_if(runs.begin(), runs.end(), [](const EnsembleMemberRun& m) { return m.run; });
    StageCurves c;
    c.first_is_reference = false;
    if (first == runs.end()) return stage_curves_figure(c);
    const EnsembleRun& reference = *first->run;
    const EnsembleResult& r = reference.result;
    const bool known = reference.scenario.system_known;
    c.title =
        wrapped_title(fmt::format("lmsref ensemble, {}: {} realization{}, {}",
                                  r.generated ? "rng " + std::string(to_string(r.rng)) : std::string("data from files"),
                                  r.completed_realizations, r.completed_realizations == 1 ? "" : "s",
                                  describe_ensemble(reference, 6, false)),
                      reference);
    c.mse_title =
        "mean-square error of each algorithm; dashed black on each: its theory (a level: the steady state alone)";
    c.decimate = static_cast<std::size_t>(r.decimate);
    std::size_t k = 0;
    for (const EnsembleMemberRun& m : runs) {
        if (!m.run) continue;
        const EnsembleRun& run = *m.run;
        StageCurves::Series s;
        s.label = std::string(member_of(m.algorithm).name);
        s.colour = member_colour(k++);
        s.mse = run.result.mse;
        s.msd = known ? run.result.msd : std::vector<double>{};
        const bool theory = known && (run.is_member() ? run.member_theory.known : !run.theory.past_mean_square_bound);
        if (theory && (!run.is_member() || run.member_theory.curves)) {
            s.mse_theory = decimated(run.theory.mse_curve, r.decimate);
            s.msd_theory = decimated(run.theory.msd_curve, r.decimate);
        } else if (theory) {
            s.mse_level = run.theory.mse;
            s.level_from = static_cast<std::size_t>(run.steady.first_sample);
        }
        c.series.push_back(std::move(s));
    }
    c.log_x = ensemble_log_x(reference, scale);
    return stage_curves_figure(c);
}

} // namespace lmsref
