// lmsref basics: the notebook's tensor tour.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "tour/basics.hpp"

#include <iostream>

namespace lmsref::cli {

int run_basics(const Options& o) {
    if (o.given("--section") && trim(o.section).empty())
        throw InputError("--section: the name is empty; lmsref basics --list names the sections (leave the option out "
                         "for all)");
    if (o.list_sections) {
        for (const BasicsSectionInfo& section : basics_sections())
            std::printf("%-14s %s\n", std::string(section.name).c_str(), std::string(section.title).c_str());
        return 0;
    }
    BasicsOptions options;
    options.seed = numpy_seed(o.seed);
    options.device = parse_device_choice(o.basics_device);
    std::cout << basics_tour(o.section, options);
    return 0;
}

} // namespace lmsref::cli
