// `lmsref ensemble`: the ensemble on the scenario's data (generated, or N x R matrices from files), what theory says
// beside it, and what the command prints, saves and draws.
#pragma once

#include "ensemble/run.hpp"
#include "io/array_io.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace lmsref {

/// Checks the options for `stage` (null: `--stage all`, every stage of the table in turn) and reads the files (x and
/// d: N x R, or N for one realization; the same shape, finite). Throws InputError.
EnsemblePlan plan_ensemble(const EnsembleOptions& options, const Stage* stage = &stages().front(),
                           const BatchedOptions& batched = {});

/// The table `ensemble --stage all` prints: stage, time, ns per realization-sample, differences, verdict.
std::string ensemble_comparison_report(const EnsembleComparison& comparison);
/// Its JSON (`--json`): the scenario, R, and per stage the time and the differences.
std::string ensemble_comparison_json(const EnsembleComparison& comparison);

/// `ensemble --algorithm A,B,...`: the scenario, then a line per member (its steady-state MSE simulated and predicted,
/// the gap, the time) and the theory each rests on.
std::string members_report(const std::vector<EnsembleMemberRun>& runs);
/// Its JSON: the scenario, R, and per member its summary.json's figures.
std::string members_json(const std::vector<EnsembleMemberRun>& runs);

/// `ensemble --stage all --algorithm A,B,...`: a line per member, its LibTorch program's curves against its
/// recursion's (max relative differences), the times, the verdict; and its JSON.
std::string member_programs_report(const std::vector<MemberProgramRun>& runs, double tolerance);
std::string member_programs_json(const std::vector<MemberProgramRun>& runs, double tolerance);

/// What `lmsref ensemble` prints: the scenario, R, the bounds, simulated and predicted steady state, the time.
std::string ensemble_report(const EnsembleRun& run);

/// summary.json of an ensemble: the parameters, R and seeds, the bounds, the prediction, the simulation, the gaps,
/// the time.
std::string ensemble_summary_json(const EnsembleRun& run);

/// Writes mse, msd, meanw, mse_theory, msd_theory (.npy or .csv) and summary.json into the empty folder `dir`; for
/// files without --wo and --sigmav2 (the system unknown) only mse, meanw and summary.json.
/// The curves are column vectors ((N + 1) x M for meanw), decimated as the run was.
void write_ensemble(const std::string& dir, const EnsembleRun& run, FileFormat format);

/// Whether `dir` holds an ensemble's output set (a summary.json written by `lmsref ensemble --out-dir`).
bool is_ensemble_output(const std::string& dir);
/// The run an ensemble output set records, enough to draw its figure again: the curves from its files, the
/// scenario, R and the steady state from summary.json, the theory computed again from them (the same numbers).
/// Throws InputError for a folder that is not a whole set.
EnsembleRun load_ensemble_run(const std::string& dir);

} // namespace lmsref
