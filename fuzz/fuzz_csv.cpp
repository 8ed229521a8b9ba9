// libFuzzer: the CSV reader on arbitrary text. It may refuse it (InputError), never crash.
#include "core/errors.hpp"
#include "io/csv.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const lmsref::Array2D array = lmsref::decode_csv(std::string(reinterpret_cast<const char*>(data), size), "f");
        if (array.values.size() != array.rows * array.cols || array.rows == 0) __builtin_trap();
    } catch (const lmsref::InputError&) {
    }
    return 0;
}
