// A stand-in for the CUDA kernel library (src/ensemble/cuda/ensemble_kernel.hpp's interface) that runs on the CPU,
// linked into lmsref_cuda_emulation_tests with a copy of src/ensemble/ensemble.cpp built as if the kernel were there,
// so that the CUDA engine's host side (run_cuda: spans, the two pinned data slots, the totals' round trip, the
// steady-state triples) runs without a GPU. The blocks are emulate_block's (the kernel's arithmetic and order). What
// the GPU does asynchronously is done as late as it could be: run_span only records the span, and add_span copies the
// data slot, runs the blocks and adds them, so a slot the host overwrote before add_span shows in the curves.
#include "cuda_emulation.hpp"
#include "ensemble/cuda/ensemble_kernel.hpp"

#include <cstdio>
#include <cstring>
#include <vector>

namespace lmsref {
namespace cuda_kernel {

struct Run {
    philox::Problem p;
    std::vector<double> wo_K, wo_M;
    std::int64_t R = 0, span_blocks = 0, first_block = 0, blocks = 0;
    bool on_data = false;
    int slot = 0;
    std::vector<double> host_x[2], host_d[2];
};

namespace {
void say(char* message, std::size_t size, const char* what) {
    if (message != nullptr && size > 0) std::snprintf(message, size, "%s", what);
}
} // namespace

int device_count(char*, std::size_t) {
    return 1;
}

int device_memory(int, std::size_t*, std::size_t*) {
    return 1;
} // cannot tell

Run* open_run(const philox::Problem& p, std::int64_t realizations, std::int64_t span_blocks, bool on_data, int,
              char* message, std::size_t message_size) {
    if (span_blocks < 1 || realizations < 1 || p.taps < 1 || p.taps > max_taps ||
        (!on_data && (p.history < p.taps || p.history > max_taps))) {
        say(message, message_size, "emulated kernel: bad run");
        return nullptr;
    }
    Run* run = new Run;
    run->p = p;
    run->wo_M.assign(p.wo_M, p.wo_M + p.taps);
    if (!on_data) run->wo_K.assign(p.wo_K, p.wo_K + p.history);
    run->p.wo_K = on_data ? nullptr : run->wo_K.data();
    run->p.wo_M = run->wo_M.data();
    run->R = realizations;
    run->span_blocks = span_blocks;
    run->on_data = on_data;
    const std::size_t data_values = static_cast<std::size_t>(p.samples * span_blocks * block_size);
    if (on_data)
        for (int slot = 0; slot < 2; ++slot) {
            run->host_x[slot].assign(data_values, 0.0);
            run->host_d[slot].assign(data_values, 0.0);
        }
    return run;
}

void close_run(Run* run) {
    delete run;
}

double* run_x(Run* run, int slot) {
    return run->on_data ? run->host_x[slot & 1].data() : nullptr;
}
double* run_d(Run* run, int slot) {
    return run->on_data ? run->host_d[slot & 1].data() : nullptr;
}

int run_span(Run* run, std::int64_t first_block, std::int64_t blocks, int slot, char* message,
             std::size_t message_size) {
    if (blocks < 1 || blocks > run->span_blocks || first_block < 0 || first_block * block_size >= run->R ||
        run->blocks != 0) {
        say(message, message_size, "emulated kernel: a span outside the run, or one before the last was added");
        return 1;
    }
    run->first_block = first_block;
    run->blocks = blocks;
    run->slot = slot & 1;
    return 0;
}

int add_span(Run* run, double* totals, double* steady, double*, double*, char* message, std::size_t message_size) {
    if (run->blocks < 1) {
        say(message, message_size, "emulated kernel: add_span before run_span");
        return 1;
    }
    const philox::Problem& p = run->p;
    const std::size_t values = row_values(p.samples, p.taps);
    const std::int64_t first = run->first_block * block_size;
    const std::int64_t C = std::min(run->R - first, run->blocks * block_size);
    const std::size_t data_values = static_cast<std::size_t>(p.samples * C);
    const std::vector<double> x(run->on_data ? run->host_x[run->slot].begin() : run->host_x[0].begin(),
                                run->on_data ? run->host_x[run->slot].begin() + data_values : run->host_x[0].begin());
    const std::vector<double> d(run->on_data ? run->host_d[run->slot].begin() : run->host_d[0].begin(),
                                run->on_data ? run->host_d[run->slot].begin() + data_values : run->host_d[0].begin());
    std::vector<double> rows(static_cast<std::size_t>(run->blocks) * values);
    for (std::int64_t b = 0; b < run->blocks; ++b) {
        double* out = rows.data() + b * values;
        if (run->on_data)
            test::emulate_block(
                p, run->R, run->first_block + b,
                [&](std::uint64_t r, int, double* xM, double* w) {
                    const auto column = static_cast<std::int64_t>(r) - first;
                    return test::DataThread{{xM, w}, x.data() + column, d.data() + column, C};
                },
                out, steady + cuda_kernel::steady_record * b);
        else
            test::emulate_block(
                p, run->R, run->first_block + b,
                [](std::uint64_t r, int, double* hist, double* w) {
                    return test::PhiloxThread{{hist, w}, r};
                },
                out, steady + cuda_kernel::steady_record * b);
    }
    for (std::size_t j = 0; j < values; ++j) add_blocks(rows.data(), values, run->blocks, j, totals);
    run->blocks = 0;
    return 0;
}

} // namespace cuda_kernel
} // namespace lmsref
