// The LMS family as LibTorch programs: the notebook's `sgd` stage (lms_torch_optim) with the one part each member
// swaps, marked `// new:` where it is made (family_torch.cpp). Their trajectories equal the plain recursions of
// lms/family.hpp. This header needs no LibTorch: the programs take and return plain vectors.
#pragma once

#include "lms/family.hpp"

#include <string_view>
#include <vector>

namespace lmsref {

/// Member `member`'s LibTorch program on x and d, from w = 0, on the CPU in float64: y, e, w ((N + 1) x M) and the
/// loss per sample. Every member of family() has one; throws InputError for another name.
Trajectory run_family_torch(std::string_view member, const std::vector<double>& x, const std::vector<double>& d,
                            double eta, std::size_t M, const FamilyOptions& options);

} // namespace lmsref
