// `lmsref ensemble`: the ensemble on the scenario's data (generated, or N x R matrices from files), what theory says
// beside it, and what the command prints, saves and draws.
#pragma once

#include "array_io.hpp"
#include "ensemble.hpp"
#include "plot.hpp"
#include "stage.hpp"
#include "theory.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace lmsref {

/// What the ensemble runs on, read and checked before any work: the theory is known from here on, so a step past
/// the bound can be warned about before the run.
struct EnsemblePlan {
    EnsembleOptions options; ///< scenario.samples and realizations set from the matrices when read from files
    /// For --x/--d: the N x R matrices, row-major (element (n, r) at n R + r); empty for generated data.
    std::vector<double> x;
    std::vector<double> d;
    /// sx2: 1 for generated data (randn), the measured mean(x^2) over every sample of every realization otherwise.
    double input_power = 1.0;
    TheoryPrediction theory;
    std::vector<std::string> notes; ///< what reading the files changed (a dtype converted to float64)
    /// The stage whose loop runs the realizations: `numpy` is the plain engine (src/ensemble.cpp); a LibTorch
    /// stage runs batched (batched.stage = its batched function), on batched.device. `numpy` for --stage all.
    const Stage* stage = &stages().front();
    BatchedOptions batched;
};

/// Checks the options for `stage` (null: `--stage all`, every stage of the table in turn) and reads the files (x and
/// d: N x R, or N for one realization; the same shape, finite). Throws InputError.
EnsemblePlan plan_ensemble(const EnsembleOptions& options, const Stage* stage = &stages().front(),
                           const BatchedOptions& batched = {});

/// The ensemble that was run, and the theory beside it.
struct EnsembleRun {
    const Stage* stage = nullptr;
    Device device = Device::cpu;
    Scenario scenario; ///< with N from the data
    EnsembleResult result;
    TheoryPrediction theory;
    SteadyStateComparison steady;
    bool input_power_measured = false; ///< the data came from files: sx2 is mean(x^2), and white input is assumed
    /// Throws RuntimeFailure when a curve is not finite (a realization overflowed float64): nothing to report.
    void check_finite() const;
};

/// Runs the plan. The matrices of a plan from files are released as the run ends.
EnsembleRun run_plan(EnsemblePlan&& plan);

/// `ensemble --stage all`: every stage on the same realizations, its curves against the plain engine's.
struct EnsembleStageRun {
    const Stage* stage = nullptr;
    std::optional<EnsembleRun> run; ///< empty when the stage failed
    std::string failure;
    /// max_j |a_j - b_j| / max_j |b_j| of each curve against the plain engine's (the infinity-norm relative error)
    double mse_difference = 0.0, msd_difference = 0.0, meanw_difference = 0.0;
    double largest_difference() const { return std::max({mse_difference, msd_difference, meanw_difference}); }
};
struct EnsembleComparison {
    std::vector<EnsembleStageRun> stages; ///< numpy (the plain engine) first
    double tolerance = 1e-12;
    Device device = Device::cpu;
    bool failed() const; ///< a stage failed (diverged, a device error)
    bool agrees() const; ///< every zero-init stage's curves within the tolerance of the plain engine's
};
/// Runs `plan` with every stage of the table: `numpy` on the plain engine, the rest batched on batched.device.
EnsembleComparison compare_ensemble_stages(const EnsemblePlan& plan, double tolerance);
/// The table `ensemble --stage all` prints: stage, time, ns per realization-sample, differences, verdict.
std::string ensemble_comparison_report(const EnsembleComparison& comparison);
/// Its JSON (`--json`): the scenario, R, and per stage the time and the differences.
std::string ensemble_comparison_json(const EnsembleComparison& comparison);

/// What `lmsref ensemble` prints: the scenario, R, the bounds, simulated and predicted steady state, the time.
std::string ensemble_report(const EnsembleRun& run);

/// summary.json of an ensemble: the parameters, R and seeds, the bounds, the prediction, the simulation, the gaps,
/// the time.
std::string ensemble_summary_json(const EnsembleRun& run);

/// Writes mse, msd, meanw, mse_theory, msd_theory (.npy or .csv) and summary.json into the empty folder `dir`.
/// The curves are column vectors ((N + 1) x M for meanw), decimated as the run was.
void write_ensemble(const std::string& dir, const EnsembleRun& run, FileFormat format);

/// The sample axis of the figure. `automatic`: a log scale when the transient (max(M, len(wo)) samples plus five of
/// theory's time constants 1 / (1 - a)) takes less than 5% of N, so that it does not shrink to a line at the left.
enum class XScale { automatic, linear, log };
/// "auto", "linear" or "log"; throws InputError otherwise.
XScale parse_x_scale(const std::string& text);

/// The figure of `ensemble --plot`: MSE in dB with the theory, J_min and the steady-state prediction; MSD in dB
/// with its theory; the mean weights with theory's and wo.
Figure ensemble_figure(const EnsembleRun& run, XScale scale = XScale::automatic);

} // namespace lmsref
