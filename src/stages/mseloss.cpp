// Stage `mseloss` — the notebook's `lms_torch_loss`: nn::MSELoss computes the cost instead of e^2.
#include "stages/torch_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_loss(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    const std::int64_t N = x.size(0);
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    torch::Tensor wi = torch::zeros({1, M}, float64.requires_grad(true));
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor losses = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    // new
    torch::nn::MSELoss loss_function;
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1, [0]], xM[0 : M - 1, [0]]
        torch::Tensor yi = wi.matmul(xM);
        // new: the loss block replaces ei = d[i] - yi; mse = ei**2
        torch::Tensor loss = loss_function(yi.squeeze(), d[i].squeeze());
        loss.backward();
        {
            torch::NoGradGuard no_grad;
            wi.copy_(wi - eta / 2 * wi.grad()); // wi[:] = wi[:] - eta/2 * wi.grad: in place, wi stays the leaf
            y.slice(0, i, i + 1).copy_(yi);     // y[i] = yi
            losses[i].copy_(loss);              // losses[i] = loss
            w.slice(0, i + 1, i + 2).copy_(wi); // w[i + 1, :] = wi
        }
        wi.grad().zero_();
    }
    // The notebook returns only the last loss from here on; lmsref keeps every loss and e = d - y.
    return {y, d - y, w, losses};
}

} // namespace lmsref
