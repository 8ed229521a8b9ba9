// The scenario (the notebook's parameters) and its data: x = randn(N, 1) (or that stream through an AR(1) filter,
// --input ar1:A), d = lfilter(wo, 1, x) + sqrt(sigmav2) v.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lmsref {

/// Where the computation runs. `automatic` picks CUDA when LibTorch sees a GPU.
enum class DeviceChoice { cpu, cuda, automatic };
enum class Device { cpu, cuda };

const char* to_string(Device device);
/// "cpu", "cuda" or "auto"; throws InputError otherwise.
DeviceChoice parse_device_choice(const std::string& text);

/// The notebook's parameters, with its defaults.
struct Scenario {
    std::int64_t samples = 500;            ///< N
    std::int64_t taps = 3;                 ///< M, the adaptive filter's length
    double step_size = 0.1;                ///< eta
    double noise_variance = 0.01;          ///< sigmav2
    std::vector<double> wo{0.1, 0.2, 0.3}; ///< the unknown system (any length)
    std::uint32_t seed = 0;                ///< np.random.seed
    /// --input ar1:A: x(n) = A x(n - 1) + sqrt(1 - A^2) u(n), x(0) = u(0), u the notebook's randn stream, so x has
    /// unit power and is stationary from the first sample; none: white (x = u, the notebook's).
    std::optional<double> input_ar1;
    /// --walk Q: the system moves as a random walk, wo(n + 1) = wo(n) + q(n), q(n) ~ N(0, Q I) over wo's taps, drawn
    /// after x and the noise (walk_path); d(n) is made with wo(n). 0: the notebook's fixed system.
    double walk = 0.0;
    std::optional<std::uint64_t> torch_seed; ///< torch::manual_seed for nn::Linear's init; default: seed
    std::string x_file;                      ///< when both files are set, x and d are read instead of generated
    std::string d_file;
    /// Whether wo and sigmav2 describe the system behind d: always for generated data; for files only when they
    /// were given with them (`ensemble --x X --d D --wo W --sigmav2 S`). Without them there is no MSD and no theory.
    bool system_known = true;

    std::uint64_t linear_init_seed() const { return torch_seed.value_or(seed); }
    bool data_from_files() const { return !x_file.empty() || !d_file.empty(); }
};

/// "white" or "ar1:A" (A as %g): --input's text.
std::string input_text(const Scenario& scenario);

/// ", input ar1:A" for coloured input, "" for white (the notebook's): for the one-line descriptions.
std::string input_note(const Scenario& scenario);

/// --input's value: "white" (none) or "ar1:A" with -1 < A < 1; throws InputError (field input) otherwise.
std::optional<double> parse_input(const std::string& text);

/// x = u through the scenario's input filter, in place (nothing for white input): x(0) = u(0), then
/// x(n) = A x(n - 1) + sqrt(1 - A^2) u(n), in that order of operations (scripts/make_reference.py's `ar1_input`).
/// Sample n at x[n stride].
void colour_input(const Scenario& scenario, double* x, std::size_t N, std::size_t stride = 1);

/// The input's autocorrelation r(k) = E[x(n) x(n - k)], k = 0 ... count - 1: 1, 0, 0, ... for white input and A^k
/// for AR(1) (unit power).
std::vector<double> input_autocorrelation(const Scenario& scenario, std::size_t count);

/// --walk: the path wo(0) = wo, wo(n + 1) = wo(n) + sqrt(Q) q(n) (q: N x len(wo) normals, row-major) into
/// path ((N + 1) x len(wo)), and d(n) = sum_k wo_k(n) x(n - k) (oldest tap first from 0.0, lfilter's order) plus
/// noise_gain v(n): scripts/make_reference.py's `walk_data`, the same operations in the same order.
void walk_path(const Scenario& scenario, const double* q, std::size_t N, double* path);
void filter_walk(const double* path, std::size_t L, const double* x, const double* v, double noise_gain, std::size_t N,
                 double* d);

/// Throws InputError naming the first parameter out of range.
void validate(const Scenario& scenario);

/// The input x and desired signal d, one value per sample (the notebook's N x 1 arrays).
struct Data {
    std::vector<double> x;
    std::vector<double> d;
    std::vector<std::string> notes; ///< what reading the files changed (a dtype converted to float64)
    /// --walk Q > 0: wo(n) for n = 0 ... N, (N + 1) x len(wo) row-major (row 0 = wo); empty otherwise.
    std::vector<double> wo_path = {};
    std::int64_t samples() const { return static_cast<std::int64_t>(x.size()); }
};

/// scipy.signal.lfilter(b, 1, x) for an FIR filter: y(n) = sum_k b(k) x(n - k), zero initial state. Each output is
/// summed from the oldest tap to the newest, starting from 0.0: the order of `np.convolve` (which `lfilter` uses when
/// a = 1) and of the direct-form-II transposed filter, so the result matches SciPy bit for bit.
std::vector<double> lfilter_fir(const std::vector<double>& b, const std::vector<double>& x);

/// `np.random.seed(seed); x = randn(N, 1); d = lfilter(wo, 1, x) + sqrt(sigmav2) * randn(N)`, x through
/// colour_input before d is made.
Data generate_data(const Scenario& scenario);

/// Reads x and d from the scenario's files, or generates them.
Data make_data(const Scenario& scenario);

} // namespace lmsref
