// Stage `numpy` — the notebook's `lms`: the LMS filter as a plain loop, no LibTorch. The ground truth that
// every other stage is compared against.
#include "stage.hpp"

#include <algorithm>

namespace lmsref {

namespace {

// The loop, for M known at compile time (StaticM > 0: the compiler unrolls the inner loops and keeps xM and wi
// in registers) or at run time (StaticM == 0). The same operations in the same order either way, so the same bits.
template <std::size_t StaticM> Trajectory lms_loop(const StageInput& in) {
    const std::vector<double>& x = in.x;
    const std::vector<double>& d = in.d;
    const double eta = in.eta;
    const std::size_t M = StaticM > 0 ? StaticM : static_cast<std::size_t>(in.M);

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
    return {y, e, {}, w};
}

} // namespace

Trajectory lms(const StageInput& in) {
    switch (in.M) { // small filters get a loop of their own length
    case 1: return lms_loop<1>(in);
    case 2: return lms_loop<2>(in);
    case 3: return lms_loop<3>(in);
    case 4: return lms_loop<4>(in);
    case 5: return lms_loop<5>(in);
    case 6: return lms_loop<6>(in);
    case 7: return lms_loop<7>(in);
    case 8: return lms_loop<8>(in);
    default: return lms_loop<0>(in);
    }
}

} // namespace lmsref
