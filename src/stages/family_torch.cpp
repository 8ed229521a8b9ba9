// The LMS family's LibTorch programs (family_torch.hpp). Each is the notebook's lms_torch_optim with one part
// swapped: the loss, the optimizer, or the forward pass. The lr in each comment is what makes the update exact.
#include "stages/family_torch.hpp"

#include "core/errors.hpp"
#include "stages/batched/batched_stage.hpp"
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

// ---- batched: each member's program over C realizations at once (ensemble --algorithm A --stage sgd) -----------
// As src/stages/batched/sgd.cpp does for the notebook's stage: the realization is the last dimension (X, D: N x C;
// xM, wi: M x C), the loss is the sum over realizations so that column c of the gradient is realization c's own, and
// every optimizer here acts elementwise (SGD with its momentum and weight decay, Adagrad, RMSprop, Adam), so each
// column follows its single run. RLS keeps one P per realization (C x M x M).

/// SignOfInput over C realizations: y = (w xM).sum(0) column by column, its backward passes sign(xM).
struct SignOfInputBatched : torch::autograd::Function<SignOfInputBatched> {
    static torch::Tensor forward(torch::autograd::AutogradContext* context, const torch::Tensor& w,
                                 const torch::Tensor& xM) {
        context->save_for_backward({xM});
        return (w * xM).sum(0, /*keepdim=*/true);
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::tensor_list grad_output) {
        const torch::Tensor xM = context->get_saved_variables()[0];
        return {grad_output[0] * torch::sign(xM), torch::Tensor()}; // batched: 1 x C times M x C
    }
};

/// Rls over C realizations: P is C x M x M, realization c's in P[c]; the same steps, with batched matrix products.
class RlsBatched : public torch::optim::Optimizer {
public:
    RlsBatched(const std::vector<torch::Tensor>& parameters, const RlsOptions& options)
        : torch::optim::Optimizer(parameters, std::make_unique<RlsOptions>(options)), options_(options),
          P_(torch::eye(parameters.front().size(0), parameters.front().options())
                 .div(options.delta)
                 .expand({parameters.front().size(1), parameters.front().size(0), parameters.front().size(0)})
                 .contiguous()) {}

    void regressor(const torch::Tensor& xM) { xM_ = xM.t().unsqueeze(2); } // C x M x 1

    torch::Tensor step(LossClosure /*closure*/ = nullptr) override {
        torch::NoGradGuard no_grad;
        torch::Tensor& w = param_groups().front().params().front();                      // M x C
        const torch::Tensor Px = P_.bmm(xM_);                                            // C x M x 1
        const torch::Tensor denominator = options_.lambda + xM_.transpose(1, 2).bmm(Px); // C x 1 x 1
        const torch::Tensor g = w.grad().t().unsqueeze(2);                               // C x M x 1
        w.sub_((P_.bmm(g) / (2 * denominator)).squeeze(2).t());
        const torch::Tensor k = Px / denominator;
        P_ = (P_ - k.bmm(xM_.transpose(1, 2).bmm(P_))) / options_.lambda;
        P_ = (P_ + P_.transpose(1, 2)) / 2;
        return {};
    }

private:
    RlsOptions options_;
    torch::Tensor P_;
    torch::Tensor xM_;
};

/// train over C realizations: the loop of src/stages/batched/sgd.cpp with the member's parts.
template <class Forward, class Loss>
TorchTrajectory train_batched(const torch::Tensor& X, const torch::Tensor& D, std::int64_t M, torch::Tensor& wi,
                              torch::optim::Optimizer& optimizer, const Forward& forward, const Loss& loss_of,
                              RlsBatched* rls = nullptr) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(X.device());
    const std::int64_t N = X.size(0);
    const std::int64_t C = X.size(1);
    torch::Tensor xM = torch::zeros({M, C}, float64);
    torch::Tensor xM_next = torch::zeros({M, C}, float64);
    torch::Tensor y = trajectory_zeros({N, C}, float64);
    torch::Tensor w = trajectory_zeros({N + 1, M, C}, float64);
    for (std::int64_t i = 0; i < N; ++i) {
        torch::cat_out(xM_next, {X.slice(0, i, i + 1), xM.slice(0, 0, M - 1)}); // x[i : i + 1], xM[0 : M - 1]
        std::swap(xM, xM_next);
        torch::Tensor yi = forward(wi, xM); // 1 x C
        torch::Tensor loss = loss_of(yi.squeeze(0), D[i], xM);
        loss.backward();
        if (rls != nullptr) rls->regressor(xM); // new (rls): the optimizer also sees the regressor
        optimizer.step();
        {
            torch::NoGradGuard no_grad;
            y.slice(0, i, i + 1).copy_(yi);
            w[i + 1].copy_(wi);
        }
        wi.mutable_grad().reset();
    }
    torch::Tensor e = trajectory_zeros({N, C}, float64);
    torch::sub_out(e, D, y);
    return {y, e, w};
}

} // namespace

TorchTrajectory lms_torch_family_batched(FamilyId member, const torch::Tensor& X, const torch::Tensor& D, double eta,
                                         std::int64_t M, const FamilyOptions& o) {
    const torch::TensorOptions float64 = torch::dtype(torch::kFloat64).device(X.device());
    torch::Tensor wi = torch::zeros({M, X.size(1)}, float64.requires_grad(true));
    const std::vector<torch::Tensor> parameters{wi};
    const auto product = [](const torch::Tensor& w, const torch::Tensor& xM) {
        return (w * xM).sum(0, /*keepdim=*/true);
    };
    const auto sign_of_input = [](const torch::Tensor& w, const torch::Tensor& xM) {
        return SignOfInputBatched::apply(w, xM); // new: backward passes sign(x)
    };
    // the sum over realizations, not the mean, so that each realization keeps its own gradient
    torch::nn::MSELoss mse(torch::nn::MSELossOptions().reduction(torch::kSum));
    torch::nn::L1Loss l1(torch::nn::L1LossOptions().reduction(torch::kSum));
    const auto squared = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
        return mse(yi, di);
    };
    const auto absolute = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
        return l1(yi, di); // new: nn::L1Loss
    };
    torch::optim::SGD half_step(parameters, torch::optim::SGDOptions(eta / 2));
    switch (member) {
    case FamilyId::lms: return train_batched(X, D, M, wi, half_step, product, squared);
    case FamilyId::nlms: {
        const auto normalised = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor& xM) {
            // new: e^2 / (eps + x.x) for each realization, the denominator detached
            return ((yi - di).pow(2) / (o.eps + (xM * xM).sum(0)).detach()).sum();
        };
        return train_batched(X, D, M, wi, half_step, product, normalised);
    }
    case FamilyId::sign_error:
    case FamilyId::sign_sign: {
        torch::optim::SGD full_step(parameters, torch::optim::SGDOptions(eta));
        return train_batched(X, D, M, wi, full_step, member == FamilyId::sign_sign ? sign_of_input : product, absolute);
    }
    case FamilyId::sign_data: return train_batched(X, D, M, wi, half_step, sign_of_input, squared);
    case FamilyId::leaky: {
        torch::optim::SGD leaky(parameters, torch::optim::SGDOptions(eta / 2).weight_decay(2 * o.gamma)); // new
        return train_batched(X, D, M, wi, leaky, product, squared);
    }
    case FamilyId::momentum:
    case FamilyId::nesterov: {
        torch::optim::SGD heavy(
            parameters, torch::optim::SGDOptions(eta / 2).momentum(o.beta).nesterov(member == FamilyId::nesterov));
        return train_batched(X, D, M, wi, heavy, product, squared); // new
    }
    case FamilyId::lmf: {
        const auto fourth = [](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
            return (yi - di).pow(4).sum(); // new: e^4
        };
        torch::optim::SGD quarter_step(parameters, torch::optim::SGDOptions(eta / 4));
        return train_batched(X, D, M, wi, quarter_step, product, fourth);
    }
    case FamilyId::huber: {
        torch::nn::HuberLoss huber(torch::nn::HuberLossOptions().delta(o.huber_delta).reduction(torch::kSum)); // new
        const auto clipped = [&](const torch::Tensor& yi, const torch::Tensor& di, const torch::Tensor&) {
            return huber(yi, di);
        };
        torch::optim::SGD full_step(parameters, torch::optim::SGDOptions(eta));
        return train_batched(X, D, M, wi, full_step, product, clipped);
    }
    case FamilyId::adagrad: {
        torch::optim::Adagrad adagrad(parameters, torch::optim::AdagradOptions(eta).eps(o.adagrad_eps)); // new
        return train_batched(X, D, M, wi, adagrad, product, squared);
    }
    case FamilyId::rmsprop: {
        torch::optim::RMSprop rmsprop(
            parameters, torch::optim::RMSpropOptions(eta).alpha(o.rmsprop_alpha).eps(o.rmsprop_eps)); // new
        return train_batched(X, D, M, wi, rmsprop, product, squared);
    }
    case FamilyId::adam: {
        torch::optim::Adam adam(
            parameters,
            torch::optim::AdamOptions(eta).betas(std::make_tuple(o.adam_beta1, o.adam_beta2)).eps(o.adam_eps)); // new
        return train_batched(X, D, M, wi, adam, product, squared);
    }
    case FamilyId::rls: {
        RlsOptions options;
        options.lambda = o.lambda;
        options.delta = o.rls_delta;
        RlsBatched rls(parameters, options); // new: a custom optim::Optimizer keeping one P per realization
        return train_batched(X, D, M, wi, rls, product, squared, &rls);
    }
    }
    throw InputError(Field{"algorithm"}, "this member has no batched LibTorch program");
}

Trajectory run_family_torch(std::string_view member, const std::vector<double>& x, const std::vector<double>& d,
                            double eta, std::size_t M, const FamilyOptions& options) {
    const TorchTrajectory t = lms_torch_family(member, as_tensor(x, torch::kCPU), as_tensor(d, torch::kCPU), eta,
                                               static_cast<std::int64_t>(M), options);
    Array2D w(x.size() + 1, M);
    w.values = to_host(t.w);
    return {to_host(t.y), to_host(t.e), to_host(t.losses), std::move(w)};
}

} // namespace lmsref
