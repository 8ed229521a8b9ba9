// The ensemble's CUDA kernel: see ensemble_kernel.hpp. Compiled with --fmad=false, as the C++ side is with
// -ffp-contract=off, so that the kernel's additions and products round as the CPU engine's do.
#include "ensemble/cuda/ensemble_kernel.hpp"

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

void say(char* message, std::size_t size, const char* what) {
    if (message != nullptr && size > 0) std::snprintf(message, size, "%s", what);
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

// The kernel's data sources. Source::Lms<StaticM> is one thread's realization: start(p) sets w(0) = 0 and returns
// ||w(0) - wo_M||^2; step(p, n, &deviation) runs sample n and returns e(n)^2, w then holding w(n + 1) and deviation
// ||w(n + 1) - wo_M||^2. StaticM > 0: M (and for philox K) = StaticM, known at compile time (unrolled loops, the
// arrays in registers); 0: from the problem, at most max_taps.

// --rng philox: the data made on the spot by philox::Realization::step, the function the CPU engine calls.
struct PhiloxSource {
    template <int StaticM> struct Lms {
        static constexpr int capacity = StaticM > 0 ? StaticM : max_taps;
        double hist[capacity]; // the K newest x values, newest first
        double w[capacity];
        std::uint64_t realization;

        __device__ Lms(const PhiloxSource&, std::uint64_t r, std::int64_t /*column*/) : realization(r) {}
        __device__ philox::Realization<StaticM, StaticM> state() { return {hist, w}; }
        __device__ double start(const philox::Problem& p) { return state().start(p); }
        __device__ double step(const philox::Problem& p, std::int64_t n, double* deviation) {
            return state().step(p, realization, n, deviation);
        }
    };
};

// --rng numpy: x and d made by the CPU, C columns side by side ((n, c) at x[n C + c]); thread c reads column c.
// step is the CPU engine's add_group (src/ensemble.cpp) on one realization, operation for operation.
struct DataSource {
    const double* x;
    const double* d;
    std::int64_t columns; // C

    template <int StaticM> struct Lms {
        static constexpr int capacity = StaticM > 0 ? StaticM : max_taps;
        double xM[capacity]; // the regressor, newest first, zeros before the start
        double w[capacity];
        const double* x; // this realization's column
        const double* d;
        std::int64_t stride;

        __device__ Lms(const DataSource& source, std::uint64_t /*realization*/, std::int64_t column)
            : x(source.x + column), d(source.d + column), stride(source.columns) {}
        __device__ static int M(const philox::Problem& p) { return StaticM > 0 ? StaticM : p.taps; }
        __device__ double start(const philox::Problem& p) { // add_group's row 0
            double deviation = 0.0;
            for (int k = 0; k < M(p); ++k) {
                xM[k] = 0.0;
                w[k] = 0.0;
                const double c = 0.0 - p.wo_M[k];
                deviation += c * c;
            }
            return deviation;
        }
        __device__ double step(const philox::Problem& p, std::int64_t n, double* deviation) {
            const int taps = M(p);
            for (int k = taps - 1; k > 0; --k) xM[k] = xM[k - 1];
            xM[0] = x[n * stride];
            double yi = 0.0;
            for (int k = 0; k < taps; ++k) yi += w[k] * xM[k];
            const double ei = d[n * stride] - yi;
            for (int k = 0; k < taps; ++k) w[k] = w[k] + p.step * ei * xM[k]; // p.step: eta / 2 * 2
            double sum = 0.0;
            for (int k = 0; k < taps; ++k) {
                const double c = w[k] - p.wo_M[k];
                sum += c * c;
            }
            *deviation = sum;
            return ei * ei;
        }
    };
};

// One thread per realization; one CUDA block per engine block (block first_block + blockIdx.x); the launch's
// thread blockIdx.x * block_size + t is column t of that block.
template <int StaticM, class Source>
__global__ void __launch_bounds__(block_size) ensemble_blocks(philox::Problem p, Source source, std::int64_t R,
                                                              std::int64_t first_block, double* rows,
                                                              double* steady_out) {
    extern __shared__ double shared[]; // (M + 2) columns of block_size values
    const int M = StaticM > 0 ? StaticM : p.taps;
    const int columns = M + 2;
    const int t = static_cast<int>(threadIdx.x);
    const std::int64_t block = first_block + static_cast<std::int64_t>(blockIdx.x);
    const std::int64_t first = block * block_size;
    const int count = static_cast<int>(R - first < block_size ? R - first : block_size);
    const bool active = t < count;
    typename Source::template Lms<StaticM> lms(source, static_cast<std::uint64_t>(first + t),
                                               static_cast<std::int64_t>(blockIdx.x) * block_size + t);
    double* out = rows + static_cast<std::size_t>(blockIdx.x) * static_cast<std::size_t>(p.samples + 1) * columns;

    // Row 0: w = 0.
    const double deviation0 = active ? lms.start(p) : 0.0;
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
            const double e2 = lms.step(p, n, &deviation);
            if (n >= p.steady_start) steady += e2;
            shared[0 * block_size + t] = e2;
            shared[1 * block_size + t] = deviation;
            for (int k = 0; k < M; ++k) shared[(2 + k) * block_size + t] = lms.w[k];
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

template <int StaticM, class Source>
void launch(const philox::Problem& p, const Source& source, std::int64_t R, std::int64_t first_block,
            std::int64_t blocks, double* rows, double* steady) {
    const std::size_t shared_bytes = static_cast<std::size_t>(p.taps + 2) * block_size * sizeof(double);
    ensemble_blocks<StaticM, Source>
        <<<static_cast<unsigned>(blocks), block_size, shared_bytes>>>(p, source, R, first_block, rows, steady);
}

// static_m in 1 ... 8: the compile-time kernel of that M; otherwise the run-time one.
template <class Source>
void launch(int static_m, const philox::Problem& p, const Source& source, std::int64_t R, std::int64_t first_block,
            std::int64_t blocks, double* rows, double* steady) {
    switch (static_m) {
    case 1: launch<1>(p, source, R, first_block, blocks, rows, steady); break;
    case 2: launch<2>(p, source, R, first_block, blocks, rows, steady); break;
    case 3: launch<3>(p, source, R, first_block, blocks, rows, steady); break;
    case 4: launch<4>(p, source, R, first_block, blocks, rows, steady); break;
    case 5: launch<5>(p, source, R, first_block, blocks, rows, steady); break;
    case 6: launch<6>(p, source, R, first_block, blocks, rows, steady); break;
    case 7: launch<7>(p, source, R, first_block, blocks, rows, steady); break;
    case 8: launch<8>(p, source, R, first_block, blocks, rows, steady); break;
    default: launch<0>(p, source, R, first_block, blocks, rows, steady); break;
    }
}

// Frees what it holds whatever happens.
struct DeviceBuffer {
    double* data = nullptr;
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer() {
        if (data != nullptr) cudaFree(data);
    }
};

struct Event {
    cudaEvent_t event = nullptr;
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    ~Event() {
        if (event != nullptr) cudaEventDestroy(event);
    }
};

// run_blocks (x == nullptr: philox's data) and run_blocks_on_data: the same allocations, launch and copies.
int run(const philox::Problem& p, std::int64_t R, std::int64_t first_block, std::int64_t blocks, const double* x,
        const double* d, int device, double* rows, double* steady, double* kernel_seconds, char* message,
        std::size_t message_size) {
    const bool on_data = x != nullptr;
    if (blocks < 1 || first_block < 0 || first_block * block_size >= R) {
        say(message, message_size, "the CUDA kernel was asked for no realizations");
        return 1;
    }
    if (p.taps < 1 || p.taps > max_taps || (!on_data && (p.history < p.taps || p.history > max_taps))) {
        if (message != nullptr && message_size > 0)
            std::snprintf(message, message_size, "the CUDA kernel takes M%s up to %d", on_data ? "" : " and len(wo)",
                          max_taps);
        return 1;
    }
    // The compile-time kernels: M <= 8 (and, for philox, len(wo) <= M, so that K = M).
    const bool static_taps = p.taps <= 8 && (on_data || p.history == p.taps);
    const std::int64_t first = first_block * block_size;
    const std::int64_t C = R - first < blocks * block_size ? R - first : blocks * block_size;
    const std::size_t data_values = static_cast<std::size_t>(p.samples) * static_cast<std::size_t>(C);
    const std::size_t row_values = static_cast<std::size_t>(blocks) * static_cast<std::size_t>(p.samples + 1) *
                                   static_cast<std::size_t>(p.taps + 2);
    cudaError_t error = cudaSuccess;
    const auto check = [&](const char* what) {
        if (error == cudaSuccess) error = cudaGetLastError();
        if (error != cudaSuccess) say(message, message_size, what, error);
        return error == cudaSuccess;
    };
    error = cudaSetDevice(device);
    if (!check("cudaSetDevice")) return 1;
    DeviceBuffer wo_K, wo_M, device_x, device_d, device_rows, device_steady;
    Event start, stop;
    if (!on_data) {
        error = cudaMalloc(&wo_K.data, static_cast<std::size_t>(p.history) * sizeof(double));
        if (!check("cudaMalloc")) return 1;
    }
    error = cudaMalloc(&wo_M.data, static_cast<std::size_t>(p.taps) * sizeof(double));
    if (!check("cudaMalloc")) return 1;
    if (on_data) {
        error = cudaMalloc(&device_x.data, data_values * sizeof(double));
        if (!check("cudaMalloc (x)")) return 1;
        error = cudaMalloc(&device_d.data, data_values * sizeof(double));
        if (!check("cudaMalloc (d)")) return 1;
    }
    error = cudaMalloc(&device_rows.data, row_values * sizeof(double));
    if (!check("cudaMalloc (the blocks' sums)")) return 1;
    error = cudaMalloc(&device_steady.data, 3 * static_cast<std::size_t>(blocks) * sizeof(double));
    if (!check("cudaMalloc")) return 1;
    error = cudaEventCreate(&start.event);
    if (!check("cudaEventCreate")) return 1;
    error = cudaEventCreate(&stop.event);
    if (!check("cudaEventCreate")) return 1;
    if (!on_data) {
        error = cudaMemcpy(wo_K.data, p.wo_K, static_cast<std::size_t>(p.history) * sizeof(double),
                           cudaMemcpyHostToDevice);
        if (!check("cudaMemcpy")) return 1;
    }
    error = cudaMemcpy(wo_M.data, p.wo_M, static_cast<std::size_t>(p.taps) * sizeof(double), cudaMemcpyHostToDevice);
    if (!check("cudaMemcpy")) return 1;
    if (on_data) {
        error = cudaMemcpy(device_x.data, x, data_values * sizeof(double), cudaMemcpyHostToDevice);
        if (!check("cudaMemcpy (x)")) return 1;
        error = cudaMemcpy(device_d.data, d, data_values * sizeof(double), cudaMemcpyHostToDevice);
        if (!check("cudaMemcpy (d)")) return 1;
    }
    philox::Problem q = p;
    q.wo_K = wo_K.data; // null for numpy's data: unused there
    q.wo_M = wo_M.data;
    const int static_m = static_taps ? p.taps : 0;
    error = cudaEventRecord(start.event);
    if (!check("cudaEventRecord")) return 1;
    if (on_data)
        launch(static_m, q, DataSource{device_x.data, device_d.data, C}, R, first_block, blocks, device_rows.data,
               device_steady.data);
    else
        launch(static_m, q, PhiloxSource{}, R, first_block, blocks, device_rows.data, device_steady.data);
    if (!check("the ensemble kernel's launch")) return 1;
    error = cudaEventRecord(stop.event);
    if (!check("cudaEventRecord")) return 1;
    error = cudaEventSynchronize(stop.event);
    if (!check("the ensemble kernel")) return 1;
    float milliseconds = 0.0f;
    error = cudaEventElapsedTime(&milliseconds, start.event, stop.event);
    if (!check("cudaEventElapsedTime")) return 1;
    if (kernel_seconds != nullptr) *kernel_seconds += 1e-3 * static_cast<double>(milliseconds);
    error = cudaMemcpy(rows, device_rows.data, row_values * sizeof(double), cudaMemcpyDeviceToHost);
    if (!check("cudaMemcpy (the blocks' sums)")) return 1;
    error = cudaMemcpy(steady, device_steady.data, 3 * static_cast<std::size_t>(blocks) * sizeof(double),
                       cudaMemcpyDeviceToHost);
    if (!check("cudaMemcpy")) return 1;
    return 0;
}

} // namespace

int device_count(char* message, std::size_t message_size) {
    int count = 0;
    const cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess) {
        say(message, message_size, "cudaGetDeviceCount", error);
        return 0;
    }
    if (count == 0) say(message, message_size, "no CUDA device");
    return count;
}

int run_blocks(const philox::Problem& p, std::int64_t realizations, std::int64_t first_block, std::int64_t blocks,
               int device, double* rows, double* steady, double* kernel_seconds, char* message,
               std::size_t message_size) {
    return run(p, realizations, first_block, blocks, nullptr, nullptr, device, rows, steady, kernel_seconds, message,
               message_size);
}

int run_blocks_on_data(const philox::Problem& p, std::int64_t realizations, std::int64_t first_block,
                       std::int64_t blocks, const double* x, const double* d, int device, double* rows,
                       double* steady, double* kernel_seconds, char* message, std::size_t message_size) {
    if (x == nullptr || d == nullptr) {
        say(message, message_size, "run_blocks_on_data: x and d are required");
        return 1;
    }
    return run(p, realizations, first_block, blocks, x, d, device, rows, steady, kernel_seconds, message,
               message_size);
}

} // namespace cuda_kernel
} // namespace lmsref
