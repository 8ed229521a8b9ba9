// Running stages on a scenario's data and comparing their trajectories with the `numpy` ground truth.
#pragma once

#include "scenario.hpp"
#include "stage.hpp"

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

/// Runs one stage. The `numpy` stage always runs on the CPU. Throws DivergenceError when the weights stop being
/// finite (naming the first such sample and the stability bound), RuntimeFailure when LibTorch fails.
StageRun run_stage(const Stage& stage, const Data& data, const Scenario& scenario, Device device);

/// The LMS mean-square stability bound for white input of power `input_power`: eta < 2 / ((M + 2) input_power).
double stability_bound(std::int64_t taps, double input_power);

/// wo cut or padded with zeros to M taps: the optimum an M-tap filter converges to for white input.
std::vector<double> optimum_for_taps(const std::vector<double>& wo, std::int64_t taps);

/// The Euclidean distance between two weight vectors of the same length.
double distance(const std::vector<double>& a, const std::vector<double>& b);

struct StageComparison {
    std::optional<StageRun> run; ///< empty when the stage failed
    std::string failure;         ///< why it failed, when it did
    bool diverged = false;       ///< it failed because its weights stopped being finite
    const Stage* stage = nullptr;
    double max_deviation = 0.0;  ///< max |w - w_numpy| over the whole trajectory
    double final_distance = 0.0; ///< ||w_N - w_numpy_N||
    bool within(double tolerance) const { return run && max_deviation <= tolerance; }
};

struct Comparison {
    double tolerance = 1e-12;
    std::vector<StageComparison> stages; ///< registry order, `numpy` first

    /// True when no stage failed and every stage that starts from zero is within tolerance of `numpy`.
    bool agrees() const;
    /// True when a stage failed (diverged, or LibTorch failed).
    bool failed() const;
};

/// Runs every stage on the same data and measures each trajectory against `numpy`'s.
Comparison compare_stages(const Data& data, const Scenario& scenario, Device device, double tolerance);

} // namespace lmsref
