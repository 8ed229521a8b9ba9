// What a stage returns: the notebook's y, e, losses and w, as plain arrays that the rest of lmsref reads.
#pragma once

#include "array2d.hpp"

#include <vector>

namespace lmsref {

struct Trajectory {
    std::vector<double> y;    ///< y(i) = w(i) . xM(i), N values
    std::vector<double> e;    ///< e(i) = d(i) - y(i), the a-priori error, N values
    std::vector<double> loss; ///< the stage's loss per sample (nn::MSELoss), empty where the stage has none
    Array2D w;                ///< (N+1) x M: row 0 the initial weights, row i+1 the weights after sample i

    std::vector<double> final_weights() const { return w.row(w.rows - 1); }
};

} // namespace lmsref
