// Stage `tensor`, batched — the notebook's `lms_torch` over C realizations at once. The realization dimension is
// the last one: X, D, y, e are N x C, xM and wi are M x C (column c: realization c's xM, and its wi transposed),
// yi and ei are 1 x C, w is (N+1) x M x C. Each column runs the single run's loop; the columns never mix.
#include "stages/batched/batched_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(X.device());
    c10::InferenceMode inference; // C++: no autograd here, so LibTorch can skip its bookkeeping (view tracking)
    const std::int64_t N = X.size(0);
    const std::int64_t C = X.size(1);                           // batched: the realizations
    torch::Tensor xM = torch::zeros({M, C}, float64);           // batched: column c is realization c's xM
    torch::Tensor xM_next = torch::zeros({M, C}, float64);      // batched: where vstack builds the next xM
    torch::Tensor y = trajectory_zeros({N, C}, float64);        // batched
    torch::Tensor e = trajectory_zeros({N, C}, float64);        // batched
    torch::Tensor w = trajectory_zeros({N + 1, M, C}, float64); // batched
    // batched: column c is realization c's wi; wi is row i of w (zeros at first), so that the update can write row
    // i + 1 in place, with no new M x C tensor and no copy into w
    torch::Tensor wi = w[0];
    for (std::int64_t i = 0; i < N; ++i) {
        // batched: the notebook's vstack, into xM_next instead of a new M x C tensor per step; then the two swap
        torch::cat_out(xM_next, {X.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1], xM[0 : M - 1]
        std::swap(xM, xM_next);
        torch::Tensor yi = (wi * xM).sum(0, /*keepdim=*/true); // batched: wi.matmul(xM) of every column, 1 x C
        torch::Tensor ei = D[i] - yi;                          // batched: 1 x C
        // wi = wi + eta/2 * 2 * ei * xM.T and w[i + 1, :] = wi; batched: computed into w[i + 1], ei * xM per column
        torch::Tensor wi_next = w[i + 1];
        torch::add_out(wi_next, wi, eta / 2 * 2 * ei * xM);
        wi = wi_next;
        y.slice(0, i, i + 1).copy_(yi); // y[i] = yi
        e.slice(0, i, i + 1).copy_(ei); // e[i] = ei
    }
    return {y, e, w};
}

} // namespace lmsref
