#include "core/text.hpp"

#include "core/errors.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/printf.h>

namespace lmsref {

std::string format_number(double value, const char* format) {
    return fmt::sprintf(format, value);
}

namespace {

/// The length of the valid UTF-8 sequence at the start of `text` (0 when it is not one).
std::size_t utf8_length(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(0);
    std::size_t length = 0;
    unsigned min = 0;
    if (lead >= 0xc2 && lead <= 0xdf)
        length = 2, min = 0x80;
    else if (lead >= 0xe0 && lead <= 0xef)
        length = 3, min = 0x800;
    else if (lead >= 0xf0 && lead <= 0xf4)
        length = 4, min = 0x10000;
    if (length == 0 || text.size() < length) return 0;
    unsigned code = lead & (0x7fu >> length);
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(i) & 0xc0) != 0x80) return 0;
        code = (code << 6) | (byte(i) & 0x3fu);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
    return length;
}

/// Appends `text` escaped as quote_value describes, stopping once `out` holds `limit` characters; returns the
/// number of bytes of `text` consumed.
std::size_t append_escaped(std::string& out, std::string_view text, std::size_t limit) {
    std::size_t i = 0;
    for (std::size_t shown = 0; i < text.size() && shown < limit; ++shown) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(text[i++]);
            continue;
        }
        const std::size_t length = c >= 0x80 ? utf8_length(text.substr(i)) : 0;
        if (length == 3 && text.substr(i, 3) == "\xef\xbb\xbf") {
            out += "\\ufeff";
        } else if (length > 0) {
            out.append(text.substr(i, length));
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += fmt::format("\\x{:02x}", c);
        }
        i += std::max<std::size_t>(length, 1);
    }
    return i;
}

} // namespace

/// A number too large for its type as a message shows it: as typed when short, else cut as quote_value cuts.
std::string shown_number(const std::string& digits) {
    return digits.size() <= 40 ? digits : quote_value(digits, 40);
}

std::string quote_value(std::string_view text, std::size_t limit) {
    std::string out = "'";
    const std::size_t used = append_escaped(out, text, limit);
    out += "'";
    if (used < text.size()) out.insert(out.size() - 1, fmt::format("... ({} bytes in all)", text.size()));
    return out;
}

std::string one_line(std::string_view text) {
    std::string out;
    append_escaped(out, text, std::string::npos);
    return out;
}

std::string format_vector(const std::vector<double>& values, const char* format) {
    std::string text = "[";
    for (std::size_t k = 0; k < values.size(); ++k) text += (k ? ", " : "") + format_number(values[k], format);
    return text + "]";
}

std::string format_vector(const std::vector<double>& values, const char* format, std::size_t most) {
    if (most < 2 || values.size() <= most) return format_vector(values, format);
    std::string text = "[";
    for (std::size_t k = 0; k + 1 < most; ++k) text += format_number(values[k], format) + ", ";
    return text + "..., " + format_number(values.back(), format) + "] (" + std::to_string(values.size()) + " values)";
}

std::string trim(std::string_view text, std::string_view space) {
    const auto begin = text.find_first_not_of(space);
    if (begin == std::string_view::npos) return "";
    return std::string(text.substr(begin, text.find_last_not_of(space) - begin + 1));
}

std::vector<double> parse_number_list(const std::string& option, const std::string& text) {
    std::vector<double> numbers;
    if (trim(text).empty())
        throw InputError(option + ": the list is empty; give comma-separated numbers, e.g. 0.1,0.2,0.3");
    std::size_t start = 0;
    for (std::size_t item = 1;; ++item) {
        const std::size_t comma = text.find(',', start);
        const std::string value = trim(text.substr(start, comma == std::string::npos ? comma : comma - start));
        char* stop = nullptr;
        const double number = value.empty() ? 0.0 : std::strtod(value.c_str(), &stop);
        if (value.empty() || stop != value.c_str() + value.size())
            throw InputError(option + ": item " + std::to_string(item) + " (" + quote_value(value) +
                             ") is not a number; give comma-separated numbers, e.g. 0.1,0.2,0.3");
        if (!std::isfinite(number))
            throw InputError(option + ": item " + std::to_string(item) + " (" + quote_value(value) +
                             ") is not finite; every coefficient must be a finite number");
        numbers.push_back(number);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return numbers;
}

double parse_number(const std::string& option, const std::string& text) {
    const std::string value = trim(text);
    char* stop = nullptr;
    errno = 0;
    const double number = value.empty() ? 0.0 : std::strtod(value.c_str(), &stop);
    if (value.empty() || stop != value.c_str() + value.size())
        throw InputError(option + ": " + quote_value(text) + " is not a number");
    if (errno == ERANGE && std::isinf(number))
        throw InputError(option + ": " + quote_value(value) +
                         " is out of range: beyond the largest float64, about 1.8e308");
    if (errno == ERANGE && number == 0.0)
        throw InputError(option + ": " + quote_value(value) +
                         " is too small for a float64: it would be 0 (the smallest is about 4.9e-324)");
    return number;
}

std::int64_t parse_integer(const std::string& option, const std::string& text, const std::string& range_note) {
    const std::string value = trim(text);
    const std::size_t digits = !value.empty() && (value[0] == '-' || value[0] == '+') ? 1 : 0;
    if (value.size() == digits || value.find_first_not_of("0123456789", digits) != std::string::npos)
        throw InputError(option + ": " + quote_value(text) + " is not a whole number" +
                         (value.find('=') == 0 ? "; write the value after a space or after the long name's =, "
                                                 "e.g. -N 10 or --samples=10"
                                               : ""));
    errno = 0;
    const long long number = std::strtoll(value.c_str(), nullptr, 10);
    if (errno == ERANGE) throw InputError(option + ": " + shown_number(value) + " is out of range" + range_note);
    return number;
}

std::string closest_name(const std::string& text, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = 3; // farther than 2 edits is no suggestion
    for (const std::string& candidate : candidates) {
        if (text.size() >= 3 && candidate.compare(0, text.size(), text) == 0) return candidate;
        // The optimal string alignment distance (Levenshtein's, a swap of two neighbours counting one edit: 'cdua'
        // is one edit from 'cuda'), over the full table: names are short.
        std::vector<std::vector<std::size_t>> table(text.size() + 1, std::vector<std::size_t>(candidate.size() + 1));
        for (std::size_t i = 0; i <= text.size(); ++i) table[i][0] = i;
        for (std::size_t j = 0; j <= candidate.size(); ++j) table[0][j] = j;
        for (std::size_t i = 1; i <= text.size(); ++i)
            for (std::size_t j = 1; j <= candidate.size(); ++j) {
                table[i][j] = std::min({table[i - 1][j] + 1, table[i][j - 1] + 1,
                                        table[i - 1][j - 1] + (text[i - 1] == candidate[j - 1] ? 0 : 1)});
                if (i > 1 && j > 1 && text[i - 1] == candidate[j - 2] && text[i - 2] == candidate[j - 1])
                    table[i][j] = std::min(table[i][j], table[i - 2][j - 2] + 1);
            }
        const std::vector<std::size_t>& row = table[text.size()];
        if (row.back() < best_distance) {
            best_distance = row.back();
            best = candidate;
        }
    }
    return best;
}

std::string unknown_name(const std::string& what, std::string_view name, const std::vector<std::string>& known) {
    const std::string near = closest_name(std::string(name), known);
    return fmt::format("unknown {} {}{}; the {}s are {}", what, quote_value(name),
                       near.empty() ? "" : " (did you mean '" + near + "'?)", what, fmt::join(known, ", "));
}

std::string choice_error(const std::string& text, const char* what, const std::vector<std::string>& names) {
    const std::string near = closest_name(text, names);
    std::string list;
    for (std::size_t k = 0; k < names.size(); ++k)
        list += (k == 0 ? "" : k + 1 == names.size() ? " or " : ", ") + names[k];
    return quote_value(text) + " is not " + what +
           (near.empty() || text.empty() ? "" : " (did you mean '" + near + "'?)") + "; use " + list;
}

std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t max,
                          const std::string& range_note) {
    const std::string value = trim(text);
    const std::string allowed = "a whole number from 0 to " + std::to_string(max) + range_note;
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
        throw InputError(option + ": " + quote_value(text) + " is not allowed; use " + allowed);
    errno = 0;
    const unsigned long long number = std::strtoull(value.c_str(), nullptr, 10);
    if (errno == ERANGE || number > max)
        throw InputError(option + ": " + shown_number(value) + " is out of range; use " + allowed);
    return number;
}

} // namespace lmsref
