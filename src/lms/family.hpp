// The LMS family as plain recursions: the ground truth each member's PyTorch part must reach.
// Every member starts from w = 0 and runs the notebook's loop (regressor newest first, zeros before the start,
// e = d - w.x the a-priori error); only the update differs.
#pragma once

#include "lms/family_updates.hpp"
#include "lms/stage.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace lmsref {

/// A member: its name, the PyTorch part that makes it, and its update in one line.
struct FamilyMember {
    std::string_view name;
    std::string_view pytorch_part;
    std::string_view update;
    FamilyId id;
    Trajectory (*run)(const std::vector<double>& x, const std::vector<double>& d, double eta, std::size_t M,
                      const FamilyOptions& options);
};

/// Every member, lms first.
const std::vector<FamilyMember>& family();
/// The settings `member` uses, as "eps = 1e-06" ("" for none): what a report names beside it.
std::string member_settings(FamilyId member, const FamilyOptions& options);
/// The member whose id is `id`.
const FamilyMember& member_of(FamilyId id);
/// The member named `name`; throws InputError (field algorithm) naming the members otherwise.
const FamilyMember& find_member(std::string_view name);
/// The members of a comma list ("lms,nlms"), in its order; "all" or "" for every member. Throws InputError
/// (field algorithm) for an unknown or repeated name.
std::vector<const FamilyMember*> parse_members(const std::string& list);

} // namespace lmsref
