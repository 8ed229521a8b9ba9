// The sections of `lmsref basics` as objects: the cells they print and the tensors they show.
#pragma once

#include "tour/basics.hpp"

// at::Tensor, which torch::Tensor names: its header alone, so that a test that looks at the tensors does not parse
// all of <torch/torch.h> (about 1.5 s instead of 10).
#include <ATen/core/Tensor.h>

#include <map>

namespace lmsref {

/// One notebook cell: a line of C++ and what it prints.
struct BasicsCell {
    std::string code;
    std::string output;
};

struct BasicsSection {
    std::string name;
    std::string title;
    std::vector<BasicsCell> cells;
    std::map<std::string, at::Tensor> tensors; ///< what the section shows, by the names its code uses
    std::map<std::string, std::string> facts;     ///< other results the tests check (an error message, a flag)
};

/// Runs one section. Throws InputError for an unknown name, RuntimeFailure for --device cuda without CUDA.
BasicsSection basics_section(const std::string& name, const BasicsOptions& options);

} // namespace lmsref
