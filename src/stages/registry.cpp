#include "errors.hpp"
#include "stage.hpp"
#include "text.hpp"

#include <string>

namespace lmsref {

const std::vector<Stage>& stages() {
    // name, notebook function, what it adds, colour, function, starts from zero weights, uses LibTorch, batched
    static const std::vector<Stage> table{
        {"numpy", "lms", "plain C++ loop, no LibTorch: the ground truth", "#000000", run_numpy, true, false},
        {"tensor", "lms_torch", "LibTorch tensors, the same manual update", "#1f77b4", run_tensor, true, true,
         run_tensor_batched},
        {"autograd", "lms_torch_autograd", "requires_grad, backward() on e^2, update under NoGradGuard, grad.zero_()",
         "#ff7f0e", run_autograd, true, true, run_autograd_batched},
        {"mseloss", "lms_torch_loss", "nn::MSELoss replaces e^2", "#2ca02c", run_mseloss, true, true,
         run_mseloss_batched},
        {"sgd", "lms_torch_optim", "optim::SGD(lr = eta/2) replaces the manual update", "#d62728", run_sgd, true, true,
         run_sgd_batched},
        {"module", "lms_torch_model", "a custom nn::Module that registers a Parameter; model->zero_grad()", "#9467bd",
         run_module, true, true, run_module_batched},
        {"linear", "lms_torch_model_2", "nn::Linear(M, 1, bias=false), default init: differs early, same limit",
         "#8c564b", run_linear, false, true, run_linear_batched},
        {"linear-zero", "lms_torch_model_3", "nn::Linear with weights initialised to zero: matches numpy again",
         "#e377c2", run_linear_zero, true, true, run_linear_zero_batched},
    };
    return table;
}

const Stage& find_stage(std::string_view name) {
    std::vector<std::string> known;
    for (const Stage& stage : stages()) {
        if (stage.name == name) return stage;
        known.emplace_back(stage.name);
    }
    throw InputError(unknown_name("stage", name, known));
}

} // namespace lmsref
