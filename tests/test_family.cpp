// The LMS family's plain recursions (src/lms/family.hpp) against the same recursions written in NumPy from their
// formulas (scripts/family_reference.py, data/reference/family/): three scenarios, M = 1, 3 and 8.
#include "core/errors.hpp"
#include "lms/family.hpp"
#include "lms/scenario.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace lmsref;
using namespace lmsref::test;

TEST_CASE("family: every member's recursion is its NumPy twin's to 1e-12", "[family]") {
    // 1e-12 relative to max(1, |value|): NumPy sums w @ xM and x @ P @ x in its own order, and a few members divide
    // or take square roots of those sums; the data are the notebook's, bit for bit (the scenario references).
    for (const std::string& scenario_name : family_scenarios) {
        const Scenario scenario = reference_scenario("family/" + scenario_name).scenario;
        const Data data = generate_data(scenario);
        for (const FamilyMember& member : family()) {
            CAPTURE(scenario_name, member.name);
            const Trajectory t = member.run(data.x, data.d, scenario.step_size, static_cast<std::size_t>(scenario.taps),
                                            FamilyOptions{});
            const std::string folder = "family/" + scenario_name + "/" + std::string(member.name) + "/";
            const Array2D w = reference_array(folder + "w.npy");
            const Array2D e = reference_array(folder + "e.npy");
            REQUIRE(w.rows == t.w.rows);
            REQUIRE(w.cols == t.w.cols);
            REQUIRE(e.values.size() == t.e.size());
            CHECK(largest_relative_difference(t.w.values, w.values) <= 1e-12);
            CHECK(largest_relative_difference(t.e, e.values) <= 1e-12);
            // The members differ from each other: a reference that fell back to lms would pass unnoticed otherwise.
            if (member.name != "lms") {
                const Array2D lms = reference_array("family/" + scenario_name + "/lms/w.npy");
                CHECK(lms.values != w.values);
            }
        }
    }
}

TEST_CASE("family: lms is the numpy stage, and a wrong name lists the members", "[family]") {
    const Data data = generate_data(Scenario{});
    const Trajectory lms = find_member("lms").run(data.x, data.d, 0.1, 3, FamilyOptions{});
    CHECK(same_bits(lms.w.values, reference_array("default/numpy/w.npy").values));
    REQUIRE_THROWS_AS(find_member("nlsm"), InputError);
    REQUIRE_THROWS_WITH(find_member("nlsm"), Catch::Contains("did you mean 'nlms'"));
}

TEST_CASE("family: Adam with betas (0, 0) is sign-sign, momentum with beta 0 is lms", "[family]") {
    // Adam's step is lr g / (sqrt(g^2) + eps) = +-lr, up to the rounding of sqrt(g^2): with betas (0, 0) (no bias
    // correction: 1 - 0^t = 1) and eps = 1e-300, far below any non-zero |g| here, it is sign-sign's
    // eta sign(e) sign(x); in the first M - 1 samples, where the regressor holds zeros, 0 / (0 + 1e-300) = 0 =
    // sign(0). 1e-15 relative bounds the rounding of g / |g| over 500 steps. SGD's momentum with beta = 0 keeps
    // only the gradient: the lms step, to 1e-12 (eta / 2 * g against eta e x).
    for (const std::string& scenario_name : family_scenarios) {
        const Scenario scenario = reference_scenario("family/" + scenario_name).scenario;
        const Data data = generate_data(scenario);
        const auto M = static_cast<std::size_t>(scenario.taps);
        FamilyOptions o;
        o.adam_beta1 = 0.0;
        o.adam_beta2 = 0.0;
        o.adam_eps = 1e-300;
        o.beta = 0.0;
        CAPTURE(scenario_name);
        const Trajectory adam = find_member("adam").run(data.x, data.d, scenario.step_size, M, o);
        const Trajectory sign_sign = find_member("sign-sign").run(data.x, data.d, scenario.step_size, M, o);
        CHECK(largest_relative_difference(adam.w.values, sign_sign.w.values) <= 1e-15);
        const Trajectory momentum = find_member("momentum").run(data.x, data.d, scenario.step_size, M, o);
        const Trajectory lms = find_member("lms").run(data.x, data.d, scenario.step_size, M, o);
        CHECK(largest_relative_difference(momentum.w.values, lms.w.values) <= 1e-12);
        CHECK(largest_relative_difference(adam.w.values, lms.w.values) > 1e-3); // they are different members
    }
}

TEST_CASE("family: RLS with lambda = 0.99 stays sound over 10^5 samples", "[family]") {
    // A long run at lambda < 1, where P is rescaled by 1 / lambda at every step: the filter must track wo to the end
    // (the symmetrisation keeps P symmetric; without it, at this M and white input, NumPy's twin drifts only to an
    // asymmetry of 8e-19 and does not blow up either, so the test does not claim more). Checked: every error and weight
    // finite, the final weights within 0.02 of wo (their standard deviation is about sqrt(sigmav2 (1 - lambda) / 2) =
    // 0.007), and the last 10^4 samples' mean e^2 within 5 % of J_min (1 + M (1 - lambda) / (1 + lambda)) (its standard
    // error over 10^4 correlated samples is about 2 %).
    Scenario s;
    s.samples = 100000;
    s.taps = 3;
    s.seed = 3;
    const Data data = generate_data(s);
    FamilyOptions o;
    o.lambda = 0.99;
    const Trajectory rls = find_member("rls").run(data.x, data.d, s.step_size, 3, o);
    CHECK(std::all_of(rls.e.begin(), rls.e.end(), [](double v) { return std::isfinite(v); }));
    CHECK(std::all_of(rls.w.values.begin(), rls.w.values.end(), [](double v) { return std::isfinite(v); }));
    const std::vector<double> last = rls.final_weights();
    for (std::size_t k = 0; k < 3; ++k) CHECK(std::abs(last[k] - s.wo[k]) < 0.02);
    double sum = 0.0;
    for (std::size_t n = 90000; n < 100000; ++n) sum += rls.e[n] * rls.e[n];
    const double predicted = s.noise_variance * (1 + 3 * (1 - o.lambda) / (1 + o.lambda));
    CHECK(std::abs(sum / 10000 / predicted - 1) < 0.05);
}
