#include "io/array_io.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/csv.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"

#include <cmath>

namespace lmsref {

FileFormat parse_file_format(const std::string& text) {
    static const Choice<FileFormat> choices[] = {{"npy", FileFormat::npy}, {"csv", FileFormat::csv}};
    return parse_choice(Field{"format"}, text, "a format", choices);
}

const char* extension(FileFormat format) {
    return format == FileFormat::csv ? ".csv" : ".npy";
}

Array2D read_array(const std::string& path, std::string* converted_from) {
    check_regular_file(path);
    const std::string ext = lowercase_extension(path);
    if (ext != ".npy" && ext != ".csv")
        throw InputError(path + ": unknown file type '" + ext + "'; lmsref reads .npy and .csv files");
    const std::string bytes = read_file(path);
    if (bytes.empty()) throw InputError(path + ": the file is empty");
    return ext == ".npy" ? decode_npy(bytes, path, converted_from) : decode_csv(bytes, path);
}

std::vector<double> read_signal(const std::string& path, std::string* note) {
    std::string converted_from;
    const Array2D array = read_array(path, &converted_from);
    if (note && !converted_from.empty())
        *note = path + " holds " + converted_from + " values; lmsref read them as float64";
    if (array.cols != 1)
        throw InputError(path + ": has shape (" + std::to_string(array.rows) + ", " + std::to_string(array.cols) +
                         "); a signal must be N or N x 1 (one value per row)");
    if (array.values.empty()) throw InputError(path + ": holds no samples");
    for (std::size_t i = 0; i < array.values.size(); ++i)
        if (!std::isfinite(array.values[i]))
            throw InputError(path + ": sample " + std::to_string(i) + " is " + format_number(array.values[i]) +
                             "; the data must be finite");
    return array.values;
}

void write_array(const std::string& path, const Array2D& array, FileFormat format) {
    write_file_atomically(path, format == FileFormat::npy ? encode_npy(array) : encode_csv(array));
}

} // namespace lmsref
