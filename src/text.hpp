// Small text helpers shared by the messages, the reports and the writers.
#pragma once

#include <cstdio>
#include <string>

namespace lmsref {

/// printf-style formatting of one number, e.g. format_number(x, "%.3g").
inline std::string format_number(double value, const char* format = "%.17g") {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

} // namespace lmsref
