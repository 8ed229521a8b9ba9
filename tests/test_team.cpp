// The ensemble shared by a team of processes (src/ensemble/team.hpp): here K threads play the K ranks of an MPI launch, each
// running the whole engine with its own Team, talking through a hub as MPI ranks would. The team's result must be
// one process's, bit for bit, whatever K, the span of blocks per round and the threads; a failure or a stop request
// on one rank must reach every rank. (tests/test_mpi_cli.cpp runs the same under mpirun.)
#include "core/errors.hpp"
#include "ensemble/ensemble.hpp"
#include "ensemble/team.hpp"
#include "support.hpp"
#include "thread_team.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

using namespace lmsref;

namespace {

using test::RankOutcome;
using test::run_team;

void check_same_run(const EnsembleResult& team, const EnsembleResult& alone) {
    CHECK(team.completed_realizations == alone.completed_realizations);
    test::require_same_bits(team.mse, alone.mse);
    test::require_same_bits(team.msd, alone.msd);
    test::require_same_bits(team.meanw, alone.meanw);
    test::require_same_bits({team.steady_mse, team.steady_m2}, {alone.steady_mse, alone.steady_m2});
}

EnsembleOptions team_options(Rng rng) {
    EnsembleOptions o;
    o.scenario.samples = 40;
    o.scenario.taps = 4;
    o.scenario.seed = 17;
    o.scenario.step_size = 0.05;
    o.scenario.wo = {0.3, -0.2, 0.1, 0.05, 0.02};
    o.realizations = 11 * ensemble_block_size + 5; // 12 blocks, the last one partial
    o.rng = rng;
    return o;
}

} // namespace

TEST_CASE("team: K ranks give the bits of one process, whatever K, the span and the threads", "[ensemble][team]") {
    for (Rng rng : {Rng::numpy, Rng::philox}) {
        EnsembleOptions options = team_options(rng);
        options.threads = 1;
        const EnsembleResult alone = run_ensemble(options);
        // K = 5 with span 1 leaves ranks without a block in the last round; span 0 is the automatic one (capped so
        // that every rank gets blocks).
        for (int K : {1, 2, 3, 5})
            for (std::int64_t span : {0, 1, 2, 3})
                for (int threads : {1, 2}) {
                    CAPTURE(to_string(rng), K, span, threads);
                    options.span = span;
                    options.threads = threads;
                    for (const RankOutcome& rank :
                         run_team(K, options, [](const EnsembleOptions& o) { return run_ensemble(o); })) {
                        REQUIRE(rank.failure.empty());
                        check_same_run(rank.result, alone);
                        CHECK(rank.result.ranks == K);
                    }
                }
    }
}

TEST_CASE("team: matrices and realization sources split as generated data do", "[ensemble][team]") {
    EnsembleOptions options = team_options(Rng::numpy);
    const auto N = static_cast<std::size_t>(options.scenario.samples);
    const auto R = static_cast<std::size_t>(options.realizations);
    std::vector<double> x(N * R), d(N * R);
    for (std::size_t j = 0; j < x.size(); ++j) { // any data will do: the same on every rank
        x[j] = std::sin(0.37 * static_cast<double>(j));
        d[j] = 0.3 * x[j] + 0.01 * std::cos(1.3 * static_cast<double>(j));
    }
    const EnsembleResult alone = run_ensemble_matrices(options, x, d);
    options.span = 2;
    for (const RankOutcome& rank :
         run_team(3, options, [&](const EnsembleOptions& o) { return run_ensemble_matrices(o, x, d); })) {
        REQUIRE(rank.failure.empty());
        check_same_run(rank.result, alone);
    }
}

TEST_CASE("team: a failure on one rank is every rank's, with its message and exit code", "[ensemble][team]") {
    // Realization 300 is in block 4: with span 1 and 3 ranks, rank 1's (round 1); the others must not wait forever.
    EnsembleOptions options = team_options(Rng::numpy);
    options.span = 1;
    const RealizationSource failing = [&](std::int64_t r, double* x, double* d) {
        if (r == 300) throw InputError("--x: realization 300 cannot be read");
        std::fill_n(x, options.scenario.samples, 1.0);
        std::fill_n(d, options.scenario.samples, 0.5);
    };
    for (const RankOutcome& rank :
         run_team(3, options, [&](const EnsembleOptions& o) { return run_ensemble(o, failing); })) {
        CHECK(rank.failure == "--x: realization 300 cannot be read");
        CHECK(rank.code == ExitCode::bad_input);
    }
}

TEST_CASE("team: a stop request on one rank stops every rank after the round, with the same curves",
          "[ensemble][team]") {
    // Rank 2 asks to stop before it starts: all ranks finish round 0 (3 ranks x 2 blocks) and stop there, holding
    // the curves of the first 6 blocks: those of a run of 6 x 64 realizations alone.
    EnsembleOptions options = team_options(Rng::numpy);
    options.span = 2;
    std::atomic<bool> stop_now{true}, go_on{false};
    const auto outcomes = run_team(3, options, [&](EnsembleOptions o) {
        o.stop = o.team->rank() == 2 ? &stop_now : &go_on;
        return run_ensemble(o);
    });
    EnsembleOptions first_round = team_options(Rng::numpy);
    first_round.realizations = 6 * ensemble_block_size;
    const EnsembleResult alone = run_ensemble(first_round);
    for (const RankOutcome& rank : outcomes) {
        REQUIRE(rank.failure.empty());
        CHECK(rank.result.stopped);
        check_same_run(rank.result, alone);
    }
}
