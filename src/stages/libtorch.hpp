// What lmsref asks of LibTorch outside the stages, without its headers: the device to run on, the version, the
// threads. Implemented in stages/registry.cpp, through the LibTorch module where it needs LibTorch itself.
#pragma once

#include "lms/scenario.hpp"

#include <string>

namespace lmsref {

/// `auto` picks CUDA when available; `cuda` without CUDA throws RuntimeFailure with the reason. `cpu` never loads
/// the module.
Device resolve_device(DeviceChoice choice);
/// The version of LibTorch lmsref was built against, e.g. "1.13.1" (known without loading the module).
std::string libtorch_version();
/// LibTorch's intra-op threads (at::get_num_threads), and setting them.
int torch_threads();
void set_torch_threads(int threads);

} // namespace lmsref
