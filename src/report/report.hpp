// What lmsref shows and saves: text reports, summary.json and the output files of a run.
#pragma once

#include "io/array_io.hpp"
#include "stages/runner.hpp"

#include <string>

namespace lmsref {

/// lmsref's own version, e.g. "0.1.0".
const char* lmsref_version();

/// One line: N, M, eta, sigmav2, wo and the seed, or the files the data came from; the torch seed when asked.
std::string describe_scenario(const Scenario& scenario, const Data& data, bool with_torch_seed);

/// Final weights for a table: all of them up to 6 taps, else the first 6 and the count; 9 significant digits.
std::string shown_weights(const std::vector<double>& weights);

/// What `lmsref <stage>` prints: the scenario, the final weights beside wo, ||w_N - wo||, the time per sample.
std::string stage_report(const StageRun& run, const Scenario& scenario, const Data& data);

/// What `lmsref compare` prints: one row per stage and a verdict.
std::string comparison_report(const Comparison& comparison, const Scenario& scenario, const Data& data, Device device);

/// summary.json: the parameters, the versions and every stage's figures.
std::string summary_json(const Comparison& comparison, const Scenario& scenario, const Data& data, Device device);

/// Writes w, y, e (and loss where the stage has one) into `dir` as w.npy ... or w.csv ...
void write_trajectory(const std::string& dir, const Trajectory& trajectory, FileFormat format);
/// Writes x and d into `dir`.
void write_data(const std::string& dir, const Data& data, FileFormat format);
/// Whether a file or folder of that name is one lmsref writes into an output folder (w.npy, summary.json, a stage's
/// folder, gallery.png, ...): OutputSet replaces an existing folder only when it holds nothing else.
/// `lmsref family`: a line per member (its PyTorch part, us/sample, the deviation from its recursion, the verdict,
/// the final weights), and the count that agree.
std::string family_report(const FamilyComparison& comparison, const Scenario& scenario, const Data& data);
/// Its summary.json.
std::string family_json(const FamilyComparison& comparison, const Scenario& scenario, const Data& data);
/// Writes x, d, summary.json and NAME/w, NAME/e (the LibTorch program's) into `dir`.
void write_family(const std::string& dir, const FamilyComparison& comparison, const Scenario& scenario,
                  const Data& data, FileFormat format);
bool is_output_name(const std::string& name, bool is_folder);
/// Writes what `compare --out-dir` promises into the empty folder `dir`: x, d, one folder per stage, summary.json.
void write_comparison(const std::string& dir, const Comparison& comparison, const Scenario& scenario, const Data& data,
                      Device device, FileFormat format);

} // namespace lmsref
