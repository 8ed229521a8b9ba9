// Stage `numpy` — the notebook's `lms`: the LMS filter as a plain loop, no LibTorch. The ground truth that
// every other stage is compared against.
#include "stage.hpp"

#include <algorithm>

namespace lmsref {

Trajectory lms(const StageInput& in) {
    const std::vector<double>& x = in.x;
    const std::vector<double>& d = in.d;
    const double eta = in.eta;
    const auto M = static_cast<std::size_t>(in.M);

    const std::size_t N = x.size();
    std::vector<double> xM(M, 0.0); // xM = np.zeros((M, 1))
    std::vector<double> wi(M, 0.0); // wi = np.zeros((1, M))
    std::vector<double> y(N, 0.0);  // y = np.zeros((N, 1))
    std::vector<double> e(N, 0.0);  // e = np.zeros((N, 1))
    Array2D w(N + 1, M);            // w = np.zeros((N + 1, M))
    for (std::size_t i = 0; i < N; ++i) {
        // xM = np.vstack((x[i : i + 1, [0]], xM[0 : M - 1, [0]])): the newest sample on top
        std::copy_backward(xM.begin(), xM.end() - 1, xM.end());
        xM[0] = x[i];
        double yi = 0.0; // yi = wi @ xM
        for (std::size_t k = 0; k < M; ++k) yi += wi[k] * xM[k];
        const double ei = d[i] - yi;
        for (std::size_t k = 0; k < M; ++k) wi[k] = wi[k] + eta / 2 * 2 * ei * xM[k]; // wi + eta/2 * 2 * ei * xM.T
        y[i] = yi;
        e[i] = ei;
        std::copy(wi.begin(), wi.end(), w.values.begin() + static_cast<std::ptrdiff_t>((i + 1) * M)); // w[i + 1, :]
    }
    return {y, e, {}, w};
}

} // namespace lmsref
