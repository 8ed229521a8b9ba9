#include "ensemble/ensemble.hpp"

#include "core/errors.hpp"
#include "ensemble/cuda/block_sums.hpp"
#include "ensemble/family_lanes.hpp" // the block records, shared with the kernel; no CUDA runtime
#include "ensemble/rows_avx512.hpp"
#include "ensemble/theory.hpp" // wiener_solution
#include "lms/bounds.hpp"
#include "lms/static_taps.hpp"
#include "random/legacy_gauss.hpp"
#include "random/legacy_lanes.hpp"
#include "random/philox_avx2.hpp"
#include "random/philox_avx512.hpp"
#include "random/philox_data.hpp"
#include "random/simd.hpp"
#ifdef LMSREF_HAVE_CUDA_KERNEL
#include "ensemble/cuda/ensemble_kernel.hpp"
#endif
#include "core/text.hpp"
#include "ensemble/team.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>

namespace lmsref {

double EnsembleResult::steady_mse_standard_error() const {
    if (completed_realizations < 2) return 0.0;
    const auto R = static_cast<double>(completed_realizations);
    return std::sqrt(steady_m2 / (R - 1.0) / R);
}

double EnsembleResult::largest_steady_share() const {
    const double sum = steady_mse * static_cast<double>(completed_realizations);
    return sum > 0 ? largest_steady / sum : std::numeric_limits<double>::quiet_NaN();
}

double EnsembleResult::ns_per_realization_sample() const {
    const double count = static_cast<double>(completed_realizations) * static_cast<double>(samples);
    return count > 0 ? 1e9 * seconds / count : 0.0;
}

int available_cores() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

namespace {

// One block's sums: its realizations added in realization order, each sum starting from 0.0; and each
// realization's steady-state mean, summarised at the end as the CUDA kernel does (cuda/block_sums.hpp).
struct BlockSums {
    std::vector<double> mse;                 // N: sum_r e_r(n)^2
    std::vector<double> msd;                 // N + 1: sum_r ||w_r(n) - wo_M||^2
    std::vector<double> meanw;               // (N + 1) x M: sum_r w_r(n)
    std::int64_t count = 0;                  // realizations in the block
    double steady[ensemble_block_size] = {}; // their steady-state means, in realization order

    BlockSums(std::size_t N, std::size_t M) : mse(N), msd(N + 1), meanw((N + 1) * M) {}
    void clear() {
        std::fill(mse.begin(), mse.end(), 0.0);
        std::fill(msd.begin(), msd.end(), 0.0);
        std::fill(meanw.begin(), meanw.end(), 0.0);
        count = 0;
    }
    void add_steady(double value) { steady[count++] = value; } // in realization order
};
static_assert(ensemble_block_size == cuda_kernel::block_size, "the engine's blocks are the kernel's");

// Realizations run side by side in groups of `group_size` (for M <= 8): the LMS recursion is one long chain of
// dependent operations (w -> y -> e -> w), so one realization alone leaves the CPU waiting; four independent ones
// fill the wait. Each realization's arithmetic is untouched, and every sum still takes its realizations in order.
constexpr std::size_t group_size = 4;

// NumPy's data are made eight realizations at a time where the processor has the lanes (random/legacy_lanes.hpp).
constexpr std::size_t data_group_size = legacy_lanes::lanes;

// What a group of realizations needs, allocated once per thread.
struct Workspace {
    std::vector<double> x, d, noise, wi; // x, d: data_group_size signals of N samples, one after the other (d: two
                                         // groups of rows); noise: one realization's
    std::vector<double> hist;            // --rng philox, run-time M: the K newest x values
    std::vector<double> q, path, path_M; // --walk: its normals, wo(n) ((N + 1) x len(wo)) and zero-padded to M
    LegacyGaussStream random;
    std::unique_ptr<legacy_lanes::Workspace> lanes; // made on first use
    std::vector<double> made_x, made_d;             // a member's data made eight at a time, served four at a time
    std::vector<double> rows[2];                    // eight realizations' normals, sample by sample (two sets)
    std::vector<double> lane_sums;                  // eight blocks' sums side by side (rows::add_lms_blocks)
    Workspace(std::size_t N, std::size_t M, std::size_t K = 0)
        : x(data_group_size * N), d(2 * data_group_size * N), noise(N), wi(M), hist(K) {}
};

struct Problem {
    std::size_t N = 0;
    std::size_t M = 0;
    double eta = 0.0;
    std::vector<double> wo_M;         // wo cut or zero-padded to M taps
    std::size_t steady_start = 0;     // first sample of the last quarter
    double diverged_above = 0.0;      // a steady-state mean beyond it diverged (divergence_level)
    std::size_t K = 0;                // --rng philox: max(M, len(wo)), the x values kept
    std::vector<double> wo_K;         // and wo zero-padded to K taps
    family_update::StepTables tables; // a family member's per-step constants, for N steps
};

// Row 0 of G realizations that start from w = 0: their regressors and weights zeroed, ||0 - wo_M||^2 into msd[0]
// and 0.0 into meanw's row 0, in realization order.
template <std::size_t G>
inline void start_group(std::size_t M, const double* wo_M, double* const* xM, double* const* wi, BlockSums& sums) {
    for (std::size_t g = 0; g < G; ++g) {
        double deviation = 0.0;
        for (std::size_t k = 0; k < M; ++k) {
            xM[g][k] = 0.0;
            wi[g][k] = 0.0;
            const double c = 0.0 - wo_M[k];
            deviation += c * c;
            sums.meanw[k] += 0.0;
        }
        sums.msd[0] += deviation;
    }
}

// Sample i's terms of G realizations (e2[g] = e_g(i)^2, wi[g] = w_g(i + 1)) into the block's sums, in realization
// order; steady[g] gathers the steady state's e^2. wo_M: the M weights the deviation is measured from (--walk: the
// system's row i + 1).
template <std::size_t G>
inline void add_sample(const Problem& p, std::size_t i, std::size_t M, const double* e2, double* const* wi,
                       double* steady, BlockSums& sums, const double* wo_M) {
    double* row = sums.meanw.data() + (i + 1) * M;
    for (std::size_t g = 0; g < G; ++g) {
        sums.mse[i] += e2[g];
        if (i >= p.steady_start) steady[g] += e2[g];
        double deviation = 0.0;
        for (std::size_t k = 0; k < M; ++k) {
            const double c = wi[g][k] - wo_M[k];
            deviation += c * c;
            row[k] += wi[g][k];
        }
        sums.msd[i + 1] += deviation;
    }
}

// A member of the LMS family on G realizations side by side (x and d of realization g at x + g N, d + g N;
// updates[g] its update, reset here), adding into the block's sums as it goes: the regressor newest first with zeros
// before the start, yi summed from tap 0, ei = d - yi, then the member's update (lms/family_updates.hpp), the single
// run's bits; each sum takes realization g before g + 1, as G separate calls would. StaticM > 0: M known at compile
// time (the loops unrolled, xM and wi in registers); 0: at run time.
// path: --walk's system, (N + 1) x M (G = 1), the deviation measured from its row n; null: from p.wo_M.
template <std::size_t StaticM, std::size_t G, class Update>
void add_member_group(const Problem& p, const double* x, const double* d, Update* updates, BlockSums& sums,
                      const double* path = nullptr) {
    const std::size_t N = p.N;
    const std::size_t M = StaticM > 0 ? StaticM : p.M;
    constexpr std::size_t local_taps = StaticM > 0 ? StaticM : 64;
    double xM_local[G][local_taps], wi_local[G][local_taps];
    std::vector<double> xM_heap, wi_heap; // a run-time M beyond 64 taps
    double* xM[G];
    double* wi[G];
    if (StaticM == 0 && M > local_taps) {
        xM_heap.resize(G * M);
        wi_heap.resize(G * M);
    }
    for (std::size_t g = 0; g < G; ++g) {
        xM[g] = xM_heap.empty() ? xM_local[g] : xM_heap.data() + g * M;
        wi[g] = wi_heap.empty() ? wi_local[g] : wi_heap.data() + g * M;
    }
    for (std::size_t g = 0; g < G; ++g) updates[g].reset();
    start_group<G>(M, path != nullptr ? path : p.wo_M.data(), xM, wi, sums);
    double steady[G] = {};
    for (std::size_t i = 0; i < N; ++i) {
        double e2[G];
        for (std::size_t g = 0; g < G; ++g) {
            for (std::size_t k = M - 1; k > 0; --k) xM[g][k] = xM[g][k - 1];
            xM[g][0] = x[g * N + i];
            double yi = 0.0;
            for (std::size_t k = 0; k < M; ++k) yi += wi[g][k] * xM[g][k];
            const double ei = d[g * N + i] - yi;
            updates[g].update(wi[g], xM[g], ei);
            e2[g] = ei * ei;
        }
        add_sample<G>(p, i, M, e2, wi, steady, sums, path != nullptr ? path + (i + 1) * M : p.wo_M.data());
    }
    for (std::size_t g = 0; g < G; ++g) sums.add_steady(steady[g] / static_cast<double>(N - p.steady_start));
}

// The `numpy` stage's loop (src/stages/numpy.cpp) on G realizations side by side: add_member_group with lms's
// update, wi + eta / 2 * 2 * ei * xM, the numpy stage's operations in its order, so e and w are its bits.
// StaticM > 0: M known at compile time (unrolled, xM and wi in registers); StaticM == 0: M at run time, one
// realization at a time (G = 1).
template <std::size_t StaticM, std::size_t G>
void add_group(const Problem& p, const double* x, const double* d, Workspace&, BlockSums& sums) {
    static_assert(StaticM > 0 || G == 1, "a run-time M runs one realization at a time");
    const family_update::Lms<StaticM> lms{family_update::Base<StaticM>{p.M, p.eta, FamilyOptions{}}};
    family_update::Lms<StaticM> updates[G];
    std::fill_n(updates, G, lms);
    add_member_group<StaticM, G>(p, x, d, updates, sums);
}

using GroupFunction = void (*)(const Problem&, const double*, const double*, Workspace&, BlockSums&);

struct Kernels {
    GroupFunction group = nullptr;  // group_size realizations; null for a run-time M
    GroupFunction single = nullptr; // one realization
};

template <std::size_t M> Kernels kernels_for() {
    return {add_group<M, group_size>, add_group<M, 1>};
}

Kernels kernels(std::size_t M) {
    // Small filters get loops of their own length, as in the numpy stage.
    return with_static_taps(static_cast<std::int64_t>(M), [](auto taps) -> Kernels {
        if constexpr (is_static_taps<decltype(taps)>)
            return kernels_for<decltype(taps)::value>();
        else
            return {nullptr, add_group<0, 1>};
    });
}

// A block's realizations [begin, end) of a member of the family, group_size at a time (then one by one), their data
// made into the workspace by make_data(r, count, x, d): realizations r ... r + count - 1 at x + g N, d + g N.
// philox: the problem on philox data (else null), for the lanes that make the data and run the member together.
// make_rows: null, or a maker of eight realizations as rows (make_rows(r, d, slot) makes r ... r + 7 and returns x,
// in the workspace's rows of that slot), for family_lanes::add_rows_block.
template <class MakeData, class MakeRows = std::nullptr_t>
void add_member_block(const EnsembleOptions& options, const Problem& p, std::int64_t begin, std::int64_t end,
                      Workspace& ws, BlockSums& sums, const MakeData& make_data, const philox::Problem* philox,
                      const MakeRows* make_rows = nullptr) {
    if (family_lanes::available()) { // four realizations in AVX2 lanes: the same operations, the same bits
        family_lanes::Block block;
        block.N = p.N;
        block.M = p.M;
        block.eta = p.eta;
        block.wo_M = p.wo_M.data();
        block.steady_start = p.steady_start;
        block.algorithm = options.algorithm;
        block.family = options.family;
        block.tables = &p.tables;
        block.mse = sums.mse.data();
        block.msd = sums.msd.data();
        block.meanw = sums.meanw.data();
        double steady[ensemble_block_size];
        const auto call = [](void* context, std::int64_t r, std::size_t count, double* x, double* d) {
            (*static_cast<const MakeData*>(context))(r, count, x, d);
        };
        if constexpr (!std::is_same_v<MakeRows, std::nullptr_t>) {
            if (make_rows != nullptr) {
                struct Makers {
                    const MakeData* data;
                    const MakeRows* rows;
                } makers{&make_data, make_rows};
                const auto rows = [](void* context, std::int64_t r, double* d, int slot) -> const double* {
                    return (*static_cast<Makers*>(context)->rows)(r, d, slot);
                };
                const auto data = [](void* context, std::int64_t r, std::size_t count, double* x, double* d) {
                    (*static_cast<Makers*>(context)->data)(r, count, x, d);
                };
                family_lanes::add_rows_block(block, begin, end, rows, data, &makers, ws.x.data(), ws.d.data(), steady);
                for (std::int64_t r = begin; r < end; ++r)
                    sums.add_steady(steady[r - begin] / static_cast<double>(p.N - p.steady_start));
                return;
            }
        }
        family_lanes::add_block(block, begin, end, call, const_cast<MakeData*>(&make_data), ws.x.data(), ws.d.data(),
                                steady, philox);
        for (std::int64_t r = begin; r < end; ++r)
            sums.add_steady(steady[r - begin] / static_cast<double>(p.N - p.steady_start));
        return;
    }
    with_static_taps(static_cast<std::int64_t>(p.M), [&](auto taps) {
        constexpr std::size_t StaticM = static_taps_of<decltype(taps)>;
        with_family_update<StaticM>(options.algorithm, p.M, p.eta, options.family, p.tables, [&](auto& update) {
            using Update = std::decay_t<decltype(update)>;
            static_assert(group_size == 4, "four copies of the update");
            Update updates[group_size] = {update, update, update, update};
            for (std::int64_t r = begin; r < end;) {
                const bool whole_group = end - r >= static_cast<std::int64_t>(group_size);
                const std::size_t count = whole_group ? group_size : 1;
                make_data(r, count, ws.x.data(), ws.d.data());
                if (whole_group)
                    add_member_group<StaticM, group_size>(p, ws.x.data(), ws.d.data(), updates, sums);
                else
                    add_member_group<StaticM, 1>(p, ws.x.data(), ws.d.data(), updates, sums);
                r += static_cast<std::int64_t>(count);
            }
            return 0;
        });
        return 0;
    });
}

// --rng philox: G realizations side by side, each made and run sample by sample by philox::Realization::step (the
// function the CUDA kernel calls), adding into the block's sums in realization order: the same bits as G calls of
// philox::add_realization. StaticM > 0: M = K = StaticM known at compile time (len(wo) <= M); 0: at run time, G = 1.
// Avx2 (G = 4): philox::add_four_realizations_avx2 runs the four, a lane each (src/philox_avx2.hpp), the same bits;
// Avx512 (G = 4): philox::add_lms_realizations_avx512 (src/philox_avx512.hpp), the same bits again.
template <int StaticM, std::size_t G, bool Avx2 = false, bool Avx512 = false>
void add_philox_group(const philox::Problem& p, std::uint64_t first, Workspace& ws, BlockSums& sums) {
    static_assert(StaticM > 0 || G == 1, "a run-time M runs one realization at a time");
    static_assert((!Avx2 && !Avx512) || G == 4, "the vector twins run four realizations");
    if constexpr (StaticM == 0) {
        sums.add_steady(philox::add_realization(p, first, ws.hist.data(), ws.wi.data(), sums.mse.data(),
                                                sums.msd.data(), sums.meanw.data()) /
                        static_cast<double>(p.samples - p.steady_start));
    } else {
        if constexpr (Avx2 || Avx512) { // the same, four lanes at a time
            double steady[G] = {};
            if constexpr (Avx512)
                philox::add_lms_realizations_avx512<StaticM, 4>(p, first, sums.mse.data(), sums.msd.data(),
                                                                sums.meanw.data(), steady);
            else
                philox::add_four_realizations_avx2<StaticM>(p, first, sums.mse.data(), sums.msd.data(),
                                                            sums.meanw.data(), steady);
            for (std::size_t g = 0; g < G; ++g)
                sums.add_steady(steady[g] / static_cast<double>(p.samples - p.steady_start));
            return;
        }
        constexpr int M = StaticM;
        double hist[G][M];
        double wi[G][M];
        philox::Realization<M, M> state[G];
        double* mse = sums.mse.data();
        double* msd = sums.msd.data();
        double* meanw = sums.meanw.data();
        for (std::size_t g = 0; g < G; ++g) {
            state[g] = {hist[g], wi[g]};
            msd[0] += state[g].start(p);
            for (int k = 0; k < M; ++k) meanw[k] += 0.0;
        }
        double steady[G] = {};
        for (std::int64_t n = 0; n < p.samples; ++n) {
            double e2[G], deviation[G];
            for (std::size_t g = 0; g < G; ++g) e2[g] = state[g].step(p, first + g, n, &deviation[g]);
            double* row = meanw + (n + 1) * M;
            for (std::size_t g = 0; g < G; ++g) { // the sums, in realization order
                mse[n] += e2[g];
                if (n >= p.steady_start) steady[g] += e2[g];
                msd[n + 1] += deviation[g];
                for (int k = 0; k < M; ++k) row[k] += wi[g][k];
            }
        }
        for (std::size_t g = 0; g < G; ++g)
            sums.add_steady(steady[g] / static_cast<double>(p.samples - p.steady_start));
    }
}

using PhiloxGroupFunction = void (*)(const philox::Problem&, std::uint64_t, Workspace&, BlockSums&);

struct PhiloxKernels {
    PhiloxGroupFunction group = nullptr; // group_size realizations; null for a run-time M, or len(wo) > M
    PhiloxGroupFunction single = nullptr;
};

template <int M> PhiloxKernels philox_kernels_for(bool avx2, bool avx512) {
    static_assert(group_size == 4, "the vector twins run four realizations");
    return {avx512 ? add_philox_group<M, group_size, false, true>
            : avx2 ? add_philox_group<M, group_size, true>
                   : add_philox_group<M, group_size>,
            add_philox_group<M, 1>};
}

// avx2: the groups may use the vector twins (the processor has AVX2); then AVX-512's (src/philox_avx512.hpp) where
// the processor has AVX-512 F, DQ and VL, AVX2's (src/philox_avx2.hpp) otherwise.
PhiloxKernels philox_kernels(std::size_t M, std::size_t K, bool avx2) {
    if (K != M) return {nullptr, add_philox_group<0, 1>};
    const bool avx512 = avx2 && philox::avx512_supported();
    return with_static_taps(static_cast<std::int64_t>(M), [&](auto taps) -> PhiloxKernels {
        if constexpr (is_static_taps<decltype(taps)>)
            return philox_kernels_for<decltype(taps)::value>(avx2, avx512);
        else
            return {nullptr, add_philox_group<0, 1>};
    });
}

// d = lfilter(wo, 1, x) + sqrt(sigmav2) noise, generate_data's operations (scenario.cpp): lfilter's order of
// additions (oldest tap first, from 0.0), then the noise; seed names the realization in the error.
void filter_realization(const Scenario& scenario, std::uint32_t seed, const double* x, const double* noise, double* d) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    const std::vector<double>& wo = scenario.wo;
    for (std::size_t n = 0; n < N; ++n) {
        const std::size_t newest = std::min(n, wo.size() - 1);
        double sum = 0.0;
        for (std::size_t k = newest + 1; k-- > 0;) sum += wo[k] * x[n - k];
        d[n] = sum;
    }
    const double noise_gain = std::sqrt(scenario.noise_variance);
    for (std::size_t n = 0; n < N; ++n) {
        d[n] = d[n] + noise_gain * noise[n];
        if (!std::isfinite(d[n]))
            throw InputError(Field{"wo"}, "d = lfilter(wo, 1, x) + noise overflows float64 with seed " +
                                              std::to_string(seed) + ": d[" + std::to_string(n) +
                                              "] = " + format_number(d[n], "%g") +
                                              " is its first non-finite sample; use smaller coefficients");
    }
}

// generate_data (scenario.cpp) into the workspace, without allocating: x = randn(N), d = lfilter(wo, 1, x) +
// sqrt(sigmav2) randn(N), from one generator. LegacyGaussStream draws LegacyRandom's normals, bit for bit, faster.
void generate_realization(const Scenario& scenario, std::uint32_t seed, Workspace& ws, double* x, double* d) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    const std::vector<double>& wo = scenario.wo;
    double* noise = ws.noise.data();
    ws.random.reseed(seed);
    ws.random.fill(x, N); // x = np.random.randn(N, 1)
    colour_input(scenario, x, N);
    if (scenario.walk > 0) { // --walk: the noise, the walk's normals, d from the moving system (generate_data's order)
        const std::size_t L = wo.size(), M = static_cast<std::size_t>(scenario.taps);
        ws.q.resize(N * L);
        ws.path.resize((N + 1) * L);
        ws.path_M.assign((N + 1) * M, 0.0);
        ws.random.fill(noise, N);
        ws.random.fill(ws.q.data(), N * L);
        walk_path(scenario, ws.q.data(), N, ws.path.data());
        filter_walk(ws.path.data(), L, x, noise, std::sqrt(scenario.noise_variance), N, d);
        for (std::size_t n = 0; n <= N; ++n)
            for (std::size_t k = 0; k < std::min(L, M); ++k) ws.path_M[n * M + k] = ws.path[n * L + k];
        for (std::size_t n = 0; n < N; ++n)
            if (!std::isfinite(d[n]))
                throw InputError(Field{"walk"}, "d overflows float64 with seed " + std::to_string(seed) +
                                                    ": the walk grew too far; use a smaller --walk or fewer samples");
        return;
    }
    ws.random.fill(noise, N); // np.random.randn(N), after x: a cached normal left by an odd N comes first
    filter_realization(scenario, seed, x, noise, d);
}

// How a group's eight realizations lie: realizations first, first + lane_stride, ... (1: consecutive ones;
// ensemble_block_size: one in each of eight blocks), and the next group's first is first + group_step.
struct LaneLayout {
    std::uint32_t lane_stride = 1, group_step = data_group_size;
};
constexpr LaneLayout consecutive_lanes{}, block_lanes{ensemble_block_size, 1};

// The normals of realizations first_seed + g lane_stride, g = 0 ... count - 1 (seeds wrapping as uint32; count <= 8)
// as rows (x = randn(N), then randn(N), of realization g at rows[8 n + g] and rows[8 (N + n) + g]), in the lanes.
// slot 0 or 1: which of the workspace's two buffers of rows.
double* lane_normals(std::uint32_t first_seed, std::size_t count, std::size_t N, Workspace& ws, int slot = 0,
                     LaneLayout layout = consecutive_lanes) {
    if (!ws.lanes) ws.lanes = std::make_unique<legacy_lanes::Workspace>();
    std::vector<double>& rows = ws.rows[slot];
    rows.resize((2 * N + 2) * data_group_size); // and two rows of scratch
    std::uint32_t seeds[data_group_size];
    for (std::size_t g = 0; g < count; ++g) seeds[g] = first_seed + static_cast<std::uint32_t>(g) * layout.lane_stride;
    legacy_lanes::normals(*ws.lanes, seeds, count, 2 * N, rows.data(), layout.group_step);
    return rows.data();
}

// Realizations of seeds first_seed ... first_seed + count - 1 (count <= data_group_size, the seeds wrapping as
// uint32) into x + g N and d + g N: generate_realization's bits, the normals of all of them made together in the
// lanes where the processor has them (not for --walk, whose realizations the engine runs one at a time).
void generate_realizations(const Scenario& scenario, std::uint32_t first_seed, std::size_t count, Workspace& ws,
                           double* x, double* d, bool lanes) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    if (!lanes || scenario.walk > 0) {
        for (std::size_t g = 0; g < count; ++g)
            generate_realization(scenario, first_seed + static_cast<std::uint32_t>(g), ws, x + g * N, d + g * N);
        return;
    }
    const double* rows = lane_normals(first_seed, count, N, ws);
    double* noise = ws.noise.data();
    for (std::size_t g = 0; g < count; ++g) {
        double* xg = x + g * N;
        for (std::size_t n = 0; n < N; ++n) {
            xg[n] = rows[n * data_group_size + g];
            noise[n] = rows[(N + n) * data_group_size + g];
        }
        colour_input(scenario, xg, N);
        filter_realization(scenario, first_seed + static_cast<std::uint32_t>(g), xg, noise, d + g * N);
    }
}

// Eight realizations of seeds first_seed ... first_seed + 7 (wrapping as uint32) as rows, sample n of realization g
// at x[8 n + g] and d[8 n + g] (x: the workspace's rows): generate_realization's values, the normals made in the
// lanes (legacy_lanes) and d eight realizations at a time (rows::filter_eight, AVX-512: the caller checks
// avx512_supported()). Returns x.
const double* generate_rows(const Scenario& scenario, std::uint32_t first_seed, Workspace& ws, double* d, int slot = 0,
                            LaneLayout layout = consecutive_lanes) {
    constexpr std::size_t G = data_group_size;
    const auto N = static_cast<std::size_t>(scenario.samples);
    double* x = lane_normals(first_seed, G, N, ws, slot, layout);
    const double* noise = x + G * N;
    for (std::size_t g = 0; g < G; ++g) colour_input(scenario, x + g, N, G);
    const std::vector<double>& wo = scenario.wo;
    if (rows::filter_eight(wo.data(), wo.size(), std::sqrt(scenario.noise_variance), x, noise, d, N)) return x;
    for (std::size_t g = 0; g < G; ++g) { // the first realization with a non-finite d says so, as one at a time would
        std::vector<double> xg(N), noise_g(N), dg(N);
        for (std::size_t n = 0; n < N; ++n) {
            xg[n] = x[n * G + g];
            noise_g[n] = noise[n * G + g];
        }
        filter_realization(scenario, first_seed + static_cast<std::uint32_t>(g) * layout.lane_stride, xg.data(),
                           noise_g.data(), dg.data());
    }
    throw std::logic_error("generate_rows: filter_eight saw a non-finite d that filter_realization does not");
}

constexpr std::int64_t lanes_of_blocks = data_group_size; // blocks that share the lanes in add_blocks_in_lanes

// rows::add_lms for M taps and one or two groups of eight, or null where it does not apply (M beyond 8, or no
// AVX-512).
using RowsFunction = void (*)(std::size_t, const double*, double, std::size_t, const double* const*,
                              const double* const*, double*, double*, double*, double*);
using BlockRowsFunction = void (*)(std::size_t, const double*, double, std::size_t, const double* const*,
                                   const double* const*, double*, double*);
struct RowsKernels {
    RowsFunction one = nullptr, two = nullptr; // 8 and 16 realizations
    BlockRowsFunction blocks = nullptr;        // two groups whose lanes lie in eight blocks (rows::add_lms_blocks)
};
RowsKernels rows_kernels(std::size_t M) {
#ifdef LMSREF_PHILOX_AVX512
    if (!philox::avx512_supported()) return {};
    return with_static_taps(static_cast<std::int64_t>(M), [](auto taps) -> RowsKernels {
        if constexpr (is_static_taps<decltype(taps)>) {
            constexpr int StaticM = static_cast<int>(decltype(taps)::value);
            return {rows::add_lms<StaticM, 1>, rows::add_lms<StaticM, 2>, rows::add_lms_blocks<StaticM, 2>};
        } else {
            return {};
        }
    });
#else
    (void)M;
    return {};
#endif
}

// Blocks first_block ... first_block + 7, whole, into sums[0 ... 7], realization r of block b in lane b: groups of
// eight realizations, one per block, two at a time (r and r + 1) through rows::add_lms_blocks, so that each block's
// in-order sums are vector additions. Every block's sums and steady-state means are add_lms's bits, in realization
// order, as one block at a time makes them.
void add_blocks_in_lanes(const Scenario& scenario, const Problem& p, std::int64_t first_block, Workspace& ws,
                         BlockRowsFunction kernel, BlockSums* const* sums) {
    const std::size_t N = p.N;
    const std::size_t M = p.M;
    constexpr std::size_t lanes = data_group_size;
    ws.lane_sums.assign(lanes * (N + (N + 1) * (M + 1)), 0.0);
    double steady[lanes][ensemble_block_size];
    const auto first = static_cast<std::uint32_t>(scenario.seed + first_block * ensemble_block_size);
    for (std::size_t r = 0; r < ensemble_block_size; r += 2) {
        const double* xs[2];
        const double* ds[2] = {ws.d.data(), ws.d.data() + lanes * N};
        for (int i = 0; i < 2; ++i)
            xs[i] = generate_rows(scenario, first + static_cast<std::uint32_t>(r) + static_cast<std::uint32_t>(i), ws,
                                  ws.d.data() + static_cast<std::size_t>(i) * lanes * N, i, block_lanes);
        double group_steady[2 * lanes];
        kernel(N, p.wo_M.data(), p.eta / 2 * 2, p.steady_start, xs, ds, ws.lane_sums.data(), group_steady);
        for (std::size_t i = 0; i < 2; ++i)
            for (std::size_t b = 0; b < lanes; ++b) steady[b][r + i] = group_steady[i * lanes + b];
    }
    const double* mse = ws.lane_sums.data();
    const double* msd = mse + lanes * N;
    const double* meanw = msd + lanes * (N + 1);
    for (std::size_t b = 0; b < lanes; ++b) {
        BlockSums& block = *sums[b];
        block.count = 0; // its mse, msd and meanw are written whole below
        for (std::size_t j = 0; j < N; ++j) block.mse[j] = mse[lanes * j + b];
        for (std::size_t j = 0; j <= N; ++j) block.msd[j] = msd[lanes * j + b];
        for (std::size_t j = 0; j < (N + 1) * M; ++j) block.meanw[j] = meanw[lanes * j + b];
        for (std::size_t r = 0; r < ensemble_block_size; ++r)
            block.add_steady(steady[b][r] / static_cast<double>(N - p.steady_start));
    }
}

} // namespace

const char* to_string(Rng rng) {
    return rng == Rng::philox ? "philox" : "numpy";
}

Rng parse_rng(const std::string& text) {
    static const Choice<Rng> choices[] = {{"numpy", Rng::numpy}, {"philox", Rng::philox}};
    return parse_choice(Field{"rng"}, text, "a generator", choices);
}

std::string rng_description(Rng rng) {
    return rng == Rng::philox ? "philox (Random123 Philox4x32-10, Box-Muller)"
                              : "numpy (NumPy's legacy MT19937 stream, realization r = --seed S + r)";
}

void check_ensemble_options(const EnsembleOptions& options, bool generated, bool batched) {
    validate(options.scenario);
    simd::limit(); // LMSREF_SIMD, if set, is a level the vector paths know
    if (options.realizations < 1)
        throw InputError(Field{"realizations"},
                         "" + std::to_string(options.realizations) + " is not allowed; R must be >= 1");
    if (options.decimate < 1)
        throw InputError(Field{"decimate"}, "" + std::to_string(options.decimate) + " is not allowed; m must be >= 1");
    if (options.threads < 0)
        throw InputError(Field{"threads"},
                         "" + std::to_string(options.threads) + " is not allowed; T must be >= 1 (or 0 for all cores)");
    if (options.span < 0)
        throw InputError("span: " + std::to_string(options.span) + " is not allowed; blocks per round must be >= 0");
    if (!generated && options.rng == Rng::philox)
        throw InputError(Field{"rng"}, "philox generates the data; it cannot be given with --x and --d");
    if (batched && options.rng == Rng::philox)
        throw InputError(
            "--rng: philox runs on the plain engine (--stage numpy); the LibTorch stages take numpy's data");
    if (options.algorithm != FamilyId::lms && batched)
        throw InputError(Field{"algorithm"}, "the family's members run on the plain engine (--stage numpy); the "
                                             "LibTorch stages are the notebook's LMS");
    if (options.algorithm != FamilyId::lms && options.device == Device::cuda)
        throw InputError(Field{"algorithm"}, "the CUDA kernel runs lms alone; the family's other members run on the "
                                             "CPU threads (--device cpu)");
    if (options.scenario.walk > 0) {
        const char* refused =
            !generated                       ? "the walk moves a generated system; not with --x and --d"
            : options.rng != Rng::numpy      ? "the walk's normals come from NumPy's stream; use --rng numpy"
            : options.device == Device::cuda ? "the CUDA kernel runs a fixed system; use --device cpu"
            : batched                        ? "the batched LibTorch stages run a fixed system; use --stage numpy"
            : options.scenario.wo.size() > static_cast<std::size_t>(options.scenario.taps)
                ? "the filter must see every tap that moves: give len(wo) <= M (pad wo with zeros or raise -M)"
                : nullptr;
        if (refused != nullptr) throw InputError(Field{"walk"}, refused);
    }
    if (options.scenario.input_ar1 && options.device == Device::cuda)
        throw InputError(Field{"input"}, "the CUDA kernel makes white input; coloured input runs on the CPU threads "
                                         "(--device cpu)");
    const std::uint64_t last_seed =
        static_cast<std::uint64_t>(options.scenario.seed) + static_cast<std::uint64_t>(options.realizations) - 1;
    if (generated && options.rng == Rng::numpy && last_seed > 0xffffffffULL)
        throw InputError(Field{"realizations"},
                         "the last realization's seed, " + std::to_string(options.scenario.seed) + " + " +
                             std::to_string(options.realizations) + " - 1 = " + std::to_string(last_seed) +
                             ", is beyond NumPy's largest seed 4294967295; use a smaller --seed or fewer realizations");
}

namespace {

Problem make_problem(const EnsembleOptions& options) {
    const Scenario& scenario = options.scenario;
    Problem p;
    p.N = static_cast<std::size_t>(scenario.samples);
    p.M = static_cast<std::size_t>(scenario.taps);
    p.eta = scenario.step_size;
    p.wo_M = wiener_solution(scenario); // wo cut to M; R^-1 p for coloured input
    p.steady_start = p.N - std::max<std::size_t>(1, p.N / 4);
    p.K = std::max(p.M, scenario.wo.size());
    p.wo_K.assign(p.K, 0.0);
    std::copy(scenario.wo.begin(), scenario.wo.end(), p.wo_K.begin());
    p.tables = family_update::make_step_tables(options.algorithm, p.eta, options.family, p.N,
                                               family_update::TablesFor::ensemble);
    double d_power = options.d_power;
    if (d_power == 0) { // generated data: x of unit power, d = wo * x + v
        d_power = scenario.noise_variance;
        for (double w : scenario.wo) d_power += w * w;
    }
    // No scale (d = 0): only a mean that is not finite diverged.
    p.diverged_above = d_power > 0 ? divergence_level(d_power) : std::numeric_limits<double>::infinity();
    return p;
}

// The view of the problem that philox::Realization takes (pointers into p, which must outlive it).
philox::Problem philox_problem(const Problem& p, const Scenario& scenario) {
    philox::Problem q;
    q.samples = static_cast<std::int64_t>(p.N);
    q.taps = static_cast<int>(p.M);
    q.history = static_cast<int>(p.K);
    q.step = p.eta / 2 * 2;
    q.noise_gain = std::sqrt(scenario.noise_variance);
    q.seed = scenario.seed;
    q.steady_start = static_cast<std::int64_t>(p.steady_start);
    q.diverged_above = p.diverged_above;
    q.wo_K = p.wo_K.data();
    q.wo_M = p.wo_M.data();
    if (scenario.input_ar1) {
        q.coloured = true;
        q.ar1 = *scenario.input_ar1;
        q.ar1_gain = std::sqrt(1.0 - q.ar1 * q.ar1); // colour_input's gain
    }
    return q;
}

// The totals over the blocks added so far, in block order. Between the ranks of a team they travel as one array.
struct Totals {
    std::vector<double> mse, msd, meanw;
    std::int64_t completed = 0;
    double steady_mean = 0.0, steady_m2 = 0.0;
    double largest = -1.0;                    // the largest steady-state mean (NaN above all), -1 before any
    std::int64_t largest_at = -1;             // its realization (the first, on ties)
    std::int64_t diverged = 0;                // realizations that diverged
    std::vector<std::int64_t> first_diverged; // the first cuda_kernel::steady_listed of them

    Totals(std::size_t N, std::size_t M) : mse(N, 0.0), msd(N + 1, 0.0), meanw((N + 1) * M, 0.0) {}
    void add(const BlockSums& done, double diverged_above) {
        for (std::size_t n = 0; n < mse.size(); ++n) mse[n] += done.mse[n];
        for (std::size_t n = 0; n < msd.size(); ++n) msd[n] += done.msd[n];
        for (std::size_t j = 0; j < meanw.size(); ++j) meanw[j] += done.meanw[j];
        double record[cuda_kernel::steady_record];
        cuda_kernel::block_steady(done.steady, static_cast<int>(done.count), diverged_above, record);
        add_steady(record);
    }
    // A block's steady-state record (cuda_kernel::block_steady), in block order: Chan et al.'s merge of its count,
    // mean and M2; the largest mean and the diverged realizations, numbered from the block's first realization.
    void add_steady(const double* record) {
        const auto n_a = static_cast<double>(completed);
        const double n_b = record[0];
        const double delta = record[1] - steady_mean;
        steady_mean += delta * (n_b / (n_a + n_b));
        steady_m2 += record[2] + delta * delta * (n_a * n_b / (n_a + n_b));
        if (record[4] >= 0 && (largest_at < 0 || cuda_kernel::steady_above(record[3], largest))) {
            largest = record[3];
            largest_at = completed + static_cast<std::int64_t>(record[4]);
        }
        diverged += static_cast<std::int64_t>(record[5]);
        for (int j = 0; j < cuda_kernel::steady_listed; ++j)
            if (record[6 + j] >= 0 && first_diverged.size() < cuda_kernel::steady_listed)
                first_diverged.push_back(completed + static_cast<std::int64_t>(record[6 + j]));
        completed += static_cast<std::int64_t>(n_b);
    }
    // mse, msd, meanw, then completed (exact in a double: R < 2^41), steady_mean, steady_m2, largest, largest_at,
    // diverged and first_diverged (-1 where fewer).
    void pack(std::vector<double>& out) const {
        out = mse;
        out.insert(out.end(), msd.begin(), msd.end());
        out.insert(out.end(), meanw.begin(), meanw.end());
        out.insert(out.end(), {static_cast<double>(completed), steady_mean, steady_m2, largest,
                               static_cast<double>(largest_at), static_cast<double>(diverged)});
        for (std::size_t j = 0; j < cuda_kernel::steady_listed; ++j)
            out.push_back(j < first_diverged.size() ? static_cast<double>(first_diverged[j]) : -1.0);
    }
    std::size_t packed_size() const { return mse.size() + msd.size() + meanw.size() + 6 + cuda_kernel::steady_listed; }
    void unpack(const std::vector<double>& in) {
        auto at = in.begin();
        for (std::vector<double>* part : {&mse, &msd, &meanw}) {
            std::copy_n(at, part->size(), part->begin());
            at += static_cast<std::ptrdiff_t>(part->size());
        }
        completed = static_cast<std::int64_t>(at[0]);
        steady_mean = at[1];
        steady_m2 = at[2];
        largest = at[3];
        largest_at = static_cast<std::int64_t>(at[4]);
        diverged = static_cast<std::int64_t>(at[5]);
        first_diverged.clear();
        for (int j = 0; j < cuda_kernel::steady_listed; ++j)
            if (at[6 + j] >= 0) first_diverged.push_back(static_cast<std::int64_t>(at[6 + j]));
    }
};

// The result from the totals: the means, decimated at output (the sums are kept at full resolution).
EnsembleResult finish(const EnsembleOptions& options, const Problem& p, const Totals& totals, bool generated,
                      int threads, std::chrono::steady_clock::time_point start_time) {
    const Scenario& scenario = options.scenario;
    const std::int64_t R = options.realizations;
    EnsembleResult result;
    result.samples = scenario.samples;
    result.taps = scenario.taps;
    result.realizations = R;
    result.completed_realizations = totals.completed;
    result.stopped = totals.completed < R;
    result.decimate = options.decimate;
    result.steady_start = static_cast<std::int64_t>(p.steady_start);
    result.steady_mse = totals.steady_mean;
    result.steady_m2 = totals.steady_m2;
    result.divergence_level = p.diverged_above;
    result.diverged = totals.diverged;
    result.first_diverged = totals.first_diverged;
    result.largest_steady = totals.largest;
    result.largest_steady_realization = totals.largest_at;
    result.generated = generated;
    result.rng = options.rng;
    if (generated && options.rng == Rng::philox) {
        result.first_seed = scenario.seed;
        result.last_seed = scenario.seed; // one key for all: r is in the counter
    } else if (generated) {
        result.first_seed = scenario.seed;
        result.last_seed = static_cast<std::uint32_t>(scenario.seed + (R - 1));
    }
    result.threads = threads;
    result.ranks = options.team != nullptr ? options.team->size() : 1;
    const double count = static_cast<double>(totals.completed);
    const auto m = static_cast<std::size_t>(options.decimate);
    for (std::size_t n = 0; n < p.N; n += m) result.mse.push_back(totals.mse[n] / count);
    const std::size_t middle = p.steady_start + (p.N - p.steady_start) / 2, bounds[3] = {p.steady_start, middle, p.N};
    for (int half = 0; half < 2; ++half) {
        double sum = 0.0;
        for (std::size_t n = bounds[half]; n < bounds[half + 1]; ++n) sum += totals.mse[n] / count;
        if (bounds[half + 1] > bounds[half])
            result.steady_half_mse[half] = sum / static_cast<double>(bounds[half + 1] - bounds[half]);
    }
    for (std::size_t n = 0; n <= p.N; n += m) {
        result.msd.push_back(totals.msd[n] / count);
        for (std::size_t k = 0; k < p.M; ++k) result.meanw.push_back(totals.meanw[n * p.M + k] / count);
    }
    auto all_finite = [](const std::vector<double>& v) {
        return std::all_of(v.begin(), v.end(), [](double value) { return std::isfinite(value); });
    };
    // The steady state covers every sample, also those a decimation leaves out of the curves.
    result.finite = all_finite(result.mse) && all_finite(result.msd) && all_finite(result.meanw) &&
                    std::isfinite(result.steady_mse) && std::isfinite(result.steady_m2);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    return result;
}

int thread_count(const EnsembleOptions& options, std::int64_t work_items) {
    const int threads = options.threads > 0 ? options.threads : available_cores();
    return static_cast<int>(std::clamp<std::int64_t>(threads, 1, std::max<std::int64_t>(1, work_items)));
}

// Runs body(t) for t = 0 ... threads - 1 on as many threads (the caller's the first); rethrows the first failure.
template <class Body> void on_threads(int threads, const Body& body) {
    std::exception_ptr failure;
    std::mutex mutex;
    auto guarded = [&](int t) {
        try {
            body(t);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (!failure) failure = std::current_exception();
        }
    };
    std::vector<std::thread> helpers;
    for (int t = 1; t < threads; ++t) helpers.emplace_back(guarded, t);
    guarded(0);
    for (std::thread& helper : helpers) helper.join();
    if (failure) std::rethrow_exception(failure);
}

// What one engine (CPU threads, a batched stage, the CUDA kernel) does with a span of blocks.
struct SpanWork {
    // Computes blocks [first, last), calling done(i) (never two calls at once) as block first + i is ready; done's
    // false asks it to start no further block (a stop request).
    std::function<void(std::int64_t first, std::int64_t last, const std::function<bool(std::int64_t)>& done)> compute;
    // Adds block first + i of the span just computed to the totals.
    std::function<void(std::int64_t i, Totals& totals)> add;
    // Or, when set, adds all `count` blocks of the span just computed at once, in block order (the CUDA kernel's
    // totals, added on the device); compute's done is then not called, and progress and a stop act between spans.
    std::function<void(std::int64_t count, Totals& totals)> add_span;
};

// How the blocks are shared and added; a process alone is a team of one. In round j, rank k of K computes its span
// of blocks [(j K + k) span, (j K + k + 1) span), on its threads or its GPU; then the totals travel from rank 0 to
// 1, ..., K - 1 and back to 0, each rank adding its span in block order. So every block is added in block order,
// as in one process: the same bits whatever K, the span and the threads. Alone, the blocks are added as soon as
// all before them are (progress and a stop request then act block by block); in a team, a stop request acts
// between rounds, on all ranks at once, and a failure on one rank is every rank's (Team::check). Rank 0 reports
// the progress; at the end every rank holds the totals.
void fold_blocks(const EnsembleOptions& options, std::int64_t blocks, std::int64_t span, Totals& totals,
                 const SpanWork& work) {
    Team* team = options.team != nullptr && options.team->size() > 1 ? options.team : nullptr;
    const std::int64_t K = team != nullptr ? team->size() : 1;
    const std::int64_t k = team != nullptr ? team->rank() : 0;
    const auto stop_requested = [&] {
        return options.stop != nullptr && options.stop->load(std::memory_order_relaxed);
    };
    const auto progress = [&] {
        if (options.progress && k == 0) options.progress(totals.completed);
    };
    std::vector<char> ready;
    std::vector<double> packed;
    for (std::int64_t round = 0; round * K * span < blocks; ++round) {
        const std::int64_t first = std::min(blocks, (round * K + k) * span);
        const std::int64_t count = std::min(blocks, first + span) - first;
        if (team == nullptr && work.add_span) { // the whole span at once
            work.compute(first, first + count, [](std::int64_t) { return true; });
            work.add_span(count, totals);
            progress();
            if (stop_requested()) break;
            continue;
        }
        if (team == nullptr) { // add each block once those before it are in
            ready.assign(static_cast<std::size_t>(count), 0);
            std::int64_t added = 0;
            work.compute(first, first + count, [&](std::int64_t i) {
                ready[static_cast<std::size_t>(i)] = 1;
                for (; added < count && ready[static_cast<std::size_t>(added)] != 0; ++added) {
                    work.add(added, totals);
                    progress();
                }
                return !stop_requested();
            });
            if (added < count || stop_requested()) break;
            continue;
        }
        std::exception_ptr failure;
        try {
            if (count > 0) work.compute(first, first + count, [](std::int64_t) { return true; });
        } catch (...) {
            failure = std::current_exception();
        }
        team->check(failure);
        packed.resize(totals.packed_size());
        if (k > 0) {
            team->receive(static_cast<int>(k - 1), packed.data(), packed.size());
            totals.unpack(packed);
        }
        if (work.add_span)
            work.add_span(count, totals);
        else
            for (std::int64_t i = 0; i < count; ++i) work.add(i, totals);
        totals.pack(packed);
        team->send(static_cast<int>((k + 1) % K), packed.data(), packed.size());
        if (k == 0) {
            team->receive(static_cast<int>(K - 1), packed.data(), packed.size());
            totals.unpack(packed);
            progress();
        }
        if (team->any(stop_requested())) break;
    }
    if (team == nullptr) return;
    totals.pack(packed);
    team->broadcast(0, packed.data(), packed.size());
    totals.unpack(packed);
}

// The span of blocks a rank computes at a time: `wanted`; in a team, the same on every rank, and small enough for
// every rank to get blocks.
std::int64_t agreed_span(const EnsembleOptions& options, std::int64_t wanted, std::int64_t blocks) {
    if (options.team == nullptr || options.team->size() == 1) return wanted;
    const std::int64_t K = options.team->size();
    return std::clamp<std::int64_t>(options.team->maximum(wanted), 1, (blocks + K - 1) / K);
}

// Realizations first ... first + C - 1 side by side ((n, c) at n C + c), generated (numpy) or from `source`, made on
// `workers` threads, eight realizations at a time so that each row gets a whole cache line of them.
void side_by_side(const Scenario& scenario, const RealizationSource* source, std::int64_t first, std::size_t C,
                  double* x, double* d, int workers) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    constexpr std::size_t together = data_group_size;
    const bool lanes = legacy_lanes::available();
    on_threads(workers, [&](int t) {
        Workspace ws(N, static_cast<std::size_t>(scenario.taps));
        std::vector<double> xs(together * N), ds(together * N);
        for (std::size_t c0 = static_cast<std::size_t>(t) * together; c0 < C;
             c0 += static_cast<std::size_t>(workers) * together) {
            const std::size_t count = std::min(together, C - c0);
            const std::int64_t r = first + static_cast<std::int64_t>(c0);
            if (source != nullptr)
                for (std::size_t j = 0; j < count; ++j)
                    (*source)(r + static_cast<std::int64_t>(j), xs.data() + j * N, ds.data() + j * N);
            else
                generate_realizations(scenario, static_cast<std::uint32_t>(scenario.seed + r), count, ws, xs.data(),
                                      ds.data(), lanes);
            for (std::size_t n = 0; n < N; ++n)
                for (std::size_t j = 0; j < count; ++j) {
                    x[n * C + c0 + j] = xs[j * N + n];
                    d[n * C + c0 + j] = ds[j * N + n];
                }
        }
    });
}
void side_by_side(const Scenario& scenario, const RealizationSource* source, std::int64_t first, std::size_t C,
                  std::vector<double>& x, std::vector<double>& d, int workers) {
    x.resize(static_cast<std::size_t>(scenario.samples) * C);
    d.resize(static_cast<std::size_t>(scenario.samples) * C);
    side_by_side(scenario, source, first, C, x.data(), d.data(), workers);
}

// --device cuda: the kernel of src/ensemble/cuda/ runs the blocks of a span in one launch, on the data it makes itself
// (philox) or on numpy's data made here on the threads into one of the run's two pinned slots: while the GPU copies
// and runs a span, the threads make the next one's data into the other. A span's block sums stay on the device
// (about 2 GB at most; on numpy's data a slot's x and d take at most about 1 GB), where a second kernel adds them
// into the totals in block order, as Totals::add does on the CPU. So the curves differ from the CPU's only where the
// GPU's log, sin and cos round differently (philox), and not at all on numpy's data. The device and pinned buffers
// are allocated once per run.
EnsembleResult run_cuda(const EnsembleOptions& options, const RealizationSource* source) {
    const auto start_time = std::chrono::steady_clock::now();
    const Scenario& scenario = options.scenario;
    const Problem p = make_problem(options);
    const philox::Problem q = philox_problem(p, scenario);
    const std::int64_t R = options.realizations;
    const std::int64_t blocks = (R + ensemble_block_size - 1) / ensemble_block_size;
    Totals totals(p.N, p.M);
    double kernel_seconds = 0.0, add_seconds = 0.0;
    const int threads = thread_count(options, R);
#ifdef LMSREF_HAVE_CUDA_KERNEL
    static_assert(cuda_kernel::block_size == ensemble_block_size, "one CUDA block is one engine block");
    char message[512] = "";
    const int devices = cuda_kernel::device_count(message, sizeof message);
    if (devices == 0)
        throw RuntimeFailure(std::string("--device cuda: no CUDA device for the ensemble kernel (") + message +
                             "); use --device cpu");
    const int device = options.team != nullptr ? options.team->local_rank() % devices : 0;
    const std::size_t values = cuda_kernel::row_values(q.samples, q.taps);
    const bool philox_data = options.rng == Rng::philox && source == nullptr;
    const double row_bytes = 8.0 * static_cast<double>(values);
    const double data_bytes = philox_data ? 0.0 : 16.0 * static_cast<double>(p.N * ensemble_block_size);
    const auto wanted = static_cast<std::int64_t>(std::min(2e9 / row_bytes, data_bytes > 0 ? 1e9 / data_bytes : 1e18));
    const std::int64_t span =
        agreed_span(options, std::clamp<std::int64_t>(options.span > 0 ? options.span : wanted, 1, blocks), blocks);
    const std::int64_t stride = span * (options.team != nullptr ? options.team->size() : 1); // to this rank's next
    const std::unique_ptr<cuda_kernel::Run, void (*)(cuda_kernel::Run*)> run(
        cuda_kernel::open_run(q, R, std::min(span, blocks), !philox_data, device, message, sizeof message),
        cuda_kernel::close_run);
    if (run == nullptr) throw RuntimeFailure(std::string("--device cuda: ") + message);
    std::vector<double> total_rows(values), steady(cuda_kernel::steady_record * static_cast<std::size_t>(span));
    int slot = 0; // numpy's data: the slot of the span computed next
    const auto make_data = [&](std::int64_t first, int into, int workers) {
        const std::int64_t first_realization = first * ensemble_block_size;
        const auto C = static_cast<std::size_t>(std::min(R, std::min(blocks, first + span) * ensemble_block_size) -
                                                first_realization);
        side_by_side(scenario, source, first_realization, C, cuda_kernel::run_x(run.get(), into),
                     cuda_kernel::run_d(run.get(), into), workers);
    };
    // The data of block `ahead_block`'s span, made into the other slot while the GPU runs; declared after what it
    // uses, so that it is waited for before they go.
    std::future<void> ahead;
    std::int64_t ahead_block = -1;
    SpanWork work;
    work.compute = [&](std::int64_t first, std::int64_t last, const std::function<bool(std::int64_t)>&) {
        if (!philox_data) {
            if (ahead_block == first) { // its failure (a --wo that overflows) is this run's
                ahead_block = -1;
                ahead.get();
            } else {
                make_data(first, slot, threads);
            }
        }
        if (cuda_kernel::run_span(run.get(), first, last - first, slot, message, sizeof message) != 0)
            throw RuntimeFailure(std::string("--device cuda: ") + message);
        const std::int64_t next = first + stride;
        if (!philox_data && next < blocks) { // add_span waits for the GPU without spinning: every thread makes data
            ahead_block = next;
            ahead = std::async(std::launch::async, [&, next, into = slot ^ 1] { make_data(next, into, threads); });
            slot ^= 1;
        }
    };
    work.add_span = [&](std::int64_t count, Totals& into) {
        if (count == 0) return;
        cuda_kernel::curves_to_rows(into.mse.data(), into.msd.data(), into.meanw.data(), q.samples, q.taps,
                                    total_rows.data());
        if (cuda_kernel::add_span(run.get(), total_rows.data(), steady.data(), &kernel_seconds, &add_seconds, message,
                                  sizeof message) != 0)
            throw RuntimeFailure(std::string("--device cuda: ") + message);
        cuda_kernel::rows_to_curves(total_rows.data(), q.samples, q.taps, into.mse.data(), into.msd.data(),
                                    into.meanw.data());
        for (std::int64_t i = 0; i < count; ++i) {
            into.add_steady(steady.data() + cuda_kernel::steady_record * static_cast<std::size_t>(i));
        }
    };
    fold_blocks(options, blocks, span, totals, work);
#else
    (void)q;
    (void)blocks;
    throw RuntimeFailure("--device cuda: this build has no CUDA kernel for the ensemble (configure with nvcc on PATH "
                         "and LMSREF_CUDA=auto or on); use --device cpu");
#endif
    EnsembleResult result = finish(options, p, totals, source == nullptr, threads, start_time);
    result.kernel_seconds = kernel_seconds;
    result.add_kernel_seconds = add_seconds;
    return result;
}

EnsembleResult run(const EnsembleOptions& options, const RealizationSource* source) {
    check_ensemble_options(options, source == nullptr);
    if (options.device == Device::cuda) return run_cuda(options, source);
    const auto start_time = std::chrono::steady_clock::now();
    const Scenario& scenario = options.scenario;
    const Problem p = make_problem(options);
    const std::size_t N = p.N;
    const std::size_t M = p.M;

    const std::int64_t R = options.realizations;
    const std::int64_t blocks = (R + ensemble_block_size - 1) / ensemble_block_size;
    const int threads = thread_count(options, blocks);
    const Kernels kernel = kernels(M);
    const bool use_philox = source == nullptr && options.rng == Rng::philox;
    const philox::Problem philox_p = philox_problem(p, scenario);
    const PhiloxKernels philox_kernel = philox_kernels(M, p.K, use_philox && philox::avx2_supported());
    // The family's members on philox data: its vector twins make four realizations' signals at a time.
    // Coloured input: the fused lms kernels make white input, so the members' path runs every realization (lms
    // too), on philox::signals and its vector twins, which filter x.
    const bool coloured = scenario.input_ar1.has_value();
    const int philox_vectors = !use_philox ? 0 : philox::avx512_supported() ? 512 : philox::avx2_supported() ? 256 : 0;
    const bool member_path = options.algorithm != FamilyId::lms || (use_philox && coloured);
    const bool walking = scenario.walk > 0; // numpy's data (check_ensemble_options)
    const bool numpy_lanes = !use_philox && source == nullptr && legacy_lanes::available();
    const RowsKernels rows_lms = numpy_lanes && !member_path ? rows_kernels(M) : RowsKernels{};
    const bool numpy_rows = numpy_lanes && philox::avx512_supported(); // generate_rows runs (rows::filter_eight)

    // Block k of the span goes to sums[k]. A span of about 16 MB of sums, and at least two blocks per thread so
    // that a fast thread can run ahead.
    const double block_bytes = 8.0 * static_cast<double>(N + (N + 1) * (M + 1));
    const std::int64_t automatic_span = std::max<std::int64_t>(
        2 * threads, std::min<std::int64_t>(1024, static_cast<std::int64_t>(16e6 / block_bytes)));
    const std::int64_t span = agreed_span(options, options.span > 0 ? options.span : automatic_span, blocks);
    // Block first + i's sums at sums_of[i] from its start until it is added; then its memory holds another block's.
    // So only the blocks in flight (at most a span) hold memory, and little of it is touched for the first time.
    std::vector<std::unique_ptr<BlockSums>> made_sums;
    std::vector<BlockSums*> free_sums, sums_of;
    SpanWork work;
    work.compute = [&](std::int64_t first, std::int64_t last, const std::function<bool(std::int64_t)>& done) {
        sums_of.assign(static_cast<std::size_t>(last - first), nullptr);
        std::int64_t next = first; // the next block to start
        bool go_on = true;
        std::mutex mutex;
        on_threads(static_cast<int>(std::min<std::int64_t>(threads, last - first)), [&](int) {
            Workspace ws(use_philox && !member_path ? 0 : N, M, p.K);
            if (member_path && numpy_lanes) {
                ws.made_x.resize(data_group_size * N);
                ws.made_d.resize(data_group_size * N);
            }
            for (;;) {
                std::int64_t block = 0, claimed = 1;
                BlockSums* claimed_sums[lanes_of_blocks] = {};
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!go_on || next >= last) return;
                    block = next;
                    // Eight whole blocks at once where their realizations can share the lanes, one per block.
                    if (rows_lms.blocks != nullptr && !walking && next + lanes_of_blocks <= last &&
                        (next + lanes_of_blocks) * ensemble_block_size <= R)
                        claimed = lanes_of_blocks;
                    next += claimed;
                    for (std::int64_t i = 0; i < claimed; ++i) {
                        if (free_sums.empty()) {
                            made_sums.push_back(std::make_unique<BlockSums>(N, M));
                            free_sums.push_back(made_sums.back().get());
                        }
                        claimed_sums[i] = free_sums.back();
                        free_sums.pop_back();
                        sums_of[static_cast<std::size_t>(block + i - first)] = claimed_sums[i];
                    }
                }
                if (claimed == lanes_of_blocks) {
                    add_blocks_in_lanes(scenario, p, block, ws, rows_lms.blocks, claimed_sums);
                    std::lock_guard<std::mutex> lock(mutex);
                    for (std::int64_t i = 0; i < claimed; ++i)
                        if (!done(block + i - first)) go_on = false;
                    continue;
                }
                BlockSums& block_sums = *claimed_sums[0];
                block_sums.clear();
                const std::int64_t begin = block * ensemble_block_size;
                const std::int64_t end = std::min(R, begin + ensemble_block_size);
                if (walking) { // --walk: a realization at a time, its deviation from its own moving system
                    with_family_update(options.algorithm, M, p.eta, options.family, p.tables, [&](auto& update) {
                        using Update = std::decay_t<decltype(update)>;
                        for (std::int64_t r = begin; r < end; ++r) {
                            generate_realization(scenario, static_cast<std::uint32_t>(scenario.seed + r), ws,
                                                 ws.x.data(), ws.d.data());
                            Update one[1] = {update};
                            add_member_group<0, 1>(p, ws.x.data(), ws.d.data(), one, block_sums, ws.path_M.data());
                        }
                        return 0;
                    });
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!done(block - first)) go_on = false;
                    continue;
                }
                if (member_path) { // a member of the family (or lms on coloured philox data)
                    std::int64_t made_first = 0, made_end = 0; // numpy's lanes: realizations made ahead
                    const auto make_data = [&](std::int64_t r0, std::size_t count, double* x, double* d) {
                        const auto r = static_cast<std::uint64_t>(r0);
                        if (use_philox && count == 4 && philox_vectors == 512)
                            return philox::signals_four_avx512(philox_p, r, x, d, N);
                        if (use_philox && count == 4 && philox_vectors == 256)
                            return philox::signals_four_avx2(philox_p, r, x, d, N);
                        if (numpy_lanes) { // eight at a time into ws.made_x, ws.made_d, served four at a time
                            if (r0 < made_first || r0 + static_cast<std::int64_t>(count) > made_end) {
                                made_first = r0;
                                made_end = std::min(end, r0 + static_cast<std::int64_t>(data_group_size));
                                generate_realizations(scenario, static_cast<std::uint32_t>(scenario.seed + r0),
                                                      static_cast<std::size_t>(made_end - r0), ws, ws.made_x.data(),
                                                      ws.made_d.data(), true);
                            }
                            const auto offset = static_cast<std::size_t>(r0 - made_first) * N;
                            std::copy_n(ws.made_x.data() + offset, count * N, x);
                            std::copy_n(ws.made_d.data() + offset, count * N, d);
                            return;
                        }
                        for (std::size_t g = 0; g < count; ++g, x += N, d += N)
                            if (use_philox)
                                philox::signals(philox_p, r + g, ws.hist.data(), x, d);
                            else if (source != nullptr)
                                (*source)(r0 + static_cast<std::int64_t>(g), x, d);
                            else
                                generate_realization(scenario,
                                                     static_cast<std::uint32_t>(scenario.seed + r0) +
                                                         static_cast<std::uint32_t>(g),
                                                     ws, x, d);
                    };
                    const auto make_rows = [&](std::int64_t r, double* d, int slot) {
                        return generate_rows(scenario, static_cast<std::uint32_t>(scenario.seed + r), ws, d, slot);
                    };
                    add_member_block(options, p, begin, end, ws, block_sums, make_data,
                                     use_philox && !coloured ? &philox_p : nullptr, numpy_rows ? &make_rows : nullptr);
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!done(block - first)) go_on = false;
                    continue;
                }
                for (std::int64_t r = begin; use_philox && r < end;) {
                    const bool whole_group =
                        philox_kernel.group != nullptr && end - r >= static_cast<std::int64_t>(group_size);
                    (whole_group ? philox_kernel.group : philox_kernel.single)(philox_p, static_cast<std::uint64_t>(r),
                                                                               ws, block_sums);
                    r += whole_group ? static_cast<std::int64_t>(group_size) : 1;
                }
                for (std::int64_t r = begin; !use_philox && r < end;) { // up to eight realizations' data, then
                    const auto made = static_cast<std::size_t>(         // their groups of four and the rest one by one
                        std::min<std::int64_t>(data_group_size, end - r));
                    if (rows_lms.one != nullptr && made == data_group_size) { // 8 or 16 in the lanes
                        const bool two = end - r >= static_cast<std::int64_t>(2 * data_group_size);
                        const double* xs[2] = {};
                        const double* ds[2] = {ws.d.data(), ws.d.data() + data_group_size * N};
                        for (int i = 0; i < (two ? 2 : 1); ++i) {
                            const std::int64_t group_first = r + i * static_cast<std::int64_t>(data_group_size);
                            xs[i] = generate_rows(scenario, static_cast<std::uint32_t>(scenario.seed + group_first), ws,
                                                  ws.d.data() + static_cast<std::size_t>(i) * data_group_size * N, i);
                        }
                        double steady[2 * data_group_size];
                        (two ? rows_lms.two : rows_lms.one)(N, p.wo_M.data(), p.eta / 2 * 2, p.steady_start, xs, ds,
                                                            block_sums.mse.data(), block_sums.msd.data(),
                                                            block_sums.meanw.data(), steady);
                        const std::size_t count = (two ? 2 : 1) * data_group_size;
                        for (std::size_t g = 0; g < count; ++g)
                            block_sums.add_steady(steady[g] / static_cast<double>(N - p.steady_start));
                        r += static_cast<std::int64_t>(count);
                        continue;
                    }
                    if (source != nullptr)
                        for (std::size_t g = 0; g < made; ++g)
                            (*source)(r + static_cast<std::int64_t>(g), ws.x.data() + g * N, ws.d.data() + g * N);
                    else
                        generate_realizations(scenario, static_cast<std::uint32_t>(scenario.seed + r), made, ws,
                                              ws.x.data(), ws.d.data(), numpy_lanes);
                    for (std::size_t g = 0; g < made;) {
                        const bool whole_group = kernel.group != nullptr && made - g >= group_size;
                        (whole_group ? kernel.group : kernel.single)(p, ws.x.data() + g * N, ws.d.data() + g * N, ws,
                                                                     block_sums);
                        g += whole_group ? group_size : 1;
                    }
                    r += static_cast<std::int64_t>(made);
                }
                std::lock_guard<std::mutex> lock(mutex);
                if (!done(block - first)) go_on = false;
            }
        });
    };
    work.add = [&](std::int64_t i, Totals& totals) { // under compute's lock, or after it
        BlockSums*& added = sums_of[static_cast<std::size_t>(i)];
        totals.add(*added, p.diverged_above);
        free_sums.push_back(added);
        added = nullptr;
    };
    Totals totals(N, M);
    fold_blocks(options, blocks, span, totals, work);
    return finish(options, p, totals, source == nullptr, threads, start_time);
}

// The trajectories of a chunk's realizations (C of them), computed elsewhere (a batched stage; e at e[n C + c],
// tap k of w(n) at w[(n M + k) C + c]), added into the sums of blocks [first_block, last_block) of the chunk, row
// by row (the rows are far apart in memory; a row is read from end to end). Every sum still takes its block's
// realizations in order, each one's terms as add_group makes them, so the sums are add_group's bits.
void add_trajectories(const Problem& p, const double* e, const double* w, std::size_t C, std::size_t first_block,
                      std::size_t last_block, std::vector<BlockSums>& sums) {
    const std::size_t N = p.N;
    const std::size_t M = p.M;
    const double* wo_M = p.wo_M.data();
    const std::size_t first = first_block * ensemble_block_size;
    const std::size_t last = std::min(C, last_block * ensemble_block_size);
    std::vector<double> steady(last - first, 0.0);
    std::vector<double> mean_row(M); // a row's sums, apart from the block's arrays so that they stay in registers
    for (std::size_t n = 0; n <= N; ++n) {
        const double* weights = w + n * M * C;
        const double* errors = n > 0 ? e + (n - 1) * C : nullptr;
        for (std::size_t b = first_block; b < last_block; ++b) {
            BlockSums& block = sums[b];
            const std::size_t begin = b * ensemble_block_size;
            const std::size_t end = std::min(C, begin + ensemble_block_size);
            if (errors != nullptr) {
                double mse = block.mse[n - 1];
                for (std::size_t c = begin; c < end; ++c) mse += errors[c] * errors[c];
                block.mse[n - 1] = mse;
                if (n - 1 >= p.steady_start)
                    for (std::size_t c = begin; c < end; ++c) steady[c - first] += errors[c] * errors[c];
            }
            std::copy_n(block.meanw.data() + n * M, M, mean_row.data());
            double msd = block.msd[n];
            for (std::size_t c = begin; c < end; ++c) {
                double deviation = 0.0;
                for (std::size_t k = 0; k < M; ++k) {
                    const double wk = weights[k * C + c];
                    const double d = wk - wo_M[k];
                    deviation += d * d;
                    mean_row[k] += wk;
                }
                msd += deviation;
            }
            block.msd[n] = msd;
            std::copy_n(mean_row.data(), M, block.meanw.data() + n * M);
        }
    }
    for (std::size_t c = first; c < last; ++c)
        sums[c / ensemble_block_size].add_steady(steady[c - first] / static_cast<double>(N - p.steady_start));
}

EnsembleResult run_batched(const EnsembleOptions& options, const BatchedOptions& batched,
                           const RealizationSource* source) {
    check_ensemble_options(options, source == nullptr, true);
    if (batched.stage == nullptr) throw InputError(Field{"stage"}, "this stage has no batched form");
    const auto start_time = std::chrono::steady_clock::now();
    const Scenario& scenario = options.scenario;
    const Problem p = make_problem(options);
    const std::size_t N = p.N;
    const std::size_t M = p.M;
    const std::int64_t R = options.realizations;
    const std::int64_t chunk = ensemble_chunk(scenario.samples, scenario.taps, R, batched.chunk, batched.device);
    const std::int64_t blocks = (R + ensemble_block_size - 1) / ensemble_block_size;
    const std::int64_t span = agreed_span(options, chunk / ensemble_block_size, blocks); // a chunk: a span of blocks
    const std::int64_t stride = span * (options.team != nullptr ? options.team->size() : 1); // to this rank's next
    const int threads = thread_count(options, R);

    // Buffers allocated once and reused: two pairs of x and d (the next chunk's data is made on the other threads
    // while the stage runs this one's), e and w out, the chunk's block sums.
    std::vector<double> x, d, next_x, next_d;
    std::vector<double> e(N * static_cast<std::size_t>(chunk)), w((N + 1) * M * static_cast<std::size_t>(chunk));
    std::vector<BlockSums> sums;
    std::future<void> ahead; // the data of block `ahead_block`'s chunk, made while the stage runs
    std::int64_t ahead_block = -1;
    const auto realizations = [&](std::int64_t first, std::int64_t last) {
        return std::min(R, last * ensemble_block_size) - first * ensemble_block_size;
    };
    SpanWork work;
    work.compute = [&](std::int64_t first, std::int64_t last, const std::function<bool(std::int64_t)>& done) {
        const auto C = static_cast<std::size_t>(realizations(first, last));
        if (ahead_block == first) { // its failure (a --wo that overflows) is this run's
            ahead_block = -1;
            ahead.get();
            std::swap(x, next_x);
            std::swap(d, next_d);
        } else {
            side_by_side(scenario, source, first * ensemble_block_size, C, x, d, threads);
        }
        const std::int64_t next = first + stride;
        if (threads > 1 && next < blocks) { // with one thread the next chunk is made when its turn comes
            ahead_block = next;
            ahead = std::async(std::launch::async, [&, next] {
                side_by_side(scenario, source, next * ensemble_block_size,
                             static_cast<std::size_t>(realizations(next, std::min(blocks, next + span))), next_x,
                             next_d, threads - 1);
            });
        }
        BatchedInput in;
        in.N = scenario.samples;
        in.M = scenario.taps;
        in.C = static_cast<std::int64_t>(C);
        in.eta = scenario.step_size;
        in.x = x.data();
        in.d = d.data();
        in.first_torch_seed = batched.first_torch_seed + static_cast<std::uint64_t>(first * ensemble_block_size);
        in.device = batched.device;
        in.local_rank = options.team != nullptr ? options.team->local_rank() : 0;
        in.algorithm = batched.algorithm;
        in.family = batched.family;
        batched.stage(in, BatchedTrajectories{e.data(), w.data()});
        // Its blocks' sums on the threads (each block in realization order), then added in block order.
        const auto count = static_cast<std::size_t>(last - first);
        sums.assign(count, BlockSums(N, M));
        const auto parts = std::min<std::size_t>(count, static_cast<std::size_t>(threads));
        on_threads(static_cast<int>(parts), [&](int t) { // thread t: a contiguous range of the blocks
            const auto part = static_cast<std::size_t>(t);
            add_trajectories(p, e.data(), w.data(), C, count * part / parts, count * (part + 1) / parts, sums);
        });
        for (std::size_t i = 0; i < count;) // every block is ready: hand them over in order until a stop
            if (!done(static_cast<std::int64_t>(i++))) break;
    };
    work.add = [&](std::int64_t i, Totals& totals) { totals.add(sums[static_cast<std::size_t>(i)], p.diverged_above); };
    Totals totals(N, M);
    fold_blocks(options, blocks, span, totals, work);
    return finish(options, p, totals, source == nullptr, threads, start_time);
}

} // namespace

EnsembleResult run_ensemble(const EnsembleOptions& options) {
    return run(options, nullptr);
}

bool ensemble_cuda_built() {
#ifdef LMSREF_HAVE_CUDA_KERNEL
    return true;
#else
    return false;
#endif
}

int ensemble_cuda_devices() {
#ifdef LMSREF_HAVE_CUDA_KERNEL
    char message[256] = "";
    return cuda_kernel::device_count(message, sizeof message);
#else
    return 0;
#endif
}

std::int64_t ensemble_chunk(std::int64_t samples, std::int64_t taps, std::int64_t realizations, std::int64_t asked) {
    const std::int64_t whole = (realizations + ensemble_block_size - 1) / ensemble_block_size * ensemble_block_size;
    std::int64_t chunk = asked;
    if (chunk <= 0) { // the largest array of a chunk, w, within 32 MB (see BatchedOptions::chunk)
        const double bytes_per_realization = 8.0 * static_cast<double>(samples + 1) * static_cast<double>(taps);
        chunk = static_cast<std::int64_t>(32e6 / bytes_per_realization);
    }
    chunk = std::max(ensemble_block_size, chunk / ensemble_block_size * ensemble_block_size);
    return std::min(chunk, whole);
}

std::int64_t ensemble_chunk(std::int64_t samples, std::int64_t taps, std::int64_t realizations, std::int64_t asked,
                            Device device, double host_bytes, double device_bytes) {
    if (device != Device::cuda || asked > 0) return ensemble_chunk(samples, taps, realizations, asked);
    if (host_bytes <= 0)
        host_bytes = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
    if (device_bytes <= 0) {
        device_bytes = 2e9;
#ifdef LMSREF_HAVE_CUDA_KERNEL
        std::size_t free_bytes = 0, total_bytes = 0;
        if (cuda_kernel::device_memory(0, &free_bytes, &total_bytes) == 0)
            device_bytes = static_cast<double>(free_bytes);
#endif
    }
    const auto N = static_cast<double>(samples);
    const auto M = static_cast<double>(taps);
    const double on_host = host_bytes / 4 / (8 * (5 * N + (N + 1) * M));
    const double on_device = device_bytes / 2 / (16 * (3 * N + (N + 1) * M));
    const double whole = static_cast<double>((realizations + ensemble_block_size - 1) / ensemble_block_size) *
                         static_cast<double>(ensemble_block_size);
    return ensemble_chunk(samples, taps, realizations,
                          static_cast<std::int64_t>(std::max(1.0, std::min({on_host, on_device, whole}))));
}

EnsembleResult run_ensemble_batched(const EnsembleOptions& options, const BatchedOptions& batched) {
    return run_batched(options, batched, nullptr);
}

EnsembleResult run_ensemble(const EnsembleOptions& options, const RealizationSource& source) {
    return run(options, &source);
}

EnsembleResult run_ensemble_matrices(const EnsembleOptions& options, const std::vector<double>& x,
                                     const std::vector<double>& d, const BatchedOptions* batched) {
    check_ensemble_options(options, false, batched != nullptr);
    const auto N = static_cast<std::size_t>(options.scenario.samples);
    const auto R = static_cast<std::size_t>(options.realizations);
    for (const auto* signal : {&x, &d})
        if (signal->size() != N * R)
            throw InputError(Field{signal == &x ? "x" : "d"}, "holds " + std::to_string(signal->size()) +
                                                                  " values, not N x R = " + std::to_string(N) + " x " +
                                                                  std::to_string(R));
    EnsembleOptions measured = options;
    if (measured.d_power == 0) {
        double sum = 0.0;
        for (double value : d) sum += value * value;
        measured.d_power = sum / static_cast<double>(d.size());
        if (!(measured.d_power > 0)) measured.d_power = -1.0; // d = 0: no scale, never the model's
    }
    const RealizationSource columns = [&](std::int64_t r, double* x_out, double* d_out) {
        for (std::size_t n = 0; n < N; ++n) {
            x_out[n] = x[n * R + static_cast<std::size_t>(r)];
            d_out[n] = d[n * R + static_cast<std::size_t>(r)];
        }
    };
    return batched != nullptr ? run_batched(measured, *batched, &columns) : run(measured, &columns);
}

double divergence_level(double d_power) {
    return 1e12 * d_power;
}

} // namespace lmsref
