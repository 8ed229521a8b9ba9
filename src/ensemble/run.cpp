#include "ensemble/run.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "stages/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lmsref {

EnsembleRun run_plan(EnsemblePlan&& plan) {
    EnsembleRun run;
    run.stage = plan.stage;
    const bool batched = plan.stage->uses_torch;
    run.device = batched ? plan.batched.device : plan.options.device;
    run.scenario = plan.options.scenario;
    run.input_power_measured = run.scenario.data_from_files();
    run.allow_divergence = plan.allow_divergence;
    run.lag_one = plan.lag_one;
    const bool program = batched && plan.batched.algorithm != FamilyId::lms; // a member's LibTorch program
    run.algorithm = program ? plan.batched.algorithm : plan.options.algorithm;
    run.family = program ? plan.batched.family : plan.options.family;
    if (run.input_power_measured) {
        const EnsemblePlan held = std::move(plan); // the matrices go when this scope ends
        run.result = run_ensemble_matrices(held.options, held.x, held.d, batched ? &held.batched : nullptr);
        run.theory = held.theory;
    } else {
        run.result = batched ? run_ensemble_batched(plan.options, plan.batched) : run_ensemble(plan.options);
        run.theory = std::move(plan.theory);
    }
    if (run.is_member()) {
        run.member_theory = predict_member(run.scenario, run.theory.input_power, run.algorithm, run.family);
        run.theory = run.member_theory.prediction;
    }
    run.steady = compare_steady_state(run.result, run.theory);
    return run;
}

std::vector<EnsembleMemberRun> run_members(const EnsemblePlan& plan, const std::vector<FamilyId>& members) {
    std::vector<EnsembleMemberRun> runs;
    for (FamilyId member : members) {
        EnsembleMemberRun entry;
        entry.algorithm = member;
        try {
            EnsemblePlan copy = plan;
            (plan.stage->uses_torch ? copy.batched.algorithm : copy.options.algorithm) = member;
            EnsembleRun run = run_plan(std::move(copy));
            run.check_finite();
            entry.run = std::move(run);
        } catch (const RuntimeFailure& failure) { // a member that diverges
            entry.failure = std::string(member_of(member).name) + ": " + failure.what();
        }
        runs.push_back(std::move(entry));
    }
    return runs;
}

TheoryPrediction predict_for(const Scenario& scenario, double input_power, const Stage& stage) {
    const double variance = stage.starts_from_zero ? 0.0 : 1.0 / (3.0 * static_cast<double>(scenario.taps));
    return predict(scenario, input_power, StartModel::prewindowed, variance);
}

void EnsembleRun::check_finite() const {
    if (result.finite && (result.diverged == 0 || allow_divergence)) return;
    if (result.finite)
        throw RuntimeFailure(fmt::format("{} of {} realizations diverged ({}): their steady-state mean e^2 passed "
                                         "1e12 mean(d^2) = {:.3g}; use a smaller --eta, or --allow-divergence to keep "
                                         "them in the mean",
                                         result.diverged, result.completed_realizations, diverged_names(result),
                                         result.divergence_level));
    std::string message = fmt::format("the ensemble diverged: {} of {} realizations ({}) overflowed float64",
                                      result.diverged, result.completed_realizations, diverged_names(result));
    if (theory.past_mean_square_bound && !is_member())
        message += fmt::format(" (eta = {:g} is past the mean-square bound {} = {:.6g})", scenario.step_size,
                               mean_square_bound_name(theory), theory.mean_square_bound);
    throw RuntimeFailure(message + "; use a smaller --eta or fewer --samples");
}

std::string describe_input(const EnsembleRun& run) {
    const Scenario& s = run.scenario;
    if (!s.input_ar1 || s.data_from_files()) return "";
    const std::vector<double>& lambda = run.theory.eigenvalues;
    return "input " + input_text(s) +
           (lambda.empty() ? "" : fmt::format(" (eigenvalue spread {:.3g})", lambda.back() / lambda.front()));
}

std::string describe_ensemble(const EnsembleRun& run, std::size_t most_wo, bool with_input) {
    const Scenario& s = run.scenario;
    std::string text = fmt::format("N = {}, M = {}, eta = {:g}", s.samples, s.taps, s.step_size);
    if (s.data_from_files()) {
        text += fmt::format(", x = {}, d = {}", s.x_file, s.d_file);
        return s.system_known ? text + fmt::format(", sigmav2 = {:g}, wo = {} (given)", s.noise_variance,
                                                   format_vector(s.wo, "%g", most_wo))
                              : text + " (system unknown)";
    }
    text += fmt::format(", sigmav2 = {:g}, wo = {}", s.noise_variance, format_vector(s.wo, "%g", most_wo));
    const std::string input = describe_input(run);
    if (s.walk > 0) text += ", walk " + format_number(s.walk, "%g");
    return with_input && !input.empty() ? text + ", " + input : text;
}

std::string realization_name(const EnsembleResult& result, std::int64_t r) {
    if (!result.generated) return fmt::format("column {}", r);
    if (result.rng == Rng::philox) return fmt::format("realization {}", r);
    return fmt::format("seed {}", static_cast<std::uint64_t>(result.first_seed) + static_cast<std::uint64_t>(r));
}

std::string diverged_names(const EnsembleResult& result) {
    std::vector<std::string> names;
    for (std::int64_t r : result.first_diverged) names.push_back(realization_name(result, r));
    std::string text;
    for (std::size_t j = 0; j < names.size(); ++j)
        text += (j == 0                                                                                ? ""
                 : j + 1 == names.size() && result.diverged == static_cast<std::int64_t>(names.size()) ? " and "
                                                                                                       : ", ") +
                names[j];
    return result.diverged > static_cast<std::int64_t>(names.size()) ? text + ", ..." : text;
}

namespace {

/// max_j |a_j - b_j| / max_j |b_j|: the infinity-norm relative difference (0 for two equal curves).
double curve_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double scale = 0.0, worst = 0.0;
    for (std::size_t j = 0; j < b.size(); ++j) {
        scale = std::max(scale, std::abs(b[j]));
        const double difference = j < a.size() ? std::abs(a[j] - b[j]) : std::numeric_limits<double>::infinity();
        worst = std::isnan(difference) ? std::numeric_limits<double>::infinity() : std::max(worst, difference);
    }
    return worst == 0.0 ? 0.0 : worst / scale;
}

} // namespace

bool EnsembleComparison::failed() const {
    return std::any_of(stages.begin(), stages.end(), [](const EnsembleStageRun& s) { return !s.run; });
}

bool EnsembleComparison::agrees() const {
    return std::all_of(stages.begin(), stages.end(), [&](const EnsembleStageRun& s) {
        return !s.run || !s.stage->starts_from_zero || s.largest_difference() <= tolerance;
    });
}

EnsembleComparison compare_ensemble_stages(const EnsemblePlan& plan, double tolerance) {
    EnsembleComparison comparison;
    comparison.tolerance = tolerance;
    comparison.device = plan.batched.device;
    for (const Stage& stage : stages()) {
        EnsembleStageRun entry;
        entry.stage = &stage;
        try {
            EnsemblePlan copy = plan;
            copy.stage = &stage;
            copy.batched.stage = stage.batched;
            copy.theory = predict_for(copy.options.scenario, copy.input_power, stage);
            EnsembleRun run = run_plan(std::move(copy));
            run.check_finite();
            entry.run = std::move(run);
        } catch (const RuntimeFailure& failure) { // a stage that diverges or meets a device error
            entry.failure = std::string(stage.name) + ": " + failure.what();
        }
        if (entry.run && !comparison.stages.empty() && comparison.stages.front().run) {
            const EnsembleResult& reference = comparison.stages.front().run->result;
            entry.mse_difference = curve_difference(entry.run->result.mse, reference.mse);
            entry.msd_difference = curve_difference(entry.run->result.msd, reference.msd);
            entry.meanw_difference = curve_difference(entry.run->result.meanw, reference.meanw);
        }
        comparison.stages.push_back(std::move(entry));
    }
    return comparison;
}

std::vector<MemberProgramRun> compare_member_programs(const EnsemblePlan& plan, const std::vector<FamilyId>& members,
                                                      BatchedStageFunction program) {
    std::vector<MemberProgramRun> runs;
    for (FamilyId member : members) {
        MemberProgramRun entry;
        entry.algorithm = member;
        for (bool batched : {false, true}) {
            try {
                EnsemblePlan copy = plan;
                copy.stage = batched ? &find_stage("sgd") : &stages().front();
                copy.options.algorithm = batched ? FamilyId::lms : member;
                copy.batched.algorithm = batched ? member : FamilyId::lms;
                copy.batched.stage = batched ? program : nullptr;
                EnsembleRun run = run_plan(std::move(copy));
                run.check_finite();
                (batched ? entry.program : entry.recursion) = std::move(run);
            } catch (const RuntimeFailure& failure) { // a member that diverges, a device error
                entry.failure =
                    std::string(member_of(member).name) + (batched ? " (LibTorch program): " : ": ") + failure.what();
                break;
            }
        }
        if (entry.recursion && entry.program) {
            const EnsembleResult& a = entry.program->result;
            const EnsembleResult& b = entry.recursion->result;
            entry.mse_difference = curve_difference(a.mse, b.mse);
            entry.msd_difference = curve_difference(a.msd, b.msd);
            entry.meanw_difference = curve_difference(a.meanw, b.meanw);
        }
        runs.push_back(std::move(entry));
    }
    return runs;
}

} // namespace lmsref
