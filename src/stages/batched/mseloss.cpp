// Stage `mseloss`, batched — the notebook's `lms_torch_loss` over C realizations at once. The realization dimension
// is the last one: X, D, y are N x C, xM and wi are M x C (column c: realization c's xM, and its wi transposed),
// yi is 1 x C, w is (N+1) x M x C. nn::MSELoss takes reduction sum: the loss is the sum over realizations of
// (y - d)^2, whose gradient with respect to column c of wi is exactly that of realization c's own loss, the single
// run's (nn::MSELoss of one value: its mean is that value). The default mean would divide every gradient by C.
#include "stages/batched/batched_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_loss_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(X.device());
    const std::int64_t N = X.size(0);
    const std::int64_t C = X.size(1);                                     // batched: the realizations
    torch::Tensor xM = torch::zeros({M, C}, float64);                     // batched: column c is realization c's xM
    torch::Tensor xM_next = torch::zeros({M, C}, float64);                // batched: where vstack builds the next xM
    torch::Tensor wi = torch::zeros({M, C}, float64.requires_grad(true)); // batched: column c is realization c's wi
    torch::Tensor y = trajectory_zeros({N, C}, float64);                  // batched
    torch::Tensor losses = torch::zeros({N, 1}, float64);
    torch::Tensor w = trajectory_zeros({N + 1, M, C}, float64); // batched
    // new; batched: the sum over realizations, not the mean, so that each realization keeps its own gradient
    torch::nn::MSELoss loss_function(torch::nn::MSELossOptions().reduction(torch::kSum));
    for (std::int64_t i = 0; i < N; ++i) {
        // batched: the notebook's vstack, into xM_next instead of a new M x C tensor per step; then the two swap
        torch::cat_out(xM_next, {X.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1], xM[0 : M - 1]
        std::swap(xM, xM_next);
        torch::Tensor yi = (wi * xM).sum(0, /*keepdim=*/true); // batched: wi.matmul(xM) of every column, 1 x C
        // new: the loss block replaces ei = d[i] - yi; mse = ei**2
        torch::Tensor loss = loss_function(yi.squeeze(0), D[i]); // batched: C values each, so squeeze the row only
        loss.backward();
        {
            torch::NoGradGuard no_grad;
            // wi[:] = wi[:] - eta/2 * wi.grad: in place, wi stays the leaf; batched: sub_, not copy_ of a difference
            wi.sub_(eta / 2 * wi.grad());
            y.slice(0, i, i + 1).copy_(yi); // y[i] = yi
            losses[i].copy_(loss);          // losses[i] = loss; batched: the sum over realizations
            w[i + 1].copy_(wi);             // w[i + 1, :] = wi; batched: M x C
        }
        // batched: wi.grad = None rather than zeros (PyTorch 2's zero_grad()): backward() then stores the next
        // gradient instead of adding it to zeros, the same values with two passes over M x C fewer
        wi.mutable_grad().reset();
    }
    // The notebook returns only the last loss from here on; lmsref keeps every loss and e = d - y.
    torch::Tensor e = trajectory_zeros({N, C}, float64); // batched: like y and w
    torch::sub_out(e, D, y);                             // e = d - y
    return {y, e, w, losses};
}

} // namespace lmsref
