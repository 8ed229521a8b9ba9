// The CUDA engine's host side (run_cuda in src/ensemble/ensemble.cpp) on the CPU: `--device cuda` against the stand-in
// kernel library cuda_emulation.cpp, which computes the kernel's arithmetic in the kernel's order and makes the GPU's
// asynchronous work as late as it could be. The curves must be the CPU engine's bits for philox's and numpy's data,
// any span and any number of threads; a stop and the progress act between spans.
#include "ensemble/ensemble.hpp"
#include "lms/scenario.hpp"
#include "support.hpp"
#include "thread_team.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

using namespace lmsref;
using namespace lmsref::test;

namespace {

void check_same(const EnsembleResult& gpu, const EnsembleResult& cpu) {
    CHECK(gpu.completed_realizations == cpu.completed_realizations);
    CHECK(same_bits(gpu.mse, cpu.mse));
    CHECK(same_bits(gpu.msd, cpu.msd));
    CHECK(same_bits(gpu.meanw, cpu.meanw));
    CHECK(gpu.steady_mse == cpu.steady_mse);
    CHECK(gpu.steady_m2 == cpu.steady_m2);
}

EnsembleOptions options_for(Rng rng, std::int64_t M, std::int64_t R) {
    EnsembleOptions o;
    o.scenario.samples = 30;
    o.scenario.taps = M;
    o.scenario.seed = 9;
    o.realizations = R;
    o.rng = rng;
    o.threads = 1;
    return o;
}

} // namespace

TEST_CASE("cuda emulation: --device cuda gives the CPU engine's bits for any span and threads", "[cuda]") {
    // M = 3, M = 2 with len(wo) = 3 (K > M), M = 12; R = 5 blocks and 13; spans of 1, 2 and the automatic one (all
    // blocks); numpy's data made ahead into the other slot on 1 or 3 threads.
    for (Rng rng : {Rng::philox, Rng::numpy})
        for (std::int64_t M : {3, 2, 12}) {
            const EnsembleResult cpu = run_ensemble(options_for(rng, M, 5 * ensemble_block_size + 13));
            for (std::int64_t span : {1, 2, 0})
                for (int threads : {1, 3}) {
                    INFO(to_string(rng) << ", M = " << M << ", span " << span << ", " << threads << " threads");
                    EnsembleOptions o = options_for(rng, M, 5 * ensemble_block_size + 13);
                    o.device = Device::cuda;
                    o.span = span;
                    o.threads = threads;
                    const EnsembleResult gpu = run_ensemble(o);
                    check_same(gpu, cpu);
                    CHECK(gpu.kernel_seconds == 0.0); // the stand-in times nothing
                }
        }
}

TEST_CASE("cuda emulation: matrices on --device cuda give the CPU engine's bits", "[cuda]") {
    EnsembleOptions o = options_for(Rng::numpy, 4, 3 * ensemble_block_size + 1);
    const auto N = static_cast<std::size_t>(o.scenario.samples);
    const auto R = static_cast<std::size_t>(o.realizations);
    std::vector<double> x(N * R), d(N * R);
    for (std::size_t j = 0; j < N * R; ++j) {
        x[j] = std::sin(0.7 * static_cast<double>(j));
        d[j] = std::cos(0.3 * static_cast<double>(j));
    }
    const EnsembleResult cpu = run_ensemble_matrices(o, x, d);
    o.device = Device::cuda;
    o.span = 1;
    o.threads = 2;
    check_same(run_ensemble_matrices(o, x, d), cpu);
}

TEST_CASE("cuda emulation: on --device cuda the progress and a stop act between spans", "[cuda]") {
    EnsembleOptions o = options_for(Rng::philox, 3, 5 * ensemble_block_size + 13); // 6 blocks
    o.device = Device::cuda;
    o.span = 2;
    std::vector<std::int64_t> calls;
    o.progress = [&](std::int64_t completed) { calls.push_back(completed); };
    CHECK(run_ensemble(o).completed_realizations == 5 * ensemble_block_size + 13);
    CHECK(calls == std::vector<std::int64_t>{128, 256, 5 * ensemble_block_size + 13});

    const std::atomic<bool> stop{true}; // already set: the first span is run and added, then the run ends
    o.stop = &stop;
    o.progress = nullptr;
    const EnsembleResult stopped = run_ensemble(o);
    CHECK(stopped.stopped);
    EnsembleOptions first_span = options_for(Rng::philox, 3, 2 * ensemble_block_size);
    const EnsembleResult cpu = run_ensemble(first_span);
    CHECK(stopped.completed_realizations == 2 * ensemble_block_size);
    CHECK(same_bits(stopped.mse, cpu.mse));
    CHECK(same_bits(stopped.meanw, cpu.meanw));
}

TEST_CASE("cuda emulation: K ranks on --device cuda give the bits of one process", "[cuda][team]") {
    // K threads as the ranks of an MPI launch, each with its own run of the stand-in kernel: every rank adds its
    // span into the totals it receives, as on the CPU; K = 3 with span 1 leaves a rank without a block in the last
    // round; numpy's data are made ahead for the rank's next span (first + K span).
    for (Rng rng : {Rng::philox, Rng::numpy}) {
        const EnsembleResult alone = run_ensemble(options_for(rng, 3, 5 * ensemble_block_size + 13));
        for (int K : {2, 3})
            for (std::int64_t span : {0, 1, 2}) {
                INFO(to_string(rng) << ", K = " << K << ", span " << span);
                EnsembleOptions o = options_for(rng, 3, 5 * ensemble_block_size + 13);
                o.device = Device::cuda;
                o.span = span;
                o.threads = 2;
                for (const test::RankOutcome& rank :
                     test::run_team(K, o, [](const EnsembleOptions& mine) { return run_ensemble(mine); })) {
                    REQUIRE(rank.failure.empty());
                    check_same(rank.result, alone);
                }
            }
    }
}
