#include "ensemble.hpp"

#include "errors.hpp"
#include "legacy_gauss.hpp"
#include "philox_avx2.hpp"
#include "philox_avx512.hpp"
#include "philox_data.hpp"
#ifdef LMSREF_HAVE_CUDA_KERNEL
#include "cuda/ensemble_kernel.hpp"
#endif
#include "text.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace lmsref {

double EnsembleResult::steady_mse_standard_error() const {
    if (completed_realizations < 2) return 0.0;
    const auto R = static_cast<double>(completed_realizations);
    return std::sqrt(steady_m2 / (R - 1.0) / R);
}

double EnsembleResult::ns_per_realization_sample() const {
    const double count = static_cast<double>(completed_realizations) * static_cast<double>(samples);
    return count > 0 ? 1e9 * seconds / count : 0.0;
}

namespace {

// One block's sums: its realizations added in realization order, each sum starting from 0.0.
struct BlockSums {
    std::vector<double> mse;   // N: sum_r e_r(n)^2
    std::vector<double> msd;   // N + 1: sum_r ||w_r(n) - wo_M||^2
    std::vector<double> meanw; // (N + 1) x M: sum_r w_r(n)
    std::int64_t count = 0;    // realizations in the block
    double steady_mean = 0.0;  // Welford: mean of the per-realization steady-state means
    double steady_m2 = 0.0;    // and the sum of squared deviations from it

    BlockSums(std::size_t N, std::size_t M) : mse(N), msd(N + 1), meanw((N + 1) * M) {}
    void clear() {
        std::fill(mse.begin(), mse.end(), 0.0);
        std::fill(msd.begin(), msd.end(), 0.0);
        std::fill(meanw.begin(), meanw.end(), 0.0);
        count = 0;
        steady_mean = 0.0;
        steady_m2 = 0.0;
    }
    void add_steady(double value) { // Welford's update, in realization order
        ++count;
        const double delta = value - steady_mean;
        steady_mean += delta / static_cast<double>(count);
        steady_m2 += delta * (value - steady_mean);
    }
};

// Realizations run side by side in groups of `group_size` (for M <= 8): the LMS recursion is one long chain of
// dependent operations (w -> y -> e -> w), so one realization alone leaves the CPU waiting; four independent ones
// fill the wait. Each realization's arithmetic is untouched, and every sum still takes its realizations in order.
constexpr std::size_t group_size = 4;

// What a group of realizations needs, allocated once per thread.
struct Workspace {
    std::vector<double> x, d, noise, xM, wi; // x, d: group_size signals of N samples, one after the other
    std::vector<double> hist;                // --rng philox, run-time M: the K newest x values
    LegacyGaussStream random;
    Workspace(std::size_t N, std::size_t M, std::size_t K = 0)
        : x(group_size * N), d(group_size * N), noise(N), xM(M), wi(M), hist(K) {}
};

struct Problem {
    std::size_t N = 0;
    std::size_t M = 0;
    double eta = 0.0;
    std::vector<double> wo_M;     // wo cut or zero-padded to M taps
    std::size_t steady_start = 0; // first sample of the last quarter
    std::size_t K = 0;            // --rng philox: max(M, len(wo)), the x values kept
    std::vector<double> wo_K;     // and wo zero-padded to K taps
};

// The `numpy` stage's loop (src/stages/numpy.cpp) on G realizations side by side (x and d of realization g at
// x + g N, d + g N), adding into the block's sums as it goes. For each realization, the same operations in the same
// order as that loop, so e and w are its bits: the regressor newest first with zeros before the start, yi summed
// from tap 0, ei = d - yi, wi + eta / 2 * 2 * ei * xM. Each sum adds realization g before g + 1, as G separate
// calls would. StaticM > 0: M known at compile time (unrolled, xM and wi in registers); StaticM == 0: M at run
// time, in the workspace, one realization at a time (G = 1).
template <std::size_t StaticM, std::size_t G>
void add_group(const Problem& p, const double* x, const double* d, Workspace& ws, BlockSums& sums) {
    static_assert(StaticM > 0 || G == 1, "a run-time M runs one realization at a time");
    const std::size_t N = p.N;
    const std::size_t M = StaticM > 0 ? StaticM : p.M;
    constexpr std::size_t local_taps = StaticM > 0 ? StaticM : 1;
    double xM_local[G][local_taps];
    double wi_local[G][local_taps];
    double* xM[G];
    double* wi[G];
    for (std::size_t g = 0; g < G; ++g) {
        xM[g] = StaticM > 0 ? xM_local[g] : ws.xM.data();
        wi[g] = StaticM > 0 ? wi_local[g] : ws.wi.data();
    }
    const double* wo_M = p.wo_M.data();
    const double step = p.eta / 2 * 2; // the numpy stage's eta / 2 * 2, evaluated left to right as it is there
    double* mse = sums.mse.data();
    double* msd = sums.msd.data();
    double* meanw = sums.meanw.data();

    for (std::size_t g = 0; g < G; ++g) { // row 0: w = 0
        double deviation = 0.0;
        for (std::size_t k = 0; k < M; ++k) {
            xM[g][k] = 0.0;
            wi[g][k] = 0.0;
            const double c = 0.0 - wo_M[k];
            deviation += c * c;
            meanw[k] += 0.0;
        }
        msd[0] += deviation;
    }
    double steady[G] = {};
    for (std::size_t i = 0; i < N; ++i) {
        double e2[G];
        for (std::size_t g = 0; g < G; ++g) {
            for (std::size_t k = M - 1; k > 0; --k) xM[g][k] = xM[g][k - 1];
            xM[g][0] = x[g * N + i];
            double yi = 0.0;
            for (std::size_t k = 0; k < M; ++k) yi += wi[g][k] * xM[g][k];
            const double ei = d[g * N + i] - yi;
            for (std::size_t k = 0; k < M; ++k) wi[g][k] = wi[g][k] + step * ei * xM[g][k];
            e2[g] = ei * ei;
        }
        double* row = meanw + (i + 1) * M;
        for (std::size_t g = 0; g < G; ++g) { // the sums, in realization order
            mse[i] += e2[g];
            if (i >= p.steady_start) steady[g] += e2[g];
            double deviation = 0.0;
            for (std::size_t k = 0; k < M; ++k) {
                const double c = wi[g][k] - wo_M[k];
                deviation += c * c;
                row[k] += wi[g][k];
            }
            msd[i + 1] += deviation;
        }
    }
    for (std::size_t g = 0; g < G; ++g) sums.add_steady(steady[g] / static_cast<double>(N - p.steady_start));
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
    switch (M) { // small filters get loops of their own length, as in the numpy stage
    case 1: return kernels_for<1>();
    case 2: return kernels_for<2>();
    case 3: return kernels_for<3>();
    case 4: return kernels_for<4>();
    case 5: return kernels_for<5>();
    case 6: return kernels_for<6>();
    case 7: return kernels_for<7>();
    case 8: return kernels_for<8>();
    default: return {nullptr, add_group<0, 1>};
    }
}

// --rng philox: G realizations side by side, each made and run sample by sample by philox::Realization::step (the
// function the CUDA kernel calls), adding into the block's sums in realization order: the same bits as G calls of
// philox::add_realization. StaticM > 0: M = K = StaticM known at compile time (len(wo) <= M); 0: at run time, G = 1.
// Avx2 (G = 4): philox::add_four_realizations_avx2 runs the four, a lane each (src/philox_avx2.hpp), the same bits;
// Avx512 (G = 4): philox::add_four_realizations_avx512 (src/philox_avx512.hpp), the same bits again.
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
                philox::add_four_realizations_avx512<StaticM>(p, first, sums.mse.data(), sums.msd.data(),
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
    switch (M) {
    case 1: return philox_kernels_for<1>(avx2, avx512);
    case 2: return philox_kernels_for<2>(avx2, avx512);
    case 3: return philox_kernels_for<3>(avx2, avx512);
    case 4: return philox_kernels_for<4>(avx2, avx512);
    case 5: return philox_kernels_for<5>(avx2, avx512);
    case 6: return philox_kernels_for<6>(avx2, avx512);
    case 7: return philox_kernels_for<7>(avx2, avx512);
    case 8: return philox_kernels_for<8>(avx2, avx512);
    default: return {nullptr, add_philox_group<0, 1>};
    }
}

// generate_data (scenario.cpp) into the workspace, without allocating: x = randn(N), d = lfilter(wo, 1, x) +
// sqrt(sigmav2) randn(N), from one generator, with lfilter's order of additions (oldest tap first, from 0.0).
// LegacyGaussStream draws LegacyRandom's normals, bit for bit, faster.
void generate_realization(const Scenario& scenario, std::uint32_t seed, Workspace& ws, double* x, double* d) {
    const auto N = static_cast<std::size_t>(scenario.samples);
    const std::vector<double>& wo = scenario.wo;
    double* noise = ws.noise.data();
    ws.random.reseed(seed);
    ws.random.fill(x, N); // x = np.random.randn(N, 1)
    for (std::size_t n = 0; n < N; ++n) {
        const std::size_t newest = std::min(n, wo.size() - 1);
        double sum = 0.0;
        for (std::size_t k = newest + 1; k-- > 0;) sum += wo[k] * x[n - k];
        d[n] = sum;
    }
    ws.random.fill(noise, N); // np.random.randn(N), after x: a cached normal left by an odd N comes first
    const double noise_gain = std::sqrt(scenario.noise_variance);
    for (std::size_t n = 0; n < N; ++n) {
        d[n] = d[n] + noise_gain * noise[n];
        if (!std::isfinite(d[n]))
            throw InputError("--wo: d = lfilter(wo, 1, x) + noise overflows float64 with seed " + std::to_string(seed) +
                             ": d[" + std::to_string(n) + "] = " + format_number(d[n], "%g") +
                             " is its first non-finite sample; use smaller coefficients");
    }
}

} // namespace

const char* to_string(Rng rng) {
    return rng == Rng::philox ? "philox" : "numpy";
}

Rng parse_rng(const std::string& text) {
    if (text == "numpy") return Rng::numpy;
    if (text == "philox") return Rng::philox;
    throw InputError("--rng: '" + text + "' is not a generator; use numpy or philox");
}

std::string rng_description(Rng rng) {
    return rng == Rng::philox ? "philox (Random123 Philox4x32-10, Box-Muller)"
                              : "numpy (NumPy's legacy MT19937 stream, realization r = --seed S + r)";
}

void check_ensemble_options(const EnsembleOptions& options, bool generated) {
    validate(options.scenario);
    if (options.realizations < 1)
        throw InputError("--realizations: " + std::to_string(options.realizations) + " is not allowed; R must be >= 1");
    if (options.decimate < 1)
        throw InputError("--decimate: " + std::to_string(options.decimate) + " is not allowed; m must be >= 1");
    if (options.threads < 0)
        throw InputError("--threads: " + std::to_string(options.threads) +
                         " is not allowed; T must be >= 1 (or 0 for all cores)");
    if (options.device == Device::cuda && (!generated || options.rng != Rng::philox))
        throw InputError("--device: cuda runs the numpy stage's kernel on generated --rng philox data (NumPy's "
                         "sequential stream stays on the CPU); add --rng philox");
    if (!generated && options.rng == Rng::philox)
        throw InputError("--rng: philox generates the data; it cannot be given with --x and --d");
    const std::uint64_t last_seed =
        static_cast<std::uint64_t>(options.scenario.seed) + static_cast<std::uint64_t>(options.realizations) - 1;
    if (generated && options.rng == Rng::numpy && last_seed > 0xffffffffULL)
        throw InputError("--realizations: the last realization's seed, " + std::to_string(options.scenario.seed) +
                         " + " + std::to_string(options.realizations) + " - 1 = " + std::to_string(last_seed) +
                         ", is beyond NumPy's largest seed 4294967295; use a smaller --seed or fewer realizations");
}

namespace {

Problem make_problem(const Scenario& scenario) {
    Problem p;
    p.N = static_cast<std::size_t>(scenario.samples);
    p.M = static_cast<std::size_t>(scenario.taps);
    p.eta = scenario.step_size;
    p.wo_M.assign(p.M, 0.0);
    std::copy_n(scenario.wo.begin(), std::min(p.M, scenario.wo.size()), p.wo_M.begin());
    p.steady_start = p.N - std::max<std::size_t>(1, p.N / 4);
    p.K = std::max(p.M, scenario.wo.size());
    p.wo_K.assign(p.K, 0.0);
    std::copy(scenario.wo.begin(), scenario.wo.end(), p.wo_K.begin());
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
    q.wo_K = p.wo_K.data();
    q.wo_M = p.wo_M.data();
    return q;
}

// The totals over the blocks added so far, in block order.
struct Totals {
    std::vector<double> mse, msd, meanw;
    std::int64_t completed = 0;
    double steady_mean = 0.0, steady_m2 = 0.0;

    Totals(std::size_t N, std::size_t M) : mse(N, 0.0), msd(N + 1, 0.0), meanw((N + 1) * M, 0.0) {}
    void add(const BlockSums& done) {
        for (std::size_t n = 0; n < mse.size(); ++n) mse[n] += done.mse[n];
        for (std::size_t n = 0; n < msd.size(); ++n) msd[n] += done.msd[n];
        for (std::size_t j = 0; j < meanw.size(); ++j) meanw[j] += done.meanw[j];
        // Chan et al.'s merge of (count, mean, M2), in block order.
        const auto n_a = static_cast<double>(completed);
        const auto n_b = static_cast<double>(done.count);
        const double delta = done.steady_mean - steady_mean;
        steady_mean += delta * (n_b / (n_a + n_b));
        steady_m2 += done.steady_m2 + delta * delta * (n_a * n_b / (n_a + n_b));
        completed += done.count;
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
    const double count = static_cast<double>(totals.completed);
    const auto m = static_cast<std::size_t>(options.decimate);
    for (std::size_t n = 0; n < p.N; n += m) result.mse.push_back(totals.mse[n] / count);
    for (std::size_t n = 0; n <= p.N; n += m) {
        result.msd.push_back(totals.msd[n] / count);
        for (std::size_t k = 0; k < p.M; ++k) result.meanw.push_back(totals.meanw[n * p.M + k] / count);
    }
    auto all_finite = [](const std::vector<double>& v) {
        return std::all_of(v.begin(), v.end(), [](double value) { return std::isfinite(value); });
    };
    result.finite = all_finite(result.mse) && all_finite(result.msd) && all_finite(result.meanw);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
    return result;
}

int thread_count(const EnsembleOptions& options, std::int64_t work_items) {
    const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
    return static_cast<int>(std::clamp<std::int64_t>(threads, 1, std::max<std::int64_t>(1, work_items)));
}

// --device cuda: the kernel of src/cuda/ runs the blocks, a launch of at most `launch_blocks` at a time (their sums
// held on the host until added); each block's rows become a BlockSums and are added in block order, as run() adds
// them, so the curves differ from the CPU's only where the GPU's log, sin and cos round differently.
EnsembleResult run_cuda(const EnsembleOptions& options) {
    const auto start_time = std::chrono::steady_clock::now();
    const Scenario& scenario = options.scenario;
    const Problem p = make_problem(scenario);
    const philox::Problem q = philox_problem(p, scenario);
    const std::int64_t R = options.realizations;
    const std::int64_t blocks = (R + ensemble_block_size - 1) / ensemble_block_size;
    Totals totals(p.N, p.M);
#ifdef LMSREF_HAVE_CUDA_KERNEL
    char message[512] = "";
    if (cuda_kernel::device_count(message, sizeof message) == 0)
        throw RuntimeFailure(std::string("--device cuda: no CUDA device for the ensemble kernel (") + message +
                             "); use --device cpu");
    const std::size_t columns = p.M + 2;
    const std::size_t row_values = (p.N + 1) * columns;
    // At most about 256 MB of block sums per launch, at least one block.
    const std::int64_t launch_blocks =
        std::max<std::int64_t>(1, static_cast<std::int64_t>(256e6 / (8.0 * static_cast<double>(row_values))));
    std::vector<double> rows, steady;
    BlockSums sums(p.N, p.M);
    for (std::int64_t first = 0; first < blocks; first += launch_blocks) {
        if (options.stop != nullptr && options.stop->load(std::memory_order_relaxed)) break;
        const std::int64_t count = std::min(launch_blocks, blocks - first);
        rows.resize(static_cast<std::size_t>(count) * row_values);
        steady.resize(3 * static_cast<std::size_t>(count));
        if (cuda_kernel::run_blocks(q, R, first, count, rows.data(), steady.data(), message, sizeof message) != 0)
            throw RuntimeFailure(std::string("--device cuda: ") + message);
        for (std::int64_t b = 0; b < count; ++b) {
            const double* row = rows.data() + static_cast<std::size_t>(b) * row_values;
            for (std::size_t n = 0; n <= p.N; ++n) {
                if (n > 0) sums.mse[n - 1] = row[n * columns];
                sums.msd[n] = row[n * columns + 1];
                for (std::size_t k = 0; k < p.M; ++k) sums.meanw[n * p.M + k] = row[n * columns + 2 + k];
            }
            const double* s = steady.data() + 3 * static_cast<std::size_t>(b);
            sums.count = static_cast<std::int64_t>(s[0]);
            sums.steady_mean = s[1];
            sums.steady_m2 = s[2];
            totals.add(sums);
            if (options.progress) options.progress(totals.completed);
        }
    }
#else
    (void)q;
    (void)blocks;
    throw RuntimeFailure("--device cuda: this build has no CUDA kernel for the ensemble (configure with nvcc on PATH "
                         "and LMSREF_CUDA=auto or on); use --device cpu");
#endif
    return finish(options, p, totals, true, 1, start_time);
}

EnsembleResult run(const EnsembleOptions& options, const RealizationSource* source) {
    check_ensemble_options(options, source == nullptr);
    if (options.device == Device::cuda) return run_cuda(options);
    const auto start_time = std::chrono::steady_clock::now();
    const Scenario& scenario = options.scenario;
    const Problem p = make_problem(scenario);
    const std::size_t N = p.N;
    const std::size_t M = p.M;

    const std::int64_t R = options.realizations;
    const std::int64_t blocks = (R + ensemble_block_size - 1) / ensemble_block_size;
    const int threads = thread_count(options, blocks);
    const Kernels kernel = kernels(M);
    const bool use_philox = source == nullptr && options.rng == Rng::philox;
    const philox::Problem philox_p = philox_problem(p, scenario);
    const PhiloxKernels philox_kernel = philox_kernels(M, p.K, use_philox && philox::avx2_supported());

    Totals totals(N, M); // added to in block order

    // Block buffers: each worker holds one while computing; a finished block waits in `pending` until all blocks
    // before it are added. 2 T buffers bound the memory to O(N M T) while letting a fast thread run ahead.
    std::vector<BlockSums> pool(static_cast<std::size_t>(2 * threads), BlockSums(N, M));
    std::vector<std::size_t> free_buffers;
    for (std::size_t b = pool.size(); b-- > 0;) free_buffers.push_back(b);
    std::map<std::int64_t, std::size_t> pending; // block index -> buffer
    std::int64_t next_block = 0;
    std::int64_t next_to_add = 0;
    bool abort = false;
    std::exception_ptr failure;
    std::mutex mutex;
    std::condition_variable changed;
    auto stop_requested = [&] { return options.stop != nullptr && options.stop->load(std::memory_order_relaxed); };

    auto worker = [&] {
        try {
            Workspace ws(use_philox ? 0 : N, M, p.K);
            for (;;) {
                std::size_t buffer = 0;
                std::int64_t block = 0;
                {
                    std::unique_lock<std::mutex> lock(mutex);
                    changed.wait(lock, [&] {
                        return abort || stop_requested() || next_block >= blocks || !free_buffers.empty();
                    });
                    if (abort || stop_requested() || next_block >= blocks) return;
                    buffer = free_buffers.back();
                    free_buffers.pop_back();
                    block = next_block++;
                }
                BlockSums& sums = pool[buffer];
                sums.clear();
                const std::int64_t first = block * ensemble_block_size;
                const std::int64_t last = std::min(R, first + ensemble_block_size);
                for (std::int64_t r = first; use_philox && r < last;) {
                    const bool whole_group =
                        philox_kernel.group != nullptr && last - r >= static_cast<std::int64_t>(group_size);
                    (whole_group ? philox_kernel.group : philox_kernel.single)(philox_p, static_cast<std::uint64_t>(r),
                                                                               ws, sums);
                    r += whole_group ? static_cast<std::int64_t>(group_size) : 1;
                }
                for (std::int64_t r = first; !use_philox && r < last;) {
                    const bool whole_group =
                        kernel.group != nullptr && last - r >= static_cast<std::int64_t>(group_size);
                    const std::size_t count = whole_group ? group_size : 1;
                    for (std::size_t g = 0; g < count; ++g) {
                        double* x = ws.x.data() + g * N;
                        double* d = ws.d.data() + g * N;
                        const std::int64_t realization = r + static_cast<std::int64_t>(g);
                        if (source != nullptr)
                            (*source)(realization, x, d);
                        else
                            generate_realization(scenario, static_cast<std::uint32_t>(scenario.seed + realization), ws,
                                                 x, d);
                    }
                    (whole_group ? kernel.group : kernel.single)(p, ws.x.data(), ws.d.data(), ws, sums);
                    r += static_cast<std::int64_t>(count);
                }
                std::lock_guard<std::mutex> lock(mutex);
                pending.emplace(block, buffer);
                while (!pending.empty() && pending.begin()->first == next_to_add) {
                    totals.add(pool[pending.begin()->second]);
                    free_buffers.push_back(pending.begin()->second);
                    pending.erase(pending.begin());
                    ++next_to_add;
                    if (options.progress) options.progress(totals.completed);
                }
                changed.notify_all();
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (!failure) failure = std::current_exception();
            abort = true;
            changed.notify_all();
        }
    };
    std::vector<std::thread> helpers;
    for (int t = 1; t < threads; ++t) helpers.emplace_back(worker);
    worker();
    for (std::thread& helper : helpers) helper.join();
    if (failure) std::rethrow_exception(failure);
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

EnsembleResult run_batched(const EnsembleOptions& options, const BatchedOptions& batched,
                           const RealizationSource* source) {
    check_ensemble_options(options, source == nullptr);
    if (options.rng == Rng::philox)
        throw InputError(
            "--rng: philox runs on the plain engine (--stage numpy); the LibTorch stages take numpy's data");
    if (batched.stage == nullptr) throw InputError("--stage: this stage has no batched form");
    const auto start_time = std::chrono::steady_clock::now();
    const Scenario& scenario = options.scenario;
    const Problem p = make_problem(scenario);
    const std::size_t N = p.N;
    const std::size_t M = p.M;
    const std::int64_t R = options.realizations;
    const std::int64_t chunk = ensemble_chunk(scenario.samples, scenario.taps, R, batched.chunk);
    const int threads = thread_count(options, R);
    auto stop_requested = [&] { return options.stop != nullptr && options.stop->load(std::memory_order_relaxed); };

    Totals totals(N, M);
    // The chunk's data, side by side ((n, c) at n C + c), made on `workers` threads, eight realizations at a time so
    // that each row gets a whole cache line of them.
    const auto generate = [&](std::int64_t first, std::vector<double>& x, std::vector<double>& d, int workers) {
        const auto C = static_cast<std::size_t>(std::min(chunk, R - first));
        x.resize(N * C);
        d.resize(N * C);
        constexpr std::size_t side_by_side = 8;
        on_threads(workers, [&](int t) {
            Workspace ws(N, M);
            std::vector<double> xs(side_by_side * N), ds(side_by_side * N);
            for (std::size_t c0 = static_cast<std::size_t>(t) * side_by_side; c0 < C;
                 c0 += static_cast<std::size_t>(workers) * side_by_side) {
                const std::size_t count = std::min(side_by_side, C - c0);
                for (std::size_t j = 0; j < count; ++j) {
                    const std::int64_t r = first + static_cast<std::int64_t>(c0 + j);
                    if (source != nullptr)
                        (*source)(r, xs.data() + j * N, ds.data() + j * N);
                    else
                        generate_realization(scenario, static_cast<std::uint32_t>(scenario.seed + r), ws,
                                             xs.data() + j * N, ds.data() + j * N);
                }
                for (std::size_t n = 0; n < N; ++n)
                    for (std::size_t j = 0; j < count; ++j) {
                        x[n * C + c0 + j] = xs[j * N + n];
                        d[n * C + c0 + j] = ds[j * N + n];
                    }
            }
        });
    };
    // Buffers allocated once and reused: two pairs of x and d (the next chunk's data is made on the other threads
    // while the stage runs this one's), e and w out.
    std::vector<double> x, d, next_x, next_d;
    std::vector<double> e(N * static_cast<std::size_t>(chunk)), w((N + 1) * M * static_cast<std::size_t>(chunk));
    generate(0, x, d, threads);
    for (std::int64_t first = 0; first < R && !stop_requested(); first += chunk) {
        const auto C = static_cast<std::size_t>(std::min(chunk, R - first));
        std::future<void> ahead; // with one thread the next chunk is made after this one
        if (threads > 1 && first + chunk < R)
            ahead =
                std::async(std::launch::async, [&, first] { generate(first + chunk, next_x, next_d, threads - 1); });
        BatchedInput in;
        in.N = scenario.samples;
        in.M = scenario.taps;
        in.C = static_cast<std::int64_t>(C);
        in.eta = scenario.step_size;
        in.x = x.data();
        in.d = d.data();
        in.first_torch_seed = batched.first_torch_seed + static_cast<std::uint64_t>(first);
        in.device = batched.device;
        batched.stage(in, BatchedTrajectories{e.data(), w.data()});
        // Its blocks' sums on the threads (each block in realization order), then added in block order.
        const std::size_t blocks = (C + ensemble_block_size - 1) / ensemble_block_size;
        std::vector<BlockSums> sums(blocks, BlockSums(N, M));
        const auto parts = std::min<std::size_t>(blocks, static_cast<std::size_t>(threads));
        on_threads(static_cast<int>(parts), [&](int t) { // thread t: a contiguous range of the blocks
            const auto part = static_cast<std::size_t>(t);
            add_trajectories(p, e.data(), w.data(), C, blocks * part / parts, blocks * (part + 1) / parts, sums);
        });
        for (const BlockSums& block : sums) {
            totals.add(block);
            if (options.progress) options.progress(totals.completed);
        }
        if (ahead.valid()) // its failure (a --wo that overflows) is this run's; on one of ours, ~future waits for it
            ahead.get();
        else if (first + chunk < R)
            generate(first + chunk, next_x, next_d, threads);
        std::swap(x, next_x);
        std::swap(d, next_d);
    }
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

EnsembleResult run_ensemble_batched(const EnsembleOptions& options, const BatchedOptions& batched) {
    return run_batched(options, batched, nullptr);
}

EnsembleResult run_ensemble(const EnsembleOptions& options, const RealizationSource& source) {
    return run(options, &source);
}

EnsembleResult run_ensemble_matrices(const EnsembleOptions& options, const std::vector<double>& x,
                                     const std::vector<double>& d, const BatchedOptions* batched) {
    check_ensemble_options(options, false);
    const auto N = static_cast<std::size_t>(options.scenario.samples);
    const auto R = static_cast<std::size_t>(options.realizations);
    for (const auto* signal : {&x, &d})
        if (signal->size() != N * R)
            throw InputError(std::string(signal == &x ? "--x" : "--d") + ": holds " + std::to_string(signal->size()) +
                             " values, not N x R = " + std::to_string(N) + " x " + std::to_string(R));
    const RealizationSource columns = [&](std::int64_t r, double* x_out, double* d_out) {
        for (std::size_t n = 0; n < N; ++n) {
            x_out[n] = x[n * R + static_cast<std::size_t>(r)];
            d_out[n] = d[n * R + static_cast<std::size_t>(r)];
        }
    };
    return batched != nullptr ? run_batched(options, *batched, &columns) : run(options, &columns);
}

} // namespace lmsref
