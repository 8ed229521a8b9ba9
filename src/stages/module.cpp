// Stage `module` — the notebook's `LMS(nn.Module)` and `lms_torch_model`: the weights live in a model, a class
// derived from nn::Module that registers them as a Parameter; the loop calls the model and zeroes its gradients.
#include "stages/torch_stage.hpp"

namespace lmsref {

namespace {

// new: the model. Its constructor creates what it is made of, forward() computes the output from xM.
struct LMSImpl : torch::nn::Module {
    explicit LMSImpl(std::int64_t M) { wi = register_parameter("wi", torch::zeros({1, M}, torch::kFloat64)); }

    torch::Tensor forward(const torch::Tensor& xM) {
        torch::Tensor output = wi.matmul(xM);
        return output;
    }

    torch::Tensor wi;
};
TORCH_MODULE(LMS);

TorchTrajectory lms_torch_model(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M,
                                LMS& model) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    const std::int64_t N = x.size(0);
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor losses = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    torch::nn::MSELoss loss_function;
    // new: the optimizer takes the model's parameters
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(eta / 2));
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1, [0]], xM[0 : M - 1, [0]]
        // new: zero the model's gradients at the start of the step, then ask the model for yi
        model->zero_grad();
        torch::Tensor yi = model(xM);
        torch::Tensor loss = loss_function(yi.squeeze(), d[i].squeeze());
        loss.backward();
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y.slice(0, i, i + 1).copy_(yi); // y[i] = yi
            losses[i].copy_(loss);          // losses[i] = loss
            // new: the weights are the model's
            w.slice(0, i + 1, i + 2).copy_(model->wi.clone()); // w[i + 1, :] = model.wi.clone()
        }
    }
    return {y, d - y, w, losses};
}

} // namespace

// The notebook's cell: the model, then the training loop.
TorchTrajectory lms_torch_model(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M) {
    // new: model = LMS()
    LMS model(M);
    model->to(x.device());
    return lms_torch_model(x, d, eta, M, model);
}

} // namespace lmsref
