// Every stage against the trajectories the notebook's own Python functions produced (data/reference), and the
// zero-init stages against `numpy`. Tolerance 1e-12 (absolute; the weights are of order 1): the stages compute
// the same LMS recursion with differently ordered floating-point operations (autograd's 2*e*x, SGD's add with
// alpha), so they agree to rounding, about 1e-16 per step, not bit for bit; 1e-12 leaves room for that rounding
// to accumulate over a thousand samples and still fails at once on any real difference in the algorithm.
#include "core/errors.hpp"
#include "report/report.hpp"
#include "stages/registry.hpp"
#include "stages/runner.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace lmsref;
using namespace lmsref::test;

namespace {
constexpr double tolerance = 1e-12;

Data reference_data(const std::string& name) {
    return {read_signal(reference_path(name + "/x.npy")), read_signal(reference_path(name + "/d.npy")), {}};
}
} // namespace

TEST_CASE("the registry lists the notebook's eight stages in order", "[stages]") {
    std::vector<std::string> names;
    for (const Stage& stage : stages()) names.emplace_back(stage.name);
    REQUIRE(names == std::vector<std::string>{"numpy", "tensor", "autograd", "mseloss", "sgd", "module", "linear",
                                              "linear-zero"});
    REQUIRE_FALSE(stages().front().uses_torch);
    REQUIRE(&find_stage("sgd") == &stages()[4]);
    REQUIRE_THROWS_AS(find_stage("adam"), InputError);
    REQUIRE_THROWS_WITH(find_stage("adam"), Catch::Contains("unknown stage 'adam'") && Catch::Contains("linear-zero"));
}

TEST_CASE("every stage reproduces the Python notebook's trajectory", "[stages][reference]") {
    for (const std::string& name : reference_names()) {
        const ReferenceScenario reference = reference_scenario(name);
        const Data data = reference_data(name);
        for (const Stage& stage : stages()) {
            CAPTURE(name, stage.name);
            const StageRun run = run_stage(stage, data, reference.scenario, Device::cpu);
            const std::string folder = name + "/" + std::string(stage.name) + "/";
            const Array2D w = reference_array(folder + "w.npy");
            REQUIRE(run.trajectory.w.rows == w.rows);
            REQUIRE(run.trajectory.w.cols == w.cols);
            CHECK(max_abs_difference(run.trajectory.w.values, w.values) <= tolerance);
            CHECK(max_abs_difference(run.trajectory.y, reference_array(folder + "y.npy").values) <= tolerance);
            CHECK(max_abs_difference(run.trajectory.e, reference_array(folder + "e.npy").values) <= tolerance);
            CHECK(run.trajectory.loss.empty() ==
                  (stage.name == "numpy" || stage.name == "tensor" || stage.name == "autograd"));
        }
    }
}

TEST_CASE("the loss stages record e^2 as their loss", "[stages]") {
    // nn::MSELoss of one sample is (y - d)^2 computed by LibTorch; e is d - y: the two agree to rounding.
    const ReferenceScenario reference = reference_scenario("default");
    const Data data = reference_data("default");
    const StageRun run = run_stage(find_stage("mseloss"), data, reference.scenario, Device::cpu);
    for (std::size_t i = 0; i < run.trajectory.e.size(); ++i)
        REQUIRE(run.trajectory.loss[i] == Approx(run.trajectory.e[i] * run.trajectory.e[i]).epsilon(1e-14));
}

TEST_CASE("the numpy stage matches NumPy's own loop bit for bit", "[stages][reference]") {
    for (const std::string& name : reference_names()) {
        CAPTURE(name);
        const StageRun run =
            run_stage(stages().front(), reference_data(name), reference_scenario(name).scenario, Device::cpu);
        require_same_bits(run.trajectory.w.values, reference_array(name + "/numpy/w.npy").values);
    }
}

TEST_CASE("every zero-init stage follows numpy, also for shapes the reference does not cover", "[stages]") {
    std::vector<Scenario> scenarios(3);
    scenarios[1].taps = 1; // xM[0 : M - 1] is empty; nn::Linear sees one input
    scenarios[1].step_size = 0.3;
    scenarios[2].taps = 12; // beyond the lengths the numpy stage compiles separately
    scenarios[2].samples = 257;
    scenarios[2].seed = 2024;
    scenarios[2].wo = {1.0, -0.5};
    for (const Scenario& scenario : scenarios) {
        const Data data = generate_data(scenario);
        const StageRun numpy = run_stage(stages().front(), data, scenario, Device::cpu);
        for (const Stage& stage : stages()) {
            if (!stage.starts_from_zero) continue;
            CAPTURE(scenario.taps, stage.name);
            const StageRun run = run_stage(stage, data, scenario, Device::cpu);
            REQUIRE(max_abs_difference(run.trajectory.w.values, numpy.trajectory.w.values) <= tolerance);
        }
    }
}

TEST_CASE("linear starts from PyTorch's default init for the same torch seed", "[stages][reference]") {
    for (const std::string& name : reference_names()) {
        const ReferenceScenario reference = reference_scenario(name);
        CAPTURE(name);
        const StageRun run = run_stage(find_stage("linear"), reference_data(name), reference.scenario, Device::cpu);
        const Array2D w = reference_array(name + "/linear/w.npy");
        // Row 0 is nn.Linear's Kaiming-uniform draw: the same generator, seed and bound give the same bits.
        require_same_bits(run.trajectory.w.row(0), w.row(0));
        // The default init is not zero: that is the stage's point.
        REQUIRE(distance(run.trajectory.w.row(0), std::vector<double>(w.cols, 0.0)) > 0.01);
    }
    // Another torch seed draws other initial weights; the data seed plays no part in them.
    Scenario scenario;
    scenario.samples = 5;
    const Data data = generate_data(scenario);
    scenario.torch_seed = 1;
    const auto first = run_stage(find_stage("linear"), data, scenario, Device::cpu).trajectory.w.row(0);
    scenario.torch_seed = 2;
    const auto second = run_stage(find_stage("linear"), data, scenario, Device::cpu).trajectory.w.row(0);
    REQUIRE(first != second);
}

TEST_CASE("compare measures every stage against numpy", "[stages]") {
    const ReferenceScenario reference = reference_scenario("default");
    const Comparison comparison = compare_stages(reference_data("default"), reference.scenario, Device::cpu, tolerance);
    REQUIRE(comparison.stages.size() == stages().size());
    REQUIRE(comparison.agrees());
    for (const StageComparison& c : comparison.stages) {
        CAPTURE(c.stage->name);
        REQUIRE(c.run);
        if (c.stage->starts_from_zero) REQUIRE(c.within(tolerance));
    }
    const StageComparison& linear = comparison.stages[6];
    REQUIRE(linear.stage->name == "linear");
    REQUIRE(linear.max_deviation > 0.01);  // differs early...
    REQUIRE(linear.final_distance < 0.01); // ...and meets the others later
    // With tolerance 0, compare agrees only if every zero-init stage is exactly numpy.
    const Comparison strict = compare_stages(reference_data("default"), reference.scenario, Device::cpu, 0.0);
    bool all_exact = true;
    for (const StageComparison& c : strict.stages) all_exact &= !c.stage->starts_from_zero || c.max_deviation == 0.0;
    REQUIRE(strict.agrees() == all_exact);
}

TEST_CASE("a diverging filter is reported with the sample and the stability bound", "[stages]") {
    Scenario scenario;
    scenario.step_size = 50.0;
    scenario.samples = 2000;
    const Data data = generate_data(scenario);
    REQUIRE_THROWS_AS(run_stage(stages().front(), data, scenario, Device::cpu), DivergenceError);
    // From NumPy (the notebook's data and loop, tests/test_divergence.cpp's rule): the weights pass the threshold
    // 1e6 (||w_0|| + rms(d)/rms(x)) = 3.82e+05 after sample 3 and stop being finite after sample 198; the input
    // power is 0.95690090061568, so the bound 2 / (5 sx2) is 0.41801611822356.
    REQUIRE_THROWS_WITH(
        run_stage(stages().front(), data, scenario, Device::cpu),
        "numpy: diverged at sample 3 (||w|| passed 3.82e+05 = 1e6 (||w_0|| + rms(d)/rms(x)) and stopped "
        "being finite at sample 198); with M = 3 and input power 0.957, eta = 50 must stay below "
        "about 0.418");
    const Comparison comparison = compare_stages(data, scenario, Device::cpu, tolerance);
    REQUIRE_FALSE(comparison.agrees());
    REQUIRE(comparison.failed());
    for (const StageComparison& c : comparison.stages) {
        CAPTURE(c.stage->name);
        REQUIRE_FALSE(c.run);
        REQUIRE(c.diverged);
    }
}

TEST_CASE("the compare table keeps one row per stage, also for a long filter", "[stages][report]") {
    Scenario scenario;
    scenario.taps = 20;
    scenario.samples = 5;
    const Data data = generate_data(scenario);
    const std::string table =
        comparison_report(compare_stages(data, scenario, Device::cpu, tolerance), scenario, data, Device::cpu);
    for (const Stage& stage : stages()) {
        CAPTURE(stage.name);
        const std::size_t row = table.find("\n" + std::string(stage.name) + " ");
        REQUIRE(row != std::string::npos);
        const std::string line = table.substr(row + 1, table.find('\n', row + 1) - row - 1);
        REQUIRE_THAT(line, Catch::EndsWith(", ... (20 taps)]"));
    }
}
