#include "stages/runner.hpp"

#include "lms/torch_module.hpp"
#include "stages/registry.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <new>
#include <numeric>
#include <utility>

namespace lmsref {

namespace {

/// sqrt(mean(v^2)), scaled by the largest |v| so that it neither overflows nor underflows.
double root_mean_square(const std::vector<double>& v) {
    double largest = 0.0;
    for (double value : v) largest = std::max(largest, std::abs(value));
    if (largest == 0.0 || !std::isfinite(largest)) return largest;
    double sum = 0.0;
    for (double value : v) sum += (value / largest) * (value / largest);
    return largest * std::sqrt(sum / static_cast<double>(v.size()));
}

/// ||v||, without overflow for weights beyond 1e154.
double norm(const std::vector<double>& v) {
    return root_mean_square(v) * std::sqrt(static_cast<double>(v.size()));
}

/// How far the weights of `current`'s run are from the reference weights, sample by sample and at the end.
void measure_deviation(StageComparison& current, const Array2D& reference) {
    const Array2D& w = current.run->trajectory.w;
    for (std::size_t k = 0; k < w.values.size(); ++k) {
        const double deviation = std::abs(w.values[k] - reference.values[k]);
        current.max_deviation = std::max(current.max_deviation, deviation);
        current.max_scaled_deviation =
            std::max(current.max_scaled_deviation, deviation / std::max(1.0, std::abs(reference.values[k])));
    }
    current.final_distance = distance(w.row(w.rows - 1), reference.row(reference.rows - 1));
    current.initial_distance = distance(w.row(0), reference.row(0));
}

} // namespace

// The divergence threshold, 1e6 (||w_0|| + rms(d) / rms(x)): a million times the scale of the weights that map x onto
// d, plus where they started (nn::Linear's default init, of norm at most 1).
// - A converging filter ends near the least-squares weights w_ls of the data. For white input ||w_ls|| is at most
//   about rms(d) / rms(x) (w_ls . xM cannot carry more power than d). For coloured input w_ls can exceed that by
//   sqrt(mean / smallest eigenvalue of x's correlation matrix), but LMS moves along that eigenvector by eta times the
//   smallest eigenvalue per sample: ending a million times beyond the scale would take over 1e12 samples.
// - The rule is scale-free (scaling d, or x with eta / c^2, scales the weights and the threshold alike) and costs a
//   pass over x and d. w_ls itself would cost O(N M + M^3), and for d uncorrelated with x its norm shrinks as
//   1 / sqrt(N) while the filter's fluctuation does not.
// - Only where the weights end counts, not how far they wandered: near the bound an outlier of x sits in M
//   consecutive regressors and the filter bursts, then comes back. Measured at eta = 0.99 of the bound, N = 1e6,
//   seeds 0 ... 3: for M = 8 ... 64 bursts reach 1e7 to 1e14 times the scale, and every run ends below 3.2e5 times
//   it (at 0.999 of the bound, M = 32 and 64 end up to 1e20 times beyond: they have not converged). A diverging filter
//   grows geometrically and never comes back: eta = 1 (M = 3) passes the threshold at sample 34 and ends at 6e47.
double divergence_threshold(const Data& data, const std::vector<double>& initial_weights) {
    const double x_rms = root_mean_square(data.x);
    if (x_rms == 0.0) return std::numeric_limits<double>::infinity(); // every update eta e xM is 0: no divergence
    return 1e6 * (norm(initial_weights) + root_mean_square(data.d) / x_rms);
}

namespace {

/// What a diverged run's message advises about its step (check_divergence).
std::string step_advice(const Scenario& s, double power, const FamilyMember* member, const FamilyOptions& o) {
    const std::string taps = "with M = " + std::to_string(s.taps) + " and input power " + format_number(power, "%.3g");
    const std::string bound = format_number(stability_bound(s.taps, power), "%.3g");
    const FamilyId id = member != nullptr ? member->id : FamilyId::lms;
    switch (id) {
    case FamilyId::lms:
    case FamilyId::leaky:
        return taps + ", eta = " + format_number(s.step_size, "%g") + " must stay below about " + bound;
    case FamilyId::momentum:
    case FamilyId::nesterov:
        return taps + ", eta / (1 - beta) = " + format_number(s.step_size / (1 - o.beta), "%g") +
               " must stay below about " + bound + " (LMS's bound on its effective step)";
    case FamilyId::nlms: return "nlms's eta must stay in (0, 2)";
    default: return "a smaller --eta may keep it converging (" + std::string(member->name) + " has no step bound here)";
    }
}

} // namespace

void check_divergence(const std::string& name, const Trajectory& trajectory, const Data& data, const Scenario& s,
                      const FamilyMember* member, const FamilyOptions& options) {
    const Array2D& w = trajectory.w;
    if (w.rows < 2) return;
    const double threshold = divergence_threshold(data, w.row(0));
    // 1 / threshold, for one multiplication per weight; a threshold of 0 (d = 0 and w_0 = 0: the weights stay 0)
    // is taken as the smallest normal number so that 0 * (1 / threshold) stays 0.
    const double inverse = 1.0 / std::max(threshold, std::numeric_limits<double>::min());
    constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    std::size_t beyond_since = none; // the first row of the current excursion beyond the threshold
    std::size_t not_finite = none;   // the first row with a weight that is not finite
    for (std::size_t r = 1; r < w.rows && not_finite == none; ++r) {
        double sum = 0.0; // ||w(r)||^2 / threshold^2; nan when a weight is nan
        for (std::size_t c = 0; c < w.cols; ++c) sum += (w(r, c) * inverse) * (w(r, c) * inverse);
        if (sum <= 1.0) {
            beyond_since = none;
            continue;
        }
        if (beyond_since == none) beyond_since = r;
        if (!std::isfinite(sum)) // inf from a finite but huge norm, or a weight that is inf or nan (never finite again)
            for (std::size_t c = 0; c < w.cols; ++c)
                if (!std::isfinite(w(r, c))) not_finite = r;
    }
    if (beyond_since == none) return;
    std::string how;
    if (not_finite == beyond_since)
        how = "the weights stopped being finite";
    else
        how =
            "||w|| passed " + format_number(threshold, "%.3g") + " = 1e6 (||w_0|| + rms(d)/rms(x)) and " +
            (not_finite != none ? "stopped being finite at sample " + std::to_string(not_finite - 1)
                                : "never came back: " + format_number(norm(w.row(w.rows - 1)), "%.3g") + " at the end");
    throw DivergenceError(name + ": diverged at sample " + std::to_string(beyond_since - 1) + " (" + how + "); " +
                              step_advice(s, input_power(data.x), member, options),
                          beyond_since - 1);
}

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
    check_divergence(std::string(stage.name), run.trajectory, data, scenario);
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
    for (const Stage& stage : stages()) {
        StageComparison current;
        current.stage = &stage;
        try {
            current.run = run_stage(stage, data, scenario, device);
        } catch (const RuntimeFailure& failure) {
            current.failure = failure.what();
            current.diverged = dynamic_cast<const DivergenceError*>(&failure) != nullptr;
        }
        if (current.run && !comparison.stages.empty()) { // the first stage, numpy, is the reference
            const std::optional<StageRun>& numpy = comparison.stages.front().run;
            if (numpy)
                measure_deviation(current, numpy->trajectory.w);
            else // numpy itself failed
                current.max_deviation = current.max_scaled_deviation = current.final_distance =
                    current.initial_distance = std::nan("");
        }
        comparison.stages.push_back(std::move(current));
    }
    return comparison;
}

double FamilyRun::us_per_sample() const {
    return program.y.empty() ? 0.0 : 1e6 * program_seconds / static_cast<double>(program.y.size());
}

bool FamilyComparison::failed() const {
    return std::any_of(members.begin(), members.end(), [](const FamilyRun& m) { return !m.ran(); });
}

bool FamilyComparison::agrees() const {
    return std::all_of(members.begin(), members.end(), [this](const FamilyRun& m) { return m.within(tolerance); });
}

FamilyComparison compare_family(const std::vector<const FamilyMember*>& members, const Data& data,
                                const Scenario& scenario, const FamilyOptions& options, double tolerance) {
    FamilyComparison comparison;
    comparison.tolerance = tolerance;
    comparison.options = options;
    const TorchModule& module = torch_module();
    const auto M = static_cast<std::size_t>(scenario.taps);
    for (const FamilyMember* member : members) {
        FamilyRun run;
        run.member = member;
        const std::string name(member->name);
        try {
            auto start = std::chrono::steady_clock::now();
            run.recursion = member->run(data.x, data.d, scenario.step_size, M, options);
            run.recursion_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            check_divergence(name, run.recursion, data, scenario, member, options);
            start = std::chrono::steady_clock::now();
            try {
                run.program = module.family(name.c_str(), data.x, data.d, scenario.step_size, M, options);
            } catch (const Error&) {
                throw;
            } catch (const std::bad_alloc&) {
                throw RuntimeFailure(name + ": out of memory; try a smaller --samples or --taps");
            } catch (const std::exception& error) { // LibTorch's c10::Error and friends: keep the first line
                const std::string message = error.what();
                throw RuntimeFailure(name + ": LibTorch failed: " + message.substr(0, message.find('\n')));
            }
            run.program_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            const Array2D& a = run.program.w;
            const Array2D& b = run.recursion.w;
            for (std::size_t i = 0; i < b.values.size(); ++i) {
                const double scaled = std::abs(a.values[i] - b.values[i]) / std::max(1.0, std::abs(b.values[i]));
                run.max_scaled_deviation = std::isnan(scaled) ? scaled : std::max(run.max_scaled_deviation, scaled);
                if (std::isnan(scaled)) break;
            }
        } catch (const RuntimeFailure& failure) {
            run.failure = failure.what();
            run.diverged = dynamic_cast<const DivergenceError*>(&failure) != nullptr;
        }
        comparison.members.push_back(std::move(run));
    }
    return comparison;
}

} // namespace lmsref
