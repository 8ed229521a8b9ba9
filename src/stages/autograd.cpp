// Stage `autograd` — the notebook's `lms_torch_autograd`: autograd computes the gradient of e^2, and the
// update wi <- wi - eta/2 * grad happens under NoGradGuard, in place, so that wi stays the leaf autograd tracks.
#include "stages/torch_stage.hpp"

namespace lmsref {

using torch::indexing::Slice;

Trajectory lms_torch_autograd(const StageInput& in) {
    const torch::Tensor x = as_tensor(in.x, in.device);
    const torch::Tensor d = as_tensor(in.d, in.device);
    const double eta = in.eta;
    const std::int64_t M = in.M;
    const torch::TensorOptions float64 = float64_on(in.device);

    const std::int64_t N = x.size(0);
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    // new: wi = torch.zeros((1, M), requires_grad=True)
    torch::Tensor wi = torch::zeros({1, M}, float64.requires_grad(true));
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor e = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.index({Slice(i, i + 1), Slice(0, 1)}), xM.index({Slice(0, M - 1), Slice(0, 1)})});
        torch::Tensor yi = wi.matmul(xM);
        torch::Tensor ei = d[i] - yi;
        // new: the gradient of e^2 with respect to wi, by autograd
        torch::Tensor mse = ei.pow(2);
        mse.backward();
        {
            torch::NoGradGuard no_grad; // with torch.no_grad():
            wi.index_put_({Slice()}, wi.index({Slice()}) - eta / 2 * wi.grad());
            y.index_put_({i}, yi);
            e.index_put_({i}, ei);
            w.index_put_({i + 1, Slice()}, wi);
        }
        // new: gradients accumulate, so clear them for the next sample
        wi.grad().zero_();
    }
    return to_trajectory(y, e, w);
}

} // namespace lmsref
