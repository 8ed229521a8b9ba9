// The LMS family's updates, one struct per member: its state (an optimizer's buffers) and the step it takes once
// the a-priori error is known. The single run (family.cpp) and the ensemble engine (src/ensemble/) call the same
// code, so a realization of the ensemble is the single run's bits.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace lmsref {

/// The members' settings, at the defaults of the options that set them (and PyTorch's own).
struct FamilyOptions {
    double eps = 1e-6;          ///< nlms: w += eta e x / (eps + x.x)
    double gamma = 0.01;        ///< leaky: w = (1 - eta gamma) w + eta e x
    double beta = 0.5;          ///< momentum, nesterov: PyTorch's SGD momentum (dampening 0)
    double huber_delta = 0.1;   ///< huber: w += eta clip(e, -delta, delta) x
    double lambda = 1.0;        ///< rls: the forgetting factor
    double rls_delta = 0.01;    ///< rls: P(0) = I / delta
    double adagrad_eps = 1e-10; ///< PyTorch's defaults from here on
    double rmsprop_alpha = 0.99;
    double rmsprop_eps = 1e-8;
    double adam_beta1 = 0.9;
    double adam_beta2 = 0.999;
    double adam_eps = 1e-8;
};

/// The members, in family()'s order.
enum class FamilyId {
    lms,
    nlms,
    sign_error,
    sign_data,
    sign_sign,
    leaky,
    momentum,
    nesterov,
    lmf,
    huber,
    adagrad,
    rmsprop,
    adam,
    rls
};

namespace family_update {

/// torch.sign: -1, 0 or 1.
inline double sign(double v) {
    return static_cast<double>((v > 0) - (v < 0));
}
inline double root(double v) {
    return std::sqrt(v);
}
inline double clamp(double v, double lo, double hi) {
    return std::clamp(v, lo, hi);
}
/// A value of type V holding `s` (in every lane, for Lanes4).
template <class V> V splat(double s) {
    return V{} + s;
}
/// A constant divisor c of a run's step made ready for divide_by_constant by make_divisor (family.cpp): y = 1 / c
/// and y_low = 1 / c - y, each rounded once, so that y + y_low is 1 / c to within 2^-106 of it; y = 0 where c lies
/// outside [2^-64, 2^64] (then the lanes divide). corrected: whether, for some a, the quotient a y + a y_low (the
/// product a y_low rounded, then the sum once) rounds other than a / c, so that Markstein's correction must follow
/// it; make_divisor tries every a for which that can happen. About one c in 150 (random significands) needs it; 3
/// of Adam's first 500 steps at its default beta2.
struct Divisor {
    double c = 1.0, y = 1.0, y_low = 0.0;
    bool corrected = false;
};
Divisor make_divisor(double c);

/// a / c for a constant c of the step (Lanes8's overload uses the rest of the Divisor: below).
template <class V> V divide_by_constant(V a, const Divisor& d) {
    return a / d.c;
}

#if defined(__AVX2__)
/// Four doubles in one value (GCC's and Clang's vector extension), for the translation unit that is compiled for AVX2
/// (src/ensemble/family_lanes.cpp): the ensemble runs four (or eight) realizations of a member in the lanes, each lane
/// with the scalar operations above, in their order: the same bits (no fused multiply-add: -ffp-contract=off, and no
/// FMA enabled there). Elsewhere it is not declared, as 32-byte vectors change the calling convention without AVX.
using Lanes4 = double __attribute__((vector_size(32)));
inline Lanes4 sign(Lanes4 v) {
    return __builtin_convertvector((v < 0) - (v > 0), Lanes4); // a true comparison is -1 in its lane
}
inline Lanes4 root(Lanes4 v) { // vsqrtpd: IEEE's correctly rounded square root in each lane, std::sqrt's bits
    return __builtin_convertvector(_mm256_sqrt_pd(__builtin_convertvector(v, __m256d)), Lanes4);
}
inline Lanes4 clamp(Lanes4 v, double lo, double hi) { // std::clamp's comparisons, lane by lane
    const Lanes4 low = splat<Lanes4>(lo), high = splat<Lanes4>(hi);
    return v < low ? low : (high < v ? high : v);
}
#if defined(__AVX512F__)
/// Eight doubles, eight realizations, for the file compiled for AVX-512 (src/ensemble/family_rows.cpp): the same
/// operations in each lane.
using Lanes8 = double __attribute__((vector_size(64)));
inline Lanes8 sign(Lanes8 v) {
    return __builtin_convertvector((v < 0) - (v > 0), Lanes8);
}
inline Lanes8 root(Lanes8 v) { // vsqrtpd, correctly rounded in each lane (maskz: GCC 12 warns of _mm512_sqrt_pd's
                               // "uninitialized" pass-through operand)
    return __builtin_convertvector(_mm512_maskz_sqrt_pd(0xFF, __builtin_convertvector(v, __m512d)), Lanes8);
}
inline Lanes8 clamp(Lanes8 v, double lo, double hi) {
    const Lanes8 low = splat<Lanes8>(lo), high = splat<Lanes8>(hi);
    return v < low ? low : (high < v ? high : v);
}
#if defined(__AVX512DQ__)
/// a / c in each lane, IEEE's quotient, by fused multiply-adds instead of the divider (which Adam's chain of
/// dependent operations otherwise takes for two divisions and a square root per tap), from make_divisor's y and
/// y_low: q0 = a y + a y_low, the product a y_low rounded, then the sum once (N. Brisebarre, J.-M. Muller and S. K.
/// Raina, IEEE Trans. Computers 53(8), 2004). Before its own rounding q0 lies within 2^-105 (1 + 2^-54) |a / c| of
/// a / c (make_divisor's comment), so it is a / c rounded once unless a / c lies that close to a halfway point
/// between two doubles; make_divisor has tried every a for which c allows that, and where one rounds otherwise it
/// sets `corrected`. Then one correction follows: q0 is within one ulp of a / c and y within half an ulp of 1 / c, so
/// Markstein's theorem (P. Markstein, IBM J. Res. Dev. 34(1), 1990; the remainder a - c q0 exact, as one fused
/// multiply-add makes it when its last bit is not below 2^-1074) makes q0 + (a - c q0) y, rounded once, a / c rounded
/// once. Either way the same bits as a / c, where c lies in [2^-64, 2^64] (y = 0 otherwise: then it divides) and each
/// a is zero, infinite, NaN or of size in [2^-800, 2^800], as a square root's is (Adam's a); there every product
/// stays normal. Infinities and NaN take a y, which is a / c for them, and so do zeros. Two operations deep (a y_low,
/// q0: 7 cycles on Zen 4), four with the correction.
inline Lanes8 divide_by_constant(Lanes8 a, const Divisor& d) {
    if (!(d.y > 0.0)) return a / d.c;
    const __m512d av = __builtin_convertvector(a, __m512d), yv = _mm512_set1_pd(d.y);
    __m512d q = _mm512_fmadd_pd(av, yv, _mm512_mul_pd(av, _mm512_set1_pd(d.y_low)));
    if (d.corrected) q = _mm512_fmadd_pd(_mm512_fnmadd_pd(q, _mm512_set1_pd(d.c), av), yv, q);
    const __mmask8 special = _mm512_fpclass_pd_mask(av, 0x9F); // NaN, zero or infinite
    return __builtin_convertvector(_mm512_mask_blend_pd(special, q, _mm512_mul_pd(av, yv)), Lanes8);
}
#endif
#endif
#endif

/// An update's per-tap state: a fixed array when its size is known at compile time (Size > 0, the ensemble's
/// loops: kept in registers), a vector of n otherwise; zeroed either way.
template <std::size_t Size, class V> using State = std::conditional_t<(Size > 0), std::array<V, Size>, std::vector<V>>;
template <std::size_t Size, class V> State<Size, V> zero_state(std::size_t n) {
    if constexpr (Size > 0)
        return State<Size, V>{};
    else
        return std::vector<V>(n);
}

/// The constants of each step t = 1 ... steps of a member's run, the same for every realization: made once
/// (make_step_tables, family.cpp, compiled without AVX2) and read by the updates. Adam's bias corrections eta / (1 -
/// beta1^t) and sqrt(1 - beta2^t), by the same std::pow and std::sqrt calls as PyTorch's step, the latter as a
/// Divisor for divide_by_constant; empty for the others. Made for the ensemble, whose lanes read every field of the
/// Divisors (make_divisor: about 100 ns a step), or for a single run, whose scalar steps divide by c alone (y = 0).
struct StepTables {
    std::vector<double> adam_step_size;
    std::vector<Divisor> adam_root_correction;
};
enum class TablesFor { single_run, ensemble };
StepTables make_step_tables(FamilyId id, double eta, const FamilyOptions& o, std::size_t steps, TablesFor use);

/// What every update holds: M, eta and the options. use(tables) points it at the per-step constants of its runs
/// (StepTables); reset() starts a new run from w = 0 (the caller zeroes w); update(w, x, e) takes one
/// step with the regressor x (newest first) and the a-priori error e = d - w.x. StaticM > 0: M known at compile time
/// (the ensemble's unrolled loops); 0: M at run time. The same operations in the same order either way.
template <std::size_t StaticM> struct Base {
    std::size_t runtime_M;
    double eta;
    FamilyOptions o;
    void use(const StepTables& /*tables*/) {}
    void reset() {}
    std::size_t taps() const { return StaticM > 0 ? StaticM : runtime_M; }
};

template <std::size_t StaticM, class V = double> struct Lms : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta / 2 * 2 * e * x[k]; // the numpy stage's bits
    }
};

template <std::size_t StaticM, class V = double> struct Nlms : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        V power{};
        for (std::size_t k = 0; k < M; ++k) power += x[k] * x[k];
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * e * x[k] / (o.eps + power);
    }
};

template <std::size_t StaticM, class V = double> struct SignError : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * sign(e) * x[k];
    }
};

template <std::size_t StaticM, class V = double> struct SignData : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * e * sign(x[k]);
    }
};

template <std::size_t StaticM, class V = double> struct SignSign : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * sign(e) * sign(x[k]);
    }
};

template <std::size_t StaticM, class V = double> struct Leaky : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) w[k] = (1 - eta * o.gamma) * w[k] + eta * e * x[k];
    }
};

/// PyTorch's SGD with momentum (dampening 0) on g = -2 e x with lr = eta / 2: the buffer starts as the first
/// gradient; nesterov steps along g + beta buf.
template <std::size_t StaticM, bool Nesterov, class V = double> struct HeavyBall : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    State<StaticM, V> buffer = zero_state<StaticM, V>(this->taps());
    bool first = true;
    void reset() { first = true; }
    void update(V* w, const V* x, V e) {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) {
            const V g = -2 * e * x[k];
            buffer[k] = first ? g : o.beta * buffer[k] + g;
            w[k] = w[k] - eta / 2 * (Nesterov ? g + o.beta * buffer[k] : buffer[k]);
        }
        first = false;
    }
};

template <std::size_t StaticM, class V = double> struct Lmf : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * e * e * e * x[k];
    }
};

template <std::size_t StaticM, class V = double> struct Huber : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    void update(V* w, const V* x, V e) const {
        const std::size_t M = this->taps();
        const V clipped = clamp(e, -o.huber_delta, o.huber_delta);
        for (std::size_t k = 0; k < M; ++k) w[k] = w[k] + eta * clipped * x[k];
    }
};

/// PyTorch's Adagrad (lr_decay 0, initial accumulator 0) on g = -2 e x with lr = eta.
template <std::size_t StaticM, class V = double> struct Adagrad : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    State<StaticM, V> sum = zero_state<StaticM, V>(this->taps());
    void reset() { std::fill(sum.begin(), sum.end(), V{}); }
    void update(V* w, const V* x, V e) {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) {
            const V g = -2 * e * x[k];
            sum[k] = sum[k] + g * g;
            w[k] = w[k] - eta * g / (root(sum[k]) + o.adagrad_eps);
        }
    }
};

/// PyTorch's RMSprop (no momentum, not centered) on g = -2 e x with lr = eta.
template <std::size_t StaticM, class V = double> struct Rmsprop : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    State<StaticM, V> square = zero_state<StaticM, V>(this->taps());
    void reset() { std::fill(square.begin(), square.end(), V{}); }
    void update(V* w, const V* x, V e) {
        const std::size_t M = this->taps();
        for (std::size_t k = 0; k < M; ++k) {
            const V g = -2 * e * x[k];
            square[k] = o.rmsprop_alpha * square[k] + (1 - o.rmsprop_alpha) * g * g;
            w[k] = w[k] - eta * g / (root(square[k]) + o.rmsprop_eps);
        }
    }
};

/// PyTorch's Adam (no weight decay, not amsgrad) on g = -2 e x with lr = eta, in its implementation's order:
/// step lr / (1 - beta1^t), denominator sqrt(v) / sqrt(1 - beta2^t) + eps. Every tap's moments and square root
/// first, then every tap's step: no tap reads another's, so each value has PyTorch's operations, and the taps'
/// square roots are in flight together.
template <std::size_t StaticM, class V = double> struct Adam : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    State<StaticM, V> first = zero_state<StaticM, V>(this->taps()), second = zero_state<StaticM, V>(this->taps());
    std::vector<V> roots = std::vector<V>(StaticM > 0 ? 0 : this->taps()); // run-time M's square roots
    std::size_t t = 0;
    /// eta / (1 - beta1^t) and sqrt(1 - beta2^t) for step t (from 1): StepTables's, made once per run of the
    /// ensemble, not per step per realization.
    const double* step_size = nullptr;
    const Divisor* root_correction = nullptr;
    std::size_t steps = 0; // the tables' length: the most updates of a run
    void use(const StepTables& tables) {
        step_size = tables.adam_step_size.data();
        root_correction = tables.adam_root_correction.data();
        steps = tables.adam_step_size.size();
    }
    void reset() {
        std::fill(first.begin(), first.end(), V{});
        std::fill(second.begin(), second.end(), V{});
        t = 0;
    }
    void update(V* w, const V* x, V e) {
        if constexpr (StaticM > 0) {
            V root_of_second[StaticM];
            step(w, x, e, root_of_second);
        } else {
            step(w, x, e, roots.data());
        }
    }

private:
    void step(V* w, const V* x, V e, V* root_of_second) {
        const std::size_t M = this->taps();
        assert(t < steps && "make_step_tables was given fewer steps than the run takes");
        for (std::size_t k = 0; k < M; ++k) {
            const V g = -2 * e * x[k];
            first[k] = o.adam_beta1 * first[k] + (1 - o.adam_beta1) * g;
            second[k] = o.adam_beta2 * second[k] + (1 - o.adam_beta2) * g * g;
            root_of_second[k] = root(second[k]);
        }
        const double lr = step_size[t];
        const Divisor& correction = root_correction[t];
        ++t;
        for (std::size_t k = 0; k < M; ++k) {
            const V denominator = divide_by_constant(root_of_second[k], correction) + o.adam_eps;
            w[k] = w[k] - lr * first[k] / denominator;
        }
    }
};

/// RLS: P(0) = I / delta; k = P x / (lambda + x.P x); w += k e; P = (P - k x.P) / lambda, then (P + P^T) / 2.
/// eta is not used: RLS has no step.
template <std::size_t StaticM, class V = double> struct Rls : Base<StaticM> {
    using Base<StaticM>::eta;
    using Base<StaticM>::o;
    State<StaticM * StaticM, V> P = zero_state<StaticM * StaticM, V>(this->taps() * this->taps());
    State<StaticM, V> Px = zero_state<StaticM, V>(this->taps()), xP = zero_state<StaticM, V>(this->taps()),
                      gain = zero_state<StaticM, V>(this->taps());
    void reset() {
        const std::size_t M = this->taps();
        std::fill(P.begin(), P.end(), V{});
        for (std::size_t i = 0; i < M; ++i) P[i * M + i] = splat<V>(1.0 / o.rls_delta);
    }
    void update(V* w, const V* x, V e) {
        const std::size_t M = this->taps();
        V quadratic{};
        for (std::size_t i = 0; i < M; ++i) {
            Px[i] = V{};
            xP[i] = V{};
            for (std::size_t j = 0; j < M; ++j) {
                Px[i] += P[i * M + j] * x[j];
                xP[i] += x[j] * P[j * M + i];
            }
        }
        for (std::size_t i = 0; i < M; ++i) quadratic += x[i] * Px[i];
        for (std::size_t i = 0; i < M; ++i) gain[i] = Px[i] / (o.lambda + quadratic);
        for (std::size_t i = 0; i < M; ++i) w[i] = w[i] + gain[i] * e;
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = 0; j < M; ++j) P[i * M + j] = (P[i * M + j] - gain[i] * xP[j]) / o.lambda;
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = i + 1; j < M; ++j) {
                const V mean = (P[i * M + j] + P[j * M + i]) / 2;
                P[i * M + j] = mean;
                P[j * M + i] = mean;
            }
    }
};

} // namespace family_update

/// Returns body(update), update the member's struct above for M taps (StaticM > 0: M = StaticM, known at compile
/// time; V = Lanes4: four realizations in the lanes), step eta and options o, reading `tables` (make_step_tables of
/// the same member, eta and options, for at least the steps of a run), reset for a run. body is instantiated once per
/// member: a loop written once runs every member at full speed.
template <std::size_t StaticM = 0, class V = double, class Body>
auto with_family_update(FamilyId id, std::size_t M, double eta, const FamilyOptions& o,
                        const family_update::StepTables& tables, Body&& body) {
    const family_update::Base<StaticM> base{M, eta, o};
    const auto call = [&](auto update) {
        update.use(tables);
        update.reset();
        return body(update);
    };
    using namespace family_update;
    switch (id) {
    case FamilyId::nlms: return call(Nlms<StaticM, V>{base});
    case FamilyId::sign_error: return call(SignError<StaticM, V>{base});
    case FamilyId::sign_data: return call(SignData<StaticM, V>{base});
    case FamilyId::sign_sign: return call(SignSign<StaticM, V>{base});
    case FamilyId::leaky: return call(Leaky<StaticM, V>{base});
    case FamilyId::momentum: return call(HeavyBall<StaticM, false, V>{base});
    case FamilyId::nesterov: return call(HeavyBall<StaticM, true, V>{base});
    case FamilyId::lmf: return call(Lmf<StaticM, V>{base});
    case FamilyId::huber: return call(Huber<StaticM, V>{base});
    case FamilyId::adagrad: return call(Adagrad<StaticM, V>{base});
    case FamilyId::rmsprop: return call(Rmsprop<StaticM, V>{base});
    case FamilyId::adam: return call(Adam<StaticM, V>{base});
    case FamilyId::rls: return call(Rls<StaticM, V>{base});
    case FamilyId::lms: break;
    }
    return call(Lms<StaticM, V>{base});
}

} // namespace lmsref
