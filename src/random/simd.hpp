// Which vector code the CPU paths may use: the processor's widest, or less when the environment variable
// LMSREF_SIMD says so (scalar, avx2 or avx512), so that the fallbacks run and are tested on any machine. Every
// vector path gives its scalar twin's bits; this only chooses the speed.
#pragma once

namespace lmsref::simd {

enum class Level : int { scalar = 0, avx2 = 1, avx512 = 2 };

/// LMSREF_SIMD's level (avx512 when unset or empty); InputError for any other value. Defined in simd.cpp, compiled
/// for any x86-64: the files compiled for AVX2 or AVX-512 call it and instantiate nothing of its error.
Level limit();

/// Whether code of this level may run: allowed by LMSREF_SIMD (the processor's support is the caller's check).
inline bool allows(Level level) {
    return static_cast<int>(limit()) >= static_cast<int>(level);
}

} // namespace lmsref::simd
