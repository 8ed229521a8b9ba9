// Stage `mseloss` — the notebook's `lms_torch_loss`: nn::MSELoss computes the cost instead of e^2.
#include "stages/torch_stage.hpp"

namespace lmsref {

using torch::indexing::Slice;

Trajectory lms_torch_loss(const StageInput& in) {
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
    // new
    torch::nn::MSELoss loss_function;
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.index({Slice(i, i + 1), Slice(0, 1)}), xM.index({Slice(0, M - 1), Slice(0, 1)})});
        torch::Tensor yi = wi.matmul(xM);
        // new: the loss block replaces ei = d[i] - yi; mse = ei**2
        torch::Tensor loss = loss_function(yi.squeeze(), d[i].squeeze());
        loss.backward();
        {
            torch::NoGradGuard no_grad;
            wi.index_put_({Slice()}, wi.index({Slice()}) - eta / 2 * wi.grad());
            y.index_put_({i}, yi);
            losses.index_put_({i}, loss);
            w.index_put_({i + 1, Slice()}, wi);
        }
        wi.grad().zero_();
    }
    // The notebook returns only the last loss from here on; lmsref keeps every loss and e = d - y.
    return to_trajectory(y, d - y, w, losses);
}

} // namespace lmsref
