// Stage `linear`, batched — the notebook's `LMS` built on nn::Linear and `lms_torch_model_2` over C realizations
// at once. The realization dimension is the last one: X, D, y are N x C, xM and the weights are M x C (column c:
// realization c's xM, and its 1 x M nn::Linear weight transposed), yi has C values, w is (N+1) x M x C.
//
// How nn::Linear is batched: nn::Linear(M, 1) holds one weight row, and C of them in a ModuleList would mean C
// forward calls, C autograd graphs and C parameters for SGD per step: LibTorch's per-call overhead, microseconds,
// paid C times over for a few flops each. Instead BatchedLinear (batched_stage.hpp) holds the weights of C
// nn::Linear(M, 1, bias=false) layers as one M x C parameter and applies nn::Linear's math, y = x W^T, to each
// realization; each realization's layer is built as the single run builds it (torch::manual_seed(T + c), then
// nn::Linear under float64), and its weight copied in, so realization c starts exactly where `lmsref linear
// --torch-seed T + c` starts. The loss is summed over realizations (nn::MSELoss with reduction sum): column c of the
// gradient is realization c's own, and optim::SGD gives each realization the single run's update.
#include "stages/batched/batched_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_model_2_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M,
                                          LinearLMSBatched& model) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(X.device());
    const std::int64_t N = X.size(0);
    const std::int64_t C = X.size(1);                      // batched: the realizations
    torch::Tensor xM = torch::zeros({M, C}, float64);      // batched: column c is realization c's xM
    torch::Tensor xM_next = torch::zeros({M, C}, float64); // batched: where vstack builds the next xM
    torch::Tensor y = trajectory_zeros({N, C}, float64);   // batched
    torch::Tensor losses = torch::zeros({N, 1}, float64);
    torch::Tensor w = trajectory_zeros({N + 1, M, C}, float64); // batched
    // batched: the sum over realizations, not the mean, so that each realization keeps its own gradient
    torch::nn::MSELoss loss_function(torch::nn::MSELossOptions().reduction(torch::kSum));
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(eta / 2));
    // lmsref's convention: row 0 holds the initial weights. The notebook leaves it at zero, which hides the very
    // thing this stage shows, nn::Linear's default init.
    w[0].copy_(model->l1->weight.detach()); // batched: M x C
    for (std::int64_t i = 0; i < N; ++i) {
        // batched: the notebook's vstack, into xM_next instead of a new M x C tensor per step; then the two swap
        torch::cat_out(xM_next, {X.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1], xM[0 : M - 1]
        std::swap(xM, xM_next);
        model->zero_grad(/*set_to_none=*/true);       // batched: set to none, as in `module`
        torch::Tensor yi = model(xM);                 // batched: C values
        torch::Tensor loss = loss_function(yi, D[i]); // batched: C values each, nothing to squeeze
        loss.backward();
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y[i].copy_(yi);        // y[i] = yi; batched: C values
            losses[i].copy_(loss); // losses[i] = loss; batched: the sum over realizations
            // new: the weights are nn::Linear's
            w[i + 1].copy_(model->l1->weight); // w[i + 1, :] = model.l1.weight.clone(); batched: M x C, no clone
        }
    }
    torch::Tensor e = trajectory_zeros({N, C}, float64); // batched: like y and w
    torch::sub_out(e, D, y);                             // e = d - y
    return {y, e, w, losses};
}

// The notebook's cell: the model, then the training loop.
TorchTrajectory lms_torch_model_2_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M) {
    // batched: realization c's nn::Linear draws its float64 weights right after torch::manual_seed(T + c), as the
    // single run with torch seed T + c does, T the seed the adapter has just given the generator
    LinearLMSBatched model(M, X.size(1)); // model = LMS()
    model->to(X.device());
    return lms_torch_model_2_batched(X, D, eta, M, model);
}

} // namespace lmsref
