// `lmsref basics`: the first half of the notebook, LibTorch's building blocks, as a tour of small sections
// that print each step the way the notebook shows a cell and its output. This header is free of LibTorch;
// basics_torch.hpp gives the tensors behind each section to the tests.
#pragma once

#include "lms/scenario.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmsref {

struct BasicsOptions {
    std::uint64_t seed = 0;                        ///< torch::manual_seed for rand and randn
    DeviceChoice device = DeviceChoice::automatic; ///< the devices section's choice
};

struct BasicsSectionInfo {
    std::string_view name;  ///< for --section
    std::string_view title; ///< the notebook's heading
};

/// The sections in the notebook's order.
std::vector<BasicsSectionInfo> basics_sections();

/// The text of one section (`name`), or of the whole tour (`name` empty). Throws InputError for an unknown name.
std::string basics_tour(const std::string& name, const BasicsOptions& options);

/// What the LibTorch module gives the tour: tour/basics.cpp runs there, and tour/tour.cpp reaches it through
/// torch_module_symbol("lmsref_torch_tour") (lms/torch_module.hpp).
struct TourModule {
    std::vector<BasicsSectionInfo> (*sections)() = nullptr;
    std::string (*tour)(const std::string& name, const BasicsOptions& options) = nullptr;
};

} // namespace lmsref
