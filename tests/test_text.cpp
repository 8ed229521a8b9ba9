// The option parsers: comma lists of numbers and bounded whole numbers. Inputs the fuzzer found worth keeping
// become cases here.
#include "errors.hpp"
#include "text.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace lmsref;

TEST_CASE("parse_number_list reads comma lists, spaces allowed", "[text]") {
    REQUIRE(parse_number_list("--wo", "0.1,0.2,0.3") == std::vector<double>{0.1, 0.2, 0.3});
    REQUIRE(parse_number_list("--wo", " -0.5 , 2e-3") == std::vector<double>{-0.5, 2e-3});
    REQUIRE(parse_number_list("--wo", "7") == std::vector<double>{7.0});
}

TEST_CASE("parse_number_list names the item that is wrong", "[text]") {
    REQUIRE_THROWS_AS(parse_number_list("--wo", ""), InputError);
    REQUIRE_THROWS_WITH(parse_number_list("--wo", " "), Catch::StartsWith("--wo: the list is empty"));
    REQUIRE_THROWS_WITH(parse_number_list("--wo", "1,"), Catch::StartsWith("--wo: item 2 ('') is not a number"));
    REQUIRE_THROWS_WITH(parse_number_list("--wo", ",1"), Catch::StartsWith("--wo: item 1 ('') is not a number"));
    REQUIRE_THROWS_WITH(parse_number_list("--wo", "1,2x"), Catch::StartsWith("--wo: item 2 ('2x') is not a number"));
    REQUIRE_THROWS_WITH(parse_number_list("--wo", "nan"), Catch::StartsWith("--wo: item 1 ('nan') is not finite"));
    REQUIRE_THROWS_WITH(parse_number_list("--wo", "1e999"), Catch::Contains("is not finite"));
}

TEST_CASE("parse_count takes whole numbers within the bound", "[text]") {
    constexpr auto u32 = std::numeric_limits<std::uint32_t>::max();
    REQUIRE(parse_count("--seed", "0", u32) == 0);
    REQUIRE(parse_count("--seed", "4294967295", u32) == u32);
    REQUIRE(parse_count("--torch-seed", "18446744073709551615", std::numeric_limits<std::uint64_t>::max()) ==
            std::numeric_limits<std::uint64_t>::max());
    REQUIRE_THROWS_WITH(parse_count("--seed", "4294967296", u32), Catch::Contains("out of range"));
    REQUIRE_THROWS_WITH(parse_count("--seed", "-1", u32), Catch::Contains("'-1' is not allowed"));
    REQUIRE_THROWS_WITH(parse_count("--seed", "1.5", u32), Catch::Contains("'1.5' is not allowed"));
    REQUIRE_THROWS_WITH(parse_count("--seed", "", u32), Catch::Contains("is not allowed"));
    REQUIRE_THROWS_WITH(parse_count("--torch-seed", "99999999999999999999", std::numeric_limits<std::uint64_t>::max()),
                        Catch::Contains("out of range"));
}
