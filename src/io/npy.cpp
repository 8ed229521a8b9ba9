#include "io/npy.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <vector>

namespace lmsref {

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
        throw InputError(name + ": unsupported dtype " + quote_value(descr) +
                         "; lmsref reads float64, float32 and integers");
    parsed.byte_order = descr[0];
    parsed.kind = descr[1];
    const std::string size = descr.substr(2);
    if (size.size() > 2 || size.find_first_not_of("0123456789") != std::string::npos)
        throw InputError(name + ": unsupported dtype " + quote_value(descr) +
                         "; lmsref reads float64, float32 and integers");
    parsed.item_size = std::stoul(size);
    const bool is_float = parsed.kind == 'f' && (parsed.item_size == 4 || parsed.item_size == 8);
    const bool is_integer =
        (parsed.kind == 'i' || parsed.kind == 'u') &&
        (parsed.item_size == 1 || parsed.item_size == 2 || parsed.item_size == 4 || parsed.item_size == 8);
    if (!is_float && !is_integer)
        throw InputError(name + ": unsupported dtype " + quote_value(descr) +
                         "; lmsref reads float64, float32 and integers");
    if (parsed.byte_order == '>' && parsed.item_size > 1)
        throw InputError(name + ": big-endian data (" + quote_value(descr) + ") is not supported; save it as '<f8'");

    const std::string order = header_value(header, "fortran_order", name);
    if (order != "False" && order != "True")
        throw InputError(name + ": malformed .npy header (fortran_order is " + quote_value(order) + ")");
    parsed.fortran_order = order == "True";

    const std::string shape = header_value(header, "shape", name);
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
        throw InputError(name + ": malformed .npy header (shape is " + quote_value(shape) + ")");
    std::stringstream dims(shape.substr(1, shape.size() - 2));
    for (std::string dim; std::getline(dims, dim, ',');) {
        dim.erase(std::remove(dim.begin(), dim.end(), ' '), dim.end());
        if (dim.empty()) continue;
        if (dim.find_first_not_of("0123456789") != std::string::npos || dim.size() > 15)
            throw InputError(name + ": malformed .npy header (shape is " + quote_value(shape) + ")");
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

Array2D decode_npy(const std::string& bytes, const std::string& name, std::string* converted_from) {
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
    if (converted_from && !(h.kind == 'f' && h.item_size == 8))
        *converted_from = (h.kind == 'f' ? "float" : h.kind == 'i' ? "int" : "uint") + std::to_string(8 * h.item_size);
    return array;
}

} // namespace lmsref
