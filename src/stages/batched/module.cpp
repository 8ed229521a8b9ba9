// Stage `module`, batched — the notebook's `LMS(nn.Module)` and `lms_torch_model` over C realizations at once. The
// realization dimension is the last one: X, D, y are N x C, xM and the model's wi are M x C (column c: realization
// c's xM, and its wi transposed), yi is 1 x C, w is (N+1) x M x C. The model registers the one M x C Parameter;
// the loss is summed over realizations (nn::MSELoss with reduction sum), so column c of the gradient is realization
// c's own and optim::SGD gives each realization the single run's update.
#include "stages/batched/batched_stage.hpp"

namespace lmsref {

namespace {

// new: the model. Its constructor creates what it is made of, forward() computes the output from xM.
struct LMSImpl : torch::nn::Module {
    // batched: one M x C Parameter, column c realization c's weights
    LMSImpl(std::int64_t M, std::int64_t C) { wi = register_parameter("wi", torch::zeros({M, C}, torch::kFloat64)); }

    torch::Tensor forward(const torch::Tensor& xM) {
        torch::Tensor output = (wi * xM).sum(0, /*keepdim=*/true); // batched: wi.matmul(xM) of every column, 1 x C
        return output;
    }

    torch::Tensor wi;
};
TORCH_MODULE(LMS);

TorchTrajectory lms_torch_model_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M,
                                        LMS& model) {
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
    // new: the optimizer takes the model's parameters
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(eta / 2));
    for (std::int64_t i = 0; i < N; ++i) {
        // batched: the notebook's vstack, into xM_next instead of a new M x C tensor per step; then the two swap
        torch::cat_out(xM_next, {X.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1], xM[0 : M - 1]
        std::swap(xM, xM_next);
        // new: zero the model's gradients at the start of the step, then ask the model for yi. batched: set to none
        // (PyTorch 2's default): backward() then stores the next M x C gradient instead of adding it to zeros, the
        // same values with two passes over M x C fewer
        model->zero_grad(/*set_to_none=*/true);
        torch::Tensor yi = model(xM);
        torch::Tensor loss = loss_function(yi.squeeze(0), D[i]); // batched: C values each, so squeeze the row only
        loss.backward();
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y.slice(0, i, i + 1).copy_(yi); // y[i] = yi
            losses[i].copy_(loss);          // losses[i] = loss; batched: the sum over realizations
            // new: the weights are the model's
            w[i + 1].copy_(model->wi); // w[i + 1, :] = model.wi.clone(); batched: M x C, copied without the clone
        }
    }
    torch::Tensor e = trajectory_zeros({N, C}, float64); // batched: like y and w
    torch::sub_out(e, D, y);                             // e = d - y
    return {y, e, w, losses};
}

} // namespace

// The notebook's cell: the model, then the training loop.
TorchTrajectory lms_torch_model_batched(const torch::Tensor& X, const torch::Tensor& D, double eta, std::int64_t M) {
    // new: model = LMS(); batched: with C columns
    LMS model(M, X.size(1));
    model->to(X.device());
    return lms_torch_model_batched(X, D, eta, M, model);
}

} // namespace lmsref
