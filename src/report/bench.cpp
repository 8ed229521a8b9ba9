#include "report/bench.hpp"
#include "stages/registry.hpp"

#include "core/errors.hpp"
#include "report/report.hpp"
#include "report/report_json.hpp"
#include "stages/libtorch.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace lmsref {

double StageTiming::median() const {
    std::vector<double> sorted = us_per_sample;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

void check_repeats(int repeats) {
    if (repeats < 1)
        throw InputError(Field{"repeats"}, std::to_string(repeats) + " is not allowed; time each stage at least once");
}

std::vector<const Stage*> select_stages(const std::string& comma_list) {
    std::vector<const Stage*> wanted;
    std::stringstream names(comma_list);
    for (std::string name; std::getline(names, name, ',');) {
        try {
            wanted.push_back(&find_stage(name));
        } catch (const InputError& error) {
            throw InputError(Field{"stages"}, error.what());
        }
    }
    std::vector<const Stage*> selected;
    for (const Stage& stage : stages())
        if (comma_list.empty() || std::find(wanted.begin(), wanted.end(), &stage) != wanted.end())
            selected.push_back(&stage);
    return selected;
}

namespace {

/// LibTorch's intra-op threads set for the guard's lifetime, restored when it ends, also by an exception.
class TorchThreadsGuard {
public:
    explicit TorchThreadsGuard(int threads) : saved_(torch_threads()) { set_torch_threads(threads); }
    ~TorchThreadsGuard() { set_torch_threads(saved_); }
    TorchThreadsGuard(const TorchThreadsGuard&) = delete;
    TorchThreadsGuard& operator=(const TorchThreadsGuard&) = delete;

private:
    int saved_;
};

StageTiming time_stage(const Stage& stage, const Data& data, const Scenario& scenario, Device device, int repeats) {
    StageTiming timing;
    timing.stage = &stage;
    timing.device = run_stage(stage, data, scenario, device).device; // the warm-up
    for (int r = 0; r < repeats; ++r)
        timing.us_per_sample.push_back(run_stage(stage, data, scenario, device).us_per_sample());
    return timing;
}

} // namespace

BenchResult bench_stages(const std::vector<const Stage*>& selected, const Data& data, const Scenario& scenario,
                         Device device, int repeats) {
    check_repeats(repeats);
    const TorchThreadsGuard one_thread(1);
    BenchResult result;
    result.repeats = repeats;
    result.threads = 1;
    for (const Stage* stage : selected) result.stages.push_back(time_stage(*stage, data, scenario, device, repeats));
    const auto numpy = std::find_if(result.stages.begin(), result.stages.end(),
                                    [](const StageTiming& t) { return t.stage == &stages().front(); });
    result.numpy =
        numpy != result.stages.end() ? *numpy : time_stage(stages().front(), data, scenario, device, repeats);
    return result;
}

double median_of(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n == 0 ? 0.0 : n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

FamilyBench bench_family(const std::vector<const FamilyMember*>& members, const Data& data, const Scenario& scenario,
                         const FamilyOptions& options, int repeats) {
    check_repeats(repeats);
    const TorchThreadsGuard one_thread(1);
    FamilyBench bench;
    bench.options = options;
    bench.repeats = repeats;
    const double samples = static_cast<double>(data.x.size());
    for (const FamilyMember* member : members) {
        FamilyTiming timing;
        timing.member = member;
        for (int r = 0; r <= repeats; ++r) { // run 0 is the warm-up
            const FamilyComparison run = compare_family({member}, data, scenario, options, 1e-12);
            const FamilyRun& m = run.members.front();
            if (!m.ran()) throw RuntimeFailure(m.failure);
            if (r == 0) continue;
            timing.program_us.push_back(1e6 * m.program_seconds / samples);
            timing.recursion_us.push_back(1e6 * m.recursion_seconds / samples);
        }
        bench.members.push_back(std::move(timing));
    }
    return bench;
}

std::string family_bench_report(const FamilyBench& bench, const Scenario& scenario, const Data& data) {
    std::string text =
        fmt::format("lmsref bench --family: {}\nLibTorch {} on the cpu, 1 intra-op thread, {} timed runs "
                    "per member after one warm-up\n\n",
                    describe_scenario(scenario, data, false), libtorch_version(), bench.repeats);
    text += fmt::format("{:<11} {:>12} {:>12} {:>12}   {:>16}\n", "member", "min us/smp", "median", "max",
                        "recursion median");
    for (const FamilyTiming& t : bench.members)
        text += fmt::format("{:<11} {:>12.4f} {:>12.4f} {:>12.4f}   {:>16.4f}\n", t.member->name,
                            *std::min_element(t.program_us.begin(), t.program_us.end()), median_of(t.program_us),
                            *std::max_element(t.program_us.begin(), t.program_us.end()), median_of(t.recursion_us));
    return text + "\nus/smp: each member's LibTorch program per sample; recursion: its plain C++ recursion.\n";
}

std::string family_bench_json(const FamilyBench& bench, const Scenario& s, const Data& data) {
    Json json{{"implementation", "lmsref"},
              {"lmsref", lmsref_version()},
              {"scenario", scenario_json(s, data.samples())},
              {"libtorch", libtorch_version()},
              {"device", "cpu"},
              {"threads", 1},
              {"family", Json::object()}};
    for (const FamilyTiming& t : bench.members)
        json["family"][std::string(t.member->name)] = {
            {"min_us_per_sample", *std::min_element(t.program_us.begin(), t.program_us.end())},
            {"median_us_per_sample", median_of(t.program_us)},
            {"max_us_per_sample", *std::max_element(t.program_us.begin(), t.program_us.end())},
            {"recursion_median_us_per_sample", median_of(t.recursion_us)},
            {"repeats", bench.repeats},
            {"settings", member_settings(t.member->id, bench.options)}};
    return json_text(json);
}

std::string bench_report(const BenchResult& result, const Scenario& scenario, const Data& data, Device device) {
    std::string text = fmt::format("lmsref bench: {}\ndevice {}, LibTorch {}, {} intra-op thread, {} timed runs per "
                                   "stage after one warm-up\n\n",
                                   describe_scenario(scenario, data, true), to_string(device), libtorch_version(),
                                   result.threads, result.repeats);
    // Numbers right-aligned explicitly: {fmt} 9 would put "nan" and "inf" on the left.
    text += fmt::format("{:<12} {:>12} {:>12} {:>12} {:>12}\n", "stage", "min us/smp", "median", "max", "x numpy");
    for (const StageTiming& t : result.stages)
        text += fmt::format("{:<12} {:>12.4f} {:>12.4f} {:>12.4f} {:>12.1f}\n", t.stage->name, t.min(), t.median(),
                            t.max(), t.median() / result.numpy.median());
    return text + fmt::format("\nx numpy: the stage's median over numpy's, the price of each abstraction. numpy's "
                              "median is {:.1f} ns per sample.\n",
                              result.numpy.median() * 1e3);
}

std::string bench_json(const BenchResult& result, const Scenario& s, const Data& data, Device device) {
    Json json{
        {"implementation", "lmsref"},     {"lmsref", lmsref_version()},  {"scenario", scenario_json(s, data.samples())},
        {"libtorch", libtorch_version()}, {"device", to_string(device)}, {"threads", result.threads},
        {"stages", Json::object()}};
    for (const StageTiming& t : result.stages)
        json["stages"][std::string(t.stage->name)] = {{"min_us_per_sample", t.min()},
                                                      {"median_us_per_sample", t.median()},
                                                      {"max_us_per_sample", t.max()},
                                                      {"repeats", result.repeats},
                                                      {"device", to_string(t.device)}};
    return json_text(json);
}

} // namespace lmsref
