// The registry of the notebook's stages: the one table that the CLI, compare, bench, tests and plots iterate.
#pragma once

#include "batched.hpp"
#include "scenario.hpp"
#include "trajectory.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace lmsref {

/// What every stage receives: the data and the notebook's arguments (x, d, eta, M), plus where to run.
struct StageInput {
    const std::vector<double>& x;
    const std::vector<double>& d;
    double eta;
    std::int64_t M;
    std::uint64_t torch_seed; ///< seeds LibTorch's generator, for nn::Linear's default init (the `linear` stage)
    Device device;
};

using StageFunction = Trajectory (*)(const StageInput&);

struct Stage {
    std::string_view name;              ///< the subcommand
    std::string_view notebook_function; ///< its twin in the notebook
    std::string_view summary;           ///< what this stage adds, one line
    std::string_view colour;            ///< its colour in every figure, "#rrggbb"
    StageFunction run;
    bool starts_from_zero; ///< zero initial weights: the trajectory must match `numpy`
    bool uses_torch;       ///< false for the plain C++ ground truth
    /// The stage over a chunk of realizations at once (src/stages/batched/); null for `numpy`, whose ensemble is
    /// the plain engine (src/ensemble.cpp).
    BatchedStageFunction batched = nullptr;
};

/// The stages in the notebook's order, `numpy` first.
const std::vector<Stage>& stages();
/// The stage called `name`; throws InputError listing the known names.
const Stage& find_stage(std::string_view name);

// The stages as the table runs them: `numpy`'s plain loop (numpy.cpp), and the LibTorch stages, each the notebook's
// function over tensors in its own file, run through the one adapter of torch_stage.cpp.
Trajectory run_numpy(const StageInput& in);
Trajectory run_tensor(const StageInput& in);
Trajectory run_autograd(const StageInput& in);
Trajectory run_mseloss(const StageInput& in);
Trajectory run_sgd(const StageInput& in);
Trajectory run_module(const StageInput& in);
Trajectory run_linear(const StageInput& in);
Trajectory run_linear_zero(const StageInput& in);

// The LibTorch stages batched over realizations, each in src/stages/batched/<stage>.cpp beside its single-run twin,
// run through the one adapter of src/stages/batched/batched_stage.cpp.
void run_tensor_batched(const BatchedInput& in, const BatchedTrajectories& out);
void run_autograd_batched(const BatchedInput& in, const BatchedTrajectories& out);
void run_mseloss_batched(const BatchedInput& in, const BatchedTrajectories& out);
void run_sgd_batched(const BatchedInput& in, const BatchedTrajectories& out);
void run_module_batched(const BatchedInput& in, const BatchedTrajectories& out);
void run_linear_batched(const BatchedInput& in, const BatchedTrajectories& out);
void run_linear_zero_batched(const BatchedInput& in, const BatchedTrajectories& out);

} // namespace lmsref
