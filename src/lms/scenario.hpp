// The scenario (the notebook's parameters) and its data: x = randn(N, 1), d = lfilter(wo, 1, x) + sqrt(sigmav2) v.
#pragma once

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
    std::int64_t samples = 500;              ///< N
    std::int64_t taps = 3;                   ///< M, the adaptive filter's length
    double step_size = 0.1;                  ///< eta
    double noise_variance = 0.01;            ///< sigmav2
    std::vector<double> wo{0.1, 0.2, 0.3};   ///< the unknown system (any length)
    std::uint32_t seed = 0;                  ///< np.random.seed
    std::optional<std::uint64_t> torch_seed; ///< torch::manual_seed for nn::Linear's init; default: seed
    std::string x_file;                      ///< when both files are set, x and d are read instead of generated
    std::string d_file;
    /// Whether wo and sigmav2 describe the system behind d: always for generated data; for files only when they
    /// were given with them (`ensemble --x X --d D --wo W --sigmav2 S`). Without them there is no MSD and no theory.
    bool system_known = true;

    std::uint64_t linear_init_seed() const { return torch_seed.value_or(seed); }
    bool data_from_files() const { return !x_file.empty() || !d_file.empty(); }
};

/// Throws InputError naming the first parameter out of range.
void validate(const Scenario& scenario);

/// The input x and desired signal d, one value per sample (the notebook's N x 1 arrays).
struct Data {
    std::vector<double> x;
    std::vector<double> d;
    std::vector<std::string> notes; ///< what reading the files changed (a dtype converted to float64)
    std::int64_t samples() const { return static_cast<std::int64_t>(x.size()); }
};

/// scipy.signal.lfilter(b, 1, x) for an FIR filter: y(n) = sum_k b(k) x(n - k), zero initial state. Each output is
/// summed from the oldest tap to the newest, starting from 0.0: the order of `np.convolve` (which `lfilter` uses when
/// a = 1) and of the direct-form-II transposed filter, so the result matches SciPy bit for bit.
std::vector<double> lfilter_fir(const std::vector<double>& b, const std::vector<double>& x);

/// `np.random.seed(seed); x = randn(N, 1); d = lfilter(wo, 1, x) + sqrt(sigmav2) * randn(N)`.
Data generate_data(const Scenario& scenario);

/// Reads x and d from the scenario's files, or generates them.
Data make_data(const Scenario& scenario);

} // namespace lmsref
