// A faster twin of LegacyRandom's normal stream for the ensemble, which draws 2N normals per realization and
// reseeds for each: the same MT19937 (init_genrand), the same 53-bit doubles, the same polar method, the same
// std::log and std::sqrt, so the same bits (tests/test_ensemble.cpp checks it against LegacyRandom::gauss).
//
// Only the arrangement of the work differs, and it relies on one fact: a stream that only ever draws normals uses
// MT19937's words four at a time (x1 from two words, x2 from the next two), and 624 = 4 x 156, so every polar attempt
// lies inside one block of 624 words. Each block is therefore turned into normals on its own, stage by stage in
// branch-free loops the compiler can vectorize: twist, temper, make the 312 doubles 2u - 1, form the 156 candidate
// pairs and keep those inside the unit circle (the rejection without a branch to mispredict), then f = sqrt(-2
// log(r2) / r2) and the pair (f x2, f x1) for each kept one. LegacyRandom's cached second normal is simply the next
// value of this buffer.
#pragma once

#include "random/mt19937.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace lmsref {

class LegacyGaussStream {
public:
    static constexpr std::size_t state_size = mt19937::state_size;

    /// `np.random.seed(seed)`: a fresh stream.
    void reseed(std::uint32_t seed);
    /// The next n values of `np.random.standard_normal()` (LegacyRandom::gauss), continuing the stream.
    void fill(double* out, std::size_t n);

private:
    void refill(); // the next 624 words, turned into normals

    alignas(64) mt19937::State key_{};
    alignas(64) std::array<double, state_size / 2> normals_{}; // at most 156 pairs
    std::size_t available_ = 0;                                // normals_[next_ ... available_) are unread
    std::size_t next_ = 0;
};

} // namespace lmsref
