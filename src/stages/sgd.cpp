// Stage `sgd` — the notebook's `lms_torch_optim`: optim::SGD with lr = eta/2 makes the update.
#include "stages/torch_stage.hpp"

namespace lmsref {

using torch::indexing::Slice;

Trajectory lms_torch_optim(const StageInput& in) {
    const torch::Tensor x = as_tensor(in.x, in.device);
    const torch::Tensor d = as_tensor(in.d, in.device);
    const double eta = in.eta;
    const std::int64_t M = in.M;
    const torch::TensorOptions float64 = float64_on(in.device);

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
        xM = torch::vstack({x.index({Slice(i, i + 1), Slice(0, 1)}), xM.index({Slice(0, M - 1), Slice(0, 1)})});
        torch::Tensor yi = wi.matmul(xM);
        torch::Tensor loss = loss_function(yi.squeeze(), d[i].squeeze());
        loss.backward();
        // new: the optimizer replaces wi[:] = wi[:] - eta/2 * wi.grad
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y.index_put_({i}, yi);
            losses.index_put_({i}, loss);
            w.index_put_({i + 1, Slice()}, wi);
        }
        wi.grad().zero_();
    }
    return to_trajectory(y, d - y, w, losses);
}

} // namespace lmsref
