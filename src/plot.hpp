// Figures through gnuplot: the notebook's plot_ws (a stage's weights over numpy's), a gallery of every stage,
// the deviation from numpy, and the learning curve. A figure is plain gnuplot text with its data inline, so
// what is drawn can be read and tested; render() pipes it to gnuplot through gnuplot-iostream.
#pragma once

#include "array_io.hpp"

#include <string>
#include <vector>

namespace lmsref {

/// gnuplot commands that draw a figure, data included as datablocks, and the figure's size in pixels.
struct Figure {
    std::string body;
    int width = 900;
    int height = 540;
};

/// A weight trajectory to draw, with its legend label and colour ("#rrggbb").
struct WeightsSeries {
    std::string label;
    std::string colour;
    const Array2D* w = nullptr;
};

/// An error signal to draw as a learning curve.
struct ErrorSeries {
    std::string label;
    std::string colour;
    const std::vector<double>* e = nullptr;
};

/// The notebook's plot_ws: the stage's coefficients over the reference's (numpy's: thick, black, half
/// transparent; none when `reference` is null), against the iteration, with wo as dashed lines when it is known
/// (`wo` empty otherwise).
Figure weights_figure(const std::string& title, const WeightsSeries& stage, const Array2D* reference,
                      const std::vector<double>& wo);
/// Every stage's weights_figure, in one figure.
Figure gallery_figure(const std::string& title, const std::vector<WeightsSeries>& panels, const Array2D* reference,
                      const std::vector<double>& wo);
/// max_k |w_k - w_reference,k| against the iteration on a log scale, one line per series (zero is drawn at 1e-18).
Figure deviation_figure(const std::string& title, const std::vector<WeightsSeries>& series, const Array2D& reference);
/// e^2 in dB against the iteration: the first series raw and every series' moving average; the noise floor
/// 10 log10(sigmav2) as a dashed line when `noise_variance` is finite.
Figure learning_figure(const std::string& title, const std::vector<ErrorSeries>& series, double noise_variance);

/// The moving average window the learning curve uses for N samples.
std::size_t moving_average_window(std::size_t samples);

/// Throws InputError unless `output` is a .png, .svg or .pdf path, or "-" (the terminal).
void check_plot_target(const std::string& output);

/// The complete gnuplot script that draws `figure` into `file` with the terminal `output`'s extension picks
/// (pngcairo, svg, pdfcairo; gnuplot's dumb terminal on standard output for "-").
std::string gnuplot_script(const Figure& figure, const std::string& output, const std::string& file);

/// Whether this build of lmsref can draw (it was built with gnuplot-iostream).
bool plotting_built_in();
/// Throws InputError, saying how to enable plotting, when it is not built in.
void require_plotting();

/// Draws the figure with gnuplot (the program in $LMSREF_GNUPLOT, or `gnuplot` on the PATH) into `output`:
/// gnuplot writes a temporary file in the same folder, which replaces `output` only when gnuplot succeeded.
/// Throws RuntimeFailure when gnuplot is missing or fails, InputError when plotting is not built in.
void render(const Figure& figure, const std::string& output);

} // namespace lmsref
