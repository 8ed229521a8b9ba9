// Small text helpers shared by the messages, the reports, the writers and the option parsing.
#pragma once

#include "core/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmsref {

/// printf-style formatting of one number with {fmt}, the same text as printf, e.g. format_number(x, "%.3g").
/// The default "%.17g" reads back as the same double.
std::string format_number(double value, const char* format = "%.17g");

/// A value from the user or a file as a message quotes it: in single quotes, control bytes, bytes that are not
/// UTF-8 and a byte-order mark escaped (\n, \x9f, \ufeff), and past `limit` characters cut, saying how long
/// it was: a 20 MB token or a name with a newline never makes a message longer than one short line.
std::string quote_value(std::string_view text, std::size_t limit = 80);
/// `text` on one line: control bytes and bytes that are not UTF-8 escaped as quote_value does, nothing cut.
std::string one_line(std::string_view text);
/// A whole number too large for its type, as typed when short (40 digits at most), else as quote_value cuts it.
std::string shown_number(const std::string& digits);

/// A vector as "[0.1, 0.2, 0.3]", each value with `format`.
std::string format_vector(const std::vector<double>& values, const char* format = "%.6g");
/// The same, at most `most` values shown (the first most - 1, "...", the last) and then the count: a figure's title
/// stays within its width. "[0.1, 0.2, 0.3, 0.4, 0.5, ..., 1.6] (16 values)".
std::string format_vector(const std::vector<double>& values, const char* format, std::size_t most);

/// `text` without the `space` characters at either end.
std::string trim(std::string_view text, std::string_view space = " \t");

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

/// "unknown stage 'sdg' (did you mean 'sgd'?); the stages are numpy, tensor, ..." for `what` = "stage": the
/// message for a name that is none of `known`, with the nearest one when there is one.
std::string unknown_name(const std::string& what, std::string_view name, const std::vector<std::string>& known);

/// parse_choice's message.
std::string choice_error(const std::string& text, const char* what, const std::vector<std::string>& names);

/// One name of an enumerated option and the value it stands for.
template <class T> struct Choice {
    std::string_view name;
    T value;
};
/// The value `text` names among `choices`. Throws InputError "<field>: 'text' is not <what>; use a, b or c", with
/// "(did you mean 'b'?)" for a near miss: the one parser of every enumerated option (--device, --format, --rng, ...).
template <class T, std::size_t N>
T parse_choice(Field field, const std::string& text, const char* what, const Choice<T> (&choices)[N]) {
    std::vector<std::string> names;
    for (const Choice<T>& choice : choices) {
        if (choice.name == text) return choice.value;
        names.emplace_back(choice.name);
    }
    throw InputError(field, choice_error(text, what, names));
}

/// A whole non-negative integer no larger than `max`. Throws InputError naming `option` and the range.
std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t max,
                          const std::string& range_note = "");

} // namespace lmsref
