// Stage `autograd` — the notebook's `lms_torch_autograd`: autograd computes the gradient of e^2, and the
// update wi <- wi - eta/2 * grad happens under NoGradGuard, in place, so that wi stays the leaf autograd tracks.
#include "stages/torch_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_autograd(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    const std::int64_t N = x.size(0);
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    // new: wi = torch.zeros((1, M), requires_grad=True)
    torch::Tensor wi = torch::zeros({1, M}, float64.requires_grad(true));
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor e = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1, [0]], xM[0 : M - 1, [0]]
        torch::Tensor yi = wi.matmul(xM);
        torch::Tensor ei = d[i] - yi;
        // new: the gradient of e^2 with respect to wi, by autograd
        torch::Tensor mse = ei.pow(2);
        mse.backward();
        {
            torch::NoGradGuard no_grad;         // with torch.no_grad():
            wi.copy_(wi - eta / 2 * wi.grad()); // wi[:] = wi[:] - eta/2 * wi.grad: in place, wi stays the leaf
            y.slice(0, i, i + 1).copy_(yi);     // y[i] = yi
            e.slice(0, i, i + 1).copy_(ei);     // e[i] = ei
            w.slice(0, i + 1, i + 2).copy_(wi); // w[i + 1, :] = wi
        }
        // new: gradients accumulate, so clear them for the next sample
        wi.grad().zero_();
    }
    return {y, e, w};
}

} // namespace lmsref
