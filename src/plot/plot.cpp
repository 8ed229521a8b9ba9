#include "plot/plot.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/files.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lmsref {

namespace {

constexpr double deviation_floor = 1e-18;
// The reference: light grey and wider than the stage's line, drawn first, so the stage shows on top of it and a
// stage that agrees shows as a line with a grey halo. Explicit line types keep the dumb terminal's key characters
// in step with its curves.
constexpr const char* reference_style = "lt 1 lw 3.5 lc rgb '#c4c4c4'";
constexpr const char* stage_style = "lt 2 lw 1.3";
constexpr const char* wo_style = "lt 3 dt 2 lw 1.2 lc rgb '#303030'";
constexpr const char* zoom_shade = "fc rgb '#efefef' fs solid 1.0 noborder";

/// A gnuplot string that gnuplot never evaluates, whatever a title or a file name holds: single quotes (no
/// backquoted commands, no macros, no escapes inside them), a quote doubled, a control character shown as its
/// escape (a newline would end the command).
std::string quoted(const std::string& text) {
    std::string out = "'";
    for (const char c : one_line(text)) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

/// quoted() line by line: a title of several lines ('\n' between them) as quoted lines joined by gnuplot's "\n".
std::string quoted_lines(const std::string& text) {
    std::string out;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
        out += quoted(text.substr(start, end - start)) + ".\"\\n\".";
    return out + quoted(text.substr(start));
}

/// The room a title's lines after the first take (pixels): the top panel starts that much lower.
double extra_title_pixels(const std::string& title) {
    return 16.0 * static_cast<double>(std::count(title.begin(), title.end(), '\n'));
}

std::string number(double value) {
    return format_number(value);
}

struct Range {
    double low = std::numeric_limits<double>::infinity();
    double high = -std::numeric_limits<double>::infinity();
    void add(double value) {
        if (!std::isfinite(value)) return;
        low = std::min(low, value);
        high = std::max(high, value);
    }
    bool empty() const { return !(low <= high); }
    /// Widened by `fraction` of its width on each side; a zero-width range by 10% of its value (1 at zero).
    Range padded(double fraction) const {
        if (empty()) return {-1.0, 1.0};
        const double width = high - low;
        const double pad = width > 0 ? width * fraction : (low == 0 ? 1.0 : std::abs(low) * 0.1);
        return {low - pad, high + pad};
    }
    std::string text() const { return "[" + number(low) + ":" + number(high) + "]"; }
};

/// The iterations an axis shows for rows 0 .. last: from 1 on a log scale, never of zero width.
Range x_range(std::size_t first, std::size_t last) {
    return {static_cast<double>(first), static_cast<double>(std::max(last, first + 1))};
}

/// A datablock: the iteration (the row index times `x_step`) in column 1, then one column per value, for the rows
/// given. A value that is not finite is written as NaN, which gnuplot leaves out.
std::string datablock(const std::string& name, const Array2D& values, const std::vector<std::size_t>& rows,
                      std::size_t x_step = 1) {
    std::string out = "$" + name + " << EOD\n";
    for (std::size_t r : rows) {
        out += std::to_string(r * x_step);
        for (std::size_t c = 0; c < values.cols; ++c)
            out += " " + (std::isfinite(values(r, c)) ? number(values(r, c)) : std::string("NaN"));
        out += "\n";
    }
    return out + "EOD\n";
}

std::string common_style() {
    return "set termoption noenhanced\nset grid lc rgb '#d0d0d0'\nset border lc rgb '#404040'\n";
}

/// The x axis: its range, scale, label and tics (every `tic_step` iterations when > 0; whole iterations only).
std::string x_axis(const Range& x, bool log_x, const std::string& label, double tic_step = 0) {
    std::string tics = "set xtics autofreq\n";
    if (tic_step > 0)
        tics = "set xtics 0, " + number(tic_step) + "\n";
    else if (!log_x && x.high - x.low <= 10)
        tics = "set xtics 1\n";
    // Long runs label their tics 20k, 40k, ... so that five-digit numbers do not run into each other.
    tics += x.high >= 10000 ? "set format x '%.0s%c'\n" : "set format x '% h'\n";
    return std::string(log_x ? "set logscale x\n" : "unset logscale x\n") + tics + "set xrange " + x.text() +
           "\nset xlabel " + quoted(log_x ? label + " (log scale)" : label) + "\n";
}

/// The plot area of one part of a figure, in screen fractions.
struct Box {
    double left, right, bottom, top;
};

std::string margins(const Box& box) {
    return "set lmargin at screen " + number(box.left) + "\nset rmargin at screen " + number(box.right) +
           "\nset bmargin at screen " + number(box.bottom) + "\nset tmargin at screen " + number(box.top) + "\n";
}

/// How much of the x axis a weights panel's zoom shows, or 0 for no zoom panel.
std::size_t zoom_end(const std::vector<const Array2D*>& series, bool log_x) {
    if (log_x || series.empty()) return 0;
    const std::size_t last = series.front()->rows - 1;
    const std::size_t transient = transient_iterations(series);
    std::size_t end = std::max<std::size_t>(20, transient * 3);
    end = (end + 19) / 20 * 20; // a round number, in quarters for the tics
    return last >= 80 && end * 4 <= last ? end : 0;
}

/// The datablocks of a weights trajectory: `name` for the whole axis, `name`z for the zoom (when `zoom` > 0).
std::string weights_blocks(const std::string& name, const Array2D& w, std::size_t zoom, bool log_x,
                           std::size_t full_pixels, std::size_t zoom_pixels) {
    const std::size_t first = log_x ? 1 : 0;
    std::string out = datablock(name, w, envelope_rows(w, first, w.rows - 1, full_pixels, log_x));
    if (zoom > 0) out += datablock(name + "z", w, envelope_rows(w, 0, zoom, zoom_pixels));
    return out;
}

struct WeightsPart {
    Box box;
    Range x;
    std::string suffix; // "" for the whole axis, "z" for the zoom
    std::string x_label;
    double x_tic_step = 0; // 0: gnuplot's choice
    bool y_labels = true;
    std::size_t shade_to = 0; // shade iterations 0 .. shade_to (the zoom's extent)
};

/// One weights plot: the reference under the stage, then wo.
std::string weights_part(const WeightsPart& part, const std::string& block, const WeightsSeries& stage,
                         const WeightsSeries* reference, const std::vector<double>& wo, const Range& y, bool log_x,
                         const std::string& title, const std::string& key) {
    std::string out = margins(part.box) + x_axis(part.x, log_x && part.suffix.empty(), part.x_label, part.x_tic_step);
    out += "set yrange " + y.text() + "\n";
    out += part.y_labels ? "set format y '% g'\nset ylabel 'coefficients'\n" : "set format y ''\nunset ylabel\n";
    out += "set title " + title + "\n" + key;
    if (part.shade_to > 0)
        out += "set object 1 rectangle from 0, graph 0 to " + std::to_string(part.shade_to) + ", graph 1 " +
               zoom_shade + " behind\n";
    const std::string taps = std::to_string(stage.w->cols + 1);
    out += "plot ";
    if (reference)
        out += "for [k=2:" + taps + "] $" + "ref" + part.suffix + " using 1:k with lines " + reference_style +
               " title (k == 2 ? " + quoted(reference->label) + " : ''), ";
    out += "for [k=2:" + taps + "] $" + block + part.suffix + " using 1:k with lines " + stage_style + " lc rgb '" +
           stage.colour + "' title (k == 2 ? " + quoted(stage.label + " w_k") + " : '')";
    // wo as constant functions on top, in the style its key entry shows
    for (std::size_t k = 0; k < wo.size(); ++k)
        out += ", " + number(wo[k]) + " with lines " + wo_style + " title " + (k == 0 ? "'wo'" : "''");
    out += "\n";
    if (part.shade_to > 0) out += "unset object 1\n";
    return out;
}

/// The common y range of weights panels: every coefficient drawn and wo.
Range weights_y_range(const std::vector<const Array2D*>& series, const std::vector<double>& wo) {
    Range y;
    for (const Array2D* w : series)
        for (double v : w->values) y.add(v);
    for (double v : wo) y.add(v);
    return y.padded(0.05);
}

/// A weights panel in the rectangle `cell` (screen fractions): the zoom on the left when `zoom` > 0.
std::string weights_cell(const Box& cell, int figure_width, const std::string& block, const WeightsSeries& stage,
                         const WeightsSeries* reference, const std::vector<double>& wo, const Range& y,
                         std::size_t zoom, bool log_x, const std::string& title, const std::string& key) {
    const std::size_t last = stage.w->rows - 1;
    const double px = 1.0 / figure_width; // one pixel in screen fractions
    std::string out;
    if (zoom == 0) {
        const WeightsPart whole{cell, x_range(log_x ? 1 : 0, last), "", "iteration", 0, true, 0};
        return weights_part(whole, block, stage, reference, wo, y, log_x, title, key);
    }
    const double split = cell.left + (cell.right - cell.left) * 0.24;
    const bool narrow = (split - cell.left) / px < 150; // room for three tic labels, else five
    const WeightsPart zoomed{{cell.left, split, cell.bottom, cell.top},
                             x_range(0, zoom),
                             "z",
                             "iterations 0-" + std::to_string(zoom),
                             static_cast<double>(zoom) / (narrow ? 2 : 4),
                             true,
                             0};
    const WeightsPart whole{
        {split + 24 * px, cell.right, cell.bottom, cell.top}, x_range(0, last), "", "iteration", 0, false, zoom};
    out += weights_part(zoomed, block, stage, reference, wo, y, false, "''", "unset key\n");
    out += weights_part(whole, block, stage, reference, wo, y, false, title, key);
    return out;
}

double decibels(double power) {
    return 10.0 * std::log10(power);
}

} // namespace

std::vector<std::size_t> envelope_rows(const Array2D& values, std::size_t first, std::size_t last, std::size_t pixels,
                                       bool log_x) {
    std::vector<std::size_t> rows;
    if (values.rows == 0 || first > last || first >= values.rows) return rows;
    last = std::min(last, values.rows - 1);
    const std::size_t count = last - first + 1;
    if (pixels == 0 || count <= 4 * pixels) {
        for (std::size_t r = first; r <= last; ++r) rows.push_back(r);
        return rows;
    }
    const bool logarithmic = log_x && first >= 1;
    const double log_first = logarithmic ? std::log10(static_cast<double>(first)) : 0.0;
    const double log_span = logarithmic ? std::log10(static_cast<double>(last) + 1.0) - log_first : 1.0;
    const auto column_of = [&](std::size_t r) {
        const std::size_t column = logarithmic
                                       ? static_cast<std::size_t>((std::log10(static_cast<double>(r)) - log_first) /
                                                                  log_span * static_cast<double>(pixels))
                                       : (r - first) * pixels / count;
        return std::min(column, pixels - 1);
    };
    std::vector<std::size_t> lowest(values.cols), highest(values.cols);
    const auto keep = [&] {
        for (std::size_t c = 0; c < values.cols; ++c) {
            rows.push_back(lowest[c]);
            rows.push_back(highest[c]);
        }
    };
    std::size_t column = column_of(first);
    std::fill(lowest.begin(), lowest.end(), first);
    std::fill(highest.begin(), highest.end(), first);
    for (std::size_t r = first; r <= last; ++r) {
        if (const std::size_t here = column_of(r); here != column) {
            keep();
            column = here;
            std::fill(lowest.begin(), lowest.end(), r);
            std::fill(highest.begin(), highest.end(), r);
        }
        for (std::size_t c = 0; c < values.cols; ++c) {
            const double v = values(r, c);
            if (std::isnan(v)) continue;
            const double low = values(lowest[c], c);
            const double high = values(highest[c], c);
            if (std::isnan(low) || v < low) lowest[c] = r;
            if (std::isnan(high) || v > high) highest[c] = r;
        }
    }
    keep();
    rows.push_back(first);
    rows.push_back(last);
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    return rows;
}

std::size_t transient_iterations(const std::vector<const Array2D*>& series) {
    std::size_t settled = 0;
    for (const Array2D* w : series) {
        if (w->rows < 4) continue;
        const std::size_t half = w->rows / 2;
        Range whole;
        for (double v : w->values) whole.add(v);
        const double slack = whole.empty() ? 0.0 : 0.05 * (whole.high - whole.low);
        std::vector<Range> band(w->cols);
        for (std::size_t r = half; r < w->rows; ++r)
            for (std::size_t c = 0; c < w->cols; ++c) band[c].add((*w)(r, c));
        std::size_t entered = half;
        for (std::size_t r = 0; r < half && entered == half; ++r) {
            bool inside = true;
            for (std::size_t c = 0; c < w->cols; ++c) {
                const double v = (*w)(r, c);
                inside &= band[c].empty() || (v >= band[c].low - slack && v <= band[c].high + slack);
            }
            if (inside) entered = r;
        }
        settled = std::max(settled, entered);
    }
    return settled;
}

Figure weights_figure(const std::string& title, const WeightsSeries& stage, const WeightsSeries* reference,
                      const std::vector<double>& wo, bool log_x) {
    Figure figure;
    std::vector<const Array2D*> drawn{stage.w};
    if (reference) drawn.push_back(reference->w);
    const std::size_t zoom = zoom_end(drawn, log_x);
    const Box cell{75.0 / figure.width, 1 - 20.0 / figure.width, 58.0 / figure.height, 1 - 78.0 / figure.height};
    const std::size_t pixels = figure.width * 3 / 4;
    figure.body = (reference ? weights_blocks("ref", *reference->w, zoom, log_x, pixels, 200) : "") +
                  weights_blocks("stage", *stage.w, zoom, log_x, pixels, 200) + common_style();
    figure.body += "set multiplot title " + quoted(title) + "\n";
    const std::string key = "set key at screen 0.5, screen " + number(1 - 30.0 / figure.height) +
                            " center top horizontal box opaque samplen 3\n";
    figure.body += weights_cell(cell, figure.width, "stage", stage, reference, wo, weights_y_range(drawn, wo), zoom,
                                log_x, "''", key);
    figure.body += "unset multiplot\n";
    return figure;
}

Figure gallery_figure(const std::string& title, const std::vector<WeightsSeries>& panels,
                      const WeightsSeries* reference, const std::vector<double>& wo, bool log_x) {
    Figure figure;
    const std::size_t columns = std::max<std::size_t>(1, std::min<std::size_t>(4, panels.size()));
    const std::size_t rows = (panels.size() + columns - 1) / columns;
    figure.width = static_cast<int>(std::max<std::size_t>(900, 450 * columns));
    figure.height = static_cast<int>(40 + 400 * std::max<std::size_t>(rows, 1));
    std::vector<const Array2D*> drawn;
    for (const WeightsSeries& panel : panels) drawn.push_back(panel.w);
    if (reference) drawn.push_back(reference->w);
    const std::size_t zoom = zoom_end(drawn, log_x);
    const Range y = weights_y_range(drawn, wo);
    const double cell_width = static_cast<double>(figure.width) / static_cast<double>(columns);
    const std::size_t pixels = static_cast<std::size_t>(cell_width * 0.7);
    const std::size_t zoom_pixels = static_cast<std::size_t>(cell_width * 0.2);
    figure.body = reference ? weights_blocks("ref", *reference->w, zoom, log_x, pixels, zoom_pixels) : "";
    for (std::size_t p = 0; p < panels.size(); ++p)
        figure.body += weights_blocks("s" + std::to_string(p), *panels[p].w, zoom, log_x, pixels, zoom_pixels);
    figure.body += common_style();
    std::string note = "   (each series in colour";
    if (reference) note += " over " + reference->label + " in grey";
    if (!wo.empty()) note += "; dashed: wo";
    if (zoom > 0) note += "; left of each panel: the first " + std::to_string(zoom) + " iterations, shaded";
    figure.body += "set multiplot title " + quoted(title + note + ")") + "\n";
    const double top = 1 - 40.0 / figure.height;
    const double cell_height = top / static_cast<double>(std::max<std::size_t>(rows, 1));
    for (std::size_t p = 0; p < panels.size(); ++p) {
        const double left = static_cast<double>(p % columns) / static_cast<double>(columns);
        const double cell_top = top - static_cast<double>(p / columns) * cell_height;
        const Box cell{left + 78.0 / figure.width, left + (cell_width - 16.0) / figure.width,
                       cell_top - cell_height + 66.0 / figure.height, cell_top - 30.0 / figure.height};
        figure.body +=
            weights_cell(cell, figure.width, "s" + std::to_string(p), panels[p], reference, wo, y, zoom, log_x,
                         quoted(panels[p].label) + " tc rgb '" + panels[p].colour + "'", "unset key\n");
    }
    figure.body += "unset multiplot\n";
    return figure;
}

Figure deviation_figure(const std::string& title, const std::vector<WeightsSeries>& series,
                        const WeightsSeries& reference, bool log_x) {
    Figure figure;
    figure.width = 1000;
    figure.height = 600;
    // Identical curves are drawn once, named together; the rest from wide to narrow, so overlaps stay visible.
    std::vector<Array2D> curves;
    std::vector<std::string> labels;
    std::vector<std::string> colours;
    for (const WeightsSeries& s : series) {
        const Array2D& w = *s.w;
        const Array2D& ref = *reference.w;
        Array2D deviation(w.rows, 1);
        for (std::size_t r = 0; r < w.rows; ++r) {
            double worst = 0.0;
            for (std::size_t c = 0; c < w.cols && c < ref.cols && r < ref.rows; ++c)
                worst = std::max(worst, std::abs(w(r, c) - ref(r, c)));
            deviation(r, 0) = std::max(worst, deviation_floor);
        }
        const auto same = std::find_if(curves.begin(), curves.end(),
                                       [&](const Array2D& other) { return other.values == deviation.values; });
        if (same != curves.end()) {
            labels[static_cast<std::size_t>(same - curves.begin())] += ", " + s.label;
            continue;
        }
        curves.push_back(std::move(deviation));
        labels.push_back(s.label);
        colours.push_back(s.colour);
    }
    Range y;
    std::size_t last = 0;
    std::string plot = "plot ";
    for (std::size_t g = 0; g < curves.size(); ++g) {
        for (double v : curves[g].values) y.add(v);
        last = std::max(last, curves[g].rows - 1);
        const std::string block = "d" + std::to_string(g);
        figure.body += datablock(block, curves[g], envelope_rows(curves[g], log_x ? 1 : 0, curves[g].rows - 1, 900));
        const double width =
            curves.size() > 1 ? 4.0 - 2.6 * static_cast<double>(g) / static_cast<double>(curves.size() - 1) : 1.8;
        const bool shared = labels[g].find(", ") != std::string::npos;
        plot += std::string(g ? ", " : "") + "$" + block + " using 1:2 with lines lt " + std::to_string(g + 1) +
                " lw " + number(width) + " lc rgb '" + colours[g] + "' title " +
                quoted(shared ? labels[g] + " (identical)" : labels[g]);
    }
    if (y.empty()) y = {deviation_floor, deviation_floor};
    figure.body += common_style() + "set key outside top center horizontal box samplen 3\n";
    figure.body += "set title " + quoted(title) + "\n" + x_axis(x_range(log_x ? 1 : 0, last), log_x, "iteration");
    figure.body +=
        "set ylabel " + quoted("max_k |w_k - w_" + reference.label + ",k|   (exact agreement drawn at 1e-18)") + "\n";
    figure.body += "set logscale y\nset format y '1e%T'\nset yrange [" + number(deviation_floor / 3) + ":" +
                   number(std::max(y.high * 3, deviation_floor * 100)) + "]\n";
    figure.body += plot + "\n";
    return figure;
}

std::size_t moving_average_window(std::size_t samples) {
    return std::max<std::size_t>(1, std::min<std::size_t>(50, samples / 20));
}

std::vector<double> moving_average(const std::vector<double>& values, std::size_t window) {
    window = std::max<std::size_t>(window, 1);
    std::vector<double> averages(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::size_t first = i + 1 >= window ? i + 1 - window : 0;
        double sum = 0.0;
        for (std::size_t j = first; j <= i; ++j) sum += values[j];
        averages[i] = sum / static_cast<double>(i + 1 - first);
    }
    return averages;
}

namespace {

/// The learning curves' panel: its data blocks (named prefix0, prefix1, ...) and its commands, from `set title`
/// to `plot`; `key` places the key. What learning_figure and family_figure draw.
struct LearningPanel {
    std::string blocks, commands;
};
LearningPanel learning_panel(const std::string& title, const std::vector<ErrorSeries>& series, double noise_variance,
                             bool log_x, const std::string& prefix, std::size_t pixels, const std::string& key) {
    LearningPanel panel;
    std::size_t window = 1;
    std::size_t last = 0;
    std::size_t squared_count = 0;
    std::vector<Array2D> powers; // e² (or the loss) and its moving average, as powers
    double smallest = std::numeric_limits<double>::infinity();
    for (const ErrorSeries& s : series) {
        const std::vector<double>& e = *s.e;
        std::vector<double> power(e.size());
        std::transform(e.begin(), e.end(), power.begin(), [&](double v) { return s.squared ? v : v * v; });
        window = moving_average_window(e.size());
        const std::vector<double> averaged = moving_average(power, window);
        Array2D curves(e.size(), 2);
        for (std::size_t i = 0; i < e.size(); ++i) {
            curves(i, 0) = power[i];
            curves(i, 1) = averaged[i];
            for (double v : {power[i], averaged[i]})
                if (v > 0) smallest = std::min(smallest, v);
        }
        powers.push_back(std::move(curves));
        last = std::max(last, e.empty() ? 0 : e.size() - 1);
        squared_count += s.squared ? 1 : 0;
    }
    // An exact zero has no decibels: it is drawn 10 dB under the smallest positive value, on a round number.
    const double zero_db = std::isfinite(smallest) ? std::floor((decibels(smallest) - 10) / 10) * 10 : -300.0;
    bool any_zero = false;
    log_x = log_x && last >= 1;
    Range y;
    std::string plot = "plot ";
    for (std::size_t s = 0; s < series.size(); ++s) {
        Array2D& curves = powers[s];
        for (double& v : curves.values) {
            any_zero |= !(v > 0);
            v = v > 0 ? decibels(v) : zero_db;
            y.add(v);
        }
        const std::string block = prefix + std::to_string(s);
        if (curves.rows > 0)
            panel.blocks +=
                datablock(block, curves, envelope_rows(curves, log_x ? 1 : 0, curves.rows - 1, pixels, log_x));
        if (s == 0)
            plot += "$" + block + " using 1:2 with lines lt 1 lw 0.8 lc rgb '#b0b0b0' title " +
                    quoted(series[s].label + (series[s].squared ? ": loss" : ": e²")) + ", ";
        const double width =
            series.size() > 1 ? 3.2 - 1.8 * static_cast<double>(s) / static_cast<double>(series.size() - 1) : 2.2;
        const std::string style = curves.rows == 1 ? " with linespoints pt 7 lt " : " with lines lt "; // a point
        plot += std::string(s ? ", " : "") + "$" + block + " using 1:3" + style + std::to_string(s + 2) + " lw " +
                number(width) + " lc rgb '" + series[s].colour + "' title " +
                quoted(series[s].label + ": moving average");
    }
    if (std::isfinite(noise_variance) && noise_variance > 0) {
        y.add(decibels(noise_variance));
        plot += ", " + number(decibels(noise_variance)) + " with lines " + wo_style + " title " +
                quoted("noise floor, sigmav2 = " + format_number(noise_variance, "%g"));
    }
    const std::string quantity = squared_count == 0 ? "e²" : squared_count == series.size() ? "loss" : "e² and loss";
    panel.commands += key;
    panel.commands +=
        "set title " +
        quoted(title + "   (moving average over " + std::to_string(window) + (window == 1 ? " sample)" : " samples)")) +
        "\n" + x_axis(x_range(log_x ? 1 : 0, last), log_x, "iteration");
    panel.commands += "set ylabel " +
                      quoted(quantity + " (dB)" +
                             (any_zero ? "   (exact zero drawn at " + format_number(zero_db, "%g") + " dB)" : "")) +
                      "\nset yrange " + y.padded(0.05).text() + "\n";
    panel.commands += plot + "\n";
    return panel;
}

} // namespace

Figure learning_figure(const std::string& title, const std::vector<ErrorSeries>& series, double noise_variance,
                       bool log_x) {
    Figure figure;
    figure.width = 1000;
    figure.height = 600;
    const LearningPanel panel = learning_panel(title, series, noise_variance, log_x, "e", 900,
                                               "set key outside top center horizontal box samplen 3\n");
    figure.body = panel.blocks + common_style() + panel.commands;
    return figure;
}

Figure family_figure(const std::string& title, const std::vector<WeightsSeries>& panels,
                     const std::vector<ErrorSeries>& errors, double noise_variance, const std::vector<double>& wo,
                     bool log_x) {
    Figure figure;
    const std::size_t columns = std::max<std::size_t>(1, std::min<std::size_t>(4, panels.size()));
    const std::size_t rows = (panels.size() + columns - 1) / columns;
    constexpr int cell_height_px = 300, learning_px = 520;
    figure.width = static_cast<int>(std::max<std::size_t>(1000, 400 * columns));
    figure.height = static_cast<int>(40 + cell_height_px * rows + learning_px);
    std::vector<const Array2D*> drawn;
    for (const WeightsSeries& panel : panels) drawn.push_back(panel.w);
    const std::size_t zoom = zoom_end(drawn, log_x);
    const Range y = weights_y_range(drawn, wo);
    const double cell_width = static_cast<double>(figure.width) / static_cast<double>(columns);
    const auto pixels = static_cast<std::size_t>(cell_width * 0.7);
    const auto zoom_pixels = static_cast<std::size_t>(cell_width * 0.2);
    for (std::size_t p = 0; p < panels.size(); ++p)
        figure.body += weights_blocks("s" + std::to_string(p), *panels[p].w, zoom, log_x, pixels, zoom_pixels);
    const LearningPanel learning =
        learning_panel("squared error of every member", errors, noise_variance, log_x, "e",
                       static_cast<std::size_t>(figure.width) - 400, "set key outside right top box samplen 3\n");
    figure.body += learning.blocks + common_style();
    std::string note = "   (each member's weights";
    if (!wo.empty()) note += "; dashed: wo";
    if (zoom > 0) note += "; left of each panel: the first " + std::to_string(zoom) + " iterations, shaded";
    figure.body += "set multiplot title " + quoted(title + note + ")") + "\n";
    const double H = figure.height, W = figure.width;
    const double top = 1 - 40.0 / H;
    const double cell_height = cell_height_px / H;
    for (std::size_t p = 0; p < panels.size(); ++p) {
        const double left = static_cast<double>(p % columns) / static_cast<double>(columns);
        const double cell_top = top - static_cast<double>(p / columns) * cell_height;
        const Box cell{left + 78.0 / W, left + (cell_width - 16.0) / W, cell_top - cell_height + 62.0 / H,
                       cell_top - 28.0 / H};
        figure.body += weights_cell(cell, figure.width, "s" + std::to_string(p), panels[p], nullptr, wo, y, zoom, log_x,
                                    quoted(panels[p].label) + " tc rgb '" + panels[p].colour + "'", "unset key\n");
    }
    figure.body += margins(Box{78.0 / W, 1 - 330.0 / W, 62.0 / H, (learning_px - 40.0) / H}) +
                   "set title textcolor rgb '#000000'\n" + learning.commands;
    figure.body += "unset multiplot\n";
    return figure;
}

namespace {

/// Decibels of each value; zero, negative and non-finite values have none (NaN: left out).
std::vector<double> decibels_of(const std::vector<double>& powers) {
    std::vector<double> out(powers.size());
    std::transform(powers.begin(), powers.end(), out.begin(), [](double v) {
        return v > 0 && std::isfinite(v) ? decibels(v) : std::numeric_limits<double>::quiet_NaN();
    });
    return out;
}

/// Two curves of one length as the columns of an array.
Array2D side_by_side(const std::vector<double>& a, const std::vector<double>& b) {
    Array2D out(std::max(a.size(), b.size()), 2);
    for (std::size_t r = 0; r < out.rows; ++r) {
        out(r, 0) = r < a.size() ? a[r] : std::numeric_limits<double>::quiet_NaN();
        out(r, 1) = r < b.size() ? b[r] : std::numeric_limits<double>::quiet_NaN();
    }
    return out;
}

/// A padded range with room for a key of `key_lines` lines at the top (or the bottom) of a panel `pixels` high, so
/// that the key never hides a curve.
Range with_room_for_key(const Range& y, std::size_t key_lines, double pixels, bool at_top) {
    Range out = y.padded(0.06);
    const double fraction = std::min(0.6, (static_cast<double>(key_lines) * 17.0 + 16.0) / pixels);
    const double extra = (out.high - out.low) * fraction / (1.0 - fraction);
    (at_top ? out.high : out.low) += at_top ? extra : -extra;
    return out;
}

constexpr const char* simulated_colour = "#1f77b4";
constexpr const char* theory_style = "lt 2 dt 2 lw 1.6 lc rgb '#000000'";
/// Short curves (a few samples) get their points marked: a single point has no line to draw.
std::string curve_style(std::size_t points, bool theory) {
    if (points > 50) return " with lines ";
    return theory ? " with linespoints pt 6 ps 1.2 " : " with linespoints pt 7 ps 0.8 ";
}
constexpr const char* limit_style = "lt 3 dt 4 lw 1.2 lc rgb '#d62728'";
constexpr const char* floor_style = "lt 4 dt 3 lw 1.4 lc rgb '#7f7f7f'";
const char* const tap_colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/// A panel of two curves in dB (simulated, theory) in `box`, with extra lines `lines` (gnuplot plot items).
std::string decibel_panel(const Box& box, int figure_height, const std::string& block, const Array2D& db,
                          const Range& x, bool log_x, const std::string& title, const std::string& y_label,
                          const std::string& simulated, const std::string& theory, Range y,
                          const std::string& extra_items, std::size_t key_lines, const std::string& before,
                          bool key_outside = false) {
    std::string out = margins(box) + x_axis(x, log_x, "sample n") + "set title " + quoted_lines(title) + "\n";
    // Row 0 is not drawn on a log axis: its values do not stretch the range.
    for (std::size_t r = log_x ? 1 : 0; r < db.rows; ++r)
        for (std::size_t c = 0; c < db.cols; ++c) y.add(db(r, c));
    // A key outside the panel needs no room above the curves.
    const Range shown =
        key_outside ? y.padded(0.06) : with_room_for_key(y, key_lines, (box.top - box.bottom) * figure_height, true);
    out += "set ylabel " + quoted(y_label) + "\nset format y '% g'\nset yrange " + shown.text() + "\n";
    out += std::string(key_outside ? "set key outside right top height 1" : "set key inside top right") +
           " box opaque samplen 3\n" + before;
    out += "plot $" + block + " using 1:2" + curve_style(db.rows, false) + "lt 1 lw 1.6 lc rgb '" + simulated_colour +
           "' title " + quoted(simulated);
    if (!theory.empty()) // no theory: the system behind the data is unknown
        out += ", $" + block + " using 1:3" + curve_style(db.rows, true) + theory_style + " title " + quoted(theory);
    out += extra_items + "\n";
    return out;
}

} // namespace

Figure ensemble_curves_figure(const EnsembleCurves& c) {
    Figure figure;
    figure.width = 1200;
    figure.height = 900;
    const std::size_t step = std::max<std::size_t>(1, c.decimate);
    const std::size_t rows = std::max<std::size_t>(c.meanw.rows, 2); // rows of w: 0 ... N, decimated
    const bool log_x = c.log_x && rows > 2;
    const std::size_t first = log_x ? 1 : 0;
    const Range x = x_range(first * step, (rows - 1) * step);
    const double px = 1.0 / figure.width;
    const double py = 1.0 / figure.height;
    // The MSE's key beside it (on the right), so that it takes no height from the curves; under the MSE, at large R,
    // the residual simulated / theory - 1 with the band sampling noise alone gives.
    const bool residual =
        c.realizations >= 1000 && !c.mse_theory.empty() && c.mse_limit > 0 && std::isfinite(c.mse_limit);
    // The MSE panel's title, its note (the theory's model, or why there is none) on a line of its own where the
    // two would not fit over the panel's 725 pixels (about 85 characters).
    const std::string mse_heading = "mean-square error";
    const std::string mse_title = c.note.empty()                                ? mse_heading
                                  : mse_heading.size() + c.note.size() + 5 > 85 ? mse_heading + "\n(" + c.note + ")"
                                                                                : mse_heading + "   (" + c.note + ")";
    const double top_bottom = 0.5 + 40 * py,
                 top_top = 1 - (75 + extra_title_pixels(c.title) + extra_title_pixels(mse_title)) * py;
    const double split = residual ? top_bottom + 0.3 * (top_top - top_bottom) : top_bottom;
    const Box top{75 * px, 1 - 400 * px, residual ? split + 8 * py : top_bottom, top_top};
    const Box strip{75 * px, 1 - 400 * px, top_bottom, split - 4 * py};
    const Box bottom_left{75 * px, 0.5 - 25 * px, 58 * py, 0.5 - 50 * py};
    // Without an MSD (the system unknown) the mean weights take the whole lower half.
    const bool with_msd = !c.msd.empty();
    const Box bottom_right{with_msd ? 0.5 + 75 * px : 75 * px, 1 - 25 * px, 58 * py, 0.5 - 50 * py};

    const std::vector<double> no_theory(c.mse.size(), std::nan(""));
    const Array2D mse_db =
        side_by_side(decibels_of(c.mse), decibels_of(c.mse_theory.empty() ? no_theory : c.mse_theory));
    const Array2D msd_db = side_by_side(decibels_of(c.msd), decibels_of(c.msd_theory));
    const std::size_t M = c.meanw.cols;
    Array2D weights(c.meanw.rows, 2 * M); // simulated, then theory
    for (std::size_t r = 0; r < weights.rows; ++r)
        for (std::size_t k = 0; k < M; ++k) {
            weights(r, k) = c.meanw(r, k);
            weights(r, M + k) = r < c.meanw_theory.rows ? c.meanw_theory(r, k) : std::nan("");
        }
    const auto block = [&](const std::string& name, const Array2D& values, double width) {
        if (values.rows <= first) return std::string();
        const auto pixels = static_cast<std::size_t>(figure.width * width);
        return datablock(name, values, envelope_rows(values, first, values.rows - 1, pixels, log_x), step);
    };
    figure.body = block("mse", mse_db, 0.85) + (with_msd ? block("msd", msd_db, 0.4) : "") +
                  block("w", weights, with_msd ? 0.4 : 0.85);
    figure.body += common_style() + "set multiplot title " + quoted_lines(c.title) + "\n";

    // The MSE: the upper half, with J_min, theory's steady state and the window the simulated one is measured on.
    std::string mse_items;
    Range mse_y;
    std::size_t mse_key = 2;
    std::string shade;
    if (!c.mse.empty() && c.steady_start < (c.mse.size() - 1) * step) {
        const double end = static_cast<double>((c.mse.size() - 1) * step);
        const double start = static_cast<double>(std::max(c.steady_start, first * step));
        shade = "set object 1 rectangle from " + number(start) + ", graph 0 to " + number(end) + ", graph 1 " +
                zoom_shade + " behind\n";
        if (c.steady_mse > 0 && std::isfinite(c.steady_mse)) {
            const double level = decibels(c.steady_mse);
            mse_y.add(level);
            shade += "set arrow 1 from " + number(start) + ", " + number(level) + " to " + number(end) + ", " +
                     number(level) + " nohead lw 3 lc rgb '#ff7f0e' front\n";
        }
        mse_items += std::string(", NaN with lines lw 8 lc rgb '#dcdcdc' title '") +
                     (c.settled ? "steady-state window (orange: its mean)" : "window (orange: its mean), not settled") +
                     "'";
        ++mse_key;
    }
    if (c.mse_limit > 0 && std::isfinite(c.mse_limit)) {
        mse_y.add(decibels(c.mse_limit));
        mse_items += ", " + number(decibels(c.mse_limit)) + " with lines " + limit_style + " title " +
                     quoted("theory's steady state " + format_number(c.mse_limit, "%.4g"));
        ++mse_key;
    }
    if (c.j_min > 0 && std::isfinite(c.j_min)) {
        mse_y.add(decibels(c.j_min));
        mse_items += ", " + number(decibels(c.j_min)) + " with lines " + floor_style + " title " +
                     quoted("J_min " + format_number(c.j_min, "%.4g"));
        ++mse_key;
    }
    // With the residual under it, the MSE's sample axis is the residual's: no tic labels of its own.
    figure.body += decibel_panel(top, figure.height, "mse", mse_db, x, log_x, mse_title, "MSE (dB)", c.simulated_label,
                                 c.theory_label, mse_y, mse_items, mse_key,
                                 shade + (residual ? "set format x ''\nunset xlabel\n" : ""), true);
    figure.body += "unset object 1\nunset arrow 1\n";
    if (residual) {
        // simulated / theory - 1, in %, and +-2 sqrt(2 / R): twice the relative standard error of a mean of R
        // squares of Gaussian errors (Var e^2 = 2 (E e^2)^2).
        const double band = 200.0 * std::sqrt(2.0 / static_cast<double>(c.realizations));
        Array2D gap(c.mse.size(), 1);
        std::vector<double> sizes; // |gap| past the first third of the transient window's start
        for (std::size_t r = 0; r < gap.rows; ++r) {
            const double t = r < c.mse_theory.size() ? c.mse_theory[r] : std::nan("");
            gap(r, 0) = t > 0 ? 100.0 * (c.mse[r] / t - 1.0) : std::nan("");
            if (r * step >= c.steady_start / 3 && std::isfinite(gap(r, 0))) sizes.push_back(std::abs(gap(r, 0)));
        }
        // The range holds 95 % of the gaps (a burst does not flatten the rest), and at least twice the band.
        double typical = 0.0;
        if (!sizes.empty()) {
            const auto at = sizes.begin() + static_cast<std::ptrdiff_t>(0.95 * static_cast<double>(sizes.size() - 1));
            std::nth_element(sizes.begin(), at, sizes.end());
            typical = *at;
        }
        const double limit = std::max(2.0 * band, 1.2 * typical);
        // Tics 1, 2 or 5 times a power of ten, about two on each side of 0.
        const double decade = std::pow(10.0, std::floor(std::log10(limit / 2)));
        const double ratio = limit / 2 / decade;
        const double tic = decade * (ratio >= 5 ? 5.0 : ratio >= 2 ? 2.0 : 1.0);
        figure.body += block("gap", gap, 0.75) + margins(strip) + x_axis(x, log_x, "sample n") +
                       "unset title\nset ylabel " + quoted("gap (%)") + "\nset format y '% g'\nset ytics " +
                       number(tic) + "\nset yrange [" + number(-limit) + ":" + number(limit) +
                       "]\nset key outside right top box opaque samplen 3\n" + "plot " + number(-band) +
                       " with filledcurves y1=" + number(band) + " fc rgb '#dddddd' fs solid 1.0 title " +
                       quoted("±2 standard errors (Gaussian e)") + ", $gap using 1:2" + curve_style(gap.rows, false) +
                       "lt 1 lw 1.0 lc rgb '" + simulated_colour + "' title " + quoted("simulated / theory - 1") +
                       ", 0 with lines lt 1 lw 1 lc rgb '#000000' notitle\n" + "set ytics autofreq\n";
    }

    // The MSD: lower left.
    if (with_msd) {
        std::string msd_items;
        Range msd_y;
        if (c.msd_limit > 0 && std::isfinite(c.msd_limit)) {
            msd_y.add(decibels(c.msd_limit));
            msd_items += ", " + number(decibels(c.msd_limit)) + " with lines " + limit_style + " title " +
                         quoted("theory's steady state " + format_number(c.msd_limit, "%.4g"));
        }
        figure.body += decibel_panel(bottom_left, figure.height, "msd", msd_db, x, log_x,
                                     "mean-square deviation ||w - wo||^2", "MSD (dB)", c.simulated_label,
                                     c.theory_label, msd_y, msd_items, msd_items.empty() ? 2 : 3, "");
    }

    // The mean weights, lower right: one colour per tap, theory dashed over them, wo dotted. Up to 7 taps are
    // named in the key; more share one entry, their colours repeating.
    Range y;
    for (double v : weights.values) y.add(v);
    for (double v : c.wo) y.add(v);
    const bool each_named = M <= std::size(tap_colours);
    const std::size_t key_lines = (each_named ? M : 1) + (c.theory_label.empty() ? 0 : 1) + (c.wo.empty() ? 0 : 1);
    const Range shown =
        with_room_for_key(y, key_lines, (bottom_right.top - bottom_right.bottom) * figure.height, false);
    figure.body += margins(bottom_right) + x_axis(x, log_x, "sample n") +
                   "set title 'mean weights'\nset ylabel 'E w_k(n)'\nset yrange " + shown.text() +
                   "\nset key bottom right box opaque samplen 3\n";
    std::string plot = "plot ";
    for (std::size_t k = 0; k < M; ++k) {
        std::string title = "''";
        if (each_named)
            title = quoted("w_" + std::to_string(k));
        else if (k == 0)
            title = quoted("w_0 ... w_" + std::to_string(M - 1) + " (colours repeat)");
        plot += std::string(k ? ", " : "") + "$w using 1:" + std::to_string(k + 2) + curve_style(weights.rows, false) +
                "lt 1 lw 1.6 lc rgb '" + tap_colours[k % std::size(tap_colours)] + "' title " + title;
    }
    for (std::size_t k = 0; k < M && !c.theory_label.empty(); ++k)
        plot += ", $w using 1:" + std::to_string(M + k + 2) + curve_style(weights.rows, true) + theory_style +
                " title " + (k == 0 ? quoted(c.theory_label) : std::string("''"));
    for (std::size_t k = 0; k < c.wo.size(); ++k)
        plot += ", " + number(c.wo[k]) + " with lines " + floor_style + " title " + (k == 0 ? "'wo'" : "''");
    figure.body += plot + "\nunset multiplot\n";
    return figure;
}

Figure stage_curves_figure(const StageCurves& c) {
    Figure figure;
    figure.width = 1200;
    figure.height = 900;
    const std::size_t step = std::max<std::size_t>(1, c.decimate);
    // Rows of w: 0 ... N (decimated); the MSE has one fewer. Without an MSD (the system unknown) one panel.
    const std::size_t rows = c.series.empty() ? 2
                             : !c.series.front().msd.empty()
                                 ? std::max<std::size_t>(c.series.front().msd.size(), 2)
                                 : std::max<std::size_t>(c.series.front().mse.size() + 1, 2);
    const bool with_msd = !c.series.empty() && !c.series.front().msd.empty();
    const bool log_x = c.log_x && rows > 2;
    const std::size_t first = log_x ? 1 : 0;
    const Range x = x_range(first * step, (rows - 1) * step);
    const double px = 1.0 / figure.width;
    const double py = 1.0 / figure.height;
    // The keys take the right 270 pixels, beside the curves rather than over them.
    const Box top{75 * px, 1 - 270 * px, with_msd ? 0.5 + 40 * py : 58 * py,
                  1 - (75 + extra_title_pixels(c.title)) * py};
    const Box bottom{75 * px, 1 - 270 * px, 58 * py, 0.5 - 50 * py};
    figure.body = common_style() + "set multiplot title " + quoted_lines(c.title) + "\n";
    std::string blocks;
    const auto panel = [&](const Box& box, const std::string& name, bool mse, const std::vector<double>& theory,
                           const std::string& title, const std::string& y_label) {
        struct Column {
            std::vector<double> db;
            std::string style, label;
        };
        std::vector<Column> columns, theories; // the theories drawn last, over every simulated curve
        const std::size_t length = mse ? rows - 1 : rows;
        for (std::size_t k = 0; k < c.series.size(); ++k) {
            const StageCurves::Series& s = c.series[k];
            columns.push_back({decibels_of(mse ? s.mse : s.msd),
                               curve_style(length, false) + (k == 0 && c.first_is_reference
                                                                 ? std::string(reference_style)
                                                                 : "lt 1 lw 1.4 lc rgb '" + s.colour + "'"),
                               s.label});
            std::vector<double> own = mse ? s.mse_theory : s.msd_theory;
            if (own.empty() && mse && std::isfinite(s.mse_level)) { // the steady state alone
                own.assign(length, std::nan(""));
                for (std::size_t r = s.level_from / step; r < length; ++r) own[r] = s.mse_level;
            }
            if (!own.empty()) // untitled: the panel's title says what the dashed lines are
                theories.push_back(
                    {decibels_of(own), curve_style(length, true) + "lt 2 dt 2 lw 1.6 lc rgb '#000000'", ""});
        }
        columns.insert(columns.end(), theories.begin(), theories.end());
        if (!theory.empty())
            columns.push_back({decibels_of(theory), curve_style(length, true) + theory_style, c.theory_label});
        Array2D db(length, std::max<std::size_t>(columns.size(), 1));
        Range y;
        for (std::size_t k = 0; k < columns.size(); ++k)
            for (std::size_t r = 0; r < db.rows; ++r) {
                db(r, k) = r < columns[k].db.size() ? columns[k].db[r] : std::nan("");
                y.add(db(r, k));
            }
        const auto pixels = static_cast<std::size_t>(figure.width * (box.right - box.left));
        blocks += db.rows > first ? datablock(name, db, envelope_rows(db, first, db.rows - 1, pixels, log_x), step)
                                  : datablock(name, db, {}, step);
        std::string out = margins(box) + x_axis(x, log_x, "sample n") + "set title " + quoted(title) + "\n";
        out += "set ylabel " + quoted(y_label) + "\nset format y '% g'\nset yrange " + y.padded(0.06).text() + "\n";
        out += "set key outside right top box opaque samplen 3\nplot ";
        for (std::size_t k = 0; k < columns.size(); ++k) {
            const Column& column = columns[k];
            out += std::string(k ? ", " : "") + "$" + name + " using 1:" + std::to_string(k + 2) + column.style +
                   (column.label.empty() ? std::string(" notitle") : " title " + quoted(column.label));
        }
        return out + "\n";
    };
    const std::string mse_panel =
        panel(top, "mse", true, c.mse_theory, c.mse_title + (c.note.empty() ? "" : "   (" + c.note + ")"), "MSE (dB)");
    const std::string msd_panel =
        with_msd ? panel(bottom, "msd", false, c.msd_theory, "mean-square deviation ||w - wo||^2", "MSD (dB)") : "";
    figure.body = blocks + figure.body + mse_panel + msd_panel + "unset multiplot\n";
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
