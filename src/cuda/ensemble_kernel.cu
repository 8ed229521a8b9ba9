// The ensemble's CUDA kernel: see ensemble_kernel.hpp. Compiled with --fmad=false, as the C++ side is with
// -ffp-contract=off, so that the kernel's additions and products round as the CPU engine's do.
#include "cuda/ensemble_kernel.hpp"

#include <cuda_runtime.h>

#include <cstdio>

namespace lmsref {
namespace cuda_kernel {

namespace {

constexpr int block_size = 64; // ensemble_block_size (src/ensemble.hpp): one CUDA block is one engine block

void say(char* message, std::size_t size, const char* what, cudaError_t error) {
    if (message != nullptr && size > 0)
        std::snprintf(message, size, "%s: %s (%s)", what, cudaGetErrorString(error), cudaGetErrorName(error));
}

// Lane c < columns of the first warp adds column c of `shared` (columns x block_size) over the block's `count`
// realizations, in realization order from 0.0, as the CPU engine's block sums do, and writes it to row[c].
__device__ void reduce_row(const double* shared, int columns, int count, double* row) {
    const int c = static_cast<int>(threadIdx.x);
    if (c < columns) {
        double sum = 0.0;
        for (int t = 0; t < count; ++t) sum += shared[c * block_size + t];
        row[c] = sum;
    }
}

// One thread per realization; one CUDA block per engine block. StaticM > 0: M = K = StaticM (registers); 0: M and K
// at run time, at most max_taps.
template <int StaticM>
__global__ void __launch_bounds__(block_size)
    ensemble_blocks(philox::Problem p, std::int64_t R, std::int64_t first_block, double* rows, double* steady_out) {
    extern __shared__ double shared[]; // (M + 2) columns of block_size values
    constexpr int capacity = StaticM > 0 ? StaticM : max_taps;
    const int M = StaticM > 0 ? StaticM : p.taps;
    const int columns = M + 2;
    const int t = static_cast<int>(threadIdx.x);
    const std::int64_t block = first_block + static_cast<std::int64_t>(blockIdx.x);
    const std::int64_t first = block * block_size;
    const int count = static_cast<int>(R - first < block_size ? R - first : block_size);
    const bool active = t < count;
    const auto realization = static_cast<std::uint64_t>(first + t);
    double hist[capacity];
    double w[capacity];
    philox::Realization<StaticM, StaticM> state{hist, w};
    double* out = rows + static_cast<std::size_t>(blockIdx.x) * static_cast<std::size_t>(p.samples + 1) * columns;

    // Row 0: w = 0.
    const double deviation0 = active ? state.start(p) : 0.0;
    shared[0 * block_size + t] = 0.0;
    shared[1 * block_size + t] = deviation0;
    for (int k = 0; k < M; ++k) shared[(2 + k) * block_size + t] = 0.0;
    __syncthreads();
    reduce_row(shared, columns, count, out);
    __syncthreads();

    double steady = 0.0;
    for (std::int64_t n = 0; n < p.samples; ++n) {
        if (active) {
            double deviation = 0.0;
            const double e2 = state.step(p, realization, n, &deviation);
            if (n >= p.steady_start) steady += e2;
            shared[0 * block_size + t] = e2;
            shared[1 * block_size + t] = deviation;
            for (int k = 0; k < M; ++k) shared[(2 + k) * block_size + t] = w[k];
        }
        __syncthreads();
        reduce_row(shared, columns, count, out + static_cast<std::size_t>(n + 1) * columns);
        __syncthreads();
    }

    // The block's steady state: Welford's update in realization order, as BlockSums::add_steady.
    shared[t] = active ? steady / static_cast<double>(p.samples - p.steady_start) : 0.0;
    __syncthreads();
    if (t == 0) {
        double mean = 0.0, m2 = 0.0;
        for (int i = 0; i < count; ++i) {
            const double value = shared[i];
            const double delta = value - mean;
            mean += delta / static_cast<double>(i + 1);
            m2 += delta * (value - mean);
        }
        double* s = steady_out + 3 * static_cast<std::size_t>(blockIdx.x);
        s[0] = static_cast<double>(count);
        s[1] = mean;
        s[2] = m2;
    }
}

template <int StaticM>
void launch(const philox::Problem& p, std::int64_t R, std::int64_t first_block, std::int64_t blocks, double* rows,
            double* steady) {
    const std::size_t shared_bytes = static_cast<std::size_t>(p.taps + 2) * block_size * sizeof(double);
    ensemble_blocks<StaticM>
        <<<static_cast<unsigned>(blocks), block_size, shared_bytes>>>(p, R, first_block, rows, steady);
}

// Frees what it holds whatever happens.
struct DeviceBuffer {
    double* data = nullptr;
    ~DeviceBuffer() {
        if (data != nullptr) cudaFree(data);
    }
};

} // namespace

int device_count(char* message, std::size_t message_size) {
    int count = 0;
    const cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess) {
        say(message, message_size, "cudaGetDeviceCount", error);
        return 0;
    }
    if (count == 0 && message != nullptr && message_size > 0) std::snprintf(message, message_size, "no CUDA device");
    return count;
}

int run_blocks(const philox::Problem& p, std::int64_t realizations, std::int64_t first_block, std::int64_t blocks,
               double* rows, double* steady, char* message, std::size_t message_size) {
    const bool static_taps = p.taps == p.history && p.taps >= 1 && p.taps <= 8;
    if (!static_taps && (p.taps > max_taps || p.history > max_taps)) {
        std::snprintf(message, message_size, "the CUDA kernel takes M and len(wo) up to %d", max_taps);
        return 1;
    }
    const std::size_t row_values = static_cast<std::size_t>(blocks) * static_cast<std::size_t>(p.samples + 1) *
                                   static_cast<std::size_t>(p.taps + 2);
    DeviceBuffer wo_K, wo_M, device_rows, device_steady;
    cudaError_t error = cudaSuccess;
    const auto check = [&](const char* what) {
        if (error == cudaSuccess) error = cudaGetLastError();
        if (error != cudaSuccess) say(message, message_size, what, error);
        return error == cudaSuccess;
    };
    error = cudaMalloc(&wo_K.data, static_cast<std::size_t>(p.history) * sizeof(double));
    if (!check("cudaMalloc")) return 1;
    error = cudaMalloc(&wo_M.data, static_cast<std::size_t>(p.taps) * sizeof(double));
    if (!check("cudaMalloc")) return 1;
    error = cudaMalloc(&device_rows.data, row_values * sizeof(double));
    if (!check("cudaMalloc (the blocks' sums)")) return 1;
    error = cudaMalloc(&device_steady.data, 3 * static_cast<std::size_t>(blocks) * sizeof(double));
    if (!check("cudaMalloc")) return 1;
    error = cudaMemcpy(wo_K.data, p.wo_K, static_cast<std::size_t>(p.history) * sizeof(double), cudaMemcpyHostToDevice);
    if (!check("cudaMemcpy")) return 1;
    error = cudaMemcpy(wo_M.data, p.wo_M, static_cast<std::size_t>(p.taps) * sizeof(double), cudaMemcpyHostToDevice);
    if (!check("cudaMemcpy")) return 1;
    philox::Problem q = p;
    q.wo_K = wo_K.data;
    q.wo_M = wo_M.data;
    switch (static_taps ? p.taps : 0) {
    case 1: launch<1>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    case 2: launch<2>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    case 3: launch<3>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    case 4: launch<4>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    case 5: launch<5>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    case 6: launch<6>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    case 7: launch<7>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    case 8: launch<8>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    default: launch<0>(q, realizations, first_block, blocks, device_rows.data, device_steady.data); break;
    }
    if (!check("the ensemble kernel's launch")) return 1;
    error = cudaMemcpy(rows, device_rows.data, row_values * sizeof(double), cudaMemcpyDeviceToHost);
    if (!check("the ensemble kernel")) return 1;
    error = cudaMemcpy(steady, device_steady.data, 3 * static_cast<std::size_t>(blocks) * sizeof(double),
                       cudaMemcpyDeviceToHost);
    if (!check("cudaMemcpy")) return 1;
    return 0;
}

} // namespace cuda_kernel
} // namespace lmsref
