// The one adapter through which lmsref runs the LibTorch stages, single and batched, and the LibTorch module's entry
// (lms/torch_module.hpp): the stages by name, the device, the threads.
#include "stages/batched/batched_stage.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "lms/stage.hpp"
#include "lms/torch_module.hpp"
#include "stages/family_torch.hpp"

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

/// The LMS family's members over a chunk, as run_batched_torch_stage runs a stage: in.algorithm's program.
void run_batched_family(const BatchedInput& in, const BatchedTrajectories& out) {
    const auto gpus = std::max<std::int64_t>(1, static_cast<std::int64_t>(torch::cuda::device_count()));
    const torch::Device device = in.device == Device::cuda
                                     ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(in.local_rank % gpus))
                                     : torch::Device(torch::kCPU);
    Float64Default float64;
    const torch::Tensor X = chunk_tensor(in.x, in.N, in.C, device);
    const torch::Tensor D = chunk_tensor(in.d, in.N, in.C, device);
    const TorchTrajectory trajectories = lms_torch_family_batched(in.algorithm, X, D, in.eta, in.M, in.family);
    copy_to(trajectories.e, out.e);
    copy_to(trajectories.w, out.w);
}

/// The LibTorch stages by name: the single run and the batched one.
struct TorchStageEntry {
    const char* name;
    StageFunction run;
    BatchedStageFunction batched;
};
const TorchStageEntry torch_stages[] = {
    {"tensor", run_torch_stage<lms_torch>, run_batched_torch_stage<lms_torch_batched>},
    {"autograd", run_torch_stage<lms_torch_autograd>, run_batched_torch_stage<lms_torch_autograd_batched>},
    {"mseloss", run_torch_stage<lms_torch_loss>, run_batched_torch_stage<lms_torch_loss_batched>},
    {"sgd", run_torch_stage<lms_torch_optim>, run_batched_torch_stage<lms_torch_optim_batched>},
    {"module", run_torch_stage<lms_torch_model>, run_batched_torch_stage<lms_torch_model_batched>},
    {"linear", run_torch_stage<lms_torch_model_2>, run_batched_torch_stage<lms_torch_model_2_batched>},
    {"linear-zero", run_torch_stage<lms_torch_model_3>, run_batched_torch_stage<lms_torch_model_3_batched>},
};

const TorchStageEntry* torch_stage_entry(const char* name) {
    for (const TorchStageEntry& entry : torch_stages)
        if (std::strcmp(entry.name, name) == 0) return &entry;
    return nullptr;
}

} // namespace

std::vector<double> to_host(const torch::Tensor& tensor) {
    std::vector<double> values(static_cast<std::size_t>(tensor.numel()));
    copy_to(tensor, values.data());
    return values;
}

torch::Tensor as_tensor(const std::vector<double>& values, torch::Device device) {
    const auto n = static_cast<std::int64_t>(values.size());
    return torch::from_blob(const_cast<double*>(values.data()), {n, 1}, torch::kFloat64)
        .to(device, /*non_blocking=*/false, /*copy=*/true);
}

Device torch_resolve_device(DeviceChoice choice) {
    if (choice == DeviceChoice::cpu) return Device::cpu;
    const bool available = torch::cuda::is_available();
    if (choice == DeviceChoice::automatic) return available ? Device::cuda : Device::cpu;
    if (!available)
        throw RuntimeFailure(std::string("--device cuda: CUDA is not available (this LibTorch ") + TORCH_VERSION +
                             " has no CUDA support or sees no GPU); use --device cpu or auto");
    return Device::cuda;
}

} // namespace lmsref

/// The module's entry (lms/torch_module.hpp): what lmsref finds with dlsym once it has loaded the module.
extern "C" __attribute__((visibility("default"))) const lmsref::TorchModule* lmsref_torch_module() {
    using namespace lmsref;
    static const TorchModule module = [] {
        TorchModule m;
        m.interface = torch_module_interface;
        m.libtorch_version = TORCH_VERSION;
        m.stage = [](const char* name) {
            const auto* e = torch_stage_entry(name);
            return e ? e->run : nullptr;
        };
        m.batched = [](const char* name) {
            const auto* e = torch_stage_entry(name);
            return e ? e->batched : nullptr;
        };
        m.resolve_device = torch_resolve_device;
        m.threads = [] { return static_cast<int>(at::get_num_threads()); };
        m.set_threads = [](int threads) { at::set_num_threads(threads); };
        m.family_batched = run_batched_family;
        m.family = [](const char* member, const std::vector<double>& x, const std::vector<double>& d, double eta,
                      std::size_t M,
                      const FamilyOptions& options) { return run_family_torch(member, x, d, eta, M, options); };
        return m;
    }();
    return &module;
}
