// libFuzzer: the option-list parser (--wo) and the seed parser on arbitrary text. They may refuse it
// (InputError), never crash; a list they accept holds only finite numbers.
#include "core/errors.hpp"
#include "core/text.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        for (double value : lmsref::parse_number_list("--wo", text))
            if (!std::isfinite(value)) __builtin_trap();
    } catch (const lmsref::InputError&) {
    }
    try {
        if (lmsref::parse_count("--seed", text, std::numeric_limits<std::uint32_t>::max()) >
            std::numeric_limits<std::uint32_t>::max())
            __builtin_trap();
    } catch (const lmsref::InputError&) {
    }
    return 0;
}
