#include "io/csv.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <sstream>

namespace lmsref {

std::string encode_csv(const Array2D& array) {
    std::string out;
    for (std::size_t r = 0; r < array.rows; ++r) {
        for (std::size_t c = 0; c < array.cols; ++c) {
            if (c > 0) out.push_back(',');
            out += format_number(array(r, c));
        }
        out.push_back('\n');
    }
    return out;
}

Array2D decode_csv(const std::string& text, const std::string& name) {
    Array2D array;
    std::size_t first_row_line = 0;
    std::stringstream lines(text);
    std::size_t line_number = 0;
    for (std::string line; std::getline(lines, line);) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        std::size_t cols = 0;
        std::stringstream fields(line);
        for (std::string field; std::getline(fields, field, ',');) {
            ++cols;
            const std::string value = trim(field);
            char* stop = nullptr;
            const double number = std::strtod(value.c_str(), &stop);
            if (value.empty() || stop != value.c_str() + value.size()) { // also a NUL byte inside the field
                std::string message = name + ": line " + std::to_string(line_number) + ", column " +
                                      std::to_string(cols) + ": " + quote_value(value) + " is not a number";
                if (value.find('\r') != std::string::npos)
                    message += " (lines that end in a carriage return alone? lmsref reads LF or CRLF line ends)";
                else if (array.rows == 0 && value.rfind("\xef\xbb\xbf", 0) == 0)
                    message += " (a byte-order mark: save the file as UTF-8 without BOM)";
                else if (array.rows == 0)
                    message += " (a CSV file for lmsref holds numbers only, no header line)";
                throw InputError(message);
            }
            array.values.push_back(number);
        }
        if (line.back() == ',')
            throw InputError(name + ": line " + std::to_string(line_number) + ", column " + std::to_string(cols + 1) +
                             ": '' is not a number");
        if (array.rows == 0) {
            array.cols = cols;
            first_row_line = line_number;
        } else if (cols != array.cols) {
            throw InputError(name + ": line " + std::to_string(line_number) + " has " + std::to_string(cols) +
                             " values but line " + std::to_string(first_row_line) + " has " +
                             std::to_string(array.cols));
        }
        ++array.rows;
    }
    if (array.rows == 0) throw InputError(name + ": the file holds no numbers");
    return array;
}

} // namespace lmsref
