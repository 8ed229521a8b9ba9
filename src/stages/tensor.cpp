// Stage `tensor` — the notebook's `lms_torch`: the same loop as `numpy`, with LibTorch tensors (float64)
// in place of NumPy arrays. Mostly, np. becomes torch::.
#include "stages/torch_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    c10::InferenceMode inference; // C++: no autograd here, so LibTorch can skip its bookkeeping (view tracking)
    const std::int64_t N = x.size(0);
    // new: torch::zeros replaces np.zeros
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    torch::Tensor wi = torch::zeros({1, M}, float64);
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor e = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    for (std::int64_t i = 0; i < N; ++i) {
        // new: torch::vstack replaces np.vstack
        xM = torch::vstack({x.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1, [0]], xM[0 : M - 1, [0]]
        torch::Tensor yi = wi.matmul(xM);
        torch::Tensor ei = d[i] - yi;
        wi = wi + eta / 2 * 2 * ei * xM.t();
        y.slice(0, i, i + 1).copy_(yi);     // y[i] = yi
        e.slice(0, i, i + 1).copy_(ei);     // e[i] = ei
        w.slice(0, i + 1, i + 2).copy_(wi); // w[i + 1, :] = wi
    }
    return {y, e, w};
}

} // namespace lmsref
