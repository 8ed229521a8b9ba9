// The LMS family as plain recursions: the ground truth each member's PyTorch part must reach (issue: the family).
// Every member starts from w = 0 and runs the notebook's loop (regressor newest first, zeros before the start,
// e = d - w.x the a-priori error); only the update differs.
#pragma once

#include "lms/stage.hpp"

#include <string_view>
#include <vector>

namespace lmsref {

/// The members' settings, at the defaults of the options that will set them (and PyTorch's own).
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

/// A member: its name, the PyTorch part that makes it, and its update in one line.
struct FamilyMember {
    std::string_view name;
    std::string_view pytorch_part;
    std::string_view update;
    Trajectory (*run)(const std::vector<double>& x, const std::vector<double>& d, double eta, std::size_t M,
                      const FamilyOptions& options);
};

/// Every member, lms first.
const std::vector<FamilyMember>& family();
/// The member named `name`; throws InputError (field algorithm) naming the members otherwise.
const FamilyMember& find_member(std::string_view name);

} // namespace lmsref
