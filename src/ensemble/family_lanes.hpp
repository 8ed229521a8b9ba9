// The LMS family's members in the ensemble, four realizations in the lanes of an AVX2 vector (family_lanes.cpp, the
// one translation unit compiled for AVX2): each lane runs the member's update (lms/family_updates.hpp) with the
// scalar operations in their order, so a realization keeps its single run's bits. The engine (ensemble.cpp) calls it
// where the processor has AVX2, and its scalar loop elsewhere.
#pragma once

#include "lms/family_updates.hpp"

#include <cstddef>
#include <cstdint>

namespace lmsref::philox {
struct Problem;
}

namespace lmsref::family_lanes {

/// A block of a member's realizations: the problem, as plain values, and the block's sums.
struct Block {
    std::size_t N = 0, M = 0;
    double eta = 0.0;
    const double* wo_M = nullptr; ///< M taps
    std::size_t steady_start = 0; ///< the first sample of the steady state
    FamilyId algorithm = FamilyId::lms;
    FamilyOptions family;
    const family_update::StepTables* tables = nullptr; ///< the member's per-step constants, for N steps
    double* mse = nullptr;                             ///< N: sum_r e_r(n)^2
    double* msd = nullptr;                             ///< N + 1: sum_r ||w_r(n) - wo_M||^2
    double* meanw = nullptr;                           ///< (N + 1) x M: sum_r w_r(n)
};

/// Makes realizations r ... r + count - 1 (count <= 4) into x + g N and d + g N. A plain function and its context,
/// not a std::function: no template is instantiated both here and in the code compiled without AVX2.
using MakeData = void (*)(void* context, std::int64_t r, std::size_t count, double* x, double* d);

/// Makes realizations r ... r + 7 as rows (sample n of realization g at x[8 n + g], d[8 n + g]) into d and returns x,
/// which lies in the maker's buffer `slot` (0 or 1): the rows of two groups can be kept at once.
using MakeRows = const double* (*)(void* context, std::int64_t r, double* d, int slot);

/// Whether this build has the lanes and this processor runs them (AVX2).
bool available();

/// Realizations [begin, end) of the block, four at a time (the last group may hold fewer), added into its sums in
/// realization order as the scalar loop adds them; steady[r - begin] receives realization r's sum of e^2 over the
/// steady state. x and d: the caller's 4 N values each, for make_data. philox: the problem when the data are
/// philox's (else null); then, where the processor has AVX-512 and M = K is small, whole groups run fused with their
/// data (philox::add_realizations_avx512 with the member's update), the same bits as make_data's.
void add_block(const Block& block, std::int64_t begin, std::int64_t end, MakeData make_data, void* context, double* x,
               double* d, double* steady, const philox::Problem* philox = nullptr);

/// add_block for data that come as rows of eight realizations (NumPy's, made in legacy_lanes): where the processor
/// has AVX-512 and M is small, whole groups of eight run in the lanes of Lanes8 on make_rows's rows, two groups at
/// a time where two are left (d: the caller's 16 N values), the block sums added eight samples at a time in
/// realization order; the rest as add_block runs it, on make_data. The same bits either way.
void add_rows_block(const Block& block, std::int64_t begin, std::int64_t end, MakeRows make_rows, MakeData make_data,
                    void* context, double* x, double* d, double* steady);

/// What the two files of lanes share (not for other callers). add_rows: whole groups of eight realizations [begin,
/// end) on rows (family_rows.cpp, AVX-512; M <= 8). add_fused_rows: whole groups of eight realizations [begin, end)
/// on philox's data, made and run together (philox::add_realizations_avx512 with eight lanes; family_rows.cpp,
/// M = K <= 8). divider_bound: the members whose step is a long chain through the divider (square roots and
/// divisions), which add_block runs eight to a chain. start_sums: row 0 of `count` realizations that start from
/// w = 0, ||0 - wo_M||^2 into msd[0] and 0.0 into meanw's row 0, in realization order (start_group's sums).
void add_rows(const Block& block, std::int64_t begin, std::int64_t end, MakeRows make_rows, void* context, double* d,
              double* steady);
void add_fused_rows(const Block& block, const philox::Problem& philox, std::int64_t begin, std::int64_t end,
                    double* steady);
constexpr bool divider_bound(FamilyId id) {
    return id == FamilyId::adagrad || id == FamilyId::rmsprop || id == FamilyId::adam;
}
void start_sums(const Block& block, std::size_t M, std::size_t count);

/// For the tests: out[i] = family_update::divide_by_constant(a[i], d) for i < n (n a multiple of 8) in the lanes
/// of Lanes8, the path Adam's groups of eight take (family_rows.cpp); false, with nothing written, where this build
/// or processor has no AVX-512.
bool divide_by_constant_in_lanes(const double* a, std::size_t n, const family_update::Divisor& d, double* out);

} // namespace lmsref::family_lanes
