#include "text.hpp"

#include "errors.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace lmsref {

namespace {
std::string trimmed(const std::string& text) {
    const auto begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos) return "";
    return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}
} // namespace

std::vector<double> parse_number_list(const std::string& option, const std::string& text) {
    std::vector<double> numbers;
    if (trimmed(text).empty())
        throw InputError(option + ": the list is empty; give comma-separated numbers, e.g. 0.1,0.2,0.3");
    std::size_t start = 0;
    for (std::size_t item = 1;; ++item) {
        const std::size_t comma = text.find(',', start);
        const std::string value = trimmed(text.substr(start, comma == std::string::npos ? comma : comma - start));
        char* stop = nullptr;
        errno = 0;
        const double number = value.empty() ? 0.0 : std::strtod(value.c_str(), &stop);
        if (value.empty() || *stop != '\0')
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

std::uint64_t parse_count(const std::string& option, const std::string& text, std::uint64_t max,
                          const std::string& range_note) {
    const std::string value = trimmed(text);
    const std::string allowed = "a whole number from 0 to " + std::to_string(max) + range_note;
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
        throw InputError(option + ": '" + text + "' is not allowed; use " + allowed);
    errno = 0;
    const unsigned long long number = std::strtoull(value.c_str(), nullptr, 10);
    if (errno == ERANGE || number > max) throw InputError(option + ": " + value + " is out of range; use " + allowed);
    return number;
}

} // namespace lmsref
