// Data generation against the notebook's own x and d (NumPy + SciPy), for every reference scenario.
// x must be the same bits. d is the same sum of products in the same order, so it is held to the same bits too;
// the bound of 1e-15 is checked as well, so that a failure says which promise broke.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace lmsref;
using namespace lmsref::test;

TEST_CASE("generated x and d equal the notebook's", "[data]") {
    for (const std::string& name : reference_names()) {
        const ReferenceScenario reference = reference_scenario(name);
        CAPTURE(name);
        const Data data = generate_data(reference.scenario);
        const Array2D x = reference_array(name + "/x.npy");
        const Array2D d = reference_array(name + "/d.npy");
        require_same_bits(data.x, x.values);
        REQUIRE(data.d.size() == d.values.size());
        CHECK(max_abs_difference(data.d, d.values) <= 1e-15);
        require_same_bits(data.d, d.values);
    }
}

TEST_CASE("lfilter_fir is the convolution, truncated to the input's length", "[data]") {
    // Small integers: every product and sum is exact, so the expected values are exact too.
    const std::vector<double> b{1.0, 2.0, 3.0};
    const std::vector<double> x{1.0, 0.0, 0.0, 0.0, 2.0};
    const std::vector<double> y = lfilter_fir(b, x);
    REQUIRE(y == std::vector<double>{1.0, 2.0, 3.0, 0.0, 2.0});
    REQUIRE(lfilter_fir({0.5}, {2.0, -4.0}) == std::vector<double>{1.0, -2.0});
    REQUIRE(lfilter_fir({1.0, 1.0, 1.0, 1.0}, {1.0, 1.0}) == std::vector<double>{1.0, 2.0});
}

TEST_CASE("a scenario out of range is refused with the option's name", "[data]") {
    Scenario s;
    s.samples = 0;
    REQUIRE_THROWS_WITH(validate(s), Catch::StartsWith("samples: "));
    s = Scenario{};
    s.taps = 0;
    REQUIRE_THROWS_WITH(validate(s), Catch::StartsWith("taps: "));
    s = Scenario{};
    s.step_size = -0.1;
    REQUIRE_THROWS_WITH(validate(s), Catch::StartsWith("eta: "));
    s = Scenario{};
    s.noise_variance = std::nan("");
    REQUIRE_THROWS_WITH(validate(s), Catch::StartsWith("sigmav2: "));
    s = Scenario{};
    s.wo.clear();
    REQUIRE_THROWS_WITH(validate(s), Catch::StartsWith("wo: "));
}
