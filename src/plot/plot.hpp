// Figures through gnuplot: the notebook's plot_ws (a stage's weights over a reference's), a gallery of every stage,
// the deviation from the reference, and the learning curve. A figure is plain gnuplot text with its data inline, so
// what is drawn can be read and tested; render() pipes it to gnuplot through gnuplot-iostream.
//
// Every range is set explicitly (computed from the data, a zero-width range widened), so gnuplot has nothing to
// warn about. Past a few thousand points a curve is sent as its per-pixel envelope (envelope_rows), so a large N
// draws what a reader can see rather than a solid block.
#pragma once

#include "core/array2d.hpp"

#include <limits>
#include <string>
#include <vector>

namespace lmsref {

/// gnuplot commands that draw a figure, data included as datablocks, and the figure's size in pixels.
struct Figure {
    std::string body;
    int width = 900;
    int height = 540;
};

/// A weight trajectory to draw, with its legend label and colour ("#rrggbb"; a reference is always grey).
struct WeightsSeries {
    std::string label;
    std::string colour;
    const Array2D* w = nullptr;
};

/// An error signal to draw as a learning curve: e, or e² already (`squared`: a saved loss).
struct ErrorSeries {
    std::string label;
    std::string colour;
    const std::vector<double>* e = nullptr;
    bool squared = false;
};

/// The notebook's plot_ws: the stage's coefficients (in colour) over the reference's (light grey, wider; none when
/// `reference` is null), against the iteration, with wo as dashed lines when it is known (`wo` empty otherwise).
/// A narrow panel on the left zooms on the transient (see transient_iterations); `log_x` draws the iteration on
/// a log scale instead (iteration 0 is then not drawn).
Figure weights_figure(const std::string& title, const WeightsSeries& stage, const WeightsSeries* reference,
                      const std::vector<double>& wo, bool log_x = false);
/// Every series' weights_figure, in one figure, with one y range for all panels.
Figure gallery_figure(const std::string& title, const std::vector<WeightsSeries>& panels,
                      const WeightsSeries* reference, const std::vector<double>& wo, bool log_x = false);
/// max_k |w_k - w_reference,k| against the iteration on a log scale, one line per series (zero is drawn at 1e-18).
/// Series whose curves are identical are drawn once, their names together in the key.
Figure deviation_figure(const std::string& title, const std::vector<WeightsSeries>& series,
                        const WeightsSeries& reference, bool log_x = false);
/// e² (or a saved loss) in dB against the iteration: the first series raw and every series' moving average; the
/// noise floor 10 log10(sigmav2) as a dashed line when `noise_variance` is finite and positive. An exact zero is
/// drawn 10 dB under the smallest positive value (the y label says so).
Figure learning_figure(const std::string& title, const std::vector<ErrorSeries>& series, double noise_variance,
                       bool log_x = false);
/// `lmsref family --plot`: every member's weights, a panel each (wo dashed), over one panel of every member's e²
/// (moving average, dB).
Figure family_figure(const std::string& title, const std::vector<WeightsSeries>& panels,
                     const std::vector<ErrorSeries>& errors, double noise_variance, const std::vector<double>& wo,
                     bool log_x);

/// An ensemble's learning curves beside what theory predicts: what `lmsref ensemble --plot` draws. Entry j of
/// every curve is sample (or row of w) j * decimate.
struct EnsembleCurves {
    std::string title;
    std::size_t decimate = 1;
    std::vector<double> mse, mse_theory; ///< mean e(n)^2 over realizations, and theory's
    std::vector<double> msd, msd_theory; ///< mean ||w(n) - wo||^2, and theory's; no MSD panel when empty
    Array2D meanw, meanw_theory;         ///< mean w(n), and theory's; M columns
    std::vector<double> wo;              ///< the optimum for M taps, dashed (empty when unknown)
    double j_min = 0.0;                  ///< the minimum MSE, a dotted line
    double mse_limit = 0.0;              ///< theory's steady-state MSE, a line (not drawn when infinite)
    double msd_limit = 0.0;              ///< theory's steady-state MSD, a line (not drawn when infinite)
    std::size_t steady_start = 0;        ///< the steady-state window (samples steady_start ... N - 1), shaded
    double steady_mse = 0.0;             ///< the simulated mean over that window, a short line over it
    bool settled = true;                 ///< false: the MSE still falls through the window (said in its key)
    std::string simulated_label = "simulated";
    std::string theory_label = "theory"; ///< empty: no theory (its curves are not drawn)
    std::string note;                    ///< said beside the MSE panel's title, e.g. that eta is past the bound
    bool log_x = false;
    std::size_t realizations = 0; ///< R: from 1000 on, a panel of simulated / theory - 1 under the MSE
};
/// Three panels: the MSE in dB over n with theory's curve, J_min, the steady-state prediction and the window the
/// simulated steady state is measured on; the MSD in dB with theory's; the mean weights with theory's and wo.
/// A value that is zero or not finite has no decibels and is left out (a gap in its curve).
Figure ensemble_curves_figure(const EnsembleCurves& curves);

/// `ensemble --stage all`: every stage's MSE and MSD learning curves over the plain engine's, with the theory.
struct StageCurves {
    struct Series {
        std::string label;
        std::string colour;
        std::vector<double> mse, msd;
        /// The series' own theory, dashed in its colour (the family's members): curves, or (empty curves) a
        /// steady-state MSE drawn from sample level_from on; NaN for none.
        std::vector<double> mse_theory = {}, msd_theory = {};
        double mse_level = std::numeric_limits<double>::quiet_NaN();
        std::size_t level_from = 0;
    };
    std::string title;
    std::size_t decimate = 1;
    std::vector<Series> series;                 ///< the reference (the plain engine) first, drawn wide in grey
    bool first_is_reference = true;             ///< false: every series in its own colour
    std::vector<double> mse_theory, msd_theory; ///< one theory for all; empty: none
    std::string theory_label = "theory";
    std::string note; ///< said under the title, e.g. how close the zero-init stages are to the reference
    std::string mse_title = "mean-square error, every stage over the plain engine's";
    bool log_x = false;
};
/// Two panels, MSE and MSD in dB over n, the keys outside on the right so that no curve hides under them.
Figure stage_curves_figure(const StageCurves& curves);

/// The moving average window the learning curve uses for N samples.
std::size_t moving_average_window(std::size_t samples);
/// The mean of values[i - window + 1 .. i] (fewer at the start), each window summed directly: no running sum
/// loses the small values after a large one.
std::vector<double> moving_average(const std::vector<double>& values, std::size_t window);

/// The rows of `values` to draw between rows `first` and `last` (inclusive) on an axis `pixels` wide: all of
/// them when there are at most 4 per pixel; otherwise, for each pixel column (row i falls in column
/// floor((i - first) * pixels / count), or the same in log10(i) when `log_x`), the rows holding each value
/// column's minimum and maximum, plus `first` and `last`. Sorted, no repeats.
std::vector<std::size_t> envelope_rows(const Array2D& values, std::size_t first, std::size_t last, std::size_t pixels,
                                       bool log_x = false);
/// How many iterations the weights take to reach their steady state: for each series the first row where every
/// coefficient lies within its range over the series' second half (widened by 5% of the series' whole range);
/// the largest over the series. A weights panel zooms on three times that (at least 20 iterations).
std::size_t transient_iterations(const std::vector<const Array2D*>& series);

/// Throws InputError unless `output` is a .png, .svg or .pdf path, or "-" (the terminal).
void check_plot_target(const std::string& output);

/// Why the image file `path`, written by gnuplot for `output`'s extension, is not whole, or "": a PNG ends with
/// its IEND chunk, an SVG with </svg>, a PDF with %%EOF (trailing white space allowed), and none is empty.
std::string incomplete_image(const std::string& path, const std::string& output);

/// The complete gnuplot script that draws `figure` into `file` with the terminal `output`'s extension picks
/// (pngcairo, svg, pdfcairo; gnuplot's dumb terminal on standard output for "-").
std::string gnuplot_script(const Figure& figure, const std::string& output, const std::string& file);

/// Whether this build of lmsref can draw (it was built with gnuplot-iostream).
bool plotting_built_in();
/// Throws InputError, saying how to enable plotting, when it is not built in or LMSREF_GNUPLOT_TIMEOUT is not a
/// number of seconds; RuntimeFailure when the gnuplot program cannot be found.
void require_plotting();

/// How long render() lets gnuplot run: $LMSREF_GNUPLOT_TIMEOUT seconds, 60 by default. Throws InputError.
double gnuplot_timeout_seconds();
/// The line of gnuplot's messages that says what went wrong (warnings do not count), or "".
std::string gnuplot_error(const std::string& messages);

/// Draws the figure with gnuplot (the program in $LMSREF_GNUPLOT, or `gnuplot` on the PATH) into `output`:
/// gnuplot, started in `output`'s folder, writes a temporary file there under a name of lmsref's own (no path a
/// user chose enters the script), which replaces `output` only when gnuplot exited with status 0 after reading the
/// whole figure, said no error, and the file is whole (incomplete_image). A gnuplot still running after
/// gnuplot_timeout_seconds() is killed (with whatever it started). Throws RuntimeFailure when gnuplot is missing,
/// fails, stops reading or times out (no temporary file is left), InputError when plotting is not built in.
void render(const Figure& figure, const std::string& output);

} // namespace lmsref
