#include "plot.hpp"

#include "errors.hpp"
#include "text.hpp"

#include <algorithm>
#include <cmath>

namespace lmsref {

namespace {

constexpr double deviation_floor = 1e-18;
constexpr const char* reference_style = "lw 6 lc rgb '#80000000'"; // thick, black, half transparent
constexpr const char* wo_style = "dt 2 lw 1.5 lc rgb '#555555'";

std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out + "\"";
}

/// A datablock: the iteration in column 1, then one column per value.
std::string datablock(const std::string& name, const Array2D& rows) {
    std::string out = "$" + name + " << EOD\n";
    for (std::size_t r = 0; r < rows.rows; ++r) {
        out += std::to_string(r);
        for (std::size_t c = 0; c < rows.cols; ++c) out += " " + format_number(rows(r, c));
        out += "\n";
    }
    return out + "EOD\n";
}

std::string common_style() {
    return "set termoption noenhanced\nset grid lc rgb '#d0d0d0'\nset border lc rgb '#404040'\n"
           "set key outside right top box opaque\nset autoscale xfixmin\nset autoscale xfixmax\n";
}

/// The plot command of one weights panel: the reference under the stage, then wo.
std::string weights_plot(const std::string& block, const WeightsSeries& stage, std::size_t taps,
                         const std::vector<double>& wo, bool with_reference, bool with_key) {
    std::string out;
    if (!wo.empty()) {
        for (std::size_t k = 0; k < wo.size(); ++k)
            out += "set arrow " + std::to_string(k + 1) + " from graph 0, first " + format_number(wo[k]) +
                   " to graph 1, first " + format_number(wo[k]) + " nohead " + wo_style + " back\n";
    }
    out += std::string(with_key ? "set key\n" : "unset key\n");
    out += "plot ";
    if (with_reference)
        out += "for [k=2:" + std::to_string(taps + 1) + "] $ref using 1:k with lines " + reference_style +
               " title (k == 2 ? 'numpy' : ''), ";
    out += "for [k=2:" + std::to_string(taps + 1) + "] $" + block + " using 1:k with lines lw 1.6 lc rgb '" +
           stage.colour + "' title (k == 2 ? " + quoted(stage.label + " w_k") + " : '')";
    if (!wo.empty()) out += ", NaN with lines " + std::string(wo_style) + " title 'wo'";
    out += "\n";
    if (!wo.empty()) out += "unset arrow\n";
    return out;
}

std::vector<double> moving_average(const std::vector<double>& values, std::size_t window) {
    std::vector<double> averages(values.size());
    double sum = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i) {
        sum += values[i];
        if (i >= window) sum -= values[i - window];
        averages[i] = sum / static_cast<double>(std::min(i + 1, window));
    }
    return averages;
}

double decibels(double power) {
    return 10.0 * std::log10(std::max(power, 1e-30));
}

} // namespace

Figure weights_figure(const std::string& title, const WeightsSeries& stage, const Array2D* reference,
                      const std::vector<double>& wo) {
    Figure figure;
    figure.body = (reference ? datablock("ref", *reference) : "") + datablock("stage", *stage.w) + common_style() +
                  "set key outside top center horizontal\n"; // the plot and its title get the full width
    figure.body += "set title " + quoted(title) + "\nset xlabel 'iteration'\nset ylabel 'coefficients'\n";
    figure.body += weights_plot("stage", stage, stage.w->cols, wo, reference != nullptr, true);
    return figure;
}

Figure gallery_figure(const std::string& title, const std::vector<WeightsSeries>& panels, const Array2D* reference,
                      const std::vector<double>& wo) {
    Figure figure;
    figure.width = 1800;
    figure.height = 820;
    figure.body = reference ? datablock("ref", *reference) : "";
    for (std::size_t p = 0; p < panels.size(); ++p) figure.body += datablock("s" + std::to_string(p), *panels[p].w);
    figure.body += common_style();
    const std::size_t columns = std::min<std::size_t>(4, panels.size());
    const std::size_t rows = (panels.size() + columns - 1) / std::max<std::size_t>(columns, 1);
    figure.body += "set multiplot layout " + std::to_string(rows) + "," + std::to_string(columns) + " title " +
                   quoted(title + (reference ? "   (each stage in colour over numpy in grey; dashed: wo)" : "")) + "\n";
    figure.body += "set xlabel 'iteration'\nset ylabel 'coefficients'\n";
    for (std::size_t p = 0; p < panels.size(); ++p) {
        figure.body += "set title " + quoted(panels[p].label) + " tc rgb '" + panels[p].colour + "'\n";
        figure.body +=
            weights_plot("s" + std::to_string(p), panels[p], panels[p].w->cols, wo, reference != nullptr, false);
    }
    figure.body += "unset multiplot\n";
    return figure;
}

Figure deviation_figure(const std::string& title, const std::vector<WeightsSeries>& series, const Array2D& reference) {
    Figure figure;
    figure.width = 1000;
    figure.height = 560;
    std::string plot = "plot ";
    for (std::size_t s = 0; s < series.size(); ++s) {
        const Array2D& w = *series[s].w;
        Array2D deviation(w.rows, 1);
        for (std::size_t r = 0; r < w.rows && r < reference.rows; ++r) {
            double worst = 0.0;
            for (std::size_t c = 0; c < w.cols && c < reference.cols; ++c)
                worst = std::max(worst, std::abs(w(r, c) - reference(r, c)));
            deviation(r, 0) = std::max(worst, deviation_floor);
        }
        figure.body += datablock("d" + std::to_string(s), deviation);
        plot += std::string(s ? ", " : "") + "$d" + std::to_string(s) + " using 1:2 with lines lw 1.8 lc rgb '" +
                series[s].colour + "' title " + quoted(series[s].label);
    }
    figure.body += common_style() + "set key inside top right\n";
    figure.body += "set title " + quoted(title) + "\nset xlabel 'iteration'\n";
    figure.body += "set ylabel 'max_k |w_k - w_numpy,k|   (exact agreement drawn at 1e-18)'\n";
    figure.body += "set logscale y\nset format y '1e%T'\nset yrange [" + format_number(deviation_floor / 3) + ":*]\n";
    figure.body += plot + "\n";
    return figure;
}

std::size_t moving_average_window(std::size_t samples) {
    return std::max<std::size_t>(1, std::min<std::size_t>(50, samples / 20));
}

Figure learning_figure(const std::string& title, const std::vector<ErrorSeries>& series, double noise_variance) {
    Figure figure;
    figure.width = 1000;
    figure.height = 560;
    std::string plot = "plot ";
    std::size_t window = 1;
    for (std::size_t s = 0; s < series.size(); ++s) {
        const std::vector<double>& e = *series[s].e;
        std::vector<double> squared(e.size());
        std::transform(e.begin(), e.end(), squared.begin(), [](double v) { return v * v; });
        window = moving_average_window(e.size());
        const std::vector<double> averaged = moving_average(squared, window);
        Array2D curves(e.size(), 2);
        for (std::size_t i = 0; i < e.size(); ++i) {
            curves(i, 0) = decibels(squared[i]);
            curves(i, 1) = decibels(averaged[i]);
        }
        const std::string block = "e" + std::to_string(s);
        figure.body += datablock(block, curves);
        if (s == 0)
            plot += "$" + block + " using 1:2 with lines lw 0.8 lc rgb '#b0b0b0' title " +
                    quoted(series[s].label + ": e²") + ", ";
        plot += std::string(s ? ", " : "") + "$" + block + " using 1:3 with lines lw 2.2 lc rgb '" + series[s].colour +
                "' title " + quoted(series[s].label + ": moving average");
    }
    if (std::isfinite(noise_variance) && noise_variance > 0)
        plot += ", " + format_number(decibels(noise_variance)) + " with lines " + wo_style + " title " +
                quoted("noise floor, sigmav2 = " + format_number(noise_variance, "%g"));
    figure.body += common_style() + "set key inside bottom right\n";
    figure.body += "set title " + quoted(title + "   (moving average over " + std::to_string(window) + " samples)") +
                   "\nset xlabel 'iteration'\nset ylabel 'e² (dB)'\n";
    figure.body += plot + "\n";
    return figure;
}

void check_plot_target(const std::string& output) {
    if (output == "-") return;
    const std::string ext = lowercase_extension(output);
    if (ext != ".png" && ext != ".svg" && ext != ".pdf")
        throw InputError(output + ": cannot tell the image format from '" + ext +
                         "'; use .png, .svg or .pdf, or - for the terminal");
}

std::string gnuplot_script(const Figure& figure, const std::string& output, const std::string& file) {
    check_plot_target(output);
    const std::string ext = output == "-" ? "" : lowercase_extension(output);
    const std::string size = std::to_string(figure.width) + "," + std::to_string(figure.height);
    std::string script;
    if (ext == ".png")
        script = "set terminal pngcairo size " + size + " font 'Sans,11' linewidth 1\n";
    else if (ext == ".svg")
        script = "set terminal svg size " + size + " dynamic font 'Sans,11' background rgb 'white'\n";
    else if (ext == ".pdf")
        script = "set terminal pdfcairo size " + format_number(figure.width / 100.0) + "in," +
                 format_number(figure.height / 100.0) + "in font 'Sans,9'\n";
    else
        script = "set terminal dumb size 120,36\n";
    script += ext.empty() ? "set output\n" : "set output " + quoted(file) + "\n";
    return script + figure.body + "set output\n";
}

} // namespace lmsref
