// `lmsref bench`: the time each stage takes per sample, measured honestly: one warm-up run, then R timed runs of
// the whole stage, reported as min, median and max, and as a ratio to the `numpy` stage.
#pragma once

#include "stages/runner.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace lmsref {

struct StageTiming {
    const Stage* stage = nullptr;
    Device device = Device::cpu;
    std::vector<double> us_per_sample; ///< one value per timed run
    double min() const { return *std::min_element(us_per_sample.begin(), us_per_sample.end()); }
    double median() const;
    double max() const { return *std::max_element(us_per_sample.begin(), us_per_sample.end()); }
};

struct BenchResult {
    std::vector<StageTiming> stages; ///< in registry order
    StageTiming numpy;               ///< the baseline of the ratios (also measured when not selected)
    int repeats = 0;
    int threads = 1; ///< LibTorch's intra-op threads during the runs
};

/// Throws InputError unless `repeats` >= 1.
void check_repeats(int repeats);

/// The stages named in a comma list ("" for all), in registry order. Throws InputError for an unknown name.
std::vector<const Stage*> select_stages(const std::string& comma_list);

/// Times the stages: one warm-up run each, then `repeats` timed runs. LibTorch runs on one intra-op thread
/// (sample-by-sample work on tiny tensors gains nothing from more), restored afterwards.
BenchResult bench_stages(const std::vector<const Stage*>& selected, const Data& data, const Scenario& scenario,
                         Device device, int repeats);

/// The table `lmsref bench` prints.
std::string bench_report(const BenchResult& result, const Scenario& scenario, const Data& data, Device device);
/// The JSON `--json` writes, the same format as scripts/bench_python.py.
std::string bench_json(const BenchResult& result, const Scenario& scenario, const Data& data, Device device);

/// `lmsref bench --family`: each member's LibTorch program and its plain recursion, timed as the stages are.
struct FamilyTiming {
    const FamilyMember* member = nullptr;
    std::vector<double> program_us, recursion_us; ///< us per sample, one value per timed run
};
struct FamilyBench {
    std::vector<FamilyTiming> members;
    FamilyOptions options;
    int repeats = 0;
};
/// One warm-up run of each member (program and recursion, compare_family), then `repeats` timed runs, LibTorch on
/// one intra-op thread. Throws RuntimeFailure when a member fails (diverges).
FamilyBench bench_family(const std::vector<const FamilyMember*>& members, const Data& data, const Scenario& scenario,
                         const FamilyOptions& options, int repeats);
/// The median of a run's values.
double median_of(std::vector<double> values);
/// The table `lmsref bench --family` prints, and its JSON (the stages' format, "family" for "stages").
std::string family_bench_report(const FamilyBench& bench, const Scenario& scenario, const Data& data);
std::string family_bench_json(const FamilyBench& bench, const Scenario& scenario, const Data& data);

} // namespace lmsref
