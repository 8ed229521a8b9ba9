// Figures: the data sent to gnuplot is the trajectory, the images gnuplot writes are valid, and failures
// (no gnuplot, a failing gnuplot, an unknown image type) leave no file behind.
#include "errors.hpp"
#include "figures.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

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
    const Figure figure = weights_figure("title", linear, &numpy_w(), {0.1, 0.2, 0.3});
    const std::string script = gnuplot_script(figure, "w.png", "w.png.tmp");
    const Array2D sent = read_datablock(script, "stage");
    REQUIRE(sent.rows == linear_w().rows);
    REQUIRE(sent.cols == linear_w().cols);
    for (std::size_t k = 0; k < sent.values.size(); ++k) REQUIRE(same_bits(sent.values[k], linear_w().values[k]));
    REQUIRE(read_datablock(script, "ref").values == numpy_w().values);
    REQUIRE_THAT(script, Catch::StartsWith("set terminal pngcairo size 900,540") &&
                             Catch::Contains("set output \"w.png.tmp\"") &&
                             Catch::Contains("first 0.20000000000000001") && Catch::Contains("lc rgb '#8c564b'") &&
                             Catch::Contains("'#80000000'"));
    // The terminal follows the extension.
    REQUIRE_THAT(gnuplot_script(figure, "w.svg", "t"), Catch::StartsWith("set terminal svg"));
    REQUIRE_THAT(gnuplot_script(figure, "w.PDF", "t"), Catch::StartsWith("set terminal pdfcairo"));
    REQUIRE_THAT(gnuplot_script(figure, "-", ""),
                 Catch::StartsWith("set terminal dumb") && Catch::Contains("set output\n"));
    REQUIRE_THROWS_AS(gnuplot_script(figure, "w.jpg", "t"), InputError);
    REQUIRE_THROWS_WITH(check_plot_target("w.jpg"), Catch::Contains("use .png, .svg or .pdf"));
}

TEST_CASE("plot: the deviation figure sends max_k |w_k - w_numpy,k|, zero drawn at 1e-18", "[plot]") {
    const Figure figure =
        deviation_figure("t", {{"linear", "#8c564b", &linear_w()}, {"numpy", "#000000", &numpy_w()}}, numpy_w());
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
    const Figure figure = weights_figure("lmsref linear over numpy", linear, &numpy_w(), {0.1, 0.2, 0.3});

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

    render(gallery_figure("g", {linear, {"numpy", "#000000", &numpy_w()}}, &numpy_w(), {}), dir / "g.pdf");
    REQUIRE(file_bytes(dir / "g.pdf").compare(0, 5, "%PDF-") == 0);
    REQUIRE(files_in(dir.path()) == 3); // no temporary file left behind
}

TEST_CASE("plot: a missing or failing gnuplot is a clear error and leaves no file", "[plot][gnuplot]") {
    if (!plotting_built_in()) FAIL("lmsref was built without plotting");
    TemporaryDir dir;
    const Figure figure = weights_figure("t", {"numpy", "#000000", &numpy_w()}, &numpy_w(), {});
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
    REQUIRE_THAT(again.body, Catch::Contains("title \"linear\"") && Catch::Contains("lc rgb '#8c564b'"));
    REQUIRE_THROWS_WITH(replot(PlotKind::deviation, {dir / "numpy-w.npy"}, "", {}, ""), Catch::Contains("--reference"));
    REQUIRE_THROWS_WITH(replot(PlotKind::weights, {reference_path("odd/numpy/w.npy")}, dir / "numpy-w.npy", {}, ""),
                        Catch::Contains("has shape (1000, 4)"));
    const Figure alone = replot(PlotKind::weights, {reference_path("default/sgd/w.npy")}, "", {}, "");
    REQUIRE_THAT(alone.body, !Catch::Contains("$ref"));
}
