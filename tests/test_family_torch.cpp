// The LMS family's LibTorch programs (src/stages/family_torch.cpp) against the plain recursions (src/lms/family.cpp),
// which test_family.cpp checks against NumPy: each PyTorch part reaches its member's update.
#include "ensemble/ensemble.hpp"
#include "lms/scenario.hpp"
#include "lms/torch_module.hpp"
#include "stages/family_torch.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace lmsref;
using namespace lmsref::test;

TEST_CASE("family: each member's LibTorch program follows its plain recursion to 1e-12", "[family]") {
    // 1e-12 relative to max(1, |value|): LibTorch's matmul, its optimizers' fused steps and the autograd chain round
    // in their own order (w -= lr g for w += eta e x; leaky's decay as 2 gamma in the gradient).
    for (const std::string& scenario_name : family_scenarios) {
        const Scenario scenario = reference_scenario("family/" + scenario_name).scenario;
        const Data data = generate_data(scenario);
        const auto M = static_cast<std::size_t>(scenario.taps);
        for (const FamilyMember& member : family()) {
            CAPTURE(scenario_name, member.name);
            const Trajectory plain = member.run(data.x, data.d, scenario.step_size, M, FamilyOptions{});
            const Trajectory torch_program =
                run_family_torch(member.name, data.x, data.d, scenario.step_size, M, FamilyOptions{});
            REQUIRE(torch_program.w.values.size() == plain.w.values.size());
            CHECK(largest_relative_difference(torch_program.w.values, plain.w.values) <= 1e-12);
            CHECK(largest_relative_difference(torch_program.e, plain.e) <= 1e-12);
        }
    }
}

TEST_CASE("family: each LibTorch program and recursion equals the member's PyTorch program in Python to 1e-12",
          "[family]") {
    // data/reference/family_torch/: scripts/make_reference.py's lms_torch_member, the same parts in Python torch.
    // 1e-12 relative to max(1, |value|), as above: both sides round LibTorch's and Python torch's steps in the
    // order their version does (the PyPI LibTorch is not the Debian one that wrote the references).
    for (const std::string& scenario_name : family_scenarios) {
        const Scenario scenario = reference_scenario("family/" + scenario_name).scenario;
        const Data data = generate_data(scenario);
        const auto M = static_cast<std::size_t>(scenario.taps);
        for (const FamilyMember& member : family()) {
            CAPTURE(scenario_name, member.name);
            const std::string folder = "family_torch/" + scenario_name + "/" + std::string(member.name) + "/";
            const Array2D w = reference_array(folder + "w.npy");
            const Array2D e = reference_array(folder + "e.npy");
            const Trajectory torch_program =
                run_family_torch(member.name, data.x, data.d, scenario.step_size, M, FamilyOptions{});
            const Trajectory plain = member.run(data.x, data.d, scenario.step_size, M, FamilyOptions{});
            REQUIRE(w.values.size() == plain.w.values.size());
            REQUIRE(e.values.size() == plain.e.size());
            CHECK(largest_relative_difference(torch_program.w.values, w.values) <= 1e-12);
            CHECK(largest_relative_difference(torch_program.e, e.values) <= 1e-12);
            CHECK(largest_relative_difference(plain.w.values, w.values) <= 1e-12);
            CHECK(largest_relative_difference(plain.e, e.values) <= 1e-12);
        }
    }
}

TEST_CASE("family: optim::Adam with betas (0, 0) is sign-sign, SGD's momentum 0 is lms, in LibTorch too", "[family]") {
    // As tests/test_family.cpp shows for the recursions: Adam's step lr g / (sqrt(g^2) + 1e-300) is +-lr up to the
    // rounding of sqrt(g^2) (1e-15 relative over the run), and momentum 0 is the lms step (1e-12).
    const Scenario scenario = reference_scenario("family/eight_taps").scenario;
    const Data data = generate_data(scenario);
    const auto M = static_cast<std::size_t>(scenario.taps);
    FamilyOptions o;
    o.adam_beta1 = 0.0;
    o.adam_beta2 = 0.0;
    o.adam_eps = 1e-300;
    o.beta = 0.0;
    const Trajectory adam = run_family_torch("adam", data.x, data.d, scenario.step_size, M, o);
    const Trajectory sign_sign = find_member("sign-sign").run(data.x, data.d, scenario.step_size, M, o);
    CHECK(largest_relative_difference(adam.w.values, sign_sign.w.values) <= 1e-15);
    const Trajectory momentum = run_family_torch("momentum", data.x, data.d, scenario.step_size, M, o);
    const Trajectory lms = find_member("lms").run(data.x, data.d, scenario.step_size, M, o);
    CHECK(largest_relative_difference(momentum.w.values, lms.w.values) <= 1e-12);
}

TEST_CASE("family: each member's LibTorch program batched over realizations follows its recursion's curves",
          "[family][ensemble]") {
    // The batched program (the LibTorch module's family_batched, the sum of the realizations' losses, elementwise
    // optimizers, one P per realization for rls) against the plain engine's member on the same realizations: 1e-12
    // relative, as the single runs (the batched sums round in LibTorch's order). Two chunks of one block (R = 100,
    // the second partial), M = 3 and 8.
    for (std::int64_t M : {3, 8}) {
        EnsembleOptions options;
        options.scenario.taps = M;
        options.scenario.samples = 80;
        options.scenario.step_size = 0.05;
        options.realizations = 100;
        options.threads = 2;
        for (const FamilyMember& member : family()) {
            CAPTURE(M, member.name);
            EnsembleOptions plain = options;
            plain.algorithm = member.id;
            const EnsembleResult recursion = run_ensemble(plain);
            BatchedOptions batched;
            batched.stage = torch_module().family_batched;
            batched.algorithm = member.id;
            batched.chunk = 64;
            const EnsembleResult program = run_ensemble_batched(options, batched);
            CHECK(largest_relative_difference(program.mse, recursion.mse) <= 1e-12);
            CHECK(largest_relative_difference(program.msd, recursion.msd) <= 1e-12);
            CHECK(largest_relative_difference(program.meanw, recursion.meanw) <= 1e-12);
        }
    }
}
