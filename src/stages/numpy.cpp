// Stage `numpy` — the notebook's `lms`: the LMS filter as a plain loop, no LibTorch. The ground truth that
// every other stage is compared against.
#include "lms/stage.hpp"
#include "lms/static_taps.hpp"
#include "stages/registry.hpp"

#include <utility>
#include <vector>

namespace lmsref {

namespace {

// M is a std::size_t, or a compile-time constant for small filters (see with_static_taps). noinline: GCC 12 at -O3
// warns -Wfree-nonheap-object (a false positive) about the moved vectors once this is inlined into run_numpy.
template <typename Taps>
[[gnu::noinline]] Trajectory lms(const std::vector<double>& x, const std::vector<double>& d, double eta, Taps M) {
    const std::size_t N = x.size();
    std::vector<double> xM(M, 0.0); // xM = np.zeros((M, 1))
    std::vector<double> wi(M, 0.0); // wi = np.zeros((1, M))
    std::vector<double> y(N, 0.0);  // y = np.zeros((N, 1))
    std::vector<double> e(N, 0.0);  // e = np.zeros((N, 1))
    Array2D w(N + 1, M);            // w = np.zeros((N + 1, M))
    for (std::size_t i = 0; i < N; ++i) {
        // xM = np.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]])): the newest sample on top
        for (std::size_t k = M - 1; k > 0; --k) xM[k] = xM[k - 1];
        xM[0] = x[i];
        double yi = 0.0; // yi = wi @ xM
        for (std::size_t k = 0; k < M; ++k) yi += wi[k] * xM[k];
        const double ei = d[i] - yi;
        for (std::size_t k = 0; k < M; ++k) wi[k] = wi[k] + eta / 2 * 2 * ei * xM[k]; // wi + eta/2 * 2 * ei * xM.T
        y[i] = yi;
        e[i] = ei;
        for (std::size_t k = 0; k < M; ++k) w(i + 1, k) = wi[k]; // w[i + 1, :] = wi
    }
    return {std::move(y), std::move(e), {}, std::move(w)};
}

} // namespace

Trajectory run_numpy(const StageInput& in) {
    return with_static_taps(in.M, [&](auto M) { return lms(in.x, in.d, in.eta, M); });
}

} // namespace lmsref
