// What lmsref asks of LibTorch outside the stages, without its headers: the device to run on, the version, the
// threads. Implemented in stages/torch_stage.cpp, where LibTorch is included.
#pragma once

#include "scenario.hpp"

#include <string>

namespace lmsref {

/// `auto` picks CUDA when available; `cuda` without CUDA throws RuntimeFailure with the reason.
Device resolve_device(DeviceChoice choice);
/// The version of LibTorch lmsref was built against, e.g. "1.13.1".
std::string libtorch_version();
/// LibTorch's intra-op threads (at::get_num_threads), and setting them.
int torch_threads();
void set_torch_threads(int threads);

} // namespace lmsref
