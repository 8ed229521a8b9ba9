// Which vector code the CPU paths may use: the processor's widest, or less when the environment variable
// LMSREF_SIMD says so (scalar, avx2 or avx512), so that the fallbacks run and are tested on any machine. Every
// vector path gives its scalar twin's bits; this only chooses the speed.
#pragma once

#include "core/errors.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

namespace lmsref::simd {

enum class Level : int { scalar = 0, avx2 = 1, avx512 = 2 };

/// LMSREF_SIMD's level (avx512 when unset or empty); InputError for any other value.
inline Level limit() {
    const char* text = std::getenv("LMSREF_SIMD");
    if (text == nullptr || *text == '\0' || std::strcmp(text, "avx512") == 0) return Level::avx512;
    if (std::strcmp(text, "avx2") == 0) return Level::avx2;
    if (std::strcmp(text, "scalar") == 0) return Level::scalar;
    throw InputError("LMSREF_SIMD: '" + std::string(text) + "' is not scalar, avx2 or avx512");
}

/// Whether code of this level may run: allowed by LMSREF_SIMD (the processor's support is the caller's check).
inline bool allows(Level level) {
    return static_cast<int>(limit()) >= static_cast<int>(level);
}

} // namespace lmsref::simd
