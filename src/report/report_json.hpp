// What summary.json and bench's JSON share. For lmsref_core's own files: nlohmann-json is private to it.
#pragma once

#include "lms/scenario.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace lmsref {

using Json = nlohmann::ordered_json; ///< keeps the keys in the order they are written

/// The scenario: N (`samples`, from the data), M, eta, and sigmav2, wo and seed or the data files, and the torch
/// seed when it matters.
Json scenario_json(const Scenario& scenario, std::int64_t samples, bool with_torch_seed = true);

/// The text of a JSON file: 2-space indent, NaN and infinities as null, a final newline.
std::string json_text(const Json& json);

} // namespace lmsref
