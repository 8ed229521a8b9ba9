// lmsref list: the stages and what each adds.
#include "apps/lmsref/command.hpp"

#include "stages/registry.hpp"

#include <iostream>

namespace lmsref::cli {

int run_list(const Options&) {
    for (const Stage& stage : stages()) {
        std::printf("%-12s %-20s %s\n", std::string(stage.name).c_str(), std::string(stage.notebook_function).c_str(),
                    std::string(stage.summary).c_str());
    }
    return 0;
}

} // namespace lmsref::cli
