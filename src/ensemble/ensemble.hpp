// The Monte Carlo ensemble: the `numpy` stage's plain LMS loop over R independent realizations, averaged into
// learning curves (MATLAB's msesim: mse, msd = tracek, meanw), on CPU threads.
//
// Realization r (0-based) runs on exactly the data of the single run `--seed S+r` (generate_data), so each one can
// be checked against `lmsref numpy` and against Python. The realizations are cut into fixed blocks of
// `ensemble_block_size`; a block sums its realizations in realization order and the blocks are added in block order.
// Threads only decide who computes which block, so the result is the same bits whatever the number of threads.
#pragma once

#include "lms/batched.hpp"
#include "lms/family_updates.hpp"
#include "lms/scenario.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace lmsref {

class Team;

/// The cores this process may run on (its affinity mask, which mpirun and taskset narrow), at least 1.
int available_cores();

/// Realizations per block. Fixed (never derived from the threads): it fixes the order of the additions.
constexpr std::int64_t ensemble_block_size = 64;

/// Where generated data come from. `numpy`: realization r is the single run `--seed S+r`, NumPy's legacy MT19937
/// stream. `philox`: Random123's Philox4x32-10, counter (sample, realization) and key (seed, tag), Box-Muller
/// (src/random/philox_data.hpp): every sample of every realization made on the spot, on the CPU or the GPU alike.
enum class Rng { numpy, philox };
/// "numpy" or "philox".
const char* to_string(Rng rng);
/// "numpy" or "philox"; throws InputError (field rng) otherwise.
Rng parse_rng(const std::string& text);
/// One line for reports: "numpy (NumPy's legacy MT19937 ...)" or "philox (Random123 Philox4x32-10, Box-Muller)".
std::string rng_description(Rng rng);

/// Fills x[0..N) and d[0..N) with realization r's signals. Called concurrently from several threads (for
/// different r), so it must be thread-safe.
using RealizationSource = std::function<void(std::int64_t realization, double* x, double* d)>;

struct EnsembleOptions {
    Scenario scenario;             ///< N, M, eta, sigmav2, wo; scenario.seed is the seed of realization 0
    std::int64_t realizations = 1; ///< R >= 1
    int threads = 0;               ///< worker threads; 0 = available_cores()
    std::int64_t decimate = 1;     ///< keep every m-th value of the curves (n = 0, m, 2m, ...), as msesim does
    Rng rng = Rng::numpy;          ///< generated data: NumPy's stream, or Philox (plain engine only)
    /// Where the plain engine runs: the CPU threads, or the CUDA kernel of src/ensemble/cuda/, one thread per
    /// realization, the same blocks added in the same order (philox data made on the GPU; numpy's, or the matrices,
    /// copied to it).
    Device device = Device::cpu;
    /// Set to true (e.g. from a SIGINT handler) to stop after the blocks in progress: the result then holds the
    /// blocks completed so far (`stopped`, `completed_realizations`). With a team of ranks, between rounds of blocks,
    /// on all ranks at once. May be null.
    const std::atomic<bool>* stop = nullptr;
    /// Called after each block is added, with the number of realizations added so far (a multiple of the block
    /// size, then R). Called from a worker thread while the engine's lock is held: keep it quick (store, or print a
    /// line at most every so often). May be empty.
    std::function<void(std::int64_t completed_realizations)> progress;
    /// Blocks each process computes per round (0: about 16 MB of block sums, at least two per thread; the CUDA kernel
    /// up to about 2 GB of block sums on the device; the batched stages take theirs from their chunk size). Changes
    /// the speed, never the bits.
    std::int64_t span = 0;
    /// The processes sharing the run (MPI's ranks, src/mpi_team.hpp), or null for this process alone. Each rank
    /// computes its share of the blocks (threads per rank as above) and the blocks are still added in block order:
    /// the same bits for any number of ranks. Every rank gets the result; only rank 0 gets progress calls.
    Team* team = nullptr;
    /// mean(d^2) of the data, for divergence_level; 0: measured on the matrices, or the model's ||wo||^2 + sigmav2
    /// for generated data and a RealizationSource; negative (or a model of 0): no scale, only a mean that is not
    /// finite diverged.
    double d_power = 0.0;
    /// The recursion each realization runs: lms (the numpy stage's loop, with the engine's fast paths and its CUDA
    /// kernel) or another member of the LMS family (lms/family_updates.hpp), one realization at a time on the CPU
    /// threads, its update the single run's (lms/family.cpp): the same bits.
    FamilyId algorithm = FamilyId::lms;
    FamilyOptions family; ///< the members' settings
};

/// A realization diverged when its steady-state mean e^2 (over the last quarter) is not finite or above
/// divergence_level(mean(d^2)) = 1e12 mean(d^2): the single runs' threshold on the weights, ||w|| beyond
/// 1e6 (||w_0|| + rms(d) / rms(x)) with w_0 = 0 (src/stages/runner.cpp), said of the error, whose size is about
/// ||w|| rms(x) once the weights are that far out.
double divergence_level(double d_power);

/// The ensemble's curves and steady-state statistics.
struct EnsembleResult {
    std::int64_t samples = 0;                ///< N
    std::int64_t taps = 0;                   ///< M
    std::int64_t realizations = 0;           ///< R asked for
    std::int64_t completed_realizations = 0; ///< R, or fewer when stopped; the curves average these
    std::int64_t decimate = 1;
    bool stopped = false; ///< the stop flag ended the run early

    /// Curves, decimated: mse[j] = mean_r e_r(j m)^2 for j m <= N - 1; msd[j] = mean_r ||w_r(j m) - wo_M||^2 and
    /// meanw row j = mean_r w_r(j m) for j m <= N (the weights have N + 1 rows). meanw is row-major, M columns.
    std::vector<double> mse;
    std::vector<double> msd;
    std::vector<double> meanw;
    std::int64_t meanw_rows() const { return taps > 0 ? static_cast<std::int64_t>(meanw.size()) / taps : 0; }
    /// The sample index of curve entry j: j * decimate.
    std::int64_t sample_of(std::int64_t j) const { return j * decimate; }

    /// Steady state: per realization, the mean of e_r(n)^2 over the last quarter of the samples
    /// (n = steady_start ... N - 1, at least one sample); over realizations, their mean and their sum of squared
    /// deviations from it (accumulated per block with Welford's update, blocks merged in block order with Chan's
    /// formula: deterministic). Computed at full resolution whatever the decimation.
    std::int64_t steady_start = 0;
    double steady_mse = 0.0; ///< mean over realizations of the per-realization last-quarter means
    double steady_m2 = 0.0;  ///< sum over realizations of (mean_r - steady_mse)^2
    /// The MSE curve's means over the window's halves, samples steady_start ... middle - 1 and middle ... N - 1
    /// (middle = steady_start + (N - steady_start) / 2), at full resolution whatever the decimation; NaN where a
    /// half is empty or unknown (a run drawn again from its files).
    double steady_half_mse[2] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
    double steady_mse_standard_error() const; ///< sqrt(steady_m2 / (R - 1) / R); 0 for R = 1

    /// Seeds of the first and last realization (generated data only).
    std::uint32_t first_seed = 0;
    std::uint32_t last_seed = 0;
    bool generated = true; ///< false when the data came from a RealizationSource or matrices
    Rng rng = Rng::numpy;  ///< the generator of generated data

    bool finite = true; ///< every curve value is finite (false: some realization diverged)
    /// Divergence: the realizations whose steady-state mean was not finite or above divergence_level, and the
    /// first few of them (realization numbers from 0, in order; at most 3).
    double divergence_level = 0.0;
    std::int64_t diverged = 0;
    std::vector<std::int64_t> first_diverged;
    /// The largest steady-state mean of one realization (NaN when one was NaN) and its realization number: when it
    /// holds a large share of the sum, the standard error does not describe the spread.
    double largest_steady = 0.0;
    std::int64_t largest_steady_realization = -1;
    /// largest_steady / (R steady_mse): the share of the mean that one realization carries.
    double largest_steady_share() const;

    int threads = 1;                 ///< threads that ran (per rank)
    int ranks = 1;                   ///< processes that shared the run (MPI ranks)
    double seconds = 0.0;            ///< wall time of the whole run, data generation included
    double kernel_seconds = 0.0;     ///< --device cuda: the CUDA kernel's own time on this rank's GPU (no copies)
    double add_kernel_seconds = 0.0; ///< and the time of the kernel that adds its blocks into the totals
    /// Wall time per realization-sample, in ns: 1e9 seconds / (completed realizations * N).
    double ns_per_realization_sample() const;
};

/// Throws InputError for a bad scenario, R < 1, decimate < 1, threads < 0, the philox rng on data that are not
/// generated or for a batched stage (`batched`: the LibTorch stages take numpy's data), and (generated data, numpy
/// rng) a last seed S + R - 1 beyond 2^32 - 1: NumPy's seeds are 32-bit, while philox's seed is one key word and r the
/// counter, so any R fits. Every run_ensemble checks this first.
void check_ensemble_options(const EnsembleOptions& options, bool generated = true, bool batched = false);

/// Whether this build has the ensemble's CUDA kernel (CMake found nvcc: LMSREF_CUDA=auto|on).
bool ensemble_cuda_built();
/// The CUDA devices the kernel sees: 0 without the kernel or without a GPU.
int ensemble_cuda_devices();

/// The ensemble on generated data: realization r uses generate_data with seed scenario.seed + r (options.rng ==
/// numpy), or Philox's data of (scenario.seed, r) (philox: src/random/philox_data.hpp, made sample by sample). Throws
/// InputError for a bad scenario, R < 1, decimate < 1, or seed + R - 1 beyond 2^32 - 1 (NumPy's seeds are 32-bit).
EnsembleResult run_ensemble(const EnsembleOptions& options);

/// The ensemble on data from `source` (options.scenario.seed is ignored; wo is only used for msd).
EnsembleResult run_ensemble(const EnsembleOptions& options, const RealizationSource& source);

/// How a batched stage (src/batched.hpp) runs the ensemble: chunks of realizations, each a whole number of blocks,
/// are generated on the threads and handed to the stage; its trajectories go into the same block sums, in the same
/// order, as the plain engine's. So the curves do not depend on the chunk size or the threads, and they equal the
/// plain engine's as far as the stage's arithmetic equals the numpy loop's.
struct BatchedOptions {
    BatchedStageFunction stage = nullptr;
    Device device = Device::cpu;
    std::int64_t chunk = 0;             ///< realizations per chunk (rounded to whole blocks); 0: see ensemble_chunk
    std::uint64_t first_torch_seed = 0; ///< `linear`: realization r starts from torch seed first_torch_seed + r
    /// A member of the LMS family whose LibTorch program `stage` runs (the module's family_batched), and its
    /// settings; lms for the notebook's stages.
    FamilyId algorithm = FamilyId::lms;
    FamilyOptions family;
};

/// The realizations per chunk: `asked` (0: as many as keep a chunk's w, (N + 1) M C doubles, within 32 MB) rounded
/// down to whole blocks, at least one block, at most R rounded up to whole blocks.
std::int64_t ensemble_chunk(std::int64_t samples, std::int64_t taps, std::int64_t realizations, std::int64_t asked);

/// The same for a stage on `device`. On CUDA with asked = 0 the chunk is sized by memory, not by the CPU's cache:
/// each chunk costs about N kernel launches whatever its size, so as many realizations as fit a quarter of the
/// host's memory (x and d, the next chunk's x and d, e and w: 8 (5 N + (N + 1) M) bytes each) and half the device's
/// (x, d, e and w, and as much again for the stage's temporaries: 16 (3 N + (N + 1) M) bytes each), in whole blocks,
/// at most R rounded up: all of R where it fits. host_bytes, device_bytes: the memory to size by; 0: this machine's
/// physical memory, and the device's free memory as the CUDA runtime tells it (2 GB where it cannot).
std::int64_t ensemble_chunk(std::int64_t samples, std::int64_t taps, std::int64_t realizations, std::int64_t asked,
                            Device device, double host_bytes = 0, double device_bytes = 0);

/// The ensemble on generated data, each chunk run by a batched stage. Checks as run_ensemble does.
EnsembleResult run_ensemble_batched(const EnsembleOptions& options, const BatchedOptions& batched);

/// The ensemble on N x R matrices (MATLAB's msesim convention: column r is realization r), stored row-major as a
/// C-order .npy holds them: element (n, r) at n * R + r. N = options.scenario.samples, R = options.realizations.
/// With `batched`, its stage runs the chunks. Throws InputError when a matrix does not hold N * R values.
EnsembleResult run_ensemble_matrices(const EnsembleOptions& options, const std::vector<double>& x,
                                     const std::vector<double>& d, const BatchedOptions* batched = nullptr);

} // namespace lmsref
