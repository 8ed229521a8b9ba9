// The table of stages and the one adapter through which it runs the LibTorch stages, single and batched; and what
// lmsref asks of LibTorch elsewhere.
#include "stages/batched/batched_stage.hpp"

#include "errors.hpp"
#include "libtorch.hpp"
#include "stage.hpp"
#include "text.hpp"

#include <torch/version.h>

#include <cstring>
#include <string>

namespace lmsref {

namespace {

/// Makes float64 LibTorch's default dtype while it lives, as `torch.set_default_dtype(torch.float64)` does for
/// the notebook: modules such as nn::Linear create their parameters in the default dtype.
class Float64Default {
public:
    Float64Default() : previous_(c10::get_default_dtype()) { c10::set_default_dtype(caffe2::TypeMeta::Make<double>()); }
    ~Float64Default() { c10::set_default_dtype(previous_); }
    Float64Default(const Float64Default&) = delete;
    Float64Default& operator=(const Float64Default&) = delete;

private:
    caffe2::TypeMeta previous_;
};

/// Copies a tensor's values, as float64 in C order, into `target`.
void copy_to(const torch::Tensor& tensor, double* target) {
    const torch::Tensor host = tensor.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    std::memcpy(target, host.data_ptr<double>(), static_cast<std::size_t>(host.numel()) * sizeof(double));
}

/// A tensor's values as float64 on the host, in C order.
std::vector<double> to_host(const torch::Tensor& tensor) {
    std::vector<double> values(static_cast<std::size_t>(tensor.numel()));
    copy_to(tensor, values.data());
    return values;
}

/// N values as an N x 1 float64 tensor on `device`.
torch::Tensor as_tensor(const std::vector<double>& values, torch::Device device) {
    const auto n = static_cast<std::int64_t>(values.size());
    return torch::from_blob(const_cast<double*>(values.data()), {n, 1}, torch::kFloat64)
        .to(device, /*non_blocking=*/false, /*copy=*/true);
}

/// Runs a LibTorch stage as the notebook runs its cell: the data as float64 tensors on the device, float64 as the
/// default dtype, the generator seeded; then copies the stage's tensors back into plain arrays.
template <TorchStage stage> Trajectory run_torch_stage(const StageInput& in) {
    const torch::Device device = in.device == Device::cuda ? torch::kCUDA : torch::kCPU;
    Float64Default float64;                          // torch.set_default_dtype(torch.float64)
    const torch::Tensor x = as_tensor(in.x, device); // x = torch.tensor(x)
    const torch::Tensor d = as_tensor(in.d, device); // d = torch.tensor(d)
    // torch.manual_seed(T), the last step before the stage: `linear` builds nn::Linear first thing, which draws its
    // default init from the generator (scripts/make_reference.py seeds right before nn.Linear too).
    torch::manual_seed(in.torch_seed);
    const TorchTrajectory out = stage(x, d, in.eta, in.M);

    Trajectory trajectory;
    trajectory.y = to_host(out.y);
    trajectory.e = to_host(out.e);
    if (out.losses.defined()) trajectory.loss = to_host(out.losses);
    trajectory.w = Array2D(static_cast<std::size_t>(out.w.size(0)), static_cast<std::size_t>(out.w.size(1)));
    trajectory.w.values = to_host(out.w);
    return trajectory;
}

/// A chunk's N x C values as a float64 tensor on `device`: on the CPU the caller's array itself (no copy: the
/// stages only read X and D, and are done with them when they return), on a GPU a copy.
torch::Tensor chunk_tensor(const double* values, std::int64_t N, std::int64_t C, torch::Device device) {
    return torch::from_blob(const_cast<double*>(values), {N, C}, torch::kFloat64).to(device);
}

/// Runs a batched LibTorch stage as run_torch_stage runs a single one: the data as float64 tensors on the device,
/// float64 as the default dtype, the generator seeded with the first realization's torch seed (the nn::Linear
/// stages seed it again for each realization); then copies e (N x C) and w ((N+1) x M x C) back.
template <TorchStage stage> void run_batched_torch_stage(const BatchedInput& in, const BatchedTrajectories& out) {
    const auto gpus = std::max<std::int64_t>(1, static_cast<std::int64_t>(torch::cuda::device_count()));
    const torch::Device device = in.device == Device::cuda
                                     ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(in.local_rank % gpus))
                                     : torch::Device(torch::kCPU);
    Float64Default float64; // torch.set_default_dtype(torch.float64)
    const torch::Tensor X = chunk_tensor(in.x, in.N, in.C, device);
    const torch::Tensor D = chunk_tensor(in.d, in.N, in.C, device);
    torch::manual_seed(in.first_torch_seed);
    const TorchTrajectory trajectories = stage(X, D, in.eta, in.M);

    copy_to(trajectories.e, out.e);
    copy_to(trajectories.w, out.w);
}

} // namespace

const std::vector<Stage>& stages() {
    // name, notebook function, what it adds, colour, function, starts from zero weights, uses LibTorch, batched
    static const std::vector<Stage> table{
        {"numpy", "lms", "plain C++ loop, no LibTorch: the ground truth", "#000000", run_numpy, true, false},
        {"tensor", "lms_torch", "LibTorch tensors, the same manual update", "#1f77b4", run_torch_stage<lms_torch>, true,
         true, run_batched_torch_stage<lms_torch_batched>},
        {"autograd", "lms_torch_autograd", "requires_grad, backward() on e^2, update under NoGradGuard, grad.zero_()",
         "#ff7f0e", run_torch_stage<lms_torch_autograd>, true, true,
         run_batched_torch_stage<lms_torch_autograd_batched>},
        {"mseloss", "lms_torch_loss", "nn::MSELoss replaces e^2", "#2ca02c", run_torch_stage<lms_torch_loss>, true,
         true, run_batched_torch_stage<lms_torch_loss_batched>},
        {"sgd", "lms_torch_optim", "optim::SGD(lr = eta/2) replaces the manual update", "#d62728",
         run_torch_stage<lms_torch_optim>, true, true, run_batched_torch_stage<lms_torch_optim_batched>},
        {"module", "lms_torch_model", "a custom nn::Module that registers a Parameter; model->zero_grad()", "#9467bd",
         run_torch_stage<lms_torch_model>, true, true, run_batched_torch_stage<lms_torch_model_batched>},
        {"linear", "lms_torch_model_2", "nn::Linear(M, 1, bias=false), default init: differs early, same limit",
         "#8c564b", run_torch_stage<lms_torch_model_2>, false, true,
         run_batched_torch_stage<lms_torch_model_2_batched>},
        {"linear-zero", "lms_torch_model_3", "nn::Linear with weights initialised to zero: matches numpy again",
         "#e377c2", run_torch_stage<lms_torch_model_3>, true, true, run_batched_torch_stage<lms_torch_model_3_batched>},
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
    if (choice == DeviceChoice::cpu) return Device::cpu;
    const bool available = torch::cuda::is_available();
    if (choice == DeviceChoice::automatic) return available ? Device::cuda : Device::cpu;
    if (!available)
        throw RuntimeFailure("--device cuda: CUDA is not available (this LibTorch " + libtorch_version() +
                             " has no CUDA support or sees no GPU); use --device cpu or auto");
    return Device::cuda;
}

std::string libtorch_version() {
    return TORCH_VERSION;
}

int torch_threads() {
    return at::get_num_threads();
}
void set_torch_threads(int threads) {
    at::set_num_threads(threads);
}

} // namespace lmsref
