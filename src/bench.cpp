#include "bench.hpp"

#include "errors.hpp"
#include "report.hpp"
#include "text.hpp"

#include <algorithm>
#include <sstream>

namespace lmsref {

// Implemented next to the stages, where LibTorch is included.
int torch_threads();
void set_torch_threads(int threads);

double StageTiming::min() const {
    return *std::min_element(us_per_sample.begin(), us_per_sample.end());
}
double StageTiming::max() const {
    return *std::max_element(us_per_sample.begin(), us_per_sample.end());
}
double StageTiming::median() const {
    std::vector<double> sorted = us_per_sample;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

void check_repeats(int repeats) {
    if (repeats < 1) throw InputError("--repeats: " + std::to_string(repeats) + " is not allowed; R must be >= 1");
}

std::vector<const Stage*> select_stages(const std::string& comma_list) {
    std::vector<const Stage*> selected;
    if (comma_list.empty()) {
        for (const Stage& stage : stages()) selected.push_back(&stage);
        return selected;
    }
    std::stringstream names(comma_list);
    std::vector<std::string> wanted;
    for (std::string name; std::getline(names, name, ',');) {
        try {
            find_stage(name);
        } catch (const InputError& error) {
            throw InputError(std::string("--stages: ") + error.what());
        }
        wanted.push_back(name);
    }
    for (const Stage& stage : stages())
        if (std::find(wanted.begin(), wanted.end(), stage.name) != wanted.end()) selected.push_back(&stage);
    return selected;
}

namespace {

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
    const int threads = torch_threads();
    set_torch_threads(1);
    BenchResult result;
    result.repeats = repeats;
    result.threads = 1;
    try {
        for (const Stage* stage : selected)
            result.stages.push_back(time_stage(*stage, data, scenario, device, repeats));
        const auto numpy = std::find_if(result.stages.begin(), result.stages.end(),
                                        [](const StageTiming& t) { return t.stage == &stages().front(); });
        result.numpy =
            numpy != result.stages.end() ? *numpy : time_stage(stages().front(), data, scenario, device, repeats);
    } catch (...) {
        set_torch_threads(threads);
        throw;
    }
    set_torch_threads(threads);
    return result;
}

std::string bench_report(const BenchResult& result, const Scenario& scenario, const Data& data, Device device) {
    std::string text = "lmsref bench: " + describe_scenario(scenario, data, true) + "\n";
    text += "device " + std::string(to_string(device)) + ", LibTorch " + libtorch_version() + ", " +
            std::to_string(result.threads) + " intra-op thread, " + std::to_string(result.repeats) +
            " timed runs per stage after one warm-up\n\n";
    char row[160];
    std::snprintf(row, sizeof row, "%-12s %12s %12s %12s %12s\n", "stage", "min us/smp", "median", "max", "x numpy");
    text += row;
    for (const StageTiming& t : result.stages) {
        std::snprintf(row, sizeof row, "%-12s %12.4f %12.4f %12.4f %12.1f\n", std::string(t.stage->name).c_str(),
                      t.min(), t.median(), t.max(), t.median() / result.numpy.median());
        text += row;
    }
    text += "\nx numpy: the stage's median over numpy's, the price of each abstraction. numpy's median is " +
            format_number(result.numpy.median() * 1e3, "%.1f") + " ns per sample.\n";
    return text;
}

std::string bench_json(const BenchResult& result, const Scenario& s, const Data& data, Device device) {
    std::string out =
        "{\n  \"implementation\": \"lmsref\",\n  \"lmsref\": \"" + std::string(lmsref_version()) + "\",\n";
    out += "  \"scenario\": " + scenario_json(s, data) + ",\n";
    out += "  \"libtorch\": \"" + libtorch_version() + "\",\n  \"device\": \"" + to_string(device) + "\",\n";
    out += "  \"threads\": " + std::to_string(result.threads) + ",\n  \"stages\": {";
    for (std::size_t k = 0; k < result.stages.size(); ++k) {
        const StageTiming& t = result.stages[k];
        out += std::string(k ? "," : "") + "\n    \"" + std::string(t.stage->name) +
               "\": {\"min_us_per_sample\": " + format_number(t.min()) +
               ", \"median_us_per_sample\": " + format_number(t.median()) +
               ", \"max_us_per_sample\": " + format_number(t.max()) +
               ", \"repeats\": " + std::to_string(result.repeats) + ", \"device\": \"" + to_string(t.device) + "\"}";
    }
    return out + "\n  }\n}\n";
}

} // namespace lmsref
