// Arrays on disk: the format picked by the file's extension (.npy or .csv), and the signals lmsref reads.
#pragma once

#include "core/array2d.hpp"

#include <string>
#include <vector>

namespace lmsref {

enum class FileFormat { npy, csv };

/// "npy" or "csv"; throws InputError otherwise.
FileFormat parse_file_format(const std::string& text);
/// ".npy" or ".csv".
const char* extension(FileFormat format);

/// Reads a .npy or .csv file (picked by extension). Throws InputError. When a .npy file held another dtype than
/// float64, names it in `*converted_from` (if given).
Array2D read_array(const std::string& path, std::string* converted_from = nullptr);
/// Reads a signal: N values stored as N or N x 1. Rejects NaN and Inf. Throws InputError. When the file held
/// another dtype than float64, says so in `*note` (if given).
std::vector<double> read_signal(const std::string& path, std::string* note = nullptr);

/// Writes an array atomically. Throws RuntimeFailure.
void write_array(const std::string& path, const Array2D& array, FileFormat format);

} // namespace lmsref
