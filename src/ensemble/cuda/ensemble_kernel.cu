// The ensemble's CUDA kernel: see ensemble_kernel.hpp. Compiled with --fmad=false, as the C++ side is with
// -ffp-contract=off, so that the kernel's additions and products round as the CPU engine's do.
#include "ensemble/cuda/ensemble_kernel.hpp"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>

namespace lmsref {
namespace cuda_kernel {

namespace {

void say(char* message, std::size_t size, const char* what, cudaError_t error) {
    if (message != nullptr && size > 0)
        std::snprintf(message, size, "%s: %s (%s)", what, cudaGetErrorString(error), cudaGetErrorName(error));
}

void say(char* message, std::size_t size, const char* what) {
    if (message != nullptr && size > 0) std::snprintf(message, size, "%s", what);
}

// The kernel's data sources. Source::Lms<StaticM> is one thread's realization: start(p) sets w(0) = 0 and returns
// ||w(0) - wo_M||^2; step(p, n, &deviation) runs sample n and returns e(n)^2, w then holding w(n + 1) and deviation
// ||w(n + 1) - wo_M||^2. StaticM > 0: M (and for philox K) = StaticM, known at compile time (unrolled loops, the
// arrays in registers); 0: from the problem, at most max_taps.

// --rng philox: the data made on the spot by philox::Realization::step, the function the CPU engine calls.
struct PhiloxSource {
    static constexpr bool uses_wo_K = true;
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

// --rng numpy: x and d made by the CPU, C columns side by side ((n, c) at x[n C + c]); thread c reads column c and
// runs DataRealization (block_sums.hpp), the CPU engine's add_group on one realization.
struct DataSource {
    static constexpr bool uses_wo_K = false;
    const double* x;
    const double* d;
    std::int64_t columns; // C

    template <int StaticM> struct Lms {
        static constexpr int capacity = StaticM > 0 ? StaticM : max_taps;
        double xM[capacity]; // the regressor, newest first, zeros before the start
        double w[capacity];
        const double* __restrict__ x; // this realization's column
        const double* __restrict__ d;
        std::int64_t stride;

        __device__ Lms(const DataSource& source, std::uint64_t /*realization*/, std::int64_t column)
            : x(source.x + column), d(source.d + column), stride(source.columns) {}
        __device__ DataRealization<StaticM> state() { return {xM, w}; }
        __device__ double start(const philox::Problem& p) { return state().start(p); }
        __device__ double step(const philox::Problem& p, std::int64_t n, double* deviation) {
            return state().step(p, x[n * stride], d[n * stride], deviation);
        }
    };
};

// One thread per realization; one CUDA block per engine block (block first_block + blockIdx.x); the launch's
// thread blockIdx.x * block_size + t is column t of that block. Per row, the threads write their M + 2 values into
// one of two shared buffers (row i into buffer i mod 2), one barrier, then thread c < M + 2 adds column c: the
// buffer a row is written to was last read for row i - 2, which ended before the barrier of row i - 1, so one
// barrier per row suffices. For M <= 8 wo_K and wo_M are copied into registers once; larger M read them through
// the read-only cache (ld.global.nc: the outputs are __restrict__, so nothing the kernel writes can alias them).
template <int StaticM, class Source>
__global__ void __launch_bounds__(block_size)
    ensemble_blocks(philox::Problem p, Source source, std::int64_t R, std::int64_t first_block,
                    double* __restrict__ rows, double* __restrict__ steady_out) {
    extern __shared__ double shared[]; // two buffers of (M + 2) columns of shared_stride values
    const int M = StaticM > 0 ? StaticM : p.taps;
    const int columns = M + 2;
    const int t = static_cast<int>(threadIdx.x);
    const std::int64_t block = first_block + static_cast<std::int64_t>(blockIdx.x);
    const std::int64_t first = block * block_size;
    const int count = static_cast<int>(R - first < block_size ? R - first : block_size);
    const bool active = t < count;
    constexpr bool wo_in_registers = StaticM > 0 && StaticM <= 8;
    constexpr int local_wo = wo_in_registers ? StaticM : 1;
    double wo_K[local_wo], wo_M[local_wo];
    if constexpr (wo_in_registers) {
        for (int k = 0; k < local_wo; ++k) wo_M[k] = p.wo_M[k];
        p.wo_M = wo_M;
        if constexpr (Source::uses_wo_K) { // philox's compile-time kernels: K = M
            for (int k = 0; k < local_wo; ++k) wo_K[k] = p.wo_K[k];
            p.wo_K = wo_K;
        }
    }
    typename Source::template Lms<StaticM> lms(source, static_cast<std::uint64_t>(first + t),
                                               static_cast<std::int64_t>(blockIdx.x) * block_size + t);
    const std::size_t values = row_values(p.samples, M);
    double* out = rows + static_cast<std::size_t>(blockIdx.x) * values;
    const int buffer_size = columns * shared_stride;

    // Row 0: w = 0.
    const double deviation0 = active ? lms.start(p) : 0.0;
    shared[0 * shared_stride + t] = 0.0;
    shared[1 * shared_stride + t] = deviation0;
    for (int k = 0; k < M; ++k) shared[(2 + k) * shared_stride + t] = 0.0;
    __syncthreads();
    if (t < columns) out[t] = add_column(shared + t * shared_stride, count);

    double steady = 0.0;
    for (std::int64_t n = 0; n < p.samples; ++n) {
        double* buffer = shared + ((n + 1) & 1) * buffer_size;
        if (active) {
            double deviation = 0.0;
            const double e2 = lms.step(p, n, &deviation);
            if (n >= p.steady_start) steady += e2;
            buffer[0 * shared_stride + t] = e2;
            buffer[1 * shared_stride + t] = deviation;
            for (int k = 0; k < M; ++k) buffer[(2 + k) * shared_stride + t] = lms.w[k];
        }
        __syncthreads();
        if (t < columns)
            out[static_cast<std::size_t>(n + 1) * columns + t] = add_column(buffer + t * shared_stride, count);
    }

    // The block's steady state: Welford's update in realization order, as BlockSums::add_steady, in the buffer the
    // last row did not use.
    double* means = shared + ((p.samples + 1) & 1) * buffer_size;
    means[t] = active ? steady / static_cast<double>(p.samples - p.steady_start) : 0.0;
    __syncthreads();
    if (t == 0)
        block_steady(means, count, p.diverged_above, steady_out + steady_record * static_cast<std::size_t>(blockIdx.x));
}

// Thread j adds value j of the span's blocks into the totals, in block order (block_sums.hpp's add_blocks).
__global__ void add_blocks_kernel(const double* __restrict__ rows, std::size_t values, std::int64_t blocks,
                                  double* __restrict__ totals) {
    const std::size_t j = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (j < values) add_blocks(rows, values, blocks, j, totals);
}

template <int StaticM, class Source>
void launch(const philox::Problem& p, const Source& source, std::int64_t R, std::int64_t first_block,
            std::int64_t blocks, double* rows, double* steady, cudaStream_t stream) {
    const std::size_t shared_bytes = 2 * static_cast<std::size_t>(p.taps + 2) * shared_stride * sizeof(double);
    ensemble_blocks<StaticM, Source>
        <<<static_cast<unsigned>(blocks), block_size, shared_bytes, stream>>>(p, source, R, first_block, rows, steady);
}

// static_m one of the compile-time sizes: that kernel; otherwise the run-time one (M up to max_taps in local memory).
template <class Source>
void launch(int static_m, const philox::Problem& p, const Source& source, std::int64_t R, std::int64_t first_block,
            std::int64_t blocks, double* rows, double* steady, cudaStream_t stream) {
    switch (static_m) {
    case 1: launch<1>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 2: launch<2>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 3: launch<3>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 4: launch<4>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 5: launch<5>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 6: launch<6>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 7: launch<7>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 8: launch<8>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 12: launch<12>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 16: launch<16>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 24: launch<24>(p, source, R, first_block, blocks, rows, steady, stream); break;
    case 32: launch<32>(p, source, R, first_block, blocks, rows, steady, stream); break;
    default: launch<0>(p, source, R, first_block, blocks, rows, steady, stream); break;
    }
}

bool compile_time_taps(int taps) {
    return (taps >= 1 && taps <= 8) || taps == 12 || taps == 16 || taps == 24 || taps == 32;
}

} // namespace

// The run's buffers, allocated once: on the device wo, the span's rows and steady triples, the totals and (numpy's
// data) x and d; pinned on the host the totals, the steady triples and (numpy's data) two slots of x and d, so that
// the CPU fills one while the other is copied and run. The events time the two kernels; `done` is waited on
// without spinning, so that the CPU threads making the next span's data keep every core.
struct Run {
    philox::Problem p; // wo_K and wo_M: device pointers
    std::int64_t R = 0;
    std::int64_t span_blocks = 0;
    bool on_data = false;
    int static_m = 0; // the compile-time kernel's M, 0 for the run-time one
    std::size_t values = 0;
    std::int64_t blocks = 0; // the span run_span last enqueued
    double *wo_K = nullptr, *wo_M = nullptr, *rows = nullptr, *steady = nullptr, *totals = nullptr, *x = nullptr,
           *d = nullptr;
    double *host_totals = nullptr, *host_steady = nullptr, *host_x[2] = {}, *host_d[2] = {};
    cudaStream_t stream = nullptr;
    cudaEvent_t kernel_start = nullptr, kernel_stop = nullptr, add_start = nullptr, add_stop = nullptr, done = nullptr;
};

namespace {

// Records what the last call did wrong: error (or, when it is cudaSuccess, cudaGetLastError()) with `what`.
bool check(cudaError_t error, const char* what, char* message, std::size_t message_size) {
    if (error == cudaSuccess) error = cudaGetLastError();
    if (error != cudaSuccess) say(message, message_size, what, error);
    return error == cudaSuccess;
}

// Adds the time between two recorded events to *seconds.
bool add_elapsed(cudaEvent_t start, cudaEvent_t stop, double* seconds, char* message, std::size_t message_size) {
    float milliseconds = 0.0f;
    if (!check(cudaEventElapsedTime(&milliseconds, start, stop), "cudaEventElapsedTime", message, message_size))
        return false;
    if (seconds != nullptr) *seconds += 1e-3 * static_cast<double>(milliseconds);
    return true;
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

int device_memory(int device, std::size_t* free_bytes, std::size_t* total_bytes) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || device < 0 || device >= count) {
        cudaGetLastError(); // clear it
        return 1;
    }
    if (cudaSetDevice(device) != cudaSuccess || cudaMemGetInfo(free_bytes, total_bytes) != cudaSuccess) {
        cudaGetLastError();
        return 1;
    }
    return 0;
}

Run* open_run(const philox::Problem& p, std::int64_t realizations, std::int64_t span_blocks, bool on_data, int device,
              char* message, std::size_t message_size) {
    if (span_blocks < 1 || realizations < 1) {
        say(message, message_size, "the CUDA kernel was asked for no realizations");
        return nullptr;
    }
    if (p.taps < 1 || p.taps > max_taps || (!on_data && (p.history < p.taps || p.history > max_taps))) {
        if (message != nullptr && message_size > 0)
            std::snprintf(message, message_size, "the CUDA kernel takes M%s up to %d", on_data ? "" : " and len(wo)",
                          max_taps);
        return nullptr;
    }
    if (!check(cudaSetDevice(device), "cudaSetDevice", message, message_size)) return nullptr;
    Run* run = new Run;
    run->p = p;
    run->R = realizations;
    run->span_blocks = span_blocks;
    run->on_data = on_data;
    // The compile-time kernels (philox's need len(wo) <= M, so that K = M).
    run->static_m = compile_time_taps(p.taps) && (on_data || p.history == p.taps) ? p.taps : 0;
    run->values = row_values(p.samples, p.taps);
    const auto blocks = static_cast<std::size_t>(span_blocks);
    const std::size_t data_values = static_cast<std::size_t>(p.samples) * blocks * block_size;
    const auto allocate = [&](double** where, std::size_t count, const char* what) {
        return check(cudaMalloc(where, count * sizeof(double)), what, message, message_size);
    };
    const auto allocate_host = [&](double** where, std::size_t count, const char* what) {
        return check(cudaMallocHost(where, count * sizeof(double)), what, message, message_size);
    };
    const auto event = [&](cudaEvent_t* where, unsigned flags) {
        return check(cudaEventCreateWithFlags(where, flags), "cudaEventCreate", message, message_size);
    };
    const bool ok =
        check(cudaStreamCreateWithFlags(&run->stream, cudaStreamNonBlocking), "cudaStreamCreate", message,
              message_size) &&
        event(&run->kernel_start, cudaEventDefault) && event(&run->kernel_stop, cudaEventDefault) &&
        event(&run->add_start, cudaEventDefault) && event(&run->add_stop, cudaEventDefault) &&
        event(&run->done, cudaEventBlockingSync | cudaEventDisableTiming) &&
        (on_data || allocate(&run->wo_K, static_cast<std::size_t>(p.history), "cudaMalloc (wo)")) &&
        allocate(&run->wo_M, static_cast<std::size_t>(p.taps), "cudaMalloc (wo)") &&
        allocate(&run->rows, blocks * run->values, "cudaMalloc (the blocks' sums)") &&
        allocate(&run->steady, steady_record * blocks, "cudaMalloc (the blocks' steady state)") &&
        allocate(&run->totals, run->values, "cudaMalloc (the totals)") &&
        allocate_host(&run->host_totals, run->values, "cudaMallocHost (the totals)") &&
        allocate_host(&run->host_steady, steady_record * blocks, "cudaMallocHost (the blocks' steady state)") &&
        (!on_data ||
         (allocate(&run->x, data_values, "cudaMalloc (x)") && allocate(&run->d, data_values, "cudaMalloc (d)") &&
          allocate_host(&run->host_x[0], data_values, "cudaMallocHost (x)") &&
          allocate_host(&run->host_d[0], data_values, "cudaMallocHost (d)") &&
          allocate_host(&run->host_x[1], data_values, "cudaMallocHost (x)") &&
          allocate_host(&run->host_d[1], data_values, "cudaMallocHost (d)"))) &&
        (on_data || check(cudaMemcpy(run->wo_K, p.wo_K, static_cast<std::size_t>(p.history) * sizeof(double),
                                     cudaMemcpyHostToDevice),
                          "cudaMemcpy (wo)", message, message_size)) &&
        check(cudaMemcpy(run->wo_M, p.wo_M, static_cast<std::size_t>(p.taps) * sizeof(double), cudaMemcpyHostToDevice),
              "cudaMemcpy (wo)", message, message_size);
    run->p.wo_K = run->wo_K; // null for numpy's data: unused there
    run->p.wo_M = run->wo_M;
    if (!ok) {
        close_run(run);
        return nullptr;
    }
    return run;
}

void close_run(Run* run) {
    if (run == nullptr) return;
    if (run->stream != nullptr) cudaStreamSynchronize(run->stream); // nothing in flight uses what is freed
    for (double* buffer : {run->wo_K, run->wo_M, run->rows, run->steady, run->totals, run->x, run->d})
        if (buffer != nullptr) cudaFree(buffer);
    for (double* buffer :
         {run->host_totals, run->host_steady, run->host_x[0], run->host_d[0], run->host_x[1], run->host_d[1]})
        if (buffer != nullptr) cudaFreeHost(buffer);
    for (cudaEvent_t event : {run->kernel_start, run->kernel_stop, run->add_start, run->add_stop, run->done})
        if (event != nullptr) cudaEventDestroy(event);
    if (run->stream != nullptr) cudaStreamDestroy(run->stream);
    delete run;
}

double* run_x(Run* run, int slot) {
    return run->host_x[slot & 1];
}
double* run_d(Run* run, int slot) {
    return run->host_d[slot & 1];
}

int run_span(Run* run, std::int64_t first_block, std::int64_t blocks, int slot, char* message,
             std::size_t message_size) {
    if (blocks < 1 || blocks > run->span_blocks || first_block < 0 || first_block * block_size >= run->R) {
        say(message, message_size, "the CUDA kernel was asked for blocks outside its run");
        return 1;
    }
    run->blocks = blocks;
    const std::int64_t first = first_block * block_size;
    const std::int64_t C = run->R - first < blocks * block_size ? run->R - first : blocks * block_size;
    if (run->on_data) {
        const std::size_t bytes =
            static_cast<std::size_t>(run->p.samples) * static_cast<std::size_t>(C) * sizeof(double);
        if (!check(cudaMemcpyAsync(run->x, run->host_x[slot & 1], bytes, cudaMemcpyHostToDevice, run->stream),
                   "cudaMemcpy (x)", message, message_size) ||
            !check(cudaMemcpyAsync(run->d, run->host_d[slot & 1], bytes, cudaMemcpyHostToDevice, run->stream),
                   "cudaMemcpy (d)", message, message_size))
            return 1;
    }
    if (!check(cudaEventRecord(run->kernel_start, run->stream), "cudaEventRecord", message, message_size)) return 1;
    if (run->on_data)
        launch(run->static_m, run->p, DataSource{run->x, run->d, C}, run->R, first_block, blocks, run->rows,
               run->steady, run->stream);
    else
        launch(run->static_m, run->p, PhiloxSource{}, run->R, first_block, blocks, run->rows, run->steady, run->stream);
    if (!check(cudaSuccess, "the ensemble kernel's launch", message, message_size) ||
        !check(cudaEventRecord(run->kernel_stop, run->stream), "cudaEventRecord", message, message_size))
        return 1;
    return 0;
}

int add_span(Run* run, double* totals, double* steady, double* kernel_seconds, double* add_seconds, char* message,
             std::size_t message_size) {
    if (run->blocks < 1) {
        say(message, message_size, "add_span before run_span");
        return 1;
    }
    const std::size_t bytes = run->values * sizeof(double);
    const std::size_t steady_bytes = steady_record * static_cast<std::size_t>(run->blocks) * sizeof(double);
    std::memcpy(run->host_totals, totals, bytes);
    constexpr unsigned threads = 128;
    const auto launches = static_cast<unsigned>((run->values + threads - 1) / threads);
    if (!check(cudaMemcpyAsync(run->totals, run->host_totals, bytes, cudaMemcpyHostToDevice, run->stream),
               "cudaMemcpy (the totals)", message, message_size) ||
        !check(cudaEventRecord(run->add_start, run->stream), "cudaEventRecord", message, message_size))
        return 1;
    add_blocks_kernel<<<launches, threads, 0, run->stream>>>(run->rows, run->values, run->blocks, run->totals);
    if (!check(cudaSuccess, "the launch of the kernel adding the blocks", message, message_size) ||
        !check(cudaEventRecord(run->add_stop, run->stream), "cudaEventRecord", message, message_size) ||
        !check(cudaMemcpyAsync(run->host_totals, run->totals, bytes, cudaMemcpyDeviceToHost, run->stream),
               "cudaMemcpy (the totals)", message, message_size) ||
        !check(cudaMemcpyAsync(run->host_steady, run->steady, steady_bytes, cudaMemcpyDeviceToHost, run->stream),
               "cudaMemcpy (the steady state)", message, message_size) ||
        !check(cudaEventRecord(run->done, run->stream), "cudaEventRecord", message, message_size) ||
        !check(cudaEventSynchronize(run->done), "the ensemble kernel", message, message_size) ||
        !add_elapsed(run->kernel_start, run->kernel_stop, kernel_seconds, message, message_size) ||
        !add_elapsed(run->add_start, run->add_stop, add_seconds, message, message_size))
        return 1;
    std::memcpy(totals, run->host_totals, bytes);
    std::memcpy(steady, run->host_steady, steady_bytes);
    run->blocks = 0;
    return 0;
}

} // namespace cuda_kernel
} // namespace lmsref
