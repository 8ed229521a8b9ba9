// lmsref's figures: what `--plot`, `compare --plot-dir` and `lmsref plot` draw, built from runs or saved files.
#pragma once

#include "ensemble/run.hpp"
#include "plot/plot.hpp"
#include "stages/runner.hpp"

#include <string>
#include <vector>

namespace lmsref {

/// The sample axis of a figure. `automatic`: a log scale when the transient takes less than 5 % of N, so that it
/// does not shrink to a line at the left (an ensemble: max(M, len(wo)) samples plus five of theory's time constants
/// 1 / (1 - a); weights: transient_iterations of the slowest trajectory, from N = 2000 on).
enum class XScale { automatic, linear, log };
/// "auto", "linear" or "log"; throws InputError otherwise.
XScale parse_x_scale(const std::string& text);

/// How a command draws (--x-scale, --size): the sample axis and the image's size in pixels (0: the figure's own).
struct DrawOptions {
    XScale x_scale = XScale::automatic;
    int width = 0;
    int height = 0;
};
/// --size "WxH": each from 300 to 10000 pixels; throws InputError (field size) otherwise.
void parse_image_size(const std::string& text, DrawOptions& options);
/// The figure drawn at the size asked for: its layout is in fractions of the image, so it scales.
Figure sized(Figure figure, const DrawOptions& options);
/// Whether weight trajectories are drawn on a log axis: `scale`, or for automatic the rule above.
bool weights_log_x(const std::vector<const Array2D*>& series, XScale scale);

/// The scenario in a figure's title: "N = 500, M = 3, eta = 0.1, sigmav2 = 0.01, seed = 0".
std::string figure_title(const Scenario& scenario, const Data& data);

/// `lmsref <stage> --plot`: the stage's weights over numpy's, like the notebook's plot_ws.
/// The numpy stage itself is drawn alone (it is the reference).
Figure stage_figure(const StageRun& run, const StageRun& numpy, const Scenario& scenario, const Data& data,
                    XScale scale = XScale::automatic);

/// `compare --plot-dir DIR`: <stage>.png for every stage, gallery.png, deviation.png and learning.png.
/// Returns the files written.
std::vector<std::string> plot_comparison(const Comparison& comparison, const Scenario& scenario, const Data& data,
                                         const std::string& dir, const DrawOptions& draw = {});

enum class PlotKind { weights, deviation, learning };
/// "weights", "deviation" or "learning"; throws InputError otherwise.
PlotKind parse_plot_kind(const std::string& text);

/// `lmsref plot`: a figure from saved outputs. weights: each file a panel, over `reference` when given, with
/// `wo` dashed; deviation: each file against `reference` (required); learning: each file an error signal e, or a
/// loss (a file named loss.*: e² already, drawn as it is). A series, the reference too, is named after the file's
/// folder (out/linear/w.npy is "linear") and keeps that stage's colour. `scale`: the iteration's axis (automatic:
/// weights_log_x for weights and deviation, linear for learning).
/// Throws InputError for an option the kind ignores (`reference` or `wo` with learning, `wo` with deviation).
Figure replot(PlotKind kind, const std::vector<std::string>& files, const std::string& reference,
              const std::vector<double>& wo, const std::string& title, XScale scale = XScale::automatic);

/// The figure of `ensemble --plot`: MSE in dB with the theory, J_min and the steady-state prediction; MSD in dB
/// with its theory; the mean weights with theory's and wo.
Figure ensemble_figure(const EnsembleRun& run, XScale scale = XScale::automatic);

/// The figure of `ensemble --stage all --plot`: every stage's MSE and MSD over the plain engine's, with the
/// theory of the zero start (none when the system behind --x/--d is unknown or eta is past the bound).
Figure stage_comparison_figure(const EnsembleComparison& comparison, XScale scale = XScale::automatic);

/// `lmsref family --plot`: each member's weights (its LibTorch program's), and every member's e² on one panel.
Figure family_plot(const FamilyComparison& comparison, const Scenario& scenario, const Data& data,
                   XScale scale = XScale::automatic);

/// The figure of `ensemble --algorithm A,B,... --plot`: each member's MSE and MSD in its colour, its theory dashed
/// (a learning curve, or the steady state over the last quarter where theory gives only that).
Figure members_figure(const std::vector<EnsembleMemberRun>& runs, XScale scale = XScale::automatic);

} // namespace lmsref
