// NumPy's legacy normal stream for eight realizations at once, a realization per lane of AVX-512 vectors: eight
// MT19937 states side by side (word i of lane g at key[i][g]), seeded, twisted and tempered together, since
// init_genrand, the twist and the tempering are the same integer operations on every state; then the polar method's
// attempts in the same lanes: the 53-bit doubles, r2, the acceptance, log(r2), f = sqrt(-2 log(r2) / r2) and the pair
// (f x2, f x1); last, each lane keeps its own accepted pairs (the realizations reject different attempts). Every
// lane's values are those of `np.random.seed(seed_g); np.random.standard_normal(count)`, bit for bit
// (tests/test_legacy_lanes.cpp): every operation is the scalar one, rounded once as there.
//
// The lanes stay in step because a stream that only draws normals takes its words four at a time and 624 = 4 x 156:
// a block of 624 words is 156 polar attempts in every lane, whatever each lane accepts. The attempts go twelve at a
// time and stop once every lane has its `count` normals; a lane that has them before the others ignores the rest.
//
// log(r2) must be glibc's, bit for bit, and glibc's vector log is not. So the lanes compute log in double-double
// (about 2^-63), which settles glibc's double wherever the value is not within a few hundredths of an ulp of halfway
// between two doubles (glibc's log is within 0.52 ulp, and within 2^-61 of log x before its last rounding for x below
// 15/16); the other 2 % or so are std::log's, called for them alone.
// Compiled with AVX-512 (CMakeLists.txt) and called only where available() says the processor runs it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace lmsref::legacy_lanes {

constexpr std::size_t lanes = 8;

/// Whether this build has the lanes and this processor runs them (AVX-512 F, DQ, VL and FMA; LMSREF_SIMD=avx512,
/// random/simd.hpp).
bool available();

constexpr std::size_t state_size = 624; // MT19937's words
constexpr std::size_t attempts = 156;   // polar attempts per block of 624 words
constexpr std::size_t candidates = 312; // x1, x2 of each attempt: the most normals a block gives

constexpr std::size_t seeded = 4; // groups of eight streams seeded together (Workspace::key)

/// What one call needs (about 160 KB): allocate it once per thread, with new (it is over-aligned).
struct alignas(64) Workspace {
    // MT19937's states: word i of lane g at key[current][i lanes + g]. A call seeds its eight streams and, in the
    // same chains of vector operations, the 24 that follow them (seeds + step, + 2 step, + 3 step), which the next
    // calls take when their seeds are those: init_genrand's 623 dependent steps then cost one call in four.
    std::array<std::array<std::uint32_t, state_size * lanes>, seeded> key;
    std::array<double, attempts * lanes> second, first; // attempt j's pair (f x2, f x1) in lane g at [j lanes + g]
    std::array<double, attempts * lanes> x1, x2, r2;    // and its candidates and r2
    std::array<double, attempts * lanes> log_hi;        // the estimate's log(r2), H
    std::array<std::uint64_t, attempts * lanes> places; // where the pair goes in the rows (out's index of f x2)
    std::array<std::uint64_t, attempts * lanes + lanes> unsure; // the j lanes + g whose log glibc gives
    std::array<std::uint32_t, lanes> next_seeds;                // key[current + 1]'s, where ready > 0
    std::uint32_t step = lanes;                                 // the seeding call's step
    std::size_t current = 0;
    int ready = 0; // the keys after key[current] that are seeded and not yet taken
};

/// For each lane g < used: `np.random.seed(seeds[g])`, then `count` values of `np.random.standard_normal()`, value k
/// at out[8 k + g]: rows of eight realizations. out holds count + 2 rows, the last two scratch; lanes from `used`
/// on repeat seeds[0]'s values. used is 1 ... 8. step: the difference between one call's seeds and the next's,
/// lane by lane, that a call seeding its streams seeds three more groups ahead for (8 for consecutive groups of
/// consecutive seeds).
void normals(Workspace& work, const std::uint32_t* seeds, std::size_t used, std::size_t count, double* out,
             std::uint32_t step = lanes);

/// For the tests: the lanes' estimate of log(x[i]) for n values in (0, 1), n a multiple of 8, into out[i], and
/// sure[i]: whether the estimate vouches for it as glibc's (the values it does not vouch for, the lanes hand to
/// std::log). Call only where available().
void log_estimates(const double* x, std::size_t n, double* out, bool* sure);

} // namespace lmsref::legacy_lanes
