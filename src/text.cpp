#include "text.hpp"

#include "errors.hpp"

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
            throw InputError(option + ": item " + std::to_string(item) + " ('" + value +
                             "') is not a number; give comma-separated numbers, e.g. 0.1,0.2,0.3");
        if (!std::isfinite(number))
            throw InputError(option + ": item " + std::to_string(item) + " ('" + value +
                             "') is not finite; every coefficient must be a finite number");
        numbers.push_back(number);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return numbers;
}

double parse_number(const std::string& option, const std::string& text) {
    const std::string value = trim(text);
    char* stop = nullptr;
    const double number = value.empty() ? 0.0 : std::strtod(value.c_str(), &stop);
    if (value.empty() || stop != value.c_str() + value.size())
        throw InputError(option + ": '" + text + "' is not a number");
    return number;
}

std::int64_t parse_integer(const std::string& option, const std::string& text, const std::string& range_note) {
    const std::string value = trim(text);
    const std::size_t digits = !value.empty() && (value[0] == '-' || value[0] == '+') ? 1 : 0;
    if (value.size() == digits || value.find_first_not_of("0123456789", digits) != std::string::npos)
        throw InputError(option + ": '" + text + "' is not a whole number");
    errno = 0;
    const long long number = std::strtoll(value.c_str(), nullptr, 10);
    if (errno == ERANGE) throw InputError(option + ": " + value + " is out of range" + range_note);
    return number;
}

std::string closest_name(const std::string& text, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = 3; // farther than 2 edits is no suggestion
    for (const std::string& candidate : candidates) {
        if (text.size() >= 3 && candidate.compare(0, text.size(), text) == 0) return candidate;
        // Levenshtein distance, one row at a time.
        std::vector<std::size_t> row(candidate.size() + 1);
        for (std::size_t j = 0; j < row.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= text.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= candidate.size(); ++j) {
                const std::size_t above = row[j];
                row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (text[i - 1] == candidate[j - 1] ? 0 : 1)});
                diagonal = above;
            }
        }
        if (row.back() < best_distance) {
            best_distance = row.back();
            best = candidate;
        }
    }
    return best;
}

std::string unknown_name(const std::string& what, std::string_view name, const std::vector<std::string>& known) {
    const std::string near = closest_name(std::string(name), known);
    return fmt::format("unknown {} '{}'{}; the {}s are {}", what, name,
                       near.empty() ? "" : " (did you mean '" + near + "'?)", what, fmt::join(known, ", "));
}

std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t max,
                          const std::string& range_note) {
    const std::string value = trim(text);
    const std::string allowed = "a whole number from 0 to " + std::to_string(max) + range_note;
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
        throw InputError(option + ": '" + text + "' is not allowed; use " + allowed);
    errno = 0;
    const unsigned long long number = std::strtoull(value.c_str(), nullptr, 10);
    if (errno == ERANGE || number > max) throw InputError(option + ": " + value + " is out of range; use " + allowed);
    return number;
}

} // namespace lmsref
