#include "random/simd.hpp"

#include "core/errors.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

namespace lmsref::simd {

Level limit() {
    const char* text = std::getenv("LMSREF_SIMD");
    if (text == nullptr || *text == '\0' || std::strcmp(text, "avx512") == 0) return Level::avx512;
    if (std::strcmp(text, "avx2") == 0) return Level::avx2;
    if (std::strcmp(text, "scalar") == 0) return Level::scalar;
    throw InputError("LMSREF_SIMD: '" + std::string(text) + "' is not scalar, avx2 or avx512");
}

} // namespace lmsref::simd
