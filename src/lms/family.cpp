// The LMS family's plain recursions (family.hpp). One loop, the notebook's; each member is its update.
#include "lms/family.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <utility>

namespace lmsref {

namespace {

__extension__ typedef unsigned __int128 u128;

/// An a in [1, 2) whose quotient by d.c made as divide_by_constant's q0, fma(a, y, a y_low), rounds other than a / c,
/// or 0 if there is none. Only an a whose quotient lies near a halfway point between two doubles can: with u = 2^-53,
/// y = 1 / c + D (|D| < u / c) and y_low = -D + E (|E| < u |D|), so y + y_low = 1 / c + E; a y_low rounded adds
/// less than u |a y_low| < u^2 (1 + u) |a / c|; the sum before its rounding lies within b = 2^-105 (1 + 2^-54) |a / c|
/// of a / c, and rounds otherwise only if a halfway point lies that close. Scale a and c to their significands A and
/// C, integers in [2^52, 2^53): where A >= C, A / C lies in [1, 2), its halfway points are odd M / 2^53 with M in
/// [2^53, 2^54), and |A / C - M / 2^53| < b A / C means |A 2^53 - M C| < 2^-52 (1 + 2^-54) A < 2: the integer
/// A 2^53 - M C is +-1 (it is never 0, as M is odd and C < 2^53). Where A < C, the halfway points are M / 2^54 and
/// |A 2^54 - M C| < 4: +-1, +-2 or +-3. For each such r = A 2^k - M C, M C = -r mod 2^k fixes M (C = 2^s C', C' odd:
/// r needs 2^s as a factor, and M = -(r / 2^s) / C' mod 2^(k - s)), and A = (M C + r) / 2^k; where A lies in its
/// range, that a is tried. Scaling by powers of two changes no rounding while every value stays normal, as it does
/// for c in [2^-64, 2^64] and a in [2^-800, 2^800].
double quotient_witness(const family_update::Divisor& d) {
    int exponent = 0;
    const auto C = static_cast<std::uint64_t>(std::ldexp(std::frexp(d.c, &exponent), 53));
    int s = 0;
    while (((C >> s) & 1U) == 0) ++s;
    const std::uint64_t odd = C >> s;
    std::uint64_t inverse = odd; // odd^-1 mod 2^64 by Newton's iteration (3, 6, 12, 24, 48, 96 bits)
    for (int i = 0; i < 5; ++i) inverse *= 2 - odd * inverse;
    const u128 low = u128{1} << 53, high = u128{1} << 54;
    for (const int k : {53, 54}) {
        const long long largest = k == 53 ? 1 : 3;
        for (long long r = -largest; r <= largest; ++r) {
            if (r == 0 || r % (1LL << s) != 0) continue;
            const int bits = k - s;
            const u128 modulus = u128{1} << bits;
            const u128 first = static_cast<u128>(static_cast<std::uint64_t>(-(r >> s)) * inverse) & (modulus - 1);
            for (u128 M = first; M < high; M += modulus) {
                if (M < low || (M & 1U) == 0) continue;
                const u128 A = (M * C + static_cast<u128>(static_cast<__int128>(r))) >> k;
                if (A < (u128{1} << 52) || A >= low || (k == 53) != (A >= C)) continue;
                const double a = std::ldexp(static_cast<double>(static_cast<std::uint64_t>(A)), -52);
                if (std::fma(a, d.y, a * d.y_low) != a / d.c) return a;
            }
        }
    }
    return 0.0;
}

} // namespace

family_update::Divisor family_update::make_divisor(double c) {
    Divisor d;
    d.c = c;
    if (!(c >= 0x1p-64 && c <= 0x1p64)) {
        d.y = 0.0; // divided
        return d;
    }
    d.y = 1.0 / c;
    d.y_low = std::fma(-c, d.y, 1.0) / c; // 1 - c y is exact (y rounded to nearest), so this is 1 / c - y rounded once
    d.corrected = quotient_witness(d) != 0.0;
    return d;
}

family_update::StepTables family_update::make_step_tables(FamilyId id, double eta, const FamilyOptions& o,
                                                          std::size_t steps, TablesFor use) {
    StepTables tables;
    if (id != FamilyId::adam) return tables;
    for (std::size_t t = 1; t <= steps; ++t) {
        const auto step = static_cast<double>(t);
        tables.adam_step_size.push_back(eta / (1 - std::pow(o.adam_beta1, step)));
        const double correction = std::sqrt(1 - std::pow(o.adam_beta2, step));
        tables.adam_root_correction.push_back(use == TablesFor::ensemble ? make_divisor(correction)
                                                                         : Divisor{correction, 0.0, 0.0, false});
    }
    return tables;
}

namespace {

/// The notebook's loop with the member's update in place of its LMS step.
template <class Update>
Trajectory run_loop(const std::vector<double>& x, const std::vector<double>& d, std::size_t M, Update& update) {
    const std::size_t N = x.size();
    std::vector<double> xM(M, 0.0), wi(M, 0.0), y(N, 0.0), e(N, 0.0);
    Array2D w(N + 1, M);
    for (std::size_t i = 0; i < N; ++i) {
        for (std::size_t k = M - 1; k > 0; --k) xM[k] = xM[k - 1];
        xM[0] = x[i];
        double yi = 0.0;
        for (std::size_t k = 0; k < M; ++k) yi += wi[k] * xM[k];
        const double ei = d[i] - yi;
        update.update(wi.data(), xM.data(), ei);
        y[i] = yi;
        e[i] = ei;
        for (std::size_t k = 0; k < M; ++k) w(i + 1, k) = wi[k];
    }
    return {std::move(y), std::move(e), {}, std::move(w)};
}

template <FamilyId Id>
Trajectory run_member(const std::vector<double>& x, const std::vector<double>& d, double eta, std::size_t M,
                      const FamilyOptions& options) {
    const family_update::StepTables tables =
        family_update::make_step_tables(Id, eta, options, x.size(), family_update::TablesFor::single_run);
    return with_family_update(Id, M, eta, options, tables, [&](auto& update) { return run_loop(x, d, M, update); });
}

} // namespace

const std::vector<FamilyMember>& family() {
    static const std::vector<FamilyMember> members = {
        {"lms", "the notebook's sgd stage", "w += eta e x", FamilyId::lms, run_member<FamilyId::lms>},
        {"nlms", "loss e^2 / (eps + x.x), the denominator detached", "w += eta e x / (eps + x.x)", FamilyId::nlms,
         run_member<FamilyId::nlms>},
        {"sign-error", "nn::L1Loss", "w += eta sign(e) x", FamilyId::sign_error, run_member<FamilyId::sign_error>},
        {"sign-data", "an autograd Function whose backward passes sign(x)", "w += eta e sign(x)", FamilyId::sign_data,
         run_member<FamilyId::sign_data>},
        {"sign-sign", "nn::L1Loss and that Function", "w += eta sign(e) sign(x)", FamilyId::sign_sign,
         run_member<FamilyId::sign_sign>},
        {"leaky", "optim::SGD with weight_decay", "w = (1 - eta gamma) w + eta e x", FamilyId::leaky,
         run_member<FamilyId::leaky>},
        {"momentum", "optim::SGD with momentum", "heavy ball on g = -2 e x, lr = eta / 2", FamilyId::momentum,
         run_member<FamilyId::momentum>},
        {"nesterov", "optim::SGD with nesterov", "Nesterov on g = -2 e x, lr = eta / 2", FamilyId::nesterov,
         run_member<FamilyId::nesterov>},
        {"lmf", "a custom loss e^4", "w += eta e^3 x", FamilyId::lmf, run_member<FamilyId::lmf>},
        {"huber", "nn::HuberLoss(delta)", "w += eta clip(e, -delta, delta) x", FamilyId::huber,
         run_member<FamilyId::huber>},
        {"adagrad", "optim::Adagrad on e^2", "PyTorch's Adagrad, lr = eta", FamilyId::adagrad,
         run_member<FamilyId::adagrad>},
        {"rmsprop", "optim::RMSprop on e^2", "PyTorch's RMSprop, lr = eta", FamilyId::rmsprop,
         run_member<FamilyId::rmsprop>},
        {"adam", "optim::Adam on e^2", "PyTorch's Adam, lr = eta", FamilyId::adam, run_member<FamilyId::adam>},
        {"rls", "a custom optim::Optimizer keeping P", "k = P x / (lambda + x.P x), w += k e, P update", FamilyId::rls,
         run_member<FamilyId::rls>},
    };
    return members;
}

std::string member_settings(FamilyId member, const FamilyOptions& o) {
    const auto g = [](double v) { return format_number(v, "%g"); };
    switch (member) {
    case FamilyId::nlms: return "eps = " + g(o.eps);
    case FamilyId::leaky: return "gamma = " + g(o.gamma);
    case FamilyId::momentum:
    case FamilyId::nesterov: return "beta = " + g(o.beta);
    case FamilyId::huber: return "delta = " + g(o.huber_delta);
    case FamilyId::adagrad: return "eps = " + g(o.adagrad_eps);
    case FamilyId::rmsprop: return "alpha = " + g(o.rmsprop_alpha) + ", eps = " + g(o.rmsprop_eps);
    case FamilyId::adam: return "betas = (" + g(o.adam_beta1) + ", " + g(o.adam_beta2) + "), eps = " + g(o.adam_eps);
    case FamilyId::rls: return "lambda = " + g(o.lambda) + ", delta = " + g(o.rls_delta);
    default: return "";
    }
}

const FamilyMember& member_of(FamilyId id) {
    for (const FamilyMember& member : family())
        if (member.id == id) return member;
    return family().front();
}

const FamilyMember& find_member(std::string_view name) {
    for (const FamilyMember& member : family())
        if (member.name == name) return member;
    std::vector<std::string> names;
    for (const FamilyMember& member : family()) names.emplace_back(member.name);
    throw InputError(Field{"algorithm"}, unknown_name("member", std::string(name), names));
}

std::vector<const FamilyMember*> parse_members(const std::string& list) {
    std::vector<const FamilyMember*> members;
    if (trim(list).empty() || trim(list) == "all") {
        for (const FamilyMember& member : family()) members.push_back(&member);
        return members;
    }
    std::stringstream names(list);
    for (std::string name; std::getline(names, name, ',');) {
        const FamilyMember& member = find_member(trim(name));
        if (std::find(members.begin(), members.end(), &member) != members.end())
            throw InputError(Field{"algorithm"},
                             "'" + std::string(member.name) + "' is named twice in " + quote_value(list));
        members.push_back(&member);
    }
    if (!list.empty() && list.back() == ',')
        throw InputError(Field{"algorithm"}, "an empty name ends " + quote_value(list) + "; drop the last comma");
    return members;
}

} // namespace lmsref
