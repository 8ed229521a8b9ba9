// The option parsers (comma lists of numbers, bounded whole numbers), the number formatter and the messages for
// unknown names. Inputs the fuzzer found worth keeping become cases here.
#include "core/errors.hpp"
#include "core/text.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

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

TEST_CASE("format_number writes what printf writes, and %.17g reads back as the same double", "[text]") {
    constexpr double inf = std::numeric_limits<double>::infinity();
    std::vector<double> values = {0.0,
                                  -0.0,
                                  0.1,
                                  0.5,
                                  2.5,
                                  1e-5,
                                  123456.0,
                                  1234567.0,
                                  1e22,
                                  -inf,
                                  inf,
                                  std::nan(""),
                                  std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::max()};
    std::mt19937_64 bits(7);
    for (int k = 0; k < 2000; ++k) {
        const std::uint64_t word = bits();
        double value = 0;
        std::memcpy(&value, &word, sizeof value);
        if (!std::isnan(value)) values.push_back(value);
    }
    for (const char* format : {"%.17g", "%g", "%.9g", "%.10g", "%.3g", "%.3f", "%.1f", "%.1e", "%.2e", "%.3e"}) {
        for (const double value : values) {
            char expected[512];
            std::snprintf(expected, sizeof expected, format, value);
            CAPTURE(format, value);
            REQUIRE(format_number(value, format) == expected);
        }
    }
    for (const double value : values)
        if (std::isfinite(value)) REQUIRE(std::strtod(format_number(value).c_str(), nullptr) == value);
}

TEST_CASE("trim takes spaces and tabs off both ends, or the characters given", "[text]") {
    REQUIRE(trim("  a b\t") == "a b");
    REQUIRE(trim(" \t ").empty());
    REQUIRE(trim("").empty());
    REQUIRE(trim("x") == "x");
    REQUIRE(trim("a\r\n") == "a\r\n");
    REQUIRE(trim(" a\r\n", " \t\r\n") == "a");
}

TEST_CASE("unknown_name lists the known names and suggests the nearest", "[text]") {
    const std::vector<std::string> stages = {"numpy", "tensor", "sgd"};
    REQUIRE(unknown_name("stage", "adam", stages) == "unknown stage 'adam'; the stages are numpy, tensor, sgd");
    REQUIRE(unknown_name("stage", "sdg", stages) ==
            "unknown stage 'sdg' (did you mean 'sgd'?); the stages are numpy, tensor, sgd");
    REQUIRE(unknown_name("section", "tens", {"tensors", "devices"}) ==
            "unknown section 'tens' (did you mean 'tensors'?); the sections are tensors, devices");
    REQUIRE(unknown_name("stage", "", stages) == "unknown stage ''; the stages are numpy, tensor, sgd");
}

TEST_CASE("text: one parser for every enumerated option, with the near miss named", "[text]") {
    enum class Colour { red, green, blue };
    static const Choice<Colour> colours[] = {{"red", Colour::red}, {"green", Colour::green}, {"blue", Colour::blue}};
    REQUIRE(parse_choice(Field{"colour"}, "green", "a colour", colours) == Colour::green);
    REQUIRE_THROWS_WITH(parse_choice(Field{"colour"}, "gren", "a colour", colours),
                        "colour: 'gren' is not a colour (did you mean 'green'?); use red, green or blue");
    REQUIRE_THROWS_WITH(parse_choice(Field{"colour"}, "blrue", "a colour", colours),
                        "colour: 'blrue' is not a colour (did you mean 'blue'?); use red, green or blue");
    REQUIRE_THROWS_WITH(parse_choice(Field{"colour"}, "purple", "a colour", colours),
                        "colour: 'purple' is not a colour; use red, green or blue");
    REQUIRE_THROWS_AS(parse_choice(Field{"colour"}, "", "a colour", colours), InputError);
    // A swap of two neighbours is one edit: 'cdua' is nearer 'cuda' than 'cpu'.
    REQUIRE(closest_name("cdua", {"cpu", "cuda", "auto"}) == "cuda");
}

TEST_CASE("text: a quoted value is escaped and cut, never a line longer than it should be", "[text]") {
    REQUIRE(quote_value("0.5") == "'0.5'");
    REQUIRE(quote_value("a\nb\tc\r") == "'a\\nb\\tc\\r'");
    REQUIRE(quote_value("\xef\xbb\xbf"
                        "1") == "'\\ufeff1'");
    REQUIRE(quote_value("caf\xc3\xa9") == "'caf\xc3\xa9'"); // valid UTF-8 stays
    REQUIRE(quote_value("\xff\xfe"
                        "x") == "'\\xff\\xfex'");       // bytes that are not UTF-8 do not
    REQUIRE(quote_value("\xe2\x82") == "'\\xe2\\x82'"); // a truncated sequence neither
    REQUIRE(quote_value(std::string(200, '9'), 80) == "'" + std::string(80, '9') + "... (200 bytes in all)'");
    REQUIRE(one_line("x\ny\x1b[2J") == "x\\ny\\x1b[2J");
}
