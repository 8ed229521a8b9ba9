#include "stages/registry.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "lms/torch_module.hpp"
#include "stages/libtorch.hpp"

#include <string>

namespace lmsref {

namespace {

// The LibTorch stages' names, as the module knows them: the trampolines below take them as template arguments.
constexpr char tensor[] = "tensor", autograd[] = "autograd", mseloss[] = "mseloss", sgd[] = "sgd", module[] = "module",
               linear[] = "linear", linear_zero[] = "linear-zero";

/// Runs the module's stage `name`, loading the module the first time.
template <const char* name> Trajectory run_in_module(const StageInput& in) {
    static const StageFunction run = torch_module().stage(name);
    if (run == nullptr) throw RuntimeFailure(std::string("the LibTorch module has no stage ") + name);
    return run(in);
}
/// Its batched twin, likewise.
template <const char* name> void batched_in_module(const BatchedInput& in, const BatchedTrajectories& out) {
    static const BatchedStageFunction run = torch_module().batched(name);
    if (run == nullptr) throw RuntimeFailure(std::string("the LibTorch module has no batched stage ") + name);
    run(in, out);
}

} // namespace

const std::vector<Stage>& stages() {
    // name, notebook function, what it adds, colour, function, starts from zero weights, uses LibTorch, batched
    static const std::vector<Stage> table{
        {"numpy", "lms", "plain C++ loop, no LibTorch: the ground truth", "#000000", run_numpy, true, false},
        {tensor, "lms_torch", "LibTorch tensors, the same manual update", "#1f77b4", run_in_module<tensor>, true, true,
         batched_in_module<tensor>},
        {autograd, "lms_torch_autograd", "requires_grad, backward() on e^2, update under NoGradGuard, grad.zero_()",
         "#ff7f0e", run_in_module<autograd>, true, true, batched_in_module<autograd>},
        {mseloss, "lms_torch_loss", "nn::MSELoss replaces e^2", "#2ca02c", run_in_module<mseloss>, true, true,
         batched_in_module<mseloss>},
        {sgd, "lms_torch_optim", "optim::SGD(lr = eta/2) replaces the manual update", "#d62728", run_in_module<sgd>,
         true, true, batched_in_module<sgd>},
        {module, "lms_torch_model", "a custom nn::Module that registers a Parameter; model->zero_grad()", "#9467bd",
         run_in_module<module>, true, true, batched_in_module<module>},
        {linear, "lms_torch_model_2", "nn::Linear(M, 1, bias=false), default init: differs early, same limit",
         "#8c564b", run_in_module<linear>, false, true, batched_in_module<linear>},
        {linear_zero, "lms_torch_model_3", "nn::Linear with weights initialised to zero: matches numpy again",
         "#e377c2", run_in_module<linear_zero>, true, true, batched_in_module<linear_zero>},
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

Device resolve_device(DeviceChoice choice) {
    if (choice == DeviceChoice::cpu) return Device::cpu; // no need of LibTorch to say so
    return torch_module().resolve_device(choice);
}

std::string libtorch_version() {
    return LMSREF_LIBTORCH_VERSION; // the one it was built with, known without loading it
}

int torch_threads() {
    return torch_module().threads();
}

void set_torch_threads(int threads) {
    torch_module().set_threads(threads);
}

} // namespace lmsref
