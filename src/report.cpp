#include "report.hpp"

#include "text.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace lmsref {

const char* lmsref_version() {
    return LMSREF_VERSION;
}

std::string format_vector(const std::vector<double>& values, const char* format) {
    std::string text = "[";
    for (std::size_t k = 0; k < values.size(); ++k) text += (k ? ", " : "") + format_number(values[k], format);
    return text + "]";
}

std::string describe_scenario(const Scenario& s, const Data& data, bool with_torch_seed) {
    std::string text = "N = " + std::to_string(data.samples()) + ", M = " + std::to_string(s.taps) +
                       ", eta = " + format_number(s.step_size, "%g");
    if (s.data_from_files())
        text += ", x = " + s.x_file + ", d = " + s.d_file;
    else
        text += ", sigmav2 = " + format_number(s.noise_variance, "%g") + ", wo = " + format_vector(s.wo, "%g") +
                ", seed = " + std::to_string(s.seed);
    return text + (with_torch_seed ? ", torch seed = " + std::to_string(s.linear_init_seed()) : "");
}

std::string shown_weights(const std::vector<double>& weights) {
    constexpr std::size_t shown = 6;
    if (weights.size() <= shown) return format_vector(weights, "%.9g");
    const std::string first = format_vector({weights.begin(), weights.begin() + shown}, "%.9g");
    return first.substr(0, first.size() - 1) + ", ... (" + std::to_string(weights.size()) + " taps)]";
}

std::string stage_report(const StageRun& run, const Scenario& scenario, const Data& data) {
    const Stage& stage = *run.stage;
    const std::vector<double> final_weights = run.trajectory.final_weights();
    std::string text = "lmsref " + std::string(stage.name) + " (the notebook's " +
                       std::string(stage.notebook_function) + "): " + std::string(stage.summary) + "\n";
    // The torch seed matters to the one stage that draws its initial weights from LibTorch.
    text += "  scenario   " + describe_scenario(scenario, data, !stage.starts_from_zero) + "\n";
    if (stage.uses_torch)
        text += "  device     " + std::string(to_string(run.device)) + ", LibTorch " + libtorch_version() + "\n";
    text += "  w_N        " + shown_weights(final_weights) + "\n";
    if (!scenario.data_from_files()) {
        const std::vector<double> optimum = optimum_for_taps(scenario.wo, scenario.taps);
        text += "  wo         " + shown_weights(optimum) +
                (scenario.wo.size() != optimum.size() ? "  (wo cut or padded to M taps)" : "") + "\n";
        text += "  ||w_N - wo|| = " + format_number(distance(final_weights, optimum), "%.9g") + "\n";
    }
    const std::int64_t samples = data.samples();
    text += "  time       " + format_number(run.us_per_sample(), "%.3f") + " us/sample (" +
            format_number(run.seconds * 1e3, "%.3f") + " ms for " + std::to_string(samples) +
            (samples == 1 ? " sample)\n" : " samples)\n");
    return text;
}

std::string comparison_report(const Comparison& comparison, const Scenario& scenario, const Data& data, Device device) {
    std::string text = "lmsref compare: " + describe_scenario(scenario, data, true) + "\n";
    text += "device " + std::string(to_string(device)) + ", LibTorch " + libtorch_version() + ", tolerance " +
            format_number(comparison.tolerance, "%g") + "\n\n";
    char row[256];
    std::snprintf(row, sizeof row, "%-12s %11s  %-19s %-8s %s\n", "stage", "us/sample", "max dev / scale", "verdict",
                  "final weights");
    text += row;
    std::size_t agreeing = 0;
    std::size_t zero_init = 0;
    std::string linear_note;
    std::string failure_note;
    for (const StageComparison& c : comparison.stages) {
        const Stage& stage = *c.stage;
        if (!c.run) {
            // The message without the stage's name, up to the first ';' (the rest is said once, below the table).
            const std::size_t after_name = c.failure.find(": ");
            std::string reason = c.failure.substr(after_name == std::string::npos ? 0 : after_name + 2);
            if (failure_note.empty()) failure_note = c.failure + "\n";
            reason = reason.substr(0, reason.find(';'));
            std::snprintf(row, sizeof row, "%-12s %11s  %-19s %-8s ", std::string(stage.name).c_str(), "-", "-",
                          c.diverged ? "DIVERGED" : "FAILED");
            text += row + reason + "\n";
            zero_init += stage.starts_from_zero ? 1 : 0;
            continue;
        }
        const bool is_reference = &stage == &stages().front();
        std::string verdict;
        if (is_reference)
            verdict = "ref";
        else if (!stage.starts_from_zero)
            verdict = "differs";
        else
            verdict = c.within(comparison.tolerance) ? "ok" : "MISMATCH";
        if (stage.starts_from_zero) {
            ++zero_init;
            agreeing += c.within(comparison.tolerance) ? 1 : 0;
        }
        if (!stage.starts_from_zero)
            linear_note += std::string(stage.name) +
                           " (default init) differs early as expected; its final weights are " +
                           format_number(c.final_distance, "%.2e") + " from numpy's.\n";
        std::snprintf(row, sizeof row, "%-12s %11.3f  %-19s %-8s ", std::string(stage.name).c_str(),
                      c.run->us_per_sample(),
                      is_reference ? "0 (reference)" : format_number(c.max_scaled_deviation, "%.3e").c_str(),
                      verdict.c_str());
        text += row + shown_weights(c.run->trajectory.final_weights()) + "\n";
    }
    text += "\n" + std::to_string(agreeing) + " of " + std::to_string(zero_init) +
            " zero-init stages (numpy included) agree with numpy to " + format_number(comparison.tolerance, "%g") +
            ".\n" + linear_note + failure_note +
            "max dev / scale: the largest |w - w_numpy| / max(1, |w_numpy|) over all N+1 rows; --tolerance bounds it.\n" +
            "us/sample: one cold run of each stage; lmsref bench times them properly.\n";
    return text;
}

// ---------------------------------------------------------------------------------------------------- JSON

namespace {

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\')
            out += std::string("\\") + c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += escaped;
        } else
            out += c;
    }
    return out + "\"";
}

std::string json_number(double value) {
    return std::isfinite(value) ? format_number(value) : "null";
}

std::string json_array(const std::vector<double>& values) {
    std::string out = "[";
    for (std::size_t k = 0; k < values.size(); ++k) out += (k ? ", " : "") + json_number(values[k]);
    return out + "]";
}

} // namespace

std::string scenario_json(const Scenario& s, const Data& data) {
    std::string out = "{\"N\": " + std::to_string(data.samples()) + ", \"M\": " + std::to_string(s.taps) +
                      ", \"eta\": " + json_number(s.step_size);
    if (s.data_from_files())
        out += ", \"x_file\": " + json_string(s.x_file) + ", \"d_file\": " + json_string(s.d_file);
    else
        out += ", \"sigmav2\": " + json_number(s.noise_variance) + ", \"wo\": " + json_array(s.wo) +
               ", \"seed\": " + std::to_string(s.seed);
    return out + ", \"torch_seed\": " + std::to_string(s.linear_init_seed()) + "}";
}

std::string summary_json(const Comparison& comparison, const Scenario& s, const Data& data, Device device) {
    std::string out = "{\n";
    out += "  \"lmsref\": " + json_string(lmsref_version()) + ",\n";
    out += "  \"libtorch\": " + json_string(libtorch_version()) + ",\n";
    out += "  \"device\": " + json_string(to_string(device)) + ",\n";
    out += "  \"scenario\": " + scenario_json(s, data) + ",\n";
    out += "  \"tolerance\": " + json_number(comparison.tolerance) + ",\n";
    out += "  \"agrees\": " + std::string(comparison.agrees() ? "true" : "false") + ",\n";
    out += "  \"stages\": {";
    for (std::size_t k = 0; k < comparison.stages.size(); ++k) {
        const StageComparison& c = comparison.stages[k];
        out += std::string(k ? "," : "") + "\n    " + json_string(c.stage->name) + ": {";
        out += "\"notebook_function\": " + json_string(c.stage->notebook_function);
        out += ", \"expected_to_match_numpy\": " + std::string(c.stage->starts_from_zero ? "true" : "false");
        if (c.run) {
            out += ", \"device\": " + json_string(to_string(c.run->device));
            out += ", \"us_per_sample\": " + json_number(c.run->us_per_sample());
            out += ", \"max_abs_deviation_from_numpy\": " + json_number(c.max_deviation);
            out += ", \"max_scaled_deviation_from_numpy\": " + json_number(c.max_scaled_deviation);
            out += ", \"final_distance_from_numpy\": " + json_number(c.final_distance);
            out += ", \"within_tolerance\": " + std::string(c.within(comparison.tolerance) ? "true" : "false");
            out += ", \"final_weights\": " + json_array(c.run->trajectory.final_weights());
        } else {
            out += ", \"failure\": " + json_string(c.failure);
        }
        out += "}";
    }
    out += "\n  }\n}\n";
    return out;
}

// ---------------------------------------------------------------------------------------------------- files

namespace {
/// DIR/name.npy or DIR/name.csv.
std::string output_path(const std::string& dir, const char* name, FileFormat format) {
    return (std::filesystem::path(dir) / name).string() + extension(format);
}
} // namespace

void write_trajectory(const std::string& dir, const Trajectory& trajectory, FileFormat format) {
    write_array(output_path(dir, "w", format), trajectory.w, format);
    write_array(output_path(dir, "y", format), column(trajectory.y), format);
    write_array(output_path(dir, "e", format), column(trajectory.e), format);
    if (!trajectory.loss.empty()) write_array(output_path(dir, "loss", format), column(trajectory.loss), format);
}

void write_data(const std::string& dir, const Data& data, FileFormat format) {
    write_array(output_path(dir, "x", format), column(data.x), format);
    write_array(output_path(dir, "d", format), column(data.d), format);
}

void write_comparison(const std::string& dir, const Comparison& comparison, const Scenario& scenario, const Data& data,
                      Device device, FileFormat format) {
    write_data(dir, data, format);
    for (const StageComparison& c : comparison.stages) {
        if (!c.run) continue; // a failed stage has nothing to write
        const std::string folder = (std::filesystem::path(dir) / std::string(c.stage->name)).string();
        prepare_output_dir(folder);
        write_trajectory(folder, c.run->trajectory, format);
    }
    write_file_atomically((std::filesystem::path(dir) / "summary.json").string(),
                          summary_json(comparison, scenario, data, device));
}

} // namespace lmsref

namespace lmsref {

bool is_output_name(const std::string& name, bool is_folder) {
    const auto is_stage = [](std::string_view text) {
        return std::any_of(stages().begin(), stages().end(), [&](const Stage& stage) { return stage.name == text; });
    };
    if (is_folder) return is_stage(name);
    if (name.find(".tmp-") != std::string::npos) return true; // a temporary an interrupted older lmsref left
    const std::filesystem::path path(name);
    const std::string stem = path.stem().string();
    const std::string ext = lowercase_extension(name);
    static const std::vector<std::string> stems = {"x", "d", "w", "y", "e", "loss", "summary", "gallery",
                                                   "deviation", "learning"};
    static const std::vector<std::string> extensions = {".npy", ".csv", ".json", ".png", ".svg", ".pdf"};
    return (std::find(stems.begin(), stems.end(), stem) != stems.end() || is_stage(stem)) &&
           std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

} // namespace lmsref
