#include "runner.hpp"

#include "errors.hpp"
#include "text.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <new>

namespace lmsref {

double stability_bound(std::int64_t taps, double input_power) {
    return 2.0 / (static_cast<double>(taps + 2) * input_power);
}

std::vector<double> optimum_for_taps(const std::vector<double>& wo, std::int64_t taps) {
    std::vector<double> optimum(static_cast<std::size_t>(taps), 0.0);
    std::copy_n(wo.begin(), std::min(wo.size(), optimum.size()), optimum.begin());
    return optimum;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
    double sum = 0.0;
    for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) sum += (a[k] - b[k]) * (a[k] - b[k]);
    return std::sqrt(sum);
}

namespace {

void check_finite(const std::string& name, const Trajectory& trajectory, const Data& data, const Scenario& s) {
    const Array2D& w = trajectory.w;
    for (std::size_t r = 1; r < w.rows; ++r)
        for (std::size_t c = 0; c < w.cols; ++c)
            if (!std::isfinite(w(r, c))) {
                double power = 0.0;
                for (double value : data.x) power += value * value;
                power /= static_cast<double>(data.x.size());
                throw DivergenceError(name + ": diverged at sample " + std::to_string(r - 1) +
                                          " (the weights stopped being finite); with M = " + std::to_string(s.taps) +
                                          " and input power " + format_number(power, "%.3g") +
                                          ", eta = " + format_number(s.step_size, "%g") + " must stay below about " +
                                          format_number(stability_bound(s.taps, power), "%.3g"),
                                      r - 1);
            }
}

} // namespace

StageRun run_stage(const Stage& stage, const Data& data, const Scenario& scenario, Device device) {
    StageRun run;
    run.stage = &stage;
    run.device = stage.uses_torch ? device : Device::cpu;
    const StageInput input{data.x, data.d, scenario.step_size, scenario.taps, scenario.linear_init_seed(), run.device};
    const auto start = std::chrono::steady_clock::now();
    try {
        run.trajectory = stage.run(input);
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw RuntimeFailure(std::string(stage.name) + ": out of memory; try a smaller --samples or --taps");
    } catch (const std::exception& error) { // LibTorch's c10::Error and friends: keep the first line
        std::string message = error.what();
        message = message.substr(0, message.find('\n'));
        throw RuntimeFailure(std::string(stage.name) + (stage.uses_torch ? ": LibTorch failed: " : ": failed: ") +
                             message);
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    check_finite(std::string(stage.name), run.trajectory, data, scenario);
    return run;
}

bool Comparison::failed() const {
    return std::any_of(stages.begin(), stages.end(), [](const StageComparison& c) { return !c.run; });
}

bool Comparison::agrees() const {
    return std::all_of(stages.begin(), stages.end(), [this](const StageComparison& c) {
        return c.run && (!c.stage->starts_from_zero || c.within(tolerance));
    });
}

Comparison compare_stages(const Data& data, const Scenario& scenario, Device device, double tolerance) {
    Comparison comparison;
    comparison.tolerance = tolerance;
    comparison.stages.reserve(stages().size());
    const Array2D* reference = nullptr; // numpy's weights, once it has run
    for (const Stage& stage : stages()) {
        StageComparison& current = comparison.stages.emplace_back();
        current.stage = &stage;
        try {
            current.run = run_stage(stage, data, scenario, device);
        } catch (const RuntimeFailure& failure) {
            current.failure = failure.what();
            current.diverged = dynamic_cast<const DivergenceError*>(&failure) != nullptr;
            continue;
        }
        const Array2D& w = current.run->trajectory.w;
        if (reference == nullptr) {
            if (&stage == &stages().front())
                reference = &w;
            else
                current.max_deviation = current.final_distance = std::nan(""); // numpy itself failed
            continue;
        }
        for (std::size_t k = 0; k < w.values.size(); ++k)
            current.max_deviation = std::max(current.max_deviation, std::abs(w.values[k] - reference->values[k]));
        current.final_distance = distance(w.row(w.rows - 1), reference->row(reference->rows - 1));
    }
    return comparison;
}

} // namespace lmsref
