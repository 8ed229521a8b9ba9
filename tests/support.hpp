// Helpers shared by the tests: where the reference data lives, reading it, measuring differences.
#pragma once

#include "io/array_io.hpp"
#include "lms/scenario.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lmsref::test {

inline std::string reference_path(const std::string& relative) {
    return (std::filesystem::path(LMSREF_REFERENCE_DIR) / relative).string();
}

inline Array2D reference_array(const std::string& relative) {
    return read_array(reference_path(relative));
}

/// max_i |a_i - b_i| / max(1, |b_i|) over the values both hold: the relative gap the 1e-12 comparisons measure.
inline double largest_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
        worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
    return worst;
}

/// The family's reference scenarios (data/reference/family/<name>/params.txt): M = 3, 1 and 8.
inline const std::vector<std::string> family_scenarios = {"default", "one_tap", "eight_taps"};

/// The reference scenarios, with the parameters scripts/make_reference.py ran them with (<name>/params.txt).
struct ReferenceScenario {
    std::string name;
    Scenario scenario;
    std::int64_t realizations = 1; ///< R of an ensemble reference (ensemble/<name>/params.txt)
};

inline ReferenceScenario reference_scenario(const std::string& name) {
    ReferenceScenario reference{name, {}};
    Scenario& s = reference.scenario;
    std::ifstream in(reference_path(name + "/params.txt"));
    for (std::string key, value; in >> key >> value;) {
        if (key == "seed")
            s.seed = static_cast<std::uint32_t>(std::stoul(value));
        else if (key == "N")
            s.samples = std::stoll(value);
        else if (key == "M")
            s.taps = std::stoll(value);
        else if (key == "eta")
            s.step_size = std::stod(value);
        else if (key == "sigmav2")
            s.noise_variance = std::stod(value);
        else if (key == "torch_seed")
            s.torch_seed = std::stoull(value);
        else if (key == "R")
            reference.realizations = std::stoll(value);
        else if (key == "wo") {
            s.wo.clear();
            std::stringstream list(value);
            for (std::string item; std::getline(list, item, ',');) s.wo.push_back(std::stod(item));
        } else
            throw std::runtime_error("unknown key in params.txt: " + key);
    }
    return reference;
}

/// Every folder of data/reference with a params.txt, sorted.
inline std::vector<std::string> reference_names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(LMSREF_REFERENCE_DIR))
        if (std::filesystem::exists(entry.path() / "params.txt")) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

inline double max_abs_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(a[k] - b[k]));
    return worst;
}

inline bool same_bits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Whether two arrays hold the same doubles bit for bit (-0 is not 0, a NaN equals the same NaN).
inline bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

/// Requires `got` to hold `expected`'s doubles bit for bit, naming the first index that differs.
inline void require_same_bits(const std::vector<double>& got, const std::vector<double>& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        CAPTURE(k);
        REQUIRE(same_bits(got[k], expected[k]));
    }
}

/// The whole content of a file.
inline std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// How many entries a folder holds.
inline std::size_t files_in(const std::string& dir) {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

/// A fresh empty folder, removed when the object goes.
class TemporaryDir {
public:
    TemporaryDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "lmsref-test-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TemporaryDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TemporaryDir(const TemporaryDir&) = delete;
    TemporaryDir& operator=(const TemporaryDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

private:
    std::string path_;
};

} // namespace lmsref::test
