// What the command line says, as text: cli.cpp fills it, the commands read it. The library parses every value, so that
// each bad value gets the same kind of message (the option, the value, what is allowed).
#pragma once

#include "core/text.hpp"
#include "lms/family_updates.hpp"
#include "lms/scenario.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace lmsref::cli {

constexpr std::int64_t max_samples = 1000000000;
constexpr std::int64_t max_taps = 1000000;

/// Everything the subcommands read from the command line, as text: the library parses every value, so that each
/// bad value gets the same kind of message (the option, the value, what is allowed).
struct Options {
    std::string seed = "0";
    std::string samples = std::to_string(Scenario{}.samples);
    std::string taps = std::to_string(Scenario{}.taps);
    std::string eta = format_number(Scenario{}.step_size, "%g");
    std::string sigmav2 = format_number(Scenario{}.noise_variance, "%g");
    std::string wo = "0.1,0.2,0.3";
    std::string input = "white";
    std::string walk = "0";
    std::string x_file;
    std::string d_file;
    std::string torch_seed;
    std::string device = "cpu";
    std::string out_dir;
    std::string format = "npy";
    std::string tolerance = "1e-12";
    std::string plot;     // a stage's figure
    std::string plot_dir; // compare's figures
    // lmsref plot
    std::string kind = "weights";
    std::vector<std::string> files;
    std::string reference;
    std::string title;
    std::string out;
    std::string plot_wo; // dashed lines on a re-plot
    bool log_x = false;
    // lmsref basics
    std::string section;
    bool list_sections = false;
    std::string basics_device = "auto";
    // lmsref ensemble
    std::string realizations = "1000";
    std::string threads = "0";
    std::string decimate = "1";
    std::string progress = "auto";
    std::string x_scale = "auto";
    std::string size; // --size WxH of an image; empty: the figure's own
    std::string ensemble_stage = "numpy";
    std::string rng = "numpy";
    std::string chunk = "0";
    bool allow_divergence = false;
    std::string algorithm = "lms"; // ensemble --algorithm
    // lmsref family: the members, and (with ensemble --algorithm) their settings
    std::string members;
    std::string eps = format_number(FamilyOptions{}.eps, "%g");
    std::string gamma = format_number(FamilyOptions{}.gamma, "%g");
    std::string beta = format_number(FamilyOptions{}.beta, "%g");
    std::string huber_delta = format_number(FamilyOptions{}.huber_delta, "%g");
    std::string lambda = format_number(FamilyOptions{}.lambda, "%g");
    std::string rls_delta = format_number(FamilyOptions{}.rls_delta, "%g");
    // lmsref bench
    std::string bench_stages;
    std::string bench_family; // bench --family LIST
    std::string repeats = "20";
    std::string json;
    /// The names, as typed ("--samples", "-N"), of every option the command line gave (not those left at their
    /// default): the commands ask it where a default and an explicit value differ.
    std::set<std::string> given_names;
    bool given(const std::string& name) const { return given_names.count(name) > 0; }
};

} // namespace lmsref::cli
