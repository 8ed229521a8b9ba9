// An ensemble as a run: what it runs on (the plan), the run itself with the theory beside it, and every stage of the
// registry on the same realizations (`ensemble --stage all`). Reading --x/--d and reporting are report/'s.
#pragma once

#include "ensemble/ensemble.hpp"
#include "ensemble/theory.hpp"
#include "lms/bounds.hpp"
#include "lms/family.hpp"
#include "lms/stage.hpp"
#include "stages/registry.hpp"

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
    LagOne lag_one; ///< --x's lag-1 autocorrelation (zero for generated data, white by construction)
    TheoryPrediction theory;
    std::vector<std::string> notes; ///< what reading the files changed (a dtype converted to float64)
    /// The stage whose loop runs the realizations: `numpy` is the plain engine (src/ensemble/ensemble.cpp); a LibTorch
    /// stage runs batched (batched.stage = its batched function), on batched.device. `numpy` for --stage all.
    const Stage* stage = &stages().front();
    BatchedOptions batched;
    bool allow_divergence = false; ///< diverged realizations stay in the mean (check_divergence does not throw)
};

/// The theory for `stage` on the scenario: a stage that does not start from zero starts from nn::Linear's default
/// init, each weight uniform on (-1/sqrt(M), 1/sqrt(M)): E w(0) = 0, Var w_k(0) = 1/(3M), MSD(0) = ||wo_M||^2 + 1/3.
TheoryPrediction predict_for(const Scenario& scenario, double input_power, const Stage& stage);

/// The ensemble that was run, and the theory beside it.
struct EnsembleRun {
    const Stage* stage = nullptr;
    Device device = Device::cpu;
    Scenario scenario; ///< with N from the data
    EnsembleResult result;
    TheoryPrediction theory;
    SteadyStateComparison steady;
    bool input_power_measured = false; ///< the data came from files: sx2 is mean(x^2), and white input is assumed
    bool allow_divergence = false;
    LagOne lag_one; ///< the plan's
    /// The recursion that ran (EnsembleOptions::algorithm) and its settings; for a member other than lms, `theory`
    /// is member_theory.prediction (its curves only where member_theory.curves).
    FamilyId algorithm = FamilyId::lms;
    FamilyOptions family;
    MemberTheory member_theory;
    bool is_member() const { return algorithm != FamilyId::lms; }
    /// Throws RuntimeFailure when a curve is not finite (a realization overflowed float64): nothing to report; or
    /// when a realization diverged (EnsembleResult::diverged) and allow_divergence is false.
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
/// `ensemble --algorithm A,B,...`: each member of the family on the same realizations, with its theory.
struct EnsembleMemberRun {
    FamilyId algorithm = FamilyId::lms;
    std::optional<EnsembleRun> run; ///< empty when it failed (diverged)
    std::string failure;
};
/// Runs `plan` once per member, in the order given.
std::vector<EnsembleMemberRun> run_members(const EnsemblePlan& plan, const std::vector<FamilyId>& members);

/// `ensemble --stage all --algorithm A,B,...`: each member's plain recursion and its LibTorch program (`program`, the
/// LibTorch module's family_batched) on the same realizations, the program's curves against the recursion's.
struct MemberProgramRun {
    FamilyId algorithm = FamilyId::lms;
    std::optional<EnsembleRun> recursion, program; ///< empty when it failed
    std::string failure;
    /// max_j |a_j - b_j| / max_j |b_j| of each curve (the program's against the recursion's)
    double mse_difference = 0.0, msd_difference = 0.0, meanw_difference = 0.0;
    double largest_difference() const { return std::max({mse_difference, msd_difference, meanw_difference}); }
};
std::vector<MemberProgramRun> compare_member_programs(const EnsemblePlan& plan, const std::vector<FamilyId>& members,
                                                      BatchedStageFunction program);

/// "N = 500, M = 3, eta = 0.1, sigmav2 = 0.01, wo = [0.1, 0.2, 0.3]" (or the files): the run in one line.
/// most_wo > 0: at most that many values of wo (a figure's title).
std::string describe_ensemble(const EnsembleRun& run, std::size_t most_wo = 0, bool with_input = true);
/// "input ar1:A (eigenvalue spread S)" for coloured input, "" for white: describe_ensemble's last part.
std::string describe_input(const EnsembleRun& run);
/// Realization r as a user finds it again: "seed S + r" (numpy), "realization r" (philox), "column r" (files).
std::string realization_name(const EnsembleResult& result, std::int64_t r);
/// "seed 12, seed 345 and seed 678" or "seed 12, seed 345, seed 678, ..." for the first few diverged.
std::string diverged_names(const EnsembleResult& result);

} // namespace lmsref
