// The registry of the notebook's stages: the one table that the CLI, compare, bench, tests and plots iterate.
#pragma once

#include "core/array2d.hpp"
#include "lms/batched.hpp"
#include "lms/scenario.hpp"

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

/// What a stage returns: the notebook's y, e, losses and w, as plain arrays that the rest of lmsref reads.
struct Trajectory {
    std::vector<double> y;    ///< y(i) = w(i) . xM(i), N values
    std::vector<double> e;    ///< e(i) = d(i) - y(i), the a-priori error, N values
    std::vector<double> loss; ///< the stage's loss per sample (nn::MSELoss), empty where the stage has none
    Array2D w;                ///< (N+1) x M: row 0 the initial weights, row i+1 the weights after sample i

    std::vector<double> final_weights() const { return w.row(w.rows - 1); }
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
    /// the plain engine (src/ensemble/ensemble.cpp).
    BatchedStageFunction batched = nullptr;
};

} // namespace lmsref
