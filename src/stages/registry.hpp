// The registry of the notebook's stages: the one table that the CLI, compare, bench, the ensemble, the tests and the
// plots iterate. Adding a stage touches this table and its own file.
#pragma once

#include "lms/stage.hpp"

#include <string_view>
#include <vector>

namespace lmsref {

/// The stages in the notebook's order, `numpy` first. The LibTorch stages run in the LibTorch module
/// (lms/torch_module.hpp), loaded the first time one of them runs.
const std::vector<Stage>& stages();
/// The stage called `name`; throws InputError listing the known names.
const Stage& find_stage(std::string_view name);

/// The `numpy` stage (stages/numpy.cpp): the notebook's plain loop, the one stage without LibTorch.
Trajectory run_numpy(const StageInput& in);

} // namespace lmsref
