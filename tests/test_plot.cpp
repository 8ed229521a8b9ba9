// Figures: the data sent to gnuplot is the trajectory, the images gnuplot writes are valid, and failures
// (no gnuplot, a failing, early-exiting or hanging gnuplot, an unknown image type) leave no file behind.
#include "cli_support.hpp"
#include "core/errors.hpp"
#include "plot/figures.hpp"
#include "stages/registry.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

using namespace lmsref;
using namespace lmsref::test;

namespace {

/// The rows of datablock `name` in a gnuplot script, each value parsed back.
Array2D read_datablock(const std::string& script, const std::string& name) {
    const std::string start = "$" + name + " << EOD\n";
    const std::size_t begin = script.find(start);
    REQUIRE(begin != std::string::npos);
    const std::size_t end = script.find("EOD\n", begin + start.size());
    std::stringstream lines(script.substr(begin + start.size(), end - begin - start.size()));
    Array2D block;
    for (std::string line; std::getline(lines, line);) {
        std::stringstream fields(line);
        double index = 0;
        fields >> index;
        REQUIRE(index == static_cast<double>(block.rows)); // column 1 is the iteration
        std::size_t cols = 0;
        for (double value; fields >> value; ++cols) block.values.push_back(value);
        block.cols = cols;
        ++block.rows;
    }
    return block;
}

std::uint32_t big_endian_32(const std::string& bytes, std::size_t at) {
    std::uint32_t value = 0;
    for (std::size_t k = 0; k < 4; ++k) value = (value << 8) | static_cast<unsigned char>(bytes[at + k]);
    return value;
}

/// Sets an environment variable for the life of the object.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value, 1);
    }
    ~ScopedEnv() { old_.empty() ? ::unsetenv(name_) : ::setenv(name_, old_.c_str(), 1); }

private:
    const char* name_;
    std::string old_;
};

/// An executable shell script `name` in `dir`, standing in for gnuplot.
std::string fake_gnuplot(const TemporaryDir& dir, const std::string& name, const std::string& body) {
    const std::string path = dir / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
}

/// Every "set <what> [...]" line of a script, in order.
std::vector<std::string> settings(const std::string& script, const std::string& what) {
    std::vector<std::string> found;
    std::stringstream lines(script);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("set " + what + " ", 0) == 0) found.push_back(line);
    return found;
}

const Array2D& numpy_w() {
    static const Array2D w = reference_array("default/numpy/w.npy");
    return w;
}
const Array2D& linear_w() {
    static const Array2D w = reference_array("default/linear/w.npy");
    return w;
}

} // namespace

TEST_CASE("plot: the weights figure sends gnuplot the trajectories themselves", "[plot]") {
    const WeightsSeries linear{"linear", "#8c564b", &linear_w()};
    const WeightsSeries numpy{"numpy", "", &numpy_w()};
    const Figure figure = weights_figure("title", linear, &numpy, {0.1, 0.2, 0.3});
    const std::string script = gnuplot_script(figure, "w.png", "w.png.tmp");
    const Array2D sent = read_datablock(script, "stage");
    REQUIRE(sent.rows == linear_w().rows);
    REQUIRE(sent.cols == linear_w().cols);
    require_same_bits(sent.values, linear_w().values);
    REQUIRE(read_datablock(script, "ref").values == numpy_w().values);
    REQUIRE_THAT(script, Catch::StartsWith("set terminal pngcairo size 900,540") &&
                             Catch::Contains("set output 'w.png.tmp'") &&
                             Catch::Contains("0.20000000000000001 with lines") && Catch::Contains("lc rgb '#8c564b'") &&
                             Catch::Contains("'#c4c4c4'"));
    // The terminal follows the extension.
    REQUIRE_THAT(gnuplot_script(figure, "w.svg", "t"), Catch::StartsWith("set terminal svg"));
    REQUIRE_THAT(gnuplot_script(figure, "w.PDF", "t"), Catch::StartsWith("set terminal pdfcairo"));
    REQUIRE_THAT(gnuplot_script(figure, "-", ""),
                 Catch::StartsWith("set terminal dumb") && Catch::Contains("set output\n"));
    REQUIRE_THROWS_AS(gnuplot_script(figure, "w.jpg", "t"), InputError);
    REQUIRE_THROWS_WITH(check_plot_target("w.jpg"), Catch::Contains("use .png, .svg or .pdf"));
}

TEST_CASE("plot: the deviation figure sends max_k |w_k - w_numpy,k|, zero drawn at 1e-18", "[plot]") {
    const Figure figure = deviation_figure("t", {{"linear", "#8c564b", &linear_w()}, {"numpy", "#000000", &numpy_w()}},
                                           {"numpy", "", &numpy_w()});
    const Array2D sent = read_datablock(figure.body, "d0");
    REQUIRE(sent.rows == numpy_w().rows);
    for (std::size_t r = 0; r < sent.rows; ++r) {
        double worst = 0.0;
        for (std::size_t c = 0; c < numpy_w().cols; ++c)
            worst = std::max(worst, std::abs(linear_w()(r, c) - numpy_w()(r, c)));
        REQUIRE(sent.values[r] == std::max(worst, 1e-18));
    }
    const Array2D self = read_datablock(figure.body, "d1");
    REQUIRE(std::all_of(self.values.begin(), self.values.end(), [](double v) { return v == 1e-18; }));
}

TEST_CASE("plot: the learning curve sends e^2 and its moving average in dB", "[plot]") {
    const std::vector<double> e = reference_array("default/numpy/e.npy").values;
    const Figure figure = learning_figure("t", {{"numpy", "#000000", &e}}, 0.01);
    const Array2D sent = read_datablock(figure.body, "e0");
    const std::size_t window = moving_average_window(e.size());
    REQUIRE(window == 25); // N / 20 for N = 500
    for (std::size_t i = 0; i < e.size(); ++i) {
        REQUIRE(sent(i, 0) == Approx(10 * std::log10(e[i] * e[i])).margin(1e-12));
        double sum = 0;
        const std::size_t first = i + 1 >= window ? i + 1 - window : 0;
        for (std::size_t j = first; j <= i; ++j) sum += e[j] * e[j];
        REQUIRE(sent(i, 1) == Approx(10 * std::log10(sum / static_cast<double>(i + 1 - first))).margin(1e-9));
    }
    REQUIRE_THAT(figure.body, Catch::Contains("-20 with lines")); // the noise floor, 10 log10(0.01)
}

TEST_CASE("plot: gnuplot writes valid PNG, SVG and PDF files", "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    TemporaryDir dir;
    const WeightsSeries linear{"linear", "#8c564b", &linear_w()};
    const WeightsSeries numpy{"numpy", "", &numpy_w()};
    const Figure figure = weights_figure("lmsref linear over numpy", linear, &numpy, {0.1, 0.2, 0.3});

    render(figure, dir / "w.png");
    const std::string png = file_bytes(dir / "w.png");
    REQUIRE(png.size() > 10000);
    REQUIRE(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    REQUIRE(png.compare(12, 4, "IHDR") == 0);
    REQUIRE(big_endian_32(png, 16) == 900); // the figure's size
    REQUIRE(big_endian_32(png, 20) == 540);

    render(figure, dir / "w.svg");
    const std::string svg = file_bytes(dir / "w.svg");
    REQUIRE_THAT(svg, Catch::Contains("<svg") && Catch::Contains("linear w_k") && Catch::Contains("numpy") &&
                          Catch::Contains("lmsref linear over numpy") && Catch::Contains("iteration"));

    render(gallery_figure("g", {linear, {"numpy", "#000000", &numpy_w()}}, &numpy, {}), dir / "g.pdf");
    REQUIRE(file_bytes(dir / "g.pdf").compare(0, 5, "%PDF-") == 0);
    REQUIRE(files_in(dir.path()) == 3); // no temporary file left behind
}

TEST_CASE("plot: a missing or failing gnuplot is a clear error and leaves no file", "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    TemporaryDir dir;
    const WeightsSeries numpy{"numpy", "#000000", &numpy_w()};
    const Figure figure = weights_figure("t", numpy, &numpy, {});
    {
        ScopedEnv missing("LMSREF_GNUPLOT", "/nonexistent/gnuplot");
        REQUIRE_THROWS_AS(render(figure, dir / "w.png"), RuntimeFailure);
        REQUIRE_THROWS_WITH(render(figure, dir / "w.png"), Catch::Contains("apt-get install gnuplot-nox"));
    }
    {
        ScopedEnv empty_path("PATH", "/nonexistent");
        REQUIRE_THROWS_WITH(render(figure, dir / "w.png"), Catch::StartsWith("gnuplot not found"));
    }
    Figure broken = figure;
    broken.body += "plot $nothing_here using 1:2\n";
    REQUIRE_THROWS_WITH(render(broken, dir / "w.png"), Catch::Contains("w.png: gnuplot failed"));
    REQUIRE(files_in(dir.path()) == 0);
}

TEST_CASE("plot: compare's figures and re-plots from saved files", "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    TemporaryDir dir;
    Scenario scenario;
    scenario.samples = 120;
    const Data data = generate_data(scenario);
    const Comparison comparison = compare_stages(data, scenario, Device::cpu, 1e-12);
    const std::vector<std::string> written = plot_comparison(comparison, scenario, data, dir.path());
    REQUIRE(written.size() == stages().size() + 3);
    for (const std::string& file : written) {
        CAPTURE(file);
        REQUIRE(file_bytes(file).compare(0, 4, "\x89PNG") == 0);
    }
    REQUIRE(big_endian_32(file_bytes(dir / "gallery.png"), 16) == 1800);

    write_array(dir / "numpy-w.npy", numpy_w(), FileFormat::npy);
    const Figure again =
        replot(PlotKind::deviation, {reference_path("default/linear/w.npy")}, dir / "numpy-w.npy", {}, "");
    REQUIRE_THAT(again.body, Catch::Contains("title 'linear'") && Catch::Contains("lc rgb '#8c564b'"));
    REQUIRE_THROWS_WITH(replot(PlotKind::deviation, {dir / "numpy-w.npy"}, "", {}, ""), Catch::Contains("--reference"));
    REQUIRE_THROWS_WITH(replot(PlotKind::weights, {reference_path("odd/numpy/w.npy")}, dir / "numpy-w.npy", {}, ""),
                        Catch::Contains("has shape (1000, 4)"));
    const Figure alone = replot(PlotKind::weights, {reference_path("default/sgd/w.npy")}, "", {}, "");
    REQUIRE_THAT(alone.body, !Catch::Contains("$ref"));
}

TEST_CASE("plot: a gnuplot that fails, stops reading or hangs is a one-line error and leaves no file",
          "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    TemporaryDir bin;
    TemporaryDir dir;
    // A figure far larger than a pipe's buffer (64 KiB), so a gnuplot that does not read it blocks the writer.
    Figure big;
    big.body = "# " + std::string(1 << 20, 'x') + "\nplot 1\n";
    const std::string partial = fake_gnuplot( // writes 13 bytes into the image, then fails
        bin, "partial",
        "out=$(sed -n \"s/^set output '\\(.*\\)'$/\\1/p\" | head -n 1)\nprintf 'thirteen byte' > "
        "\"$out\"\nexit 1");
    const std::string early = fake_gnuplot(bin, "early", "exit 0"); // never reads its input
    const std::string hangs = fake_gnuplot(bin, "hangs", "sleep 1000\nexit 0");
    const struct {
        std::string program;
        std::string message;
    } cases[] = {{partial, "gnuplot failed: it exited with status 1"},
                 {early, "gnuplot failed: it exited before reading the whole figure"},
                 {hangs, "gnuplot failed: it did not finish within 1 s"}};
    const ScopedEnv timeout("LMSREF_GNUPLOT_TIMEOUT", "1");
    for (const auto& c : cases) {
        CAPTURE(c.program);
        const ScopedEnv fake("LMSREF_GNUPLOT", c.program.c_str());
        const auto start = std::chrono::steady_clock::now();
        std::string message;
        try {
            render(big, dir / "w.png");
        } catch (const RuntimeFailure& failure) {
            message = failure.what();
        }
        // 1 s of timeout plus the kill and the wait: well under 10 s even on a loaded machine.
        REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
        REQUIRE_THAT(message, Catch::StartsWith(dir / "w.png") && Catch::Contains(c.message));
        REQUIRE(message.find('\n') == std::string::npos);
        REQUIRE(files_in(dir.path()) == 0);

        // Through the CLI: exit 2 (not 141, SIGPIPE), one line, no temporary file. The fake gnuplot's children
        // share lmsref's output pipe, so this would hang if the timeout left `sleep` running.
        const Result result = run_lmsref("numpy -N 4000 --plot '" + (dir / "n.png") + "'",
                                         "LMSREF_GNUPLOT_TIMEOUT=1 LMSREF_GNUPLOT='" + c.program + "'");
        INFO(result.output);
        REQUIRE(result.exit_code == 2);
        REQUIRE_THAT(result.output,
                     Catch::EndsWith("lmsref: " + (dir / "n.png") + ": " + c.message.substr(0, c.message.find(':')) +
                                     ": " + c.message.substr(c.message.find(':') + 2) +
                                     (c.program == hangs ? " and was stopped (LMSREF_GNUPLOT_TIMEOUT sets the "
                                                           "limit in seconds)\n"
                                                         : "\n")));
        REQUIRE(files_in(dir.path()) == 0);
    }
    const ScopedEnv wrong("LMSREF_GNUPLOT_TIMEOUT", "soon");
    REQUIRE_THROWS_AS(render(big, dir / "w.png"), InputError);
    REQUIRE(files_in(dir.path()) == 0);
}

TEST_CASE("plot: gnuplot's warnings are not failures, and the figures leave it nothing to warn about",
          "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    REQUIRE(gnuplot_error("Warning: empty x range [0:0], adjusting to [-1:1]\n") == "");
    REQUIRE(gnuplot_error("plot $x\n     ^\n\"-\" line 3: no datablock named $x\nwarning: later\n") ==
            "\"-\" line 3: no datablock named $x");
    TemporaryDir dir;
    Figure warns;
    warns.body = "$d << EOD\n1 1\n1 1\nEOD\nplot $d with lines\n"; // "Warning: empty x range", exit 0
    render(warns, dir / "warns.png");
    REQUIRE(file_bytes(dir / "warns.png").compare(0, 4, "\x89PNG") == 0);

    // The commands of the issue: each used to exit 2 on an "empty x/y range" warning.
    Result result = run_lmsref("compare -N 1 --plot-dir '" + (dir / "p") + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE(std::filesystem::exists(dir / "p/learning.png"));
    result = run_lmsref("numpy --sigmav2 0 --wo 0 --plot '" + (dir / "z.png") + "'");
    REQUIRE(result.exit_code == 0);
    REQUIRE(std::filesystem::exists(dir / "z.png"));
    // ... and gnuplot said nothing: a fake gnuplot that runs the real one and fails on any message.
    const std::string strict = fake_gnuplot(dir, "strict", "gnuplot 2>&1 | tee /dev/stderr | (! grep -q .)");
    result = run_lmsref("compare -N 1 --plot-dir '" + (dir / "q") + "'", "LMSREF_GNUPLOT='" + strict + "'");
    REQUIRE(result.exit_code == 0);
    result =
        run_lmsref("numpy --sigmav2 0 --wo 0 --plot '" + (dir / "z2.png") + "'", "LMSREF_GNUPLOT='" + strict + "'");
    REQUIRE(result.exit_code == 0);

    // The ranges are set, never left to gnuplot: N = 1 gives a zero-width x range, all-zero weights a zero-width y.
    const std::vector<double> one{0.5};
    const Figure learning = learning_figure("t", {{"numpy", "#000000", &one}}, 0.01);
    REQUIRE(settings(learning.body, "xrange") == std::vector<std::string>{"set xrange [0:1]"});
    REQUIRE(settings(learning.body, "yrange").size() == 1);
    const Array2D zeros(3, 2);
    const Figure flat = weights_figure("t", {"numpy", "#000000", &zeros}, nullptr, {});
    REQUIRE(settings(flat.body, "yrange") == std::vector<std::string>{"set yrange [-1:1]"});
}

TEST_CASE("plot: the moving average sums each window exactly, values from 1e-32 to 1", "[plot]") {
    // Large values first, then tiny ones: a running sum (add the new value, subtract the old) keeps ~1e-16 of
    // rounding from the large ones, a billion billion times the tiny values' mean.
    std::mt19937_64 random(7);
    std::uniform_real_distribution<double> exponent(-32.0, 0.0);
    std::vector<double> values;
    for (int i = 0; i < 200; ++i) values.push_back(std::pow(10.0, exponent(random) / 8));      // 1e-4 .. 1
    for (int i = 0; i < 800; ++i) values.push_back(std::pow(10.0, exponent(random)));          // 1e-32 .. 1
    for (int i = 0; i < 300; ++i) values.push_back(std::pow(10.0, exponent(random) / 2 - 16)); // 1e-32 .. 1e-16
    for (std::size_t window : {1, 7, 25, 50}) {
        const std::vector<double> averages = moving_average(values, window);
        REQUIRE(averages.size() == values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            const std::size_t first = i + 1 >= window ? i + 1 - window : 0;
            double sum = 0;
            for (std::size_t j = first; j <= i; ++j) sum += values[j];
            const double expected = sum / static_cast<double>(i + 1 - first);
            // The same sum in the same order: equal up to a few ulps (1e-14 relative allows any summation order
            // of at most 50 positive terms, 50 * 2^-53 ~ 6e-15).
            REQUIRE(averages[i] == Approx(expected).epsilon(1e-14).margin(0));
        }
    }
    // Through the figure: with sigmav2 = 0 the error falls to ~1e-32 and below; the curve follows it down.
    std::vector<double> e;
    for (int i = 0; i < 500; ++i) e.push_back(std::pow(10.0, -0.34 * i)); // e² from 1 to 1e-339 (0 at the end)
    const Figure figure = learning_figure("t", {{"numpy", "#000000", &e}}, std::nan(""));
    const Array2D sent = read_datablock(figure.body, "e0");
    REQUIRE(sent(100, 1) < -500); // the mean of e² over samples 76..100: 10^-51.7 / 25, -531 dB
    const std::vector<double> squared = [&] {
        std::vector<double> out;
        for (double v : e) out.push_back(v * v);
        return out;
    }();
    const std::vector<double> averaged = moving_average(squared, moving_average_window(e.size()));
    for (std::size_t i = 0; i < e.size(); ++i)
        if (averaged[i] > 0) REQUIRE(sent(i, 1) == Approx(10 * std::log10(averaged[i])).margin(1e-9));
    REQUIRE_THAT(figure.body, Catch::Contains("exact zero drawn at"));
}

TEST_CASE("plot: past a few thousand points the envelope keeps every pixel column's min and max", "[plot]") {
    std::mt19937_64 random(3);
    std::normal_distribution<double> step(0.0, 1.0);
    const std::size_t rows = 100001;
    Array2D walk(rows, 3);
    for (std::size_t r = 1; r < rows; ++r)
        for (std::size_t c = 0; c < 3; ++c) walk(r, c) = walk(r - 1, c) + step(random);
    const std::size_t pixels = 700;
    const std::vector<std::size_t> kept = envelope_rows(walk, 0, rows - 1, pixels);
    REQUIRE(std::is_sorted(kept.begin(), kept.end()));
    REQUIRE(std::adjacent_find(kept.begin(), kept.end()) == kept.end());
    REQUIRE(kept.front() == 0);
    REQUIRE(kept.back() == rows - 1);
    REQUIRE(kept.size() <= 2 * 3 * pixels + 2); // at most a min and a max per column and pixel
    REQUIRE(kept.size() >= 2 * pixels);
    // Each pixel column's min and max of each value column, found independently, is among the kept rows.
    for (std::size_t column = 0; column < pixels; ++column) {
        const std::size_t begin = (column * rows + pixels - 1) / pixels; // first r with r * pixels / rows == column
        const std::size_t end = ((column + 1) * rows + pixels - 1) / pixels;
        for (std::size_t c = 0; c < 3; ++c) {
            double low = walk(begin, c), high = walk(begin, c);
            for (std::size_t r = begin; r < end; ++r) {
                low = std::min(low, walk(r, c));
                high = std::max(high, walk(r, c));
            }
            bool has_low = false, has_high = false;
            for (auto k = std::lower_bound(kept.begin(), kept.end(), begin); k != kept.end() && *k < end; ++k) {
                has_low |= walk(*k, c) == low;
                has_high |= walk(*k, c) == high;
            }
            CAPTURE(column, c);
            REQUIRE(has_low);
            REQUIRE(has_high);
        }
    }
    // Few points: all of them.
    REQUIRE(envelope_rows(walk, 0, 2799, 700).size() == 2800); // 4 per pixel
    // The figure sends the kept rows' exact values, and stays small.
    const Figure figure = weights_figure("t", {"numpy", "#000000", &walk}, nullptr, {});
    const std::string script = gnuplot_script(figure, "w.svg", "w.svg.tmp");
    REQUIRE(script.size() < 1000000); // every row would be ~7 MB
    std::stringstream block(script.substr(script.find("$stage << EOD\n") + 14));
    std::size_t checked = 0;
    for (std::string line; std::getline(block, line) && line != "EOD"; ++checked) {
        std::stringstream fields(line);
        std::size_t r = 0;
        double a = 0, b = 0, c = 0;
        fields >> r >> a >> b >> c;
        REQUIRE(r < rows);
        REQUIRE((a == walk(r, 0) && b == walk(r, 1) && c == walk(r, 2)));
    }
    REQUIRE(checked > 1000);
}

TEST_CASE("plot: labels say what is drawn, a loss is not squared again, ignored options are refused",
          "[plot][gnuplot]") {
    TemporaryDir dir;
    std::filesystem::create_directories(dir / "python");
    std::filesystem::create_directories(dir / "linear");
    write_array(dir / "python/w.npy", numpy_w(), FileFormat::npy);
    const std::string linear = reference_path("default/linear/w.npy");

    // The reference is named after its file, in the key, the title and the deviation's axis; never "numpy".
    const Figure weights = replot(PlotKind::weights, {linear}, dir / "python/w.npy", {}, "");
    REQUIRE_THAT(weights.body, Catch::Contains("title (k == 2 ? 'python' : '')") &&
                                   Catch::Contains("'linear over python'") && !Catch::Contains("numpy"));
    const Figure gallery =
        replot(PlotKind::weights, {linear, reference_path("default/sgd/w.npy")}, dir / "python/w.npy", {}, "");
    REQUIRE_THAT(gallery.body, Catch::Contains("over python in grey") && !Catch::Contains("numpy"));
    const Figure deviation = replot(PlotKind::deviation, {linear}, dir / "python/w.npy", {}, "");
    REQUIRE_THAT(deviation.body, Catch::Contains("w_python,k") && !Catch::Contains("numpy"));

    // loss.npy is e² already: drawn as it is, the axis says loss.
    const std::vector<double> e = reference_array("default/linear/e.npy").values;
    Array2D loss(e.size(), 1);
    for (std::size_t i = 0; i < e.size(); ++i) loss(i, 0) = e[i] * e[i];
    write_array(dir / "linear/loss.npy", loss, FileFormat::npy);
    const Figure learning = replot(PlotKind::learning, {dir / "linear/loss.npy"}, "", {}, "");
    const Array2D sent = read_datablock(learning.body, "e0");
    for (std::size_t i = 0; i < e.size(); ++i) // dB of the loss itself (squaring again would double it)
        REQUIRE(sent(i, 0) == Approx(10 * std::log10(loss(i, 0))).margin(1e-9));
    REQUIRE_THAT(learning.body, Catch::Contains("set ylabel 'loss (dB)'") && Catch::Contains("linear: loss"));

    // Options the kind ignores are refused, in one line, through the CLI with exit code 1.
    REQUIRE_THROWS_AS(replot(PlotKind::learning, {dir / "linear/loss.npy"}, linear, {}, ""), InputError);
    REQUIRE_THROWS_WITH(replot(PlotKind::learning, {dir / "linear/loss.npy"}, "", {0.1}, ""), Catch::StartsWith("wo:"));
    REQUIRE_THROWS_WITH(replot(PlotKind::deviation, {linear}, dir / "python/w.npy", {0.1}, ""),
                        Catch::StartsWith("wo:"));
    Result result =
        run_lmsref("plot --kind learning --wo 0.1 '" + (dir / "linear/loss.npy") + "' --out '" + (dir / "l.png") + "'");
    REQUIRE(result.exit_code == 1);
    REQUIRE(result.output == "lmsref: --wo: only --kind weights draws wo; leave it out\n");
    result = run_lmsref("plot --kind learning --reference '" + linear + "' '" + (dir / "linear/loss.npy") +
                        "' --out '" + (dir / "l.png") + "'");
    REQUIRE(result.exit_code == 1);
    REQUIRE_THAT(result.output, Catch::StartsWith("lmsref: --reference:"));
    REQUIRE_FALSE(std::filesystem::exists(dir / "l.png"));

    // --log-x: a log axis from iteration 1 (0 has no logarithm).
    const Figure log_x = replot(PlotKind::weights, {linear}, "", {}, "", XScale::log);
    REQUIRE_THAT(log_x.body, Catch::Contains("set logscale x") && Catch::Contains("set xrange [1:500]"));
    REQUIRE_THAT(log_x.body, Catch::Contains("$stage << EOD\n1 ")); // the first row sent is iteration 1
}

TEST_CASE("plot: readable figures - one y range, coinciding curves named together, a zoom on the transient", "[plot]") {
    // The gallery's panels share one y range, which holds every coefficient drawn and wo.
    const WeightsSeries numpy{"numpy", "#000000", &numpy_w()};
    const WeightsSeries linear{"linear", "#8c564b", &linear_w()};
    const Figure gallery = gallery_figure("g", {numpy, linear}, &numpy, {0.1, 0.2, 0.3});
    const std::vector<std::string> ranges = settings(gallery.body, "yrange");
    REQUIRE(ranges.size() == 4); // two panels, each a zoom and the whole
    REQUIRE(std::all_of(ranges.begin(), ranges.end(), [&](const std::string& r) { return r == ranges.front(); }));
    double low = 0, high = 0;
    REQUIRE(std::sscanf(ranges.front().c_str(), "set yrange [%lf:%lf]", &low, &high) == 2);
    for (const Array2D* w : {&numpy_w(), &linear_w()})
        for (double v : w->values) REQUIRE((v > low && v < high));
    // The linear stage settles within ~20 iterations of 500: the zoom shows three times that, on a round number
    // (60), shaded on the whole axis.
    const std::size_t transient = transient_iterations({&linear_w(), &numpy_w()});
    CAPTURE(transient);
    REQUIRE((transient > 5 && transient <= 20));
    REQUIRE(settings(gallery.body, "xrange")[0] == "set xrange [0:60]");
    REQUIRE(settings(gallery.body, "xrange")[1] == "set xrange [0:500]");
    REQUIRE_THAT(gallery.body, Catch::Contains("set object 1 rectangle from 0, graph 0 to 60, graph 1"));

    // Identical deviation curves are drawn once, named together.
    const Array2D copy = linear_w();
    const Figure deviation = deviation_figure(
        "t", {{"a", "#000001", &numpy_w()}, {"b", "#000002", &linear_w()}, {"c", "#000003", &copy}}, numpy);
    REQUIRE_THAT(deviation.body, Catch::Contains("$d1 << EOD") && !Catch::Contains("$d2 << EOD") &&
                                     Catch::Contains("title 'b, c (identical)'"));

    // The dumb terminal shows each series in one character, its key's: one line type per series.
    const std::string script = gnuplot_script(weights_figure("t", linear, &numpy, {0.1, 0.2}), "-", "");
    REQUIRE_THAT(script, Catch::Contains("$ref using 1:k with lines lt 1 ") &&
                             Catch::Contains("$stage using 1:k with lines lt 2 ") &&
                             Catch::Contains("0.10000000000000001 with lines lt 3") &&
                             Catch::Contains("0.20000000000000001 with lines lt 3"));
}

TEST_CASE("plot: nothing a title, a file name or a folder name holds is run by gnuplot", "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    TemporaryDir dir;
    // Each payload, if gnuplot (or a shell) ran it, would make the file ranK in $M, the test's folder; none holds
    // a '/', so that they fit into file names too.
    const std::string payloads[] = {"`cd $M;touch ran1`",
                                    "$(cd $M;touch ran2)",
                                    "' . system('cd $M;touch ran3') . '",
                                    "\" . system(\"cd $M;touch ran4\") . \"",
                                    "\\`cd $M;touch ran5`",
                                    "@M",
                                    "line\nbreak`cd $M;touch ran6`"};
    std::string nasty;
    for (const std::string& payload : payloads) nasty += payload;
    // A working folder, input files and outputs whose names hold every payload.
    const std::string work = dir / ("w" + nasty);
    std::filesystem::create_directories(work);
    // The shell sees each name in single quotes, a quote in it as '\''.
    const auto shell = [](const std::string& text) {
        std::string out = "'";
        for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return out + "'";
    };
    const auto run_there = [&](const std::string& arguments) {
        return run_command("cd " + shell(work) + " && M=" + shell(dir.path()) + " '" + LMSREF_EXECUTABLE + "' " +
                           arguments);
    };
    REQUIRE(run_there("data -N 30 --out-dir in").exit_code == 0);
    const std::string x = "x" + nasty + ".npy";
    std::filesystem::copy_file(std::filesystem::path(work) / "in/x.npy", std::filesystem::path(work) / x);
    const std::string commands[] = {
        "plot " + shell(x) + " in/d.npy --title " + shell(nasty) + " --out " + shell("p" + nasty + ".png"),
        "plot --kind deviation " + shell(x) + " --reference " + shell(x) + " --title " + shell(nasty) + " --out p.svg",
        "plot --kind learning " + shell(x) + " --out p.pdf",
        "numpy -N 30 --plot " + shell("n" + nasty + ".png"),
        "compare -N 30 --plot-dir " + shell("g" + nasty),
        "ensemble -R 4 -N 30 --plot " + shell("e" + nasty + ".svg"),
    };
    for (const std::string& command : commands) {
        CAPTURE(command);
        const Result result = run_there(command);
        INFO(result.output);
        REQUIRE(result.exit_code == 0);
    }
    for (int k = 1; k <= 6; ++k) REQUIRE_FALSE(std::filesystem::exists(dir / ("ran" + std::to_string(k))));
    REQUIRE(std::filesystem::exists(std::filesystem::path(work) / ("p" + nasty + ".png")));
    REQUIRE(std::filesystem::exists(std::filesystem::path(work) / ("g" + nasty) / "gallery.png"));
    // The script quotes every string in single quotes, a quote doubled, a newline shown as \n.
    Figure figure = learning_figure(nasty, {}, 0.01);
    const std::string script = gnuplot_script(figure, "f.png", "f.png");
    REQUIRE_THAT(script, Catch::Contains("'' . system(''cd $M;touch ran3'') . ''") &&
                             Catch::Contains("\" . system(\"cd $M;touch ran4\") . \""));
    REQUIRE(script.find("\nbreak") == std::string::npos);
    REQUIRE_THAT(script, Catch::Contains("line\\nbreak"));
}

TEST_CASE("plot: a torn or failed image is never published, and the previous one stays", "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    TemporaryDir bin;
    TemporaryDir dir;
    // Fake gnuplots that read the whole figure, write part of an image at the script's output name, and exit 0.
    const std::string read_output = "out=$(sed -n \"s/^set output '\\(.*\\)'$/\\1/p\" | head -n 1)\n";
    const struct {
        std::string extension, body, message;
    } cases[] = {
        {".png", "printf '\\211PNG\\r\\n\\032\\n0000IHDR' > \"$out\"", "its PNG file is torn (no IEND chunk"},
        {".svg", "printf '<svg>\\n<g>\\n' > \"$out\"", "its SVG file is torn (it does not end with </svg>"},
        {".pdf", "printf '%%PDF-1.5\\n1 0 obj\\n' > \"$out\"", "its PDF file is torn (it does not end with %%EOF"},
        {".png", ": > \"$out\"", "it wrote nothing"},
        {".png", "echo 'line 0: cairo error: write error' >&2", "line 0: cairo error: write error"},
    };
    REQUIRE(run_lmsref("data -N 30 --out-dir '" + (dir / "in") + "'").exit_code == 0);
    for (const auto& c : cases) {
        CAPTURE(c.extension, c.body);
        const std::string program = fake_gnuplot(bin, "torn", read_output + c.body + "\nexit 0");
        const std::string target = dir / ("p" + c.extension);
        REQUIRE(run_lmsref("numpy -N 30 --plot '" + target + "'").exit_code == 0);
        const std::string before = file_bytes(target);
        for (const std::string& command :
             {"numpy -N 300 --plot '" + target + "'", "ensemble -R 4 -N 30 --plot '" + target + "'",
              "plot '" + (dir / "in/x.npy") + "' --out '" + target + "'"}) {
            CAPTURE(command);
            const Result result = run_lmsref(command, "LMSREF_GNUPLOT='" + program + "'");
            INFO(result.output);
            REQUIRE(result.exit_code == 2);
            REQUIRE_THAT(result.output, Catch::Contains("gnuplot failed: " + c.message));
            REQUIRE(file_bytes(target) == before);
        }
    }
    // A real full disk (a small tmpfs), where this process may mount one: the torn SVG of the original report.
    const std::string disk = dir / "disk";
    std::filesystem::create_directories(disk);
    if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=512k") != 0) {
        WARN("no full-disk case: cannot mount a tmpfs here (" << std::strerror(errno) << "); the fakes above cover it");
        return;
    }
    const Result first = run_lmsref("numpy -N 50 --plot '" + disk + "/p.svg'");
    REQUIRE(first.exit_code == 0);
    const std::string before = file_bytes(disk + "/p.svg");
    struct statvfs space {};
    REQUIRE(::statvfs(disk.c_str(), &space) == 0);
    const auto free_bytes = static_cast<std::size_t>(space.f_bavail * space.f_frsize);
    std::ofstream(disk + "/fill") << std::string(free_bytes > 40960 ? free_bytes - 40960 : 0, 'x');
    const Result full = run_lmsref("numpy -N 2000 --plot '" + disk + "/p.svg'");
    const bool kept = file_bytes(disk + "/p.svg") == before;
    ::umount2(disk.c_str(), MNT_DETACH);
    INFO(full.output);
    REQUIRE(full.exit_code == 2);
    REQUIRE_THAT(full.output, Catch::Contains("gnuplot failed: its SVG file is torn"));
    REQUIRE(kept);
}

TEST_CASE("plot: one --x-scale and --size for every figure, numpy drawn alone, long runs on a log axis",
          "[plot][gnuplot]") {
    // The rule: a log axis from N = 2000 on when the slowest trajectory settles within 5 % of N.
    const auto ramp = [](std::size_t samples, std::size_t transient) {
        Array2D w(samples + 1, 1);
        for (std::size_t r = 0; r <= samples; ++r)
            w(r, 0) = r < transient ? static_cast<double>(r) / static_cast<double>(transient) : 1.0;
        return w;
    };
    const Array2D long_fast = ramp(20000, 300), short_run = ramp(500, 30), long_slow = ramp(20000, 5000);
    CHECK(weights_log_x({&long_fast}, XScale::automatic));
    CHECK_FALSE(weights_log_x({&short_run}, XScale::automatic));
    CHECK_FALSE(weights_log_x({&long_fast, &long_slow}, XScale::automatic)); // the slowest decides
    CHECK_FALSE(weights_log_x({&long_fast}, XScale::linear));
    CHECK(weights_log_x({&short_run}, XScale::log));

    TemporaryDir dir;
    // numpy's own figure: numpy alone, not over itself; a long run gets its log axis; --size sets the image's.
    const Result numpy = run_lmsref("numpy -N 20000 --plot '" + dir / "n.svg" + "' --size 800x600");
    REQUIRE(numpy.exit_code == 0);
    const std::string svg = file_bytes(dir / "n.svg");
    CHECK_THAT(svg, Catch::Contains("width=\"800\" height=\"600\"") && Catch::Contains("(log scale)") &&
                        !Catch::Contains("over numpy"));
    const Result linear = run_lmsref("numpy -N 20000 --plot '" + dir / "l.svg" + "' --x-scale linear");
    REQUIRE(linear.exit_code == 0);
    CHECK_THAT(file_bytes(dir / "l.svg"), !Catch::Contains("(log scale)") && Catch::Contains("width=\"900\""));
    const Result sgd = run_lmsref("sgd -N 300 --plot '" + dir / "s.svg" + "'");
    REQUIRE(sgd.exit_code == 0);
    CHECK_THAT(file_bytes(dir / "s.svg"), Catch::Contains("over numpy"));
    // plot: --log-x is --x-scale log; the two disagreeing are refused.
    const Result both = run_lmsref("plot --log-x --x-scale linear x.npy --out '" + dir / "p.png" + "'");
    CHECK(both.exit_code == 1);
    CHECK_THAT(both.output, Catch::Contains("--log-x: it means --x-scale log"));
}
