// The tour's functions on lmsref's side: they run in the LibTorch module (lms/torch_module.hpp), loaded here the
// first time; `basics --list` too, since the sections are the module's.
#include "tour/basics.hpp"

#include "lms/torch_module.hpp"

namespace lmsref {

namespace {

const TourModule& tour_module() {
    using Entry = const TourModule* (*)();
    static const TourModule& tour = *reinterpret_cast<Entry>(torch_module_symbol("lmsref_torch_tour"))();
    return tour;
}

} // namespace

std::vector<BasicsSectionInfo> basics_sections() {
    return tour_module().sections();
}

std::string basics_tour(const std::string& name, const BasicsOptions& options) {
    return tour_module().tour(name, options);
}

} // namespace lmsref
