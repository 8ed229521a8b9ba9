// Arrays on disk: NumPy's .npy (format 1.0, little-endian float64, C order) and CSV. Every write is atomic:
// a temporary file in the same folder, then a rename, so a failed run never leaves a torn file behind.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace lmsref {

/// A row-major matrix of doubles: the N x 1 signals and the (N+1) x M weight trajectory.
struct Array2D {
    std::size_t rows = 0;
    std::size_t cols = 0;
    std::vector<double> values;
    std::string converted_from; ///< the file's dtype when it was not float64 ("float32", "int16", ...)

    Array2D() = default;
    Array2D(std::size_t rows_, std::size_t cols_) : rows(rows_), cols(cols_), values(rows_ * cols_, 0.0) {}
    double& operator()(std::size_t r, std::size_t c) { return values[r * cols + c]; }
    double operator()(std::size_t r, std::size_t c) const { return values[r * cols + c]; }
    std::vector<double> row(std::size_t r) const {
        return {values.begin() + static_cast<std::ptrdiff_t>(r * cols),
                values.begin() + static_cast<std::ptrdiff_t>((r + 1) * cols)};
    }
};

enum class FileFormat { npy, csv };

/// "npy" or "csv"; throws InputError otherwise.
FileFormat parse_file_format(const std::string& text);
/// ".npy" or ".csv".
const char* extension(FileFormat format);

/// The .npy bytes of an array, as NumPy writes them (1-D when `as_vector`).
std::string encode_npy(const Array2D& array, bool as_vector = false);
/// Parses .npy bytes: float64, float32 and integer dtypes (converted to float64, exactly: an integer beyond 2^53
/// is refused), C or Fortran order, 0 to 2 dimensions. `name` only labels the messages. Throws InputError.
Array2D decode_npy(const std::string& bytes, const std::string& name);

/// One row per line, values separated by commas, 17 significant digits.
std::string encode_csv(const Array2D& array);
/// Parses CSV text of numbers (no header); every row must have the same number of columns. Throws InputError.
Array2D decode_csv(const std::string& text, const std::string& name);

/// A path's extension in lower case, with its dot: "w.NPY" -> ".npy".
std::string lowercase_extension(const std::string& path);

/// Reads a .npy or .csv file (picked by extension). Throws InputError.
Array2D read_array(const std::string& path);
/// Reads a signal: N values stored as N or N x 1. Rejects NaN and Inf. Throws InputError. When the file held
/// another dtype than float64, says so in `*note` (if given).
std::vector<double> read_signal(const std::string& path, std::string* note = nullptr);

/// Writes an array atomically. Throws RuntimeFailure.
void write_array(const std::string& path, const Array2D& array, FileFormat format);
/// A signal of N values as an N x 1 array.
Array2D column(const std::vector<double>& values);

/// Gives a finished temporary file the permissions of a new file (0666 less the umask) and renames it to `path`.
/// On failure removes the temporary file and throws RuntimeFailure.
void publish_file(const std::string& temporary, const std::string& path);
/// Writes `contents` to `path` through a temporary file in the same folder and a rename. Throws RuntimeFailure.
void write_file_atomically(const std::string& path, const std::string& contents);
/// Creates a folder (and its parents) and checks it can be written to. Throws RuntimeFailure.
void prepare_output_dir(const std::string& path);

} // namespace lmsref
