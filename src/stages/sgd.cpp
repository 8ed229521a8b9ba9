// Stage `sgd` — the notebook's `lms_torch_optim`: optim::SGD with lr = eta/2 makes the update.
#include "stages/torch_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_optim(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    const std::int64_t N = x.size(0);
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    torch::Tensor wi = torch::zeros({1, M}, float64.requires_grad(true));
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor losses = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    torch::nn::MSELoss loss_function;
    // new
    torch::optim::SGD optimizer(std::vector<torch::Tensor>{wi}, torch::optim::SGDOptions(eta / 2));
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1, [0]], xM[0 : M - 1, [0]]
        torch::Tensor yi = wi.matmul(xM);
        torch::Tensor loss = loss_function(yi.squeeze(), d[i].squeeze());
        loss.backward();
        // new: the optimizer replaces wi[:] = wi[:] - eta/2 * wi.grad
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y.slice(0, i, i + 1).copy_(yi);     // y[i] = yi
            losses[i].copy_(loss);              // losses[i] = loss
            w.slice(0, i + 1, i + 2).copy_(wi); // w[i + 1, :] = wi
        }
        wi.grad().zero_();
    }
    return {y, d - y, w, losses};
}

} // namespace lmsref
