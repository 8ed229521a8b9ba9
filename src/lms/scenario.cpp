#include "lms/scenario.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/array_io.hpp"
#include "random/numpy_random.hpp"

#include <algorithm>
#include <cmath>

namespace lmsref {

const char* to_string(Device device) {
    return device == Device::cuda ? "cuda" : "cpu";
}

DeviceChoice parse_device_choice(const std::string& text) {
    static const Choice<DeviceChoice> choices[] = {
        {"cpu", DeviceChoice::cpu}, {"cuda", DeviceChoice::cuda}, {"auto", DeviceChoice::automatic}};
    if (text == "gpu") // the nearest name, cpu, is the opposite of what is meant
        throw InputError(Field{"device"}, "'gpu' is not a device; use cpu, cuda or auto (cuda runs on the GPU)");
    return parse_choice(Field{"device"}, text, "a device", choices);
}

std::string input_text(const Scenario& scenario) {
    return scenario.input_ar1 ? "ar1:" + format_number(*scenario.input_ar1, "%g") : "white";
}

std::string input_note(const Scenario& scenario) {
    return (scenario.input_ar1 ? ", input " + input_text(scenario) : "") +
           (scenario.walk > 0 ? ", walk " + format_number(scenario.walk, "%g") : "");
}

std::optional<double> parse_input(const std::string& text) {
    if (text == "white") return std::nullopt;
    const std::string prefix = "ar1:";
    if (text.compare(0, prefix.size(), prefix) != 0)
        throw InputError(Field{"input"}, quote_value(text) + " is not an input; use white or ar1:A (-1 < A < 1), "
                                                             "e.g. ar1:0.9");
    double a = 0.0;
    try {
        a = parse_number("--input", text.substr(prefix.size()));
    } catch (const InputError&) {
        throw InputError(Field{"input"}, quote_value(text) + ": the AR(1) coefficient after 'ar1:' is not a number; "
                                                             "e.g. ar1:0.9");
    }
    if (!(a > -1.0 && a < 1.0))
        throw InputError(Field{"input"}, quote_value(text) +
                                             " is not allowed; the AR(1) coefficient A must be inside (-1, 1), where "
                                             "the input is stationary");
    return a;
}

void walk_path(const Scenario& scenario, const double* q, std::size_t N, double* path) {
    const std::size_t L = scenario.wo.size();
    const double gain = std::sqrt(scenario.walk);
    std::copy(scenario.wo.begin(), scenario.wo.end(), path);
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t k = 0; k < L; ++k) path[(n + 1) * L + k] = path[n * L + k] + gain * q[n * L + k];
}

void filter_walk(const double* path, std::size_t L, const double* x, const double* v, double noise_gain, std::size_t N,
                 double* d) {
    for (std::size_t n = 0; n < N; ++n) {
        const std::size_t newest = std::min(n, L - 1);
        double sum = 0.0;
        for (std::size_t k = newest + 1; k-- > 0;) sum += path[n * L + k] * x[n - k];
        d[n] = sum + noise_gain * v[n];
    }
}

void colour_input(const Scenario& scenario, double* x, std::size_t N, std::size_t stride) {
    if (!scenario.input_ar1) return;
    const double a = *scenario.input_ar1;
    const double gain = std::sqrt(1.0 - a * a);
    for (std::size_t n = 1; n < N; ++n) x[n * stride] = a * x[(n - 1) * stride] + gain * x[n * stride];
}

std::vector<double> input_autocorrelation(const Scenario& scenario, std::size_t count) {
    std::vector<double> r(count, 0.0);
    const double a = scenario.input_ar1.value_or(0.0);
    for (std::size_t k = 0; k < count; ++k) r[k] = k == 0 ? 1.0 : std::pow(a, static_cast<double>(k));
    return r;
}

void validate(const Scenario& s) {
    if (s.samples < 1)
        throw InputError(Field{"samples"}, "" + std::to_string(s.samples) + " is not allowed; N must be >= 1");
    if (s.taps < 1) throw InputError(Field{"taps"}, "" + std::to_string(s.taps) + " is not allowed; M must be >= 1");
    if (!std::isfinite(s.step_size) || s.step_size <= 0)
        throw InputError(Field{"eta"},
                         "" + format_number(s.step_size, "%.10g") + " is not allowed; eta must be finite and > 0");
    if (!std::isfinite(s.noise_variance) || s.noise_variance < 0)
        throw InputError(Field{"sigmav2"}, "" + format_number(s.noise_variance, "%.10g") +
                                               " is not allowed; sigmav2 must be finite and >= 0");
    if (s.wo.empty())
        throw InputError(Field{"wo"}, "the list is empty; give at least one coefficient, e.g. 0.1,0.2,0.3");
    for (double coefficient : s.wo)
        if (!std::isfinite(coefficient))
            throw InputError(Field{"wo"},
                             "" + format_number(coefficient, "%.10g") + " is not allowed; coefficients must be finite");
    if (s.input_ar1 && !(*s.input_ar1 > -1.0 && *s.input_ar1 < 1.0))
        throw InputError(Field{"input"}, "ar1:" + format_number(*s.input_ar1, "%.10g") +
                                             " is not allowed; the AR(1) coefficient must be inside (-1, 1)");
    if (!std::isfinite(s.walk) || s.walk < 0)
        throw InputError(Field{"walk"},
                         "" + format_number(s.walk, "%.10g") + " is not allowed; Q must be finite and >= 0");
    if (s.x_file.empty() != s.d_file.empty())
        throw InputError(s.x_file.empty() ? Field{"d"} : Field{"x"},
                         std::string(s.x_file.empty() ? "give --x too" : "give --d too") +
                             "; x and d are read together");
}

std::vector<double> lfilter_fir(const std::vector<double>& b, const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) {
        const std::size_t newest = std::min(n, b.size() - 1); // the oldest sample that reaches y(n) is x(n - newest)
        double sum = 0.0;
        for (std::size_t k = newest + 1; k-- > 0;) sum += b[k] * x[n - k];
        y[n] = sum;
    }
    return y;
}

Data generate_data(const Scenario& scenario) {
    validate(scenario);
    const auto N = static_cast<std::size_t>(scenario.samples);
    LegacyRandom random(scenario.seed);
    Data data;
    data.x = random.randn(N);                 // x = np.random.randn(N, 1)
    colour_input(scenario, data.x.data(), N); // --input ar1:A: x = ar1_input(x, A)
    const double noise_gain = std::sqrt(scenario.noise_variance);
    if (scenario.walk > 0) { // --walk Q: the noise, then the walk's normals, then d from the moving system
        const std::vector<double> noise = random.randn(N);
        const std::size_t L = scenario.wo.size();
        const std::vector<double> q = random.randn(N * L);
        data.wo_path.resize((N + 1) * L);
        walk_path(scenario, q.data(), N, data.wo_path.data());
        data.d.resize(N);
        filter_walk(data.wo_path.data(), L, data.x.data(), noise.data(), noise_gain, N, data.d.data());
    } else {
        data.d = lfilter_fir(scenario.wo, data.x);         // signal.lfilter(wo.squeeze(), 1, x.squeeze())
        const std::vector<double> noise = random.randn(N); // + np.sqrt(sigmav2) * np.random.randn(N)
        for (std::size_t n = 0; n < N; ++n) data.d[n] = data.d[n] + noise_gain * noise[n];
    }
    for (std::size_t n = 0; n < N; ++n) {
        // x is finite (randn), and so is the noise (sqrt(sigmav2) randn stays below about 1e155, far too small to
        // push a finite d past float64's largest value): only wo can overflow d. Refused here, since lmsref would
        // refuse to read such a d back.
        if (!std::isfinite(data.d[n]))
            throw InputError(Field{"wo"}, "d = lfilter(wo, 1, x) + noise overflows float64: d[" + std::to_string(n) +
                                              "] = " + format_number(data.d[n], "%g") +
                                              " is its first non-finite sample; use smaller coefficients");
    }
    return data;
}

Data make_data(const Scenario& scenario) {
    validate(scenario);
    if (!scenario.data_from_files()) return generate_data(scenario);
    std::string x_note;
    std::string d_note;
    Data data{read_signal(scenario.x_file, &x_note), read_signal(scenario.d_file, &d_note), {}};
    for (std::string* note : {&x_note, &d_note})
        if (!note->empty()) data.notes.push_back(*note);
    if (data.x.size() != data.d.size())
        throw InputError(Field{"x/d"}, scenario.x_file + " has " + std::to_string(data.x.size()) + " samples but " +
                                           scenario.d_file + " has " + std::to_string(data.d.size()) +
                                           "; they must be equally long");
    return data;
}

} // namespace lmsref
