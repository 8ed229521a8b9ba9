// Stage `linear` — the notebook's `LMS` built on nn::Linear and `lms_torch_model_2`. nn::Linear starts from
// its default (Kaiming-uniform) weights, not from zeros, so the trajectory differs early and meets the others later.
#include "stages/torch_stage.hpp"

namespace lmsref {

TorchTrajectory lms_torch_model_2(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M,
                                  LinearLMS& model) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    const std::int64_t N = x.size(0);
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor losses = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    torch::nn::MSELoss loss_function;
    torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(eta / 2));
    // lmsref's convention: row 0 holds the initial weights. The notebook leaves it at zero, which hides the very
    // thing this stage shows, nn::Linear's default init.
    w.slice(0, 0, 1).copy_(model->l1->weight.detach());
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1, [0]], xM[0 : M - 1, [0]]
        model->zero_grad();
        torch::Tensor yi = model(xM);
        torch::Tensor loss = loss_function(yi.squeeze(), d[i].squeeze());
        loss.backward();
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y.slice(0, i, i + 1).copy_(yi); // y[i] = yi
            losses[i].copy_(loss);          // losses[i] = loss
            // new: the weights are nn::Linear's
            w.slice(0, i + 1, i + 2).copy_(model->l1->weight.clone()); // w[i + 1, :] = model.l1.weight.clone()
        }
    }
    return {y, d - y, w, losses};
}

// The notebook's cell: the model, then the training loop.
TorchTrajectory lms_torch_model_2(const torch::Tensor& x, const torch::Tensor& d, double eta, std::int64_t M) {
    // nn::Linear draws its float64 weights from the generator that the adapter has just seeded with the torch seed:
    // torch.manual_seed(T) right before nn.Linear, so the same bits as Python's
    LinearLMS model(M); // model = LMS()
    model->to(x.device());
    return lms_torch_model_2(x, d, eta, M, model);
}

} // namespace lmsref
