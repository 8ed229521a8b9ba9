// The LMS family's plain recursions (family.hpp). One loop, the notebook's; each member is its update.
#include "lms/family.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace lmsref {

namespace {

/// torch.sign: -1, 0 or 1.
double sign(double v) {
    return static_cast<double>((v > 0) - (v < 0));
}

/// The notebook's loop with `update(wi, xM, ei)` in place of its LMS step.
template <class Update>
Trajectory run_loop(const std::vector<double>& x, const std::vector<double>& d, std::size_t M, Update update) {
    const std::size_t N = x.size();
    std::vector<double> xM(M, 0.0), wi(M, 0.0), y(N, 0.0), e(N, 0.0);
    Array2D w(N + 1, M);
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t k = M - 1; k > 0; --k) xM[k] = xM[k - 1];
        xM[0] = x[i];
        double yi = 0.0;
        for (std::size_t k = 0; k < M; ++k) yi += wi[k] * xM[k];
        const double ei = d[i] - yi;
        update(wi, xM, ei);
        y[i] = yi;
        e[i] = ei;
        for (std::size_t k = 0; k < M; ++k) w(i + 1, k) = wi[k];
    }
    return {std::move(y), std::move(e), {}, std::move(w)};
}

using Vector = std::vector<double>;

Trajectory lms(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions&) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta / 2 * 2 * e * xM[k]; // the numpy stage's bits
    });
}

Trajectory nlms(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        double power = 0.0;
        for (std::size_t k = 0; k < M; ++k) power += xM[k] * xM[k];
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * e * xM[k] / (o.eps + power);
    });
}

Trajectory sign_error(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions&) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * sign(e) * xM[k];
    });
}

Trajectory sign_data(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions&) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * e * sign(xM[k]);
    });
}

Trajectory sign_sign(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions&) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * sign(e) * sign(xM[k]);
    });
}

Trajectory leaky(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) w[k] = (1 - eta * o.gamma) * w[k] + eta * e * xM[k];
    });
}

/// PyTorch's SGD with momentum (dampening 0) on g = -2 e x with lr = eta / 2: the buffer starts as the first
/// gradient; nesterov steps along g + beta buf.
Trajectory heavy_ball(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o,
                      bool nesterov) {
    Vector buffer(M, 0.0);
    bool first = true;
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) {
            const double g = -2 * e * xM[k];
            buffer[k] = first ? g : o.beta * buffer[k] + g;
            w[k] = w[k] - eta / 2 * (nesterov ? g + o.beta * buffer[k] : buffer[k]);
        }
        first = false;
    });
}

Trajectory momentum(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    return heavy_ball(x, d, eta, M, o, false);
}

Trajectory nesterov(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    return heavy_ball(x, d, eta, M, o, true);
}

Trajectory lmf(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions&) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * e * e * e * xM[k];
    });
}

Trajectory huber(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        const double clipped = std::clamp(e, -o.huber_delta, o.huber_delta);
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * clipped * xM[k];
    });
}

/// PyTorch's Adagrad (lr_decay 0, initial accumulator 0) on g = -2 e x with lr = eta.
Trajectory adagrad(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    Vector sum(M, 0.0);
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) {
            const double g = -2 * e * xM[k];
            sum[k] = sum[k] + g * g;
            w[k] = w[k] - eta * g / (std::sqrt(sum[k]) + o.adagrad_eps);
        }
    });
}

/// PyTorch's RMSprop (no momentum, not centered) on g = -2 e x with lr = eta.
Trajectory rmsprop(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    Vector square(M, 0.0);
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        for (std::size_t k = 0; k < M; ++k) {
            const double g = -2 * e * xM[k];
            square[k] = o.rmsprop_alpha * square[k] + (1 - o.rmsprop_alpha) * g * g;
            w[k] = w[k] - eta * g / (std::sqrt(square[k]) + o.rmsprop_eps);
        }
    });
}

/// PyTorch's Adam (no weight decay, not amsgrad) on g = -2 e x with lr = eta, in its implementation's order:
/// step lr / (1 - beta1^t), denominator sqrt(v) / sqrt(1 - beta2^t) + eps.
Trajectory adam(const Vector& x, const Vector& d, double eta, std::size_t M, const FamilyOptions& o) {
    Vector first(M, 0.0), second(M, 0.0);
    double t = 0.0;
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        t += 1.0;
        const double correction1 = 1 - std::pow(o.adam_beta1, t);
        const double correction2 = 1 - std::pow(o.adam_beta2, t);
        for (std::size_t k = 0; k < M; ++k) {
            const double g = -2 * e * xM[k];
            first[k] = o.adam_beta1 * first[k] + (1 - o.adam_beta1) * g;
            second[k] = o.adam_beta2 * second[k] + (1 - o.adam_beta2) * g * g;
            const double denominator = std::sqrt(second[k]) / std::sqrt(correction2) + o.adam_eps;
            w[k] = w[k] - eta / correction1 * first[k] / denominator;
        }
    });
}

/// RLS: P(0) = I / delta; k = P x / (lambda + x.P x); w += k e; P = (P - k x.P) / lambda, then (P + P^T) / 2.
/// eta is not used: RLS has no step.
Trajectory rls(const Vector& x, const Vector& d, double, std::size_t M, const FamilyOptions& o) {
    Vector P(M * M, 0.0), Px(M), xP(M), gain(M);
    for (std::size_t i = 0; i < M; ++i) P[i * M + i] = 1.0 / o.rls_delta;
    return run_loop(x, d, M, [&](Vector& w, const Vector& xM, double e) {
        double quadratic = 0.0;
        for (std::size_t i = 0; i < M; ++i) {
            Px[i] = 0.0;
            xP[i] = 0.0;
            for (std::size_t j = 0; j < M; ++j) {
                Px[i] += P[i * M + j] * xM[j];
                xP[i] += xM[j] * P[j * M + i];
            }
        }
        for (std::size_t i = 0; i < M; ++i) quadratic += xM[i] * Px[i];
        for (std::size_t i = 0; i < M; ++i) gain[i] = Px[i] / (o.lambda + quadratic);
        for (std::size_t i = 0; i < M; ++i) w[i] = w[i] + gain[i] * e;
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < M; ++j) P[i * M + j] = (P[i * M + j] - gain[i] * xP[j]) / o.lambda;
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = i + 1; j < M; ++j) {
                const double mean = (P[i * M + j] + P[j * M + i]) / 2;
                P[i * M + j] = mean;
                P[j * M + i] = mean;
            }
    });
}

} // namespace

const std::vector<FamilyMember>& family() {
    static const std::vector<FamilyMember> members = {
        {"lms", "the notebook's sgd stage", "w += eta e x", lms},
        {"nlms", "loss e^2 / (eps + x.x), the denominator detached", "w += eta e x / (eps + x.x)", nlms},
        {"sign-error", "nn::L1Loss", "w += eta sign(e) x", sign_error},
        {"sign-data", "an autograd Function whose backward passes sign(x)", "w += eta e sign(x)", sign_data},
        {"sign-sign", "nn::L1Loss and that Function", "w += eta sign(e) sign(x)", sign_sign},
        {"leaky", "optim::SGD with weight_decay", "w = (1 - eta gamma) w + eta e x", leaky},
        {"momentum", "optim::SGD with momentum", "heavy ball on g = -2 e x, lr = eta / 2", momentum},
        {"nesterov", "optim::SGD with nesterov", "Nesterov on g = -2 e x, lr = eta / 2", nesterov},
        {"lmf", "a custom loss e^4", "w += eta e^3 x", lmf},
        {"huber", "nn::HuberLoss(delta)", "w += eta clip(e, -delta, delta) x", huber},
        {"adagrad", "optim::Adagrad on e^2", "PyTorch's Adagrad, lr = eta", adagrad},
        {"rmsprop", "optim::RMSprop on e^2", "PyTorch's RMSprop, lr = eta", rmsprop},
        {"adam", "optim::Adam on e^2", "PyTorch's Adam, lr = eta", adam},
        {"rls", "a custom optim::Optimizer keeping P", "k = P x / (lambda + x.P x), w += k e, P update", rls},
    };
    return members;
}

const FamilyMember& find_member(std::string_view name) {
    for (const FamilyMember& member : family())
        if (member.name == name) return member;
    std::vector<std::string> names;
    for (const FamilyMember& member : family()) names.emplace_back(member.name);
    throw InputError(Field{"algorithm"}, unknown_name("member", std::string(name), names));
}

} // namespace lmsref
