// Running stages on a scenario's data and comparing their trajectories with the `numpy` ground truth.
#pragma once

#include "lms/bounds.hpp"
#include "lms/family.hpp"
#include "lms/scenario.hpp"
#include "lms/stage.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lmsref {

struct StageRun {
    const Stage* stage = nullptr;
    Device device = Device::cpu;
    Trajectory trajectory;
    double seconds = 0.0; ///< wall time of the whole stage call

    double us_per_sample() const { return 1e6 * seconds / static_cast<double>(trajectory.y.size()); }
};

/// Runs one stage. The `numpy` stage always runs on the CPU. Throws DivergenceError when the trajectory diverged
/// (see check_divergence), RuntimeFailure when LibTorch fails.
StageRun run_stage(const Stage& stage, const Data& data, const Scenario& scenario, Device device);

/// The weights' norm that no converging filter ends beyond: 1e6 (||w_0|| + rms(d) / rms(x)). See runner.cpp.
double divergence_threshold(const Data& data, const std::vector<double>& initial_weights);

/// Throws DivergenceError, naming `stage_name`, when the trajectory's weights end beyond divergence_threshold or
/// stop being finite: it "diverged at sample i", i the first sample of that last excursion beyond the threshold.
/// One pass over the weights; runs after the stage, on what it returned.
/// The advice after it: LMS's mean-square bound on eta, or a family member's own (`member`, with its settings):
/// momentum's and nesterov's on eta / (1 - beta), nlms's (0, 2); a smaller --eta for the members without one.
void check_divergence(const std::string& stage_name, const Trajectory& trajectory, const Data& data,
                      const Scenario& scenario, const FamilyMember* member = nullptr,
                      const FamilyOptions& options = {});

struct StageComparison {
    std::optional<StageRun> run; ///< empty when the stage failed
    std::string failure;         ///< why it failed, when it did
    bool diverged = false;       ///< it failed with a DivergenceError (see check_divergence)
    const Stage* stage = nullptr;
    double max_deviation = 0.0;        ///< max |w - w_numpy| over the whole trajectory
    double max_scaled_deviation = 0.0; ///< max |w - w_numpy| / max(1, |w_numpy|): what the tolerance bounds
    double final_distance = 0.0;       ///< ||w_N - w_numpy_N||
    double initial_distance = 0.0;     ///< ||w_0 - w_numpy_0||: a random start's distance
    /// |w - w_numpy| <= tolerance * max(1, |w_numpy|) for every weight of the trajectory.
    bool within(double tolerance) const { return run && max_scaled_deviation <= tolerance; }
};

struct Comparison {
    double tolerance = 1e-12;
    std::vector<StageComparison> stages; ///< registry order, `numpy` first

    /// True when no stage failed and every stage that starts from zero is within tolerance of `numpy`.
    bool agrees() const;
    /// True when a stage failed (diverged, or LibTorch failed): a divergence is a failure, never a mismatch.
    bool failed() const;
};

/// Runs every stage on the same data and measures each trajectory against `numpy`'s.
Comparison compare_stages(const Data& data, const Scenario& scenario, Device device, double tolerance);

/// `lmsref family`: a member's LibTorch program and its plain recursion on the same data.
struct FamilyRun {
    const FamilyMember* member = nullptr;
    Trajectory program;   ///< the LibTorch program's (stages/family_torch.hpp)
    Trajectory recursion; ///< the plain recursion's (lms/family.hpp)
    double program_seconds = 0.0, recursion_seconds = 0.0;
    std::string failure; ///< why it failed (diverged, LibTorch failed); empty when it ran
    bool diverged = false;
    /// max |w - w_recursion| / max(1, |w_recursion|) over the whole trajectory (NaN where one is not finite).
    double max_scaled_deviation = 0.0;
    bool ran() const { return failure.empty(); }
    bool within(double tolerance) const { return ran() && max_scaled_deviation <= tolerance; }
    double us_per_sample() const;
};
struct FamilyComparison {
    double tolerance = 1e-12;
    FamilyOptions options;
    std::vector<FamilyRun> members;
    bool failed() const; ///< a member diverged or its program failed
    bool agrees() const; ///< every member ran and is within tolerance
};
/// Runs each member's LibTorch program (through the LibTorch module) and its recursion on the data.
FamilyComparison compare_family(const std::vector<const FamilyMember*>& members, const Data& data,
                                const Scenario& scenario, const FamilyOptions& options, double tolerance);

} // namespace lmsref
