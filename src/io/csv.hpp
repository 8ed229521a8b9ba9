// CSV files of numbers: one row per line, values separated by commas, no header.
#pragma once

#include "core/array2d.hpp"

#include <string>

namespace lmsref {

/// One row per line, values separated by commas, 17 significant digits.
std::string encode_csv(const Array2D& array);
/// Parses CSV text of numbers (no header); every row must have the same number of columns. Throws InputError.
Array2D decode_csv(const std::string& text, const std::string& name);

} // namespace lmsref
