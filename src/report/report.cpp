#include "report/report.hpp"
#include "stages/registry.hpp"

#include "core/text.hpp"
#include "ensemble/theory.hpp"
#include "io/files.hpp"
#include "report/report_json.hpp"
#include "stages/libtorch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace lmsref {

const char* lmsref_version() {
    return LMSREF_VERSION;
}

std::string describe_scenario(const Scenario& s, const Data& data, bool with_torch_seed) {
    std::string text = fmt::format("N = {}, M = {}, eta = {:g}", data.samples(), s.taps, s.step_size);
    if (s.data_from_files())
        text += fmt::format(", x = {}, d = {}", s.x_file, s.d_file);
    else
        text +=
            fmt::format(", sigmav2 = {:g}, wo = {}, seed = {}", s.noise_variance, format_vector(s.wo, "%g"), s.seed) +
            input_note(s);
    return text + (with_torch_seed ? fmt::format(", torch seed = {}", s.linear_init_seed()) : "");
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
    std::string text =
        fmt::format("lmsref {} (the notebook's {}): {}\n", stage.name, stage.notebook_function, stage.summary);
    // The torch seed matters to the one stage that draws its initial weights from LibTorch.
    text += "  scenario   " + describe_scenario(scenario, data, !stage.starts_from_zero) + "\n";
    if (stage.uses_torch)
        text += fmt::format("  device     {}, LibTorch {}\n", to_string(run.device), libtorch_version());
    text += "  w_N        " + shown_weights(final_weights) + "\n";
    if (!scenario.data_from_files()) {
        std::vector<double> optimum = wiener_solution(scenario); // wo cut or padded to M; R^-1 p when coloured
        std::string note = scenario.wo.size() != optimum.size() ? "  (wo cut or padded to M taps)" : "";
        if (scenario.input_ar1 && scenario.wo.size() > optimum.size()) note = "  (the Wiener solution R^-1 p, M taps)";
        if (!data.wo_path.empty()) { // --walk: where the system ended, wo(N)
            const std::size_t L = scenario.wo.size(), N = data.x.size();
            for (std::size_t k = 0; k < optimum.size(); ++k) optimum[k] = k < L ? data.wo_path[N * L + k] : 0.0;
            note = "  (wo(N), where the walk ended)";
        }
        text += "  wo         " + shown_weights(optimum) + note + "\n";
        text += fmt::format("  ||w_N - wo|| = {:.9g}\n", distance(final_weights, optimum));
    }
    const std::int64_t samples = data.samples();
    return text + fmt::format("  time       {:.3f} us/sample ({:.3f} ms for {} sample{})\n", run.us_per_sample(),
                              run.seconds * 1e3, samples, samples == 1 ? "" : "s");
}

std::string comparison_report(const Comparison& comparison, const Scenario& scenario, const Data& data, Device device) {
    std::string text = fmt::format("lmsref compare: {}\ndevice {}, LibTorch {}, tolerance {:g}\n\n",
                                   describe_scenario(scenario, data, true), to_string(device), libtorch_version(),
                                   comparison.tolerance);
    // Numbers right-aligned explicitly: {fmt} 9 would put "nan" and "inf" on the left.
    text += fmt::format("{:<12} {:>11}  {:<19} {:<8} {}\n", "stage", "us/sample", "max dev / scale", "verdict",
                        "final weights");
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
            text += fmt::format("{:<12} {:>11}  {:<19} {:<8} {}\n", stage.name, "-", "-",
                                c.diverged ? "DIVERGED" : "FAILED", reason);
            zero_init += stage.starts_from_zero ? 1 : 0;
            continue;
        }
        const bool is_reference = &stage == &stages().front();
        const bool within = c.within(comparison.tolerance);
        const char* verdict = is_reference ? "ref" : !stage.starts_from_zero ? "differs" : within ? "ok" : "MISMATCH";
        if (stage.starts_from_zero) {
            ++zero_init;
            agreeing += within ? 1 : 0;
        } else {
            // Met when the start's distance has shrunk a hundredfold; a small step or a short run leaves it apart.
            linear_note +=
                c.final_distance <= 0.01 * c.initial_distance
                    ? fmt::format("{} (default init) differs early as expected; its final weights are {:.2e} from "
                                  "numpy's.\n",
                                  stage.name, c.final_distance)
                    : fmt::format("{} (default init) starts {:.2e} from numpy's weights and has not met them by the "
                                  "end: {:.2e} apart; more samples or a larger eta let it.\n",
                                  stage.name, c.initial_distance, c.final_distance);
        }
        text += fmt::format("{:<12} {:>11.3f}  {:<19} {:<8} {}\n", stage.name, c.run->us_per_sample(),
                            is_reference ? "0 (reference)" : fmt::format("{:.3e}", c.max_scaled_deviation), verdict,
                            shown_weights(c.run->trajectory.final_weights()));
    }
    return text +
           fmt::format("\n{} of {} zero-init stages (numpy included) agree with numpy to {:g}.\n", agreeing, zero_init,
                       comparison.tolerance) +
           linear_note + failure_note +
           "max dev / scale: the largest |w - w_numpy| / max(1, |w_numpy|) over all N+1 rows; --tolerance bounds it.\n"
           "us/sample: one cold run of each stage; lmsref bench times them properly.\n";
}

// ---------------------------------------------------------------------------------------------------- JSON

Json scenario_json(const Scenario& s, std::int64_t samples, bool with_torch_seed) {
    Json json{{"N", samples}, {"M", s.taps}, {"eta", s.step_size}};
    if (s.data_from_files()) {
        json["x_file"] = s.x_file;
        json["d_file"] = s.d_file;
        json["system_known"] = s.system_known;
        if (s.system_known) {
            json["sigmav2"] = s.noise_variance;
            json["wo"] = s.wo;
        }
    } else {
        json["sigmav2"] = s.noise_variance;
        json["wo"] = s.wo;
        json["seed"] = s.seed;
        json["input"] = input_text(s);
        if (s.input_ar1) json["ar1"] = *s.input_ar1; // A in full (input shows %g)
        if (s.walk > 0) json["walk"] = s.walk;
    }
    if (with_torch_seed) json["torch_seed"] = s.linear_init_seed();
    return json;
}

std::string json_text(const Json& json) {
    // A file name that is not UTF-8 gets U+FFFD rather than an exception.
    return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string summary_json(const Comparison& comparison, const Scenario& s, const Data& data, Device device) {
    Json json{{"lmsref", lmsref_version()},        {"libtorch", libtorch_version()},
              {"device", to_string(device)},       {"scenario", scenario_json(s, data.samples())},
              {"tolerance", comparison.tolerance}, {"agrees", comparison.agrees()},
              {"stages", Json::object()}};
    for (const StageComparison& c : comparison.stages) {
        Json& stage = json["stages"][std::string(c.stage->name)];
        stage["notebook_function"] = std::string(c.stage->notebook_function);
        stage["expected_to_match_numpy"] = c.stage->starts_from_zero;
        if (!c.run) {
            stage["failure"] = c.failure;
            continue;
        }
        stage["device"] = to_string(c.run->device);
        stage["us_per_sample"] = c.run->us_per_sample();
        stage["max_abs_deviation_from_numpy"] = c.max_deviation;
        stage["max_scaled_deviation_from_numpy"] = c.max_scaled_deviation;
        stage["final_distance_from_numpy"] = c.final_distance;
        stage["within_tolerance"] = c.within(comparison.tolerance);
        stage["final_weights"] = c.run->trajectory.final_weights();
    }
    return json_text(json);
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
    if (!data.wo_path.empty()) { // --walk: the system's path, (N + 1) x len(wo)
        const std::size_t rows = data.x.size() + 1;
        Array2D path(rows, data.wo_path.size() / rows);
        path.values = data.wo_path;
        write_array(output_path(dir, "wo", format), path, format);
    }
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

// ---------------------------------------------------------------------------------------------------- family

std::string family_report(const FamilyComparison& comparison, const Scenario& scenario, const Data& data) {
    std::string text = fmt::format("lmsref family: {}\nLibTorch {} on the cpu, float64; tolerance {:g}\n\n",
                                   describe_scenario(scenario, data, false), libtorch_version(), comparison.tolerance);
    const auto line = [](const std::string& name, const std::string& part, const std::string& us,
                         const std::string& deviation, const std::string& verdict, const std::string& weights) {
        return fmt::format("{:<11} {:<50} {:>9}  {:<15} {:<9} {}\n", name, part, us, deviation, verdict, weights);
    };
    text += line("member", "PyTorch part", "us/sample", "max dev / scale", "verdict", "final weights");
    std::size_t agreeing = 0;
    std::string failures;
    for (const FamilyRun& run : comparison.members) {
        const std::string name(run.member->name);
        const std::string settings = member_settings(run.member->id, comparison.options);
        if (!run.ran()) {
            text +=
                line(name, std::string(run.member->pytorch_part), "-", "-", run.diverged ? "DIVERGED" : "FAILED", "");
            failures += run.failure + "\n";
            continue;
        }
        const bool within = run.within(comparison.tolerance);
        agreeing += within ? 1 : 0;
        text += line(name, std::string(run.member->pytorch_part), fmt::format("{:.2f}", run.us_per_sample()),
                     fmt::format("{:.3e}", run.max_scaled_deviation), within ? "ok" : "MISMATCH",
                     shown_weights(run.program.final_weights()) + (settings.empty() ? "" : "  (" + settings + ")"));
    }
    return text +
           fmt::format("\n{} of {} LibTorch programs equal their plain recursions to {:g}.\n", agreeing,
                       comparison.members.size(), comparison.tolerance) +
           failures +
           "max dev / scale: the largest |w - w_recursion| / max(1, |w_recursion|) over all N+1 rows; --tolerance "
           "bounds it.\nus/sample: one cold run of each LibTorch program; final weights: the program's.\n";
}

std::string family_json(const FamilyComparison& comparison, const Scenario& scenario, const Data& data) {
    Json json{{"lmsref", lmsref_version()},
              {"libtorch", libtorch_version()},
              {"command", "family"},
              {"scenario", scenario_json(scenario, data.samples(), false)},
              {"tolerance", comparison.tolerance},
              {"agrees", comparison.agrees()},
              {"members", Json::object()}};
    for (const FamilyRun& run : comparison.members) {
        Json& member = json["members"][std::string(run.member->name)];
        member["pytorch_part"] = std::string(run.member->pytorch_part);
        member["update"] = std::string(run.member->update);
        member["settings"] = member_settings(run.member->id, comparison.options);
        if (!run.ran()) {
            member["failure"] = run.failure;
            continue;
        }
        member["us_per_sample"] = run.us_per_sample();
        member["recursion_us_per_sample"] =
            1e6 * run.recursion_seconds / static_cast<double>(std::max<std::size_t>(1, run.recursion.y.size()));
        member["max_scaled_deviation_from_recursion"] = run.max_scaled_deviation;
        member["within_tolerance"] = run.within(comparison.tolerance);
        member["final_weights"] = run.program.final_weights();
    }
    return json_text(json);
}

void write_family(const std::string& dir, const FamilyComparison& comparison, const Scenario& scenario,
                  const Data& data, FileFormat format) {
    write_data(dir, data, format);
    for (const FamilyRun& run : comparison.members) {
        if (!run.ran()) continue;
        const std::string folder = (std::filesystem::path(dir) / std::string(run.member->name)).string();
        prepare_output_dir(folder);
        write_array(output_path(folder, "w", format), run.program.w, format);
        write_array(output_path(folder, "e", format), column(run.program.e), format);
    }
    write_file_atomically((std::filesystem::path(dir) / "summary.json").string(),
                          family_json(comparison, scenario, data));
}

bool is_output_name(const std::string& name, bool is_folder) {
    const auto is_stage = [](std::string_view text) { // a stage's or a member of the family's folder
        return std::any_of(stages().begin(), stages().end(), [&](const Stage& stage) { return stage.name == text; }) ||
               std::any_of(family().begin(), family().end(),
                           [&](const FamilyMember& member) { return member.name == text; });
    };
    if (is_folder) return is_stage(name);
    if (name.find(".tmp-") != std::string::npos) return true; // a temporary an interrupted older lmsref left
    const std::filesystem::path path(name);
    const std::string stem = path.stem().string();
    const std::string ext = lowercase_extension(name);
    static const std::vector<std::string> stems = {
        "x",       "d",         "wo",       "w",          "y",         "e", "loss", "summary", // a run's
        "gallery", "deviation", "learning",                                                    // compare's figures
        "mse",     "msd",       "meanw",    "mse_theory", "msd_theory"};                       // an ensemble's
    static const std::vector<std::string> extensions = {".npy", ".csv", ".json", ".png", ".svg", ".pdf"};
    return (std::find(stems.begin(), stems.end(), stem) != stems.end() || is_stage(stem)) &&
           std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

} // namespace lmsref
