// Small text helpers shared by the messages, the reports, the writers and the option parsing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace lmsref {

/// printf-style formatting of one number, e.g. format_number(x, "%.3g").
inline std::string format_number(double value, const char* format = "%.17g") {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

/// A comma list of finite numbers ("0.1, 0.2,0.3"). Throws InputError naming `option`, the item and its place.
std::vector<double> parse_number_list(const std::string& option, const std::string& text);

/// A finite or infinite number as strtod reads it ("0.1", "1e-3", "nan"), the whole text. Throws InputError naming
/// `option` and the value otherwise; the range is the caller's to check.
double parse_number(const std::string& option, const std::string& text);

/// A whole number, possibly negative ("-2"), the whole text. Throws InputError naming `option`; `range_note` ends
/// the message for a value beyond 64 bits (e.g. "; N must be from 1 to 1000000000").
std::int64_t parse_integer(const std::string& option, const std::string& text, const std::string& range_note);

/// The candidate nearest to `text` (edit distance at most 2, or a candidate that starts with it), or "".
std::string closest_name(const std::string& text, const std::vector<std::string>& candidates);

/// A whole non-negative integer no larger than `max`. Throws InputError naming `option` and the range.
std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t max,
                          const std::string& range_note = "");

} // namespace lmsref
