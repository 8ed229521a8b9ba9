// The ensemble's CUDA kernel (src/ensemble/cuda/) against the CPU engine on the same data: --rng philox (made on the device)
// and --rng numpy (made by the CPU, copied to the device). [gpu]: run by the CTest test "gpu: ..." only where a CUDA
// device is found.
#include "ensemble/ensemble.hpp"
#include "lms/scenario.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace lmsref;

namespace {

// max_j |a_j - b_j| / max_j |b_j|: the infinity-norm relative difference of two curves.
double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double difference = 0.0, scale = 0.0;
    for (std::size_t j = 0; j < b.size(); ++j) {
        difference = std::max(difference, std::abs(a[j] - b[j]));
        scale = std::max(scale, std::abs(b[j]));
    }
    return scale > 0 ? difference / scale : difference;
}

// The kernel against the CPU engine on the same data: M = 3, 12 and 32 (compile-time kernels), M = 2 with len(wo) = 3
// (philox: the run-time kernel) and M = 10 (the run-time kernel); R not a multiple of the block size. Both take the sums in realization, then block order,
// without fused multiply-adds, and philox's log, sin and cos are the header's own (+ - * / and sqrt, rounded as IEEE
// says on both): the curves are expected to be the same bits. 1e-12 is the tolerance the design asks for; the WARN
// line says how far they are.
void check_kernel_against_cpu(Rng rng) {
    if (!ensemble_cuda_built() || ensemble_cuda_devices() == 0) {
        WARN("skipped: this build has no CUDA kernel, or there is no CUDA device");
        return;
    }
    for (std::int64_t M : {3, 2, 12, 10, 32}) {
        INFO("M = " << M);
        EnsembleOptions options;
        options.scenario.samples = 500;
        options.scenario.taps = M;
        options.scenario.seed = 5;
        options.realizations = 10000 + 17;
        options.rng = rng;
        options.threads = 0;
        const EnsembleResult cpu = run_ensemble(options);
        options.device = Device::cuda;
        const EnsembleResult gpu = run_ensemble(options);
        CHECK(gpu.completed_realizations == cpu.completed_realizations);
        CHECK(gpu.mse.size() == cpu.mse.size());
        CHECK(gpu.msd.size() == cpu.msd.size());
        CHECK(gpu.meanw.size() == cpu.meanw.size());
        CHECK(relative_difference(gpu.mse, cpu.mse) <= 1e-12);
        CHECK(relative_difference(gpu.msd, cpu.msd) <= 1e-12);
        CHECK(relative_difference(gpu.meanw, cpu.meanw) <= 1e-12);
        CHECK(std::abs(gpu.steady_mse - cpu.steady_mse) <= 1e-12 * cpu.steady_mse);
        CHECK(std::abs(gpu.steady_m2 - cpu.steady_m2) <= 1e-12 * cpu.steady_m2);
        const bool same_bits = gpu.mse == cpu.mse && gpu.msd == cpu.msd && gpu.meanw == cpu.meanw &&
                               gpu.steady_mse == cpu.steady_mse && gpu.steady_m2 == cpu.steady_m2;
        WARN(to_string(rng) << ", M = " << M << ": " << (same_bits ? "bit for bit" : "NOT bit for bit") << "; mse "
                            << relative_difference(gpu.mse, cpu.mse) << ", msd "
                            << relative_difference(gpu.msd, cpu.msd) << ", meanw "
                            << relative_difference(gpu.meanw, cpu.meanw) << "; cpu " << cpu.seconds << " s, gpu "
                            << gpu.seconds << " s, kernel " << gpu.kernel_seconds << " s");
    }
}

} // namespace

TEST_CASE("gpu: the CUDA ensemble kernel's curves are the CPU engine's within 1e-12", "[gpu][philox]") {
    check_kernel_against_cpu(Rng::philox);
}

TEST_CASE("gpu: --rng numpy on the CUDA kernel gives the CPU engine's curves within 1e-12", "[gpu][numpy]") {
    check_kernel_against_cpu(Rng::numpy);
}
