// Stage `autograd`, batched — the notebook's `lms_torch_autograd` over C realizations at once. The realization
// dimension is the last one: X, D, y, e are N x C, xM and wi are M x C (column c: realization c's xM, and its wi
// transposed), yi and ei are 1 x C, w is (N+1) x M x C. backward() runs once per sample for all realizations, on
// the SUM over realizations of e^2: realization c's e^2 depends on column c of wi alone, so column c of the gradient
// is exactly the gradient of its own e^2, the single run's. (The mean would scale every gradient by 1/C, and
// eta would have to grow by C to undo it, which changes the rounding.)
#include "stages/batched/batched_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_autograd_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(X.device());
    const std::int64_t N = X.size(0);
    const std::int64_t C = X.size(1);                      // batched: the realizations
    torch::Tensor xM = torch::zeros({M, C}, float64);      // batched: column c is realization c's xM
    torch::Tensor xM_next = torch::zeros({M, C}, float64); // batched: where vstack builds the next xM
    // new: wi = torch.zeros((1, M), requires_grad=True); batched: column c is realization c's wi
    torch::Tensor wi = torch::zeros({M, C}, float64.requires_grad(true));
    torch::Tensor y = trajectory_zeros({N, C}, float64);        // batched
    torch::Tensor e = trajectory_zeros({N, C}, float64);        // batched
    torch::Tensor w = trajectory_zeros({N + 1, M, C}, float64); // batched
    for (std::int64_t i = 0; i < N; ++i) {
        // batched: the notebook's vstack, into xM_next instead of a new M x C tensor per step; then the two swap
        torch::cat_out(xM_next, {X.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1], xM[0 : M - 1]
        std::swap(xM, xM_next);
        torch::Tensor yi = (wi * xM).sum(0, /*keepdim=*/true); // batched: wi.matmul(xM) of every column, 1 x C
        torch::Tensor ei = D[i] - yi;                          // batched: 1 x C
        // new: the gradient of e^2 with respect to wi, by autograd
        torch::Tensor mse = ei.pow(2).sum(); // batched: summed over realizations, each column keeps its own gradient
        mse.backward();
        {
            torch::NoGradGuard no_grad; // with torch.no_grad():
            // wi[:] = wi[:] - eta/2 * wi.grad: in place, wi stays the leaf; batched: sub_, not copy_ of a difference
            wi.sub_(eta / 2 * wi.grad());
            y.slice(0, i, i + 1).copy_(yi); // y[i] = yi
            e.slice(0, i, i + 1).copy_(ei); // e[i] = ei
            w[i + 1].copy_(wi);             // w[i + 1, :] = wi; batched: M x C
        }
        // new: gradients accumulate, so clear them for the next sample. batched: by dropping the gradient (wi.grad =
        // None, what zero_grad() does in PyTorch 2): the next backward() then stores its M x C gradient instead of
        // adding it to zeros, the same values with two passes over M x C fewer
        wi.mutable_grad().reset();
    }
    return {y, e, w};
}

} // namespace lmsref
