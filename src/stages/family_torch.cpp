// The LMS family's LibTorch programs (family_torch.hpp). Each is the notebook's lms_torch_optim with one part
// swapped: the loss, the optimizer, or the forward pass. The lr in each comment is what makes the update exact.
#include "stages/family_torch.hpp"

#include "core/errors.hpp"
#include "stages/torch_stage.hpp"

#include <memory>

namespace lmsref {

namespace {

/// y = w x whose backward passes sign(x) instead of x: with it, the gradient of e^2 is -2 e sign(x) (sign-data),
/// and that of |e| is -sign(e) sign(x) (sign-sign).
struct SignOfInput : torch::autograd::Function<SignOfInput> {
    static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& w,
                                 const torch::Tensor& xM) {
        context->save_for_backward({xM});
        return w.matmul(xM);
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::tensor_list grad_output) {
        const torch::Tensor xM = context->get_saved_variables()[0];
        return {grad_output[0].matmul(torch::sign(xM).t()), torch::Tensor()};
    }
};

/// The notebook's loop (lms_torch_optim): `loss_of(yi, di, xM)` and `optimizer` are the parts a member swaps;
/// `forward(wi, xM)` is wi.matmul(xM) but for the sign-data members.
/// RLS's settings (FamilyOptions' lambda and rls_delta).
struct RlsOptions : torch::optim::OptimizerCloneableOptions<RlsOptions> {
    double lambda = 1.0;
    double delta = 0.01;
};

/// RLS as an optimizer of e^2: from its gradient g = -2 e x and the regressor x (given before each step),
/// w += P x e / (lambda + x.P x) = -P g / (2 (lambda + x.P x)); P starts at I / delta and is kept here, updated as
/// P = (P - k x.P) / lambda with k = P x / (lambda + x.P x), then symmetrised.
class Rls : public torch::optim::Optimizer {
public:
    Rls(const std::vector<torch::Tensor>& parameters, const RlsOptions& options)
        : torch::optim::Optimizer(parameters, std::make_unique<RlsOptions>(options)), options_(options),
          P_(torch::eye(parameters.front().size(1), torch::dtype(torch::kFloat64)) / options.delta) {}

    void regressor(const torch::Tensor& xM) { xM_ = xM; }

    torch::Tensor step(LossClosure /*closure*/ = nullptr) override {
        torch::NoGradGuard no_grad;
        torch::Tensor& w = param_groups().front().params().front();
        const torch::Tensor Px = P_.matmul(xM_);
        const torch::Tensor denominator = options_.lambda + xM_.t().matmul(Px); // 1 x 1
        w.sub_(P_.matmul(w.grad().t()).t() / (2 * denominator));
        const torch::Tensor k = Px / denominator;
        P_ = (P_ - k.matmul(xM_.t().matmul(P_))) / options_.lambda;
        P_ = (P_ + P_.t()) / 2;
        return {};
    }

private:
    RlsOptions options_;
    torch::Tensor P_;
    torch::Tensor xM_;
};

template <class Forward, class Loss>
TorchTrajectory train(const torch::Tensor& x, const torch::Tensor& d, std::int64_t M, torch::Tensor& wi,
                      torch::optim::Optimizer& optimizer, const Forward& forward, const Loss& loss_of,
                      Rls* rls = nullptr) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    const std::int64_t N = x.size(0);
    torch::Tensor xM = torch::zeros({M, 1}, float64);
    torch::Tensor y = torch::zeros({N, 1}, float64);
    torch::Tensor losses = torch::zeros({N, 1}, float64);
    torch::Tensor w = torch::zeros({N + 1, M}, float64);
    for (std::int64_t i = 0; i < N; ++i) {
        xM = torch::vstack({x.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1, [0]], xM[0 : M - 1, [0]]
        torch::Tensor yi = forward(wi, xM);
        torch::Tensor loss = loss_of(yi.squeeze(), d[i].squeeze(), xM);
        loss.backward();
        if (rls != nullptr) rls->regressor(xM); // new (rls): the optimizer also sees the regressor
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y.slice(0, i, i + 1).copy_(yi);
            losses[i].copy_(loss);
            w.slice(0, i + 1, i + 2).copy_(wi);
        }
        optimizer.zero_grad();
    }
    return {y, d - y, w, losses};
}

/// Member `member`'s program over tensors (x, d: N x 1 float64).
TorchTrajectory lms_torch_family(std::string_view member, const torch::Tensor& x, const torch::Tensor& d, double eta,
                                 std::int64_t M, const FamilyOptions& o) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(x.device());
    torch::Tensor wi = torch::zeros({1, M}, float64.requires_grad(true));
    const std::vector<torch::Tensor> parameters{wi};
    const auto product = [](const torch::Tensor& w, const torch::Tensor& xM) { return w.matmul(xM); };
    const auto sign_of_input = [](const torch::Tensor& w, const torch::Tensor& xM) {
        return SignOfInput::apply(w, xM); // new: backward passes sign(x)
    };
    torch::nn::MSELoss mse;
    torch::nn::L1Loss l1;
    const auto squared = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
        return mse(yi, di);
    };
    const auto absolute = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
        return l1(yi, di); // new: nn::L1Loss, whose gradient is sign(y - d) x
    };
    // SGD at lr = eta / 2 on e^2 is the notebook's step w += eta e x.
    torch::optim::SGD half_step(parameters, torch::optim::SGDOptions(eta / 2));

    if (member == "lms") return train(x, d, M, wi, half_step, product, squared);
    if (member == "nlms") {
        const auto normalised = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor& xM) {
            // new: e^2 / (eps + x.x), the denominator detached so that only e carries the gradient
            return mse(yi, di) / (o.eps + (xM * xM).sum()).detach();
        };
        return train(x, d, M, wi, half_step, product, normalised);
    }
    if (member == "sign-error" || member == "sign-sign") {
        torch::optim::SGD full_step(parameters, torch::optim::SGDOptions(eta)); // |e|'s gradient has no 2
        return train(x, d, M, wi, full_step, member == "sign-sign" ? sign_of_input : product, absolute);
    }
    if (member == "sign-data") return train(x, d, M, wi, half_step, sign_of_input, squared);
    if (member == "leaky") {
        // new: weight_decay 2 gamma at lr = eta / 2: w -= eta / 2 (-2 e x + 2 gamma w)
        torch::optim::SGD leaky(parameters, torch::optim::SGDOptions(eta / 2).weight_decay(2 * o.gamma));
        return train(x, d, M, wi, leaky, product, squared);
    }
    if (member == "momentum" || member == "nesterov") {
        // new: PyTorch's heavy ball (dampening 0), Nesterov's look-ahead for nesterov
        torch::optim::SGD heavy(parameters,
                                torch::optim::SGDOptions(eta / 2).momentum(o.beta).nesterov(member == "nesterov"));
        return train(x, d, M, wi, heavy, product, squared);
    }
    if (member == "lmf") {
        const auto fourth = [](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
            return (yi - di).pow(4); // new: e^4, whose gradient is -4 e^3 x
        };
        torch::optim::SGD quarter_step(parameters, torch::optim::SGDOptions(eta / 4));
        return train(x, d, M, wi, quarter_step, product, fourth);
    }
    if (member == "huber") {
        torch::nn::HuberLoss huber(torch::nn::HuberLossOptions().delta(o.huber_delta)); // new: clip(e) x
        const auto clipped = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
            return huber(yi, di);
        };
        torch::optim::SGD full_step(parameters, torch::optim::SGDOptions(eta));
        return train(x, d, M, wi, full_step, product, clipped);
    }
    if (member == "adagrad") {
        torch::optim::Adagrad adagrad(parameters, torch::optim::AdagradOptions(eta).eps(o.adagrad_eps)); // new
        return train(x, d, M, wi, adagrad, product, squared);
    }
    if (member == "rmsprop") {
        torch::optim::RMSprop rmsprop(
            parameters, torch::optim::RMSpropOptions(eta).alpha(o.rmsprop_alpha).eps(o.rmsprop_eps)); // new
        return train(x, d, M, wi, rmsprop, product, squared);
    }
    if (member == "adam") {
        torch::optim::Adam adam(
            parameters,
            torch::optim::AdamOptions(eta).betas(std::make_tuple(o.adam_beta1, o.adam_beta2)).eps(o.adam_eps)); // new
        return train(x, d, M, wi, adam, product, squared);
    }
    if (member == "rls") {
        RlsOptions options;
        options.lambda = o.lambda;
        options.delta = o.rls_delta;
        Rls rls(parameters, options); // new: a custom optim::Optimizer keeping P
        return train(x, d, M, wi, rls, product, squared, &rls);
    }
    throw InputError(Field{"algorithm"}, std::string(member) + " has no LibTorch program");
}

} // namespace

Trajectory run_family_torch(std::string_view member, const std::vector<double>& x, const std::vector<double>& d,
                            double eta, std::size_t M, const FamilyOptions& options) {
    const TorchTrajectory t = lms_torch_family(member, as_tensor(x, torch::kCPU), as_tensor(d, torch::kCPU), eta,
                                               static_cast<std::int64_t>(M), options);
    Array2D w(x.size() + 1, M);
    w.values = to_host(t.w);
    return {to_host(t.y), to_host(t.e), to_host(t.losses), std::move(w)};
}

} // namespace lmsref
