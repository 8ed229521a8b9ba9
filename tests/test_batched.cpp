// The batched LibTorch stages (`lmsref ensemble --stage S`, src/stages/batched/) against their single runs:
// realization c of a chunk of C is the single run of the same stage on the data of seed S + c (and, for `linear`,
// from the init of torch seed T + c). Tolerance 1e-12 relative (|a - b| <= 1e-12 max(1, |b|)), not bit for bit:
// the weight updates are the single run's floating-point operations (autograd's gradient of the summed loss is
// column c's own -2 e x, SGD's step the same add), but y = wi . xM is a plain sum over the taps in the batched stages
// ((wi * xM).sum(0)) and a BLAS matmul in the single run, which may add the M products in another order. Here they
// come out bit for bit at M = 1 and 3 and differ in the last bit at M = 5; such a difference then carries on
// through e and w, so the two agree to rounding.
#include "lms/scenario.hpp"
#include "lms/stage.hpp"
#include "stages/registry.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using namespace lmsref;

namespace {

constexpr double tolerance = 1e-12;

bool close(double a, double b) {
    return std::abs(a - b) <= tolerance * std::max(1.0, std::abs(b));
}

/// C realizations of `scenario`, realization c generated with seed scenario.seed + c, side by side (N x C).
struct Chunk {
    std::vector<Data> data; ///< each realization's own x and d
    std::vector<double> x;  ///< N x C: sample n of realization c at n C + c
    std::vector<double> d;
};

Chunk side_by_side(Scenario scenario, std::size_t C) {
    Chunk chunk;
    const std::uint32_t first_seed = scenario.seed;
    for (std::size_t c = 0; c < C; ++c) {
        scenario.seed = first_seed + static_cast<std::uint32_t>(c);
        chunk.data.push_back(generate_data(scenario));
    }
    for (std::size_t n = 0; n < static_cast<std::size_t>(scenario.samples); ++n)
        for (const Data& data : chunk.data) {
            chunk.x.push_back(data.x[n]);
            chunk.d.push_back(data.d[n]);
        }
    return chunk;
}

/// Runs every batched stage on C realizations of `scenario` and checks realization c against the single run with
/// seed S + c and torch seed T + c: each e(n) and each tap of each w(n).
void check_batched_against_single_runs(const Scenario& scenario, std::size_t C, std::uint64_t first_torch_seed) {
    const Chunk chunk = side_by_side(scenario, C);
    const auto N = static_cast<std::size_t>(scenario.samples);
    const auto M = static_cast<std::size_t>(scenario.taps);
    std::size_t batched_stages = 0;
    for (const Stage& stage : stages()) {
        if (stage.batched == nullptr) continue;
        ++batched_stages;
        CAPTURE(stage.name, N, M, C);
        BatchedInput input;
        input.N = scenario.samples;
        input.M = scenario.taps;
        input.C = static_cast<std::int64_t>(C);
        input.eta = scenario.step_size;
        input.x = chunk.x.data();
        input.d = chunk.d.data();
        input.first_torch_seed = first_torch_seed;
        input.device = Device::cpu;
        std::vector<double> batched_e(N * C);
        std::vector<double> batched_w((N + 1) * M * C);
        stage.batched(input, BatchedTrajectories{batched_e.data(), batched_w.data()});

        std::vector<std::vector<double>> initial_weights;
        for (std::size_t c = 0; c < C; ++c) {
            CAPTURE(c);
            const Data& data = chunk.data[c];
            const Trajectory single =
                stage.run({data.x, data.d, scenario.step_size, scenario.taps, first_torch_seed + c, Device::cpu});
            std::size_t e_mismatches = 0;
            std::size_t w_mismatches = 0;
            for (std::size_t n = 0; n < N; ++n) e_mismatches += !close(batched_e[n * C + c], single.e[n]);
            for (std::size_t n = 0; n <= N; ++n)
                for (std::size_t k = 0; k < M; ++k)
                    w_mismatches += !close(batched_w[(n * M + k) * C + c], single.w(n, k));
            CHECK(e_mismatches == 0);
            CHECK(w_mismatches == 0);
            initial_weights.push_back(single.w.row(0));
        }
        // `linear`: every realization starts from its own torch seed's draw, not from one shared init.
        if (!stage.starts_from_zero && C > 1) CHECK(initial_weights[0] != initial_weights[1]);
    }
    REQUIRE(batched_stages == 7);
}

} // namespace

TEST_CASE("only the LibTorch stages have a batched function", "[batched]") {
    for (const Stage& stage : stages()) {
        CAPTURE(stage.name);
        CHECK((stage.batched != nullptr) == stage.uses_torch);
    }
}

TEST_CASE("batched stages: realization c is the single run with seed S + c", "[batched]") {
    Scenario scenario; // the notebook's: N = 500, M = 3, eta = 0.1
    scenario.seed = 11;
    check_batched_against_single_runs(scenario, 5, 40);
}

TEST_CASE("batched stages: one realization", "[batched]") {
    Scenario scenario;
    scenario.samples = 200;
    scenario.seed = 3;
    check_batched_against_single_runs(scenario, 1, 3);
}

TEST_CASE("batched stages: odd M and N, and M beyond N", "[batched]") {
    Scenario scenario;
    scenario.taps = 5;
    scenario.samples = 101;
    scenario.seed = 2024;
    scenario.step_size = 0.05;
    check_batched_against_single_runs(scenario, 5, 7);
    scenario.taps = 5;
    scenario.samples = 3; // xM still holds some of its initial zeros at the last sample
    check_batched_against_single_runs(scenario, 3, 0);
}

TEST_CASE("batched stages: one tap", "[batched]") {
    Scenario scenario;
    scenario.taps = 1; // xM[0 : M - 1] is empty; nn::Linear sees one input
    scenario.samples = 150;
    scenario.step_size = 0.3;
    scenario.seed = 5;
    check_batched_against_single_runs(scenario, 5, 100);
}
