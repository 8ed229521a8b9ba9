// The notebook's stages over many realizations at once (`lmsref ensemble --stage S`): what a batched stage is given
// and what it returns, in plain arrays, so that the ensemble engine needs no LibTorch.
#pragma once

#include "lms/family_updates.hpp"
#include "lms/scenario.hpp"

#include <cstdint>
#include <vector>

namespace lmsref {

/// A chunk of C realizations of N samples, side by side: the realization is the last (fastest) index.
struct BatchedInput {
    std::int64_t N = 0; ///< samples
    std::int64_t M = 0; ///< taps
    std::int64_t C = 0; ///< realizations in the chunk
    double eta = 0.0;
    const double* x = nullptr; ///< N x C, row-major: sample n of realization c at n C + c
    const double* d = nullptr; ///< N x C, likewise
    /// `linear`: realization c starts from the weights nn::Linear(M, 1) draws after torch::manual_seed(
    /// first_torch_seed + c) with float64 as the default dtype, as the single run with --torch-seed T + c does.
    std::uint64_t first_torch_seed = 0;
    Device device = Device::cpu;
    /// Under mpirun, this rank's place on its host: on CUDA it runs on GPU local_rank mod the host's GPUs.
    int local_rank = 0;
    /// The LibTorch module's family_batched: the member whose program runs, and its settings.
    FamilyId algorithm = FamilyId::lms;
    FamilyOptions family;
};

/// Where a batched stage leaves every realization's a-priori error and weights: buffers that the caller owns and
/// reuses from chunk to chunk, so that their pages are faulted in once (fresh pages for hundreds of MB per chunk
/// cost as much time as the LMS arithmetic).
struct BatchedTrajectories {
    double* e = nullptr; ///< N x C: e_c(n) at n C + c
    double* w = nullptr; ///< (N + 1) x M x C: tap k of w_c(n) at (n M + k) C + c; row 0 the initial weights
};

using BatchedStageFunction = void (*)(const BatchedInput&, const BatchedTrajectories& out);

} // namespace lmsref
