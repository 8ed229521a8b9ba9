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
