#include "array_io.hpp"

#include "errors.hpp"
#include "text.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lmsref {

FileFormat parse_file_format(const std::string& text) {
    if (text == "npy") return FileFormat::npy;
    if (text == "csv") return FileFormat::csv;
    throw InputError("--format: '" + text + "' is not a format; use npy or csv");
}

const char* extension(FileFormat format) {
    return format == FileFormat::csv ? ".csv" : ".npy";
}

Array2D column(const std::vector<double>& values) {
    Array2D array(values.size(), 1);
    array.values = values;
    return array;
}

// ---------------------------------------------------------------------------------------------------------- .npy

namespace {

constexpr char npy_magic[] = "\x93NUMPY";
constexpr std::size_t npy_magic_size = 6;
constexpr std::size_t npy_alignment = 64;

void append_le(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xffU));
}

std::uint64_t read_le(const std::string& bytes, std::size_t offset, int count) {
    std::uint64_t value = 0;
    for (int i = count - 1; i >= 0; --i)
        value = (value << 8) | static_cast<unsigned char>(bytes[offset + static_cast<std::size_t>(i)]);
    return value;
}

struct NpyHeader {
    char byte_order = '<';
    char kind = 'f';
    std::size_t item_size = 8;
    std::string descr;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
};

// The value that follows `'key':` in the header's dictionary literal, up to the next top-level comma or brace.
std::string header_value(const std::string& header, const std::string& key, const std::string& name) {
    const std::string quoted[] = {"'" + key + "'", "\"" + key + "\""};
    std::size_t at = std::string::npos;
    for (const auto& q : quoted)
        if ((at = header.find(q)) != std::string::npos) {
            at += q.size();
            break;
        }
    if (at == std::string::npos) throw InputError(name + ": malformed .npy header (no '" + key + "' entry)");
    at = header.find(':', at);
    if (at == std::string::npos) throw InputError(name + ": malformed .npy header (no value for '" + key + "')");
    ++at;
    while (at < header.size() && header[at] == ' ') ++at;
    std::size_t end = at;
    if (end < header.size() && header[end] == '(') {
        end = header.find(')', end);
        if (end == std::string::npos) throw InputError(name + ": malformed .npy header (unclosed shape)");
        return header.substr(at, end + 1 - at);
    }
    if (end < header.size() && (header[end] == '\'' || header[end] == '"')) {
        end = header.find(header[at], at + 1);
        if (end == std::string::npos) throw InputError(name + ": malformed .npy header (unclosed string)");
        return header.substr(at + 1, end - at - 1);
    }
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
    return header.substr(at, end - at);
}

NpyHeader parse_npy_header(const std::string& header, const std::string& name) {
    NpyHeader parsed;
    parsed.descr = header_value(header, "descr", name);
    const std::string& descr = parsed.descr;
    if (descr.size() < 3 || std::string("<>|=").find(descr[0]) == std::string::npos)
        throw InputError(name + ": unsupported dtype '" + descr + "'; lmsref reads float64, float32 and integers");
    parsed.byte_order = descr[0];
    parsed.kind = descr[1];
    const std::string size = descr.substr(2);
    if (size.size() > 2 || size.find_first_not_of("0123456789") != std::string::npos)
        throw InputError(name + ": unsupported dtype '" + descr + "'; lmsref reads float64, float32 and integers");
    parsed.item_size = std::stoul(size);
    const bool is_float = parsed.kind == 'f' && (parsed.item_size == 4 || parsed.item_size == 8);
    const bool is_integer =
        (parsed.kind == 'i' || parsed.kind == 'u') &&
        (parsed.item_size == 1 || parsed.item_size == 2 || parsed.item_size == 4 || parsed.item_size == 8);
    if (!is_float && !is_integer)
        throw InputError(name + ": unsupported dtype '" + descr + "'; lmsref reads float64, float32 and integers");
    if (parsed.byte_order == '>' && parsed.item_size > 1)
        throw InputError(name + ": big-endian data ('" + descr + "') is not supported; save it as '<f8'");

    const std::string order = header_value(header, "fortran_order", name);
    if (order != "False" && order != "True")
        throw InputError(name + ": malformed .npy header (fortran_order is '" + order + "')");
    parsed.fortran_order = order == "True";

    const std::string shape = header_value(header, "shape", name);
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
        throw InputError(name + ": malformed .npy header (shape is '" + shape + "')");
    std::stringstream dims(shape.substr(1, shape.size() - 2));
    for (std::string dim; std::getline(dims, dim, ',');) {
        dim.erase(std::remove(dim.begin(), dim.end(), ' '), dim.end());
        if (dim.empty()) continue;
        if (dim.find_first_not_of("0123456789") != std::string::npos || dim.size() > 15)
            throw InputError(name + ": malformed .npy header (shape is '" + shape + "')");
        parsed.shape.push_back(std::stoul(dim));
    }
    if (parsed.shape.size() > 2)
        throw InputError(name + ": has " + std::to_string(parsed.shape.size()) +
                         " dimensions; lmsref reads arrays of at most 2");
    return parsed;
}

double decode_item(const char* item, const NpyHeader& h) {
    std::uint64_t raw = 0;
    for (std::size_t i = h.item_size; i-- > 0;) raw = (raw << 8) | static_cast<unsigned char>(item[i]);
    if (h.kind == 'f') {
        if (h.item_size == 8) {
            double value;
            std::memcpy(&value, &raw, sizeof value);
            return value;
        }
        const auto bits = static_cast<std::uint32_t>(raw);
        float value;
        std::memcpy(&value, &bits, sizeof value);
        return value;
    }
    if (h.kind == 'u') return static_cast<double>(raw);
    const unsigned shift = static_cast<unsigned>(64 - 8 * h.item_size); // sign-extend
    return static_cast<double>(static_cast<std::int64_t>(raw << shift) >> shift);
}

} // namespace

std::string encode_npy(const Array2D& array, bool as_vector) {
    std::string shape = as_vector ? "(" + std::to_string(array.values.size()) + ",)"
                                  : "(" + std::to_string(array.rows) + ", " + std::to_string(array.cols) + ")";
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad with spaces so that the data starts on a 64-byte boundary, as NumPy does.
    const std::size_t unpadded = npy_magic_size + 2 + 2 + header.size() + 1;
    header.append(npy_alignment - unpadded % npy_alignment, ' ');
    header.push_back('\n');

    std::string out(npy_magic, npy_magic_size);
    out.push_back('\x01');
    out.push_back('\x00');
    append_le(out, header.size(), 2);
    out += header;
    out.reserve(out.size() + 8 * array.values.size());
    for (double value : array.values) {
        std::uint64_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        append_le(out, bits, 8);
    }
    return out;
}

Array2D decode_npy(const std::string& bytes, const std::string& name) {
    if (bytes.empty()) throw InputError(name + ": the file is empty");
    if (bytes.size() < npy_magic_size + 4 || bytes.compare(0, npy_magic_size, npy_magic, npy_magic_size) != 0)
        throw InputError(name + ": not a .npy file (the NumPy signature is missing)");
    const int major = static_cast<unsigned char>(bytes[6]);
    const int length_bytes = major == 1 ? 2 : (major == 2 || major == 3) ? 4 : 0;
    if (length_bytes == 0) throw InputError(name + ": unsupported .npy format version " + std::to_string(major));
    const std::size_t header_start = npy_magic_size + 2 + static_cast<std::size_t>(length_bytes);
    if (bytes.size() < header_start) throw InputError(name + ": truncated .npy header");
    const std::size_t header_size = read_le(bytes, npy_magic_size + 2, length_bytes);
    if (bytes.size() - header_start < header_size) throw InputError(name + ": truncated .npy header");
    const NpyHeader h = parse_npy_header(bytes.substr(header_start, header_size), name);

    std::size_t count = 1;
    for (std::size_t dim : h.shape) {
        if (dim != 0 && count > (std::size_t{1} << 40) / dim)
            throw InputError(name + ": malformed .npy header (the shape is too large)");
        count *= dim;
    }
    const std::size_t data_start = header_start + header_size;
    const std::size_t available = bytes.size() - data_start;
    if (available < count * h.item_size)
        throw InputError(name + ": truncated: the header promises " + std::to_string(count) + " values (" +
                         std::to_string(count * h.item_size) + " bytes) but the file holds " +
                         std::to_string(available) + " bytes of data");
    if (available > count * h.item_size)
        throw InputError(name + ": malformed: " + std::to_string(available - count * h.item_size) +
                         " bytes follow the data the header describes");

    Array2D array;
    array.rows = h.shape.empty() ? 1 : h.shape[0];
    array.cols = h.shape.size() == 2 ? h.shape[1] : 1;
    array.values.resize(count);
    const char* data = bytes.data() + data_start;
    constexpr double exact_integers = 9007199254740992.0; // 2^53: every integer up to here is a double
    for (std::size_t i = 0; i < count; ++i) {
        // Fortran order stores column after column; lmsref keeps rows together.
        const std::size_t target = h.fortran_order ? (i % array.rows) * array.cols + i / array.rows : i;
        const double value = decode_item(data + i * h.item_size, h);
        if (h.kind != 'f' && std::abs(value) > exact_integers)
            throw InputError(name + ": value " + std::to_string(i) + " of this " + h.descr +
                             " array is beyond 2^53 and has no exact float64; convert it yourself");
        array.values[target] = value;
    }
    if (!(h.kind == 'f' && h.item_size == 8))
        array.converted_from = (h.kind == 'f'   ? "float"
                                : h.kind == 'i' ? "int"
                                                : "uint") +
                               std::to_string(8 * h.item_size);
    return array;
}

// ----------------------------------------------------------------------------------------------------------- CSV

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

namespace {
/// A field as a message can show it: control bytes as \xNN.
std::string printable(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
            out.push_back(c);
            continue;
        }
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += escaped;
    }
    return out;
}
} // namespace

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
            const auto begin = field.find_first_not_of(" \t");
            const auto end = field.find_last_not_of(" \t");
            const std::string value = begin == std::string::npos ? "" : field.substr(begin, end - begin + 1);
            char* stop = nullptr;
            const double number = std::strtod(value.c_str(), &stop);
            if (value.empty() || stop != value.c_str() + value.size()) { // also a NUL byte inside the field
                std::string message = name + ": line " + std::to_string(line_number) + ", column " +
                                      std::to_string(cols) + ": '" + printable(value) + "' is not a number";
                if (array.rows == 0) message += " (a CSV file for lmsref holds numbers only, no header line)";
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

// ------------------------------------------------------------------------------------------------------ files

std::string lowercase_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

namespace {

std::string kind_of_file(std::filesystem::file_type type) {
    switch (type) {
    case std::filesystem::file_type::fifo: return "a FIFO";
    case std::filesystem::file_type::character: return "a character device";
    case std::filesystem::file_type::block: return "a block device";
    case std::filesystem::file_type::socket: return "a socket";
    default: return "not a plain file";
    }
}

/// A FIFO would block the read and a device never end it: only folders' plain files are read.
void check_regular_file(const std::string& path) {
    std::error_code ec;
    const std::filesystem::file_status status = std::filesystem::status(path, ec);
    if (std::filesystem::is_directory(status)) throw InputError(path + ": is a folder, not a file");
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
        throw InputError(path + ": is not a regular file (" + kind_of_file(status.type()) +
                         "); lmsref reads .npy and .csv files");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open (" + std::strerror(errno) + ")");
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad()) throw InputError(path + ": cannot read (" + std::strerror(errno) + ")");
    return contents.str();
}

} // namespace

Array2D read_array(const std::string& path) {
    check_regular_file(path);
    const std::string ext = lowercase_extension(path);
    if (ext != ".npy" && ext != ".csv")
        throw InputError(path + ": unknown file type '" + ext + "'; lmsref reads .npy and .csv files");
    const std::string bytes = read_file(path);
    if (bytes.empty()) throw InputError(path + ": the file is empty");
    return ext == ".npy" ? decode_npy(bytes, path) : decode_csv(bytes, path);
}

std::vector<double> read_signal(const std::string& path, std::string* note) {
    const Array2D array = read_array(path);
    if (note && !array.converted_from.empty())
        *note = path + " holds " + array.converted_from + " values; lmsref read them as float64";
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

namespace {

/// A test hook, read once: LMSREF_TEST_FAULT=write-error:N makes the N-th file write of the process fail as on a full
/// disk (ENOSPC, after half the bytes); LMSREF_TEST_FAULT=signal:N[:INT|TERM|HUP] sends the process that signal
/// (default TERM) once the N-th file is written. The tests use it to stop a run in the middle of writing its outputs.
struct Fault {
    enum Kind { none, write_error, signal } kind = none;
    long at = 0;
    int signal_number = SIGTERM;
};

Fault injected_fault() {
    static const Fault fault = [] {
        const char* text = std::getenv("LMSREF_TEST_FAULT");
        const std::string value = text ? text : "";
        const std::size_t colon = value.find(':');
        if (colon == std::string::npos) return Fault{};
        const std::string kind = value.substr(0, colon);
        const long at = std::atol(value.c_str() + colon + 1);
        if (kind == "write-error") return Fault{Fault::write_error, at};
        if (kind == "signal") {
            const std::string name = value.substr(value.find(':', colon + 1) + 1);
            return Fault{Fault::signal, at, name == "INT" ? SIGINT : name == "HUP" ? SIGHUP : SIGTERM};
        }
        return Fault{};
    }();
    return fault;
}

} // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
    static std::atomic<long> files_written{0};
    const Fault fault = injected_fault();
    const long this_file = ++files_written;
    std::string temporary = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(temporary.data());
    if (fd < 0) throw RuntimeFailure(path + ": cannot write (" + std::strerror(errno) + ")");
    std::size_t written = 0;
    while (written < contents.size()) {
        const bool fail_here = fault.kind == Fault::write_error && fault.at == this_file && written > 0;
        const std::size_t chunk = fault.kind == Fault::write_error && fault.at == this_file && written == 0
                                      ? (contents.size() + 1) / 2
                                      : contents.size() - written;
        const ssize_t n = fail_here ? (errno = ENOSPC, -1) : ::write(fd, contents.data() + written, chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = errno;
            ::close(fd);
            ::unlink(temporary.c_str());
            throw RuntimeFailure(path + ": cannot write (" + std::strerror(error) + ")");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw RuntimeFailure(path + ": cannot write (" + std::strerror(error) + ")");
    }
    publish_file(temporary, path);
    if (fault.kind == Fault::signal && fault.at == this_file) ::kill(::getpid(), fault.signal_number);
}

void publish_file(const std::string& temporary, const std::string& path) {
    const mode_t mask = ::umask(0); // reading the umask means setting it; put it back at once
    ::umask(mask);
    if (::chmod(temporary.c_str(), 0666 & ~mask) != 0 || std::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw RuntimeFailure(path + ": cannot write (" + std::strerror(error) + ")");
    }
}

void write_array(const std::string& path, const Array2D& array, FileFormat format) {
    write_file_atomically(path, format == FileFormat::npy ? encode_npy(array) : encode_csv(array));
}

void prepare_output_dir(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) throw RuntimeFailure(path + ": cannot create the output folder (" + ec.message() + ")");
    if (!std::filesystem::is_directory(path, ec)) throw RuntimeFailure(path + ": exists and is not a folder");
    std::string probe = (std::filesystem::path(path) / ".lmsref-write-test-XXXXXX").string();
    const int fd = ::mkstemp(probe.data());
    if (fd < 0) throw RuntimeFailure(path + ": cannot write to the output folder (" + std::strerror(errno) + ")");
    ::close(fd);
    ::unlink(probe.c_str());
}

} // namespace lmsref
