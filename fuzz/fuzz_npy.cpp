// libFuzzer: the .npy reader on arbitrary bytes. It may refuse them (InputError), never crash or read astray.
#include "core/errors.hpp"
#include "io/npy.hpp"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const lmsref::Array2D array = lmsref::decode_npy(std::string(reinterpret_cast<const char*>(data), size), "f");
        if (array.values.size() != array.rows * array.cols) __builtin_trap();
        // What it read, written and read again, is the same array.
        if (lmsref::decode_npy(lmsref::encode_npy(array), "f").values.size() != array.values.size()) __builtin_trap();
    } catch (const lmsref::InputError&) {
    }
    return 0;
}
