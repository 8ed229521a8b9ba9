// LibTorch as a module: the stages that use it, their batched twins and the tensor tour live in a shared library
// (liblmsref_torch.so) that lmsref loads the first time a command needs it, so that the commands without LibTorch
// (numpy, data, plot, list, the plain ensemble) start in milliseconds instead of paying for its initialisation.
// The module sits beside the executable (the build tree) or in ../lib/lmsref/ (an installed tree).
#pragma once

#include "lms/batched.hpp"
#include "lms/family_updates.hpp"
#include "lms/scenario.hpp"
#include "lms/stage.hpp"

namespace lmsref {

/// What the module gives, through plain function pointers and lms's own types. `interface` must equal
/// torch_module_interface: a module built from other sources is refused rather than called.
struct TorchModule {
    int interface = 0;
    const char* libtorch_version = "";                           ///< e.g. "1.13.1"
    StageFunction (*stage)(const char* name) = nullptr;          ///< a LibTorch stage by name, or null
    BatchedStageFunction (*batched)(const char* name) = nullptr; ///< its batched twin, or null
    Device (*resolve_device)(DeviceChoice choice) = nullptr;     ///< throws RuntimeFailure for cuda without CUDA
    int (*threads)() = nullptr;                                  ///< LibTorch's intra-op threads
    void (*set_threads)(int threads) = nullptr;
    /// A member of the LMS family as its LibTorch program (stages/family_torch.hpp), on the CPU in float64; throws
    /// InputError for an unknown member, RuntimeFailure for LibTorch's errors.
    Trajectory (*family)(const char* member, const std::vector<double>& x, const std::vector<double>& d, double eta,
                         std::size_t M, const FamilyOptions& options) = nullptr;
    /// The member BatchedInput::algorithm names as its LibTorch program over a chunk of realizations.
    BatchedStageFunction family_batched = nullptr;
};
inline constexpr int torch_module_interface = 3;

/// The module, loaded on the first call (thread-safe). Throws RuntimeFailure, naming the module's path, when it is
/// missing, cannot be loaded, or was built from other sources.
const TorchModule& torch_module();
/// A symbol the module exports (extern "C"), e.g. the tour's entry; throws RuntimeFailure as torch_module() does.
void* torch_module_symbol(const char* name);

} // namespace lmsref
