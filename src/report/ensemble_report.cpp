#include "report/ensemble_report.hpp"

#include "stages/registry.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/files.hpp"
#include "lms/bounds.hpp"
#include "lms/family.hpp"
#include "report/report.hpp"
#include "report/report_json.hpp"
#include "stages/libtorch.hpp"
#include "stages/runner.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>

namespace lmsref {

namespace {

/// A matrix file of --x or --d: N x R (or N), finite.
Array2D read_matrix(const std::string& option, const std::string& path, std::vector<std::string>& notes) {
    std::string converted_from;
    Array2D array = read_array(path, &converted_from);
    if (!converted_from.empty())
        notes.push_back(path + " holds " + converted_from + " values; lmsref read them as float64");
    if (array.values.empty()) throw InputError(option + ": " + path + " holds no samples");
    for (std::size_t i = 0; i < array.values.size(); ++i)
        if (!std::isfinite(array.values[i]))
            throw InputError(option + ": " + path + ": sample " + std::to_string(i / array.cols) + " of realization " +
                             std::to_string(i % array.cols) + " is " + format_number(array.values[i]) +
                             "; the data must be finite");
    return array;
}

std::string shape(const Array2D& array) {
    return "(" + std::to_string(array.rows) + ", " + std::to_string(array.cols) + ")";
}

/// The curve fit after the first 5 M samples: the mean of |simulated / theory - 1| over the decimated MSE curve.
struct CurveFit {
    std::int64_t first_sample = 0;
    std::int64_t points = 0;
    double mean_relative_gap = std::numeric_limits<double>::quiet_NaN();
    /// What sampling noise alone gives for Gaussian errors: E|mean of R e^2 / E e^2 - 1|, the mean of R e^2 / E e^2
    /// a chi-square of R degrees over R: 2 a^(a - 1) e^-a / Gamma(a) with a = R / 2 (the mean absolute deviation of a
    /// gamma variable), 2 / sqrt(pi R) for large R (96.8 % at R = 1, 73.6 % at R = 2).
    double noise_level = std::numeric_limits<double>::quiet_NaN();
};

CurveFit curve_fit(const EnsembleRun& run) {
    CurveFit fit;
    const EnsembleResult& r = run.result;
    fit.first_sample = 5 * r.taps;
    const std::vector<double> theory = decimated(run.theory.mse_curve, r.decimate);
    double sum = 0.0;
    for (std::size_t j = 0; j < r.mse.size() && j < theory.size(); ++j) {
        if (r.sample_of(static_cast<std::int64_t>(j)) < fit.first_sample || !(theory[j] > 0)) continue;
        sum += std::abs(r.mse[j] / theory[j] - 1.0);
        ++fit.points;
    }
    if (fit.points > 0 && !run.theory.past_mean_square_bound) {
        fit.mean_relative_gap = sum / static_cast<double>(fit.points);
        const double a = static_cast<double>(r.completed_realizations) / 2.0;
        fit.noise_level = 2.0 * std::exp((a - 1.0) * std::log(a) - a - std::lgamma(a));
    }
    return fit;
}

/// The stage that ran the realizations, and where.
std::string stage_line(const EnsembleRun& run) {
    if ((run.stage == nullptr || !run.stage->uses_torch) && run.device == Device::cuda)
        return "numpy, the plain loop as a CUDA kernel, one thread per realization";
    if (run.stage == nullptr || !run.stage->uses_torch) return "numpy, the plain loop on each realization";
    return fmt::format("{} (the notebook's {}), batched over realizations, {}, LibTorch {}", run.stage->name,
                       run.stage->notebook_function, to_string(run.device), libtorch_version());
}

std::string percent(double fraction) {
    if (!std::isfinite(fraction)) return "-";
    // two decimals, but a diverged run's 1e19 % in three digits rather than twenty
    return std::abs(fraction) < 1e3 ? fmt::format("{:+.2f} %", 100.0 * fraction)
                                    : fmt::format("{:+.3g} %", 100.0 * fraction);
}

/// A row of the steady state's table, "  MSE            simulated                theory       gap", without
/// trailing blanks.
std::string row(const std::string& name, const std::string& simulated, const std::string& theory,
                const std::string& gap) {
    const std::string line = fmt::format("  {:<14} {:<24} {:<12} {}", name, simulated, theory, gap);
    return line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
}

/// A report field whose text may run long: "  name           text", wrapped at 118 columns under itself.
std::string wrap_field(const std::string& name, const std::string& text) {
    constexpr std::size_t indent = 17, width = 118;
    std::string out = fmt::format("  {:<14} ", name), line;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find(' ', at);
        if (end == std::string::npos) end = text.size();
        const std::string word = text.substr(at, end - at);
        if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
            out += line + "\n" + std::string(indent, ' ');
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
        at = end + 1;
    }
    return out + line + "\n";
}

/// What the steady-state comparison means, in words: the simulation's standard error, whether one realization
/// dominates the mean, whether the EMSE is resolved, and what the theory rests on.
struct Verdict {
    bool dominated = false;    ///< one realization holds over 1 % of the sum and over 20 times the mean
    bool emse_resolved = true; ///< |EMSE| beyond two standard errors (and R >= 2)
    std::string gap_note;      ///< after the MSE gap: "(+2.2 standard errors)", or why there is none
    std::string sentence;
};

/// J_min = 0 (no noise, wo within the M taps): every filter converges to wo itself, and its MSE falls with no floor
/// but float64's round-off: no steady state to compare.
std::string round_off_sentence(const SteadyStateComparison& s) {
    return fmt::format("J_min = 0 (no noise, and wo within the M taps): each filter converges to wo itself, its MSE "
                       "falling with no floor but float64's round-off ({:.3g} over the window), so there is no steady "
                       "state for the theory to predict; the gap measures how far the fall has gone, not the theory.",
                       s.mse);
}

Verdict verdict(const EnsembleRun& run) {
    const EnsembleResult& r = run.result;
    const SteadyStateComparison& s = run.steady;
    const TheoryPrediction& t = run.theory;
    Verdict v;
    const double share = r.largest_steady_share();
    v.dominated = r.completed_realizations >= 2 &&
                  (!std::isfinite(r.largest_steady) || (share > 0.01 && r.largest_steady > 20.0 * s.mse));
    const bool one = r.completed_realizations < 2;
    const bool no_spread = !one && !(s.mse_standard_error > 0); // every realization the same steady state
    v.emse_resolved = !one && std::abs(s.emse) > 2.0 * s.mse_standard_error;
    // J_min = 0 with a spread over realizations (without one, every e is 0 alike, which the notes below say)
    const bool round_off = t.j_min == 0.0 && !t.past_mean_square_bound && !one && !no_spread;
    if (one)
        v.gap_note = "(n/a: one realization has no standard error)";
    else if (no_spread)
        v.gap_note = "(n/a: no spread over realizations, no standard error)";
    else if (round_off)
        v.gap_note = "(J_min = 0: see the verdict)";
    else if (v.dominated)
        v.gap_note = "(no standard error: one realization dominates)";
    else
        v.gap_note = fmt::format("({:+.1f} standard errors)", s.gap_in_standard_errors);
    const std::string assumption =
        "Theory rests on the independence assumption (each regressor independent of the weights), which a tapped "
        "delay line breaks: its bias grows with eta and M (+0.21 % of the MSE at the defaults, measured over "
        "300000 realizations).";
    if (t.past_mean_square_bound)
        v.sentence = "eta is past the mean-square bound: theory has no steady state to compare with.";
    else if (one)
        v.sentence = "one realization: its MSE is one draw, with no standard error to weigh the gap by. " + assumption;
    else if (no_spread)
        v.sentence =
            "every realization has the same steady-state MSE: no standard error to weigh the gap by. " + assumption;
    else if (round_off)
        v.sentence = round_off_sentence(s);
    else if (v.dominated)
        v.sentence = fmt::format("the simulated MSE rests on a few realizations (see largest), so the gap of {} is "
                                 "not a measure of the theory: eta = {:g} is {:.0f} % of the mean-square bound, where "
                                 "LMS bursts now and then. {}",
                                 percent(s.relative_gap), run.scenario.step_size,
                                 100.0 * run.scenario.step_size / t.mean_square_bound, assumption);
    else if (std::abs(s.gap_in_standard_errors) <= 3.0)
        v.sentence = fmt::format("theory and simulation agree within sampling noise ({:+.1f} standard errors of the "
                                 "simulation). {}",
                                 s.gap_in_standard_errors, assumption);
    else
        v.sentence = fmt::format("the gap is {:+.1f} standard errors of the simulation: beyond sampling noise, so it "
                                 "is the theory's own error. {}",
                                 s.gap_in_standard_errors, assumption);
    return v;
}

/// The report's lines on diverged realizations and on one that dominates the mean.
std::string divergence_lines(const EnsembleRun& run, const Verdict& v) {
    const EnsembleResult& r = run.result;
    const SteadyStateComparison& s = run.steady;
    std::string text;
    if (r.diverged > 0)
        text += wrap_field("diverged",
                           fmt::format("{} of {} realizations ({}): steady-state mean e^2 not finite or "
                                       "above 1e12 mean(d^2) = {:.3g}; kept in the mean "
                                       "(--allow-divergence)",
                                       r.diverged, r.completed_realizations, diverged_names(r), r.divergence_level));
    if (v.dominated)
        text += wrap_field("largest", fmt::format("{} alone holds {:.1f} % of the simulated MSE (its steady-state "
                                                  "mean e^2 is {:.6g}, the mean {:.6g}): a heavy-tailed spread, which "
                                                  "the standard error does not describe",
                                                  realization_name(r, r.largest_steady_realization),
                                                  100.0 * r.largest_steady_share(), r.largest_steady, s.mse));
    return text;
}

/// The report's last lines: the time, and the CUDA kernel's own.
std::string time_lines(const EnsembleRun& run) {
    const EnsembleResult& r = run.result;
    std::string text;
    text += fmt::format("  time           {:.3f} s, {:.1f} ns per realization-sample (data generation included)\n",
                        r.seconds, r.ns_per_realization_sample());
    if (run.device == Device::cuda && !run.stage->uses_torch)
        text += fmt::format("  kernel         {:.3f} ms on the GPU (the CUDA kernel alone, no copies), and {:.3f} ms "
                            "adding its blocks\n",
                            1e3 * r.kernel_seconds, 1e3 * r.add_kernel_seconds);
    return text;
}

/// --walk Q: what moves, where the MSD is measured from, and the step that tracks best.
std::string walk_lines(const EnsembleRun& run) {
    const TheoryPrediction& t = run.theory;
    if (!(run.scenario.walk > 0)) return "";
    std::string text =
        wrap_field("tracking",
                   fmt::format("the system walks: wo(n + 1) = wo(n) + q(n), q ~ N(0, {:g} I) over its {} taps; the MSD "
                               "is measured from wo(n)",
                               run.scenario.walk, run.scenario.wo.size()));
    // lms's theory, or momentum's and nesterov's through LMS at eta / (1 - beta): their best eta is (1 - beta) times
    const bool heavy_ball =
        run.is_member() && (run.algorithm == FamilyId::momentum || run.algorithm == FamilyId::nesterov);
    const bool has_theory = !run.is_member() || run.algorithm == FamilyId::lms || heavy_ball;
    const double scale = heavy_ball ? 1.0 - run.family.beta : 1.0;
    if (has_theory && std::isfinite(t.optimal_step))
        text += wrap_field("best step",
                           fmt::format("theory's steady-state EMSE is {:.6g} at eta = {:g}, and smallest, "
                                       "{:.6g}, at eta = {:.4g} (lag against gradient noise)",
                                       t.emse, run.scenario.step_size, t.optimal_emse, t.optimal_step * scale));
    return text;
}

/// --input ar1:A: the input, R's eigenvalues and spread, the step's bounds (and where the MSD is measured from).
std::string coloured_input_lines(const EnsembleRun& run) {
    const TheoryPrediction& t = run.theory;
    const double eta = run.scenario.step_size;
    const double lambda_min = t.eigenvalues.front(), lambda_max = t.eigenvalues.back();
    std::string text = wrap_field(
        "input", fmt::format("AR(1) Gaussian, {}, unit power; R (M x M) has eigenvalues {:.4g} ... {:.4g}, spread "
                             "{:.4g}",
                             input_text(run.scenario), lambda_min, lambda_max, lambda_max / lambda_min));
    if (run.is_member() && run.algorithm != FamilyId::lms) { // the member's own bound, where its theory gives one
        const MemberTheory& m = run.member_theory;
        if (!m.bound.empty())
            text += wrap_field("step bounds", fmt::format("{}: eta = {:g} is {}", m.bound, eta,
                                                          m.past_bound ? "PAST it" : "below it"));
    } else {
        const std::string bounds = fmt::format(
            "mean square {:.6g} (eta lambda_max < 1 and S = sum eta lambda_i / (2 - 2 eta lambda_i) < 1), mean "
            "2/lambda_max = {:.6g}, MATLAB maxstep's 2/(2 lambda_max + tr R) = {:.6g}",
            t.mean_square_bound, t.mean_bound, t.maxstep_bound);
        text +=
            wrap_field("step bounds",
                       t.past_mean_square_bound
                           ? fmt::format("eta = {:g} is PAST the mean-square bound: no steady state; {}", eta, bounds)
                           : fmt::format("eta = {:g} is below them: {}", eta, bounds));
    }
    if (static_cast<std::size_t>(run.scenario.taps) < run.scenario.wo.size())
        text += wrap_field("MSD", "measured from the Wiener solution w_o = R^-1 p of M taps, where the mean weights "
                                  "converge (not wo cut to M)");
    return text;
}

std::string realizations_line(const EnsembleResult& r) {
    std::string text = fmt::format("  realizations   {}", r.completed_realizations);
    if (r.generated && r.rng == Rng::philox)
        text += fmt::format(" (key --seed {}, counter (sample n, realization r))", r.first_seed);
    else if (r.generated)
        text += fmt::format(" (seeds {} ... {}: realization r runs on the data of --seed {} + r)", r.first_seed,
                            r.last_seed, r.first_seed);
    else
        text += " (the columns of the files)";
    text += fmt::format(", {} thread{}", r.threads, r.threads == 1 ? "" : "s");
    return text + (r.ranks > 1 ? fmt::format(" on each of {} MPI ranks\n", r.ranks) : "\n");
}

/// A member's name with its settings: "nlms (eps = 1e-06)".
std::string member_label(const EnsembleRun& run) {
    const std::string settings = member_settings(run.algorithm, run.family);
    return std::string(member_of(run.algorithm).name) + (settings.empty() ? "" : " (" + settings + ")");
}

/// Whether a steady-state theory's window still holds part of the transient (a theory's curves, where it has
/// them, hold it too: then its window's mean is the prediction, and a limit not reached is said apart). Unsettled:
/// SteadyStateComparison::settled, a fall or rise beyond 3 standard errors of its own. Perhaps: beyond 2, so that a gap
/// beyond sampling noise is not simply put down to the theory. Unknown: a window too short to tell (N < 64).
enum class Settling { settled, perhaps, not_settled, unknown };
Settling settling(const SteadyStateComparison& s) {
    if (!s.settling_known) return Settling::unknown;
    if (!s.settled) return Settling::not_settled;
    return std::abs(s.drop_in_standard_errors) > 2.0 ? Settling::perhaps : Settling::settled;
}
Settling steady_theory_settling(const EnsembleRun& run) {
    if (run.member_theory.curves || !run.member_theory.known) return Settling::settled;
    return settling(run.steady);
}

/// How the MSE moves through the window: "falls", or "rises" (the adaptive-step members' can).
const char* moves(const SteadyStateComparison& s) {
    return s.window_drop < 0 ? "rises" : "falls";
}
/// The window's fall: "its second half is 10.5 % below its first, at least 11.2 standard errors of the fall" (or
/// above it, of the rise).
std::string window_fall(const SteadyStateComparison& s) {
    const bool rise = s.window_drop < 0;
    return fmt::format("its second half is {:.3g} % {} its first, at least {:.1f} standard errors of the {}",
                       100.0 * std::abs(s.window_drop) / (s.mse + s.window_drop / 2), rise ? "above" : "below",
                       std::abs(s.drop_in_standard_errors), rise ? "rise" : "fall");
}

/// A member's verdict on its steady-state gap (its theory known, two realizations or more with a spread).
std::string member_verdict(const EnsembleRun& run) {
    const SteadyStateComparison& s = run.steady;
    const Settling state = steady_theory_settling(run);
    if (run.theory.j_min == 0.0) return round_off_sentence(s);
    if (state == Settling::not_settled)
        return fmt::format("the MSE still {} through the window ({}): the filter has not settled by n = {}, so the "
                           "window holds part of its transient, which the steady-state theory leaves out; more "
                           "samples (-N) let it settle.",
                           moves(s), window_fall(s), s.first_sample);
    if (std::abs(s.gap_in_standard_errors) <= 3.0) return "theory and simulation agree within sampling noise.";
    std::string text = "the gap is beyond sampling noise: it is the theory's own error (its assumption above)";
    if (state == Settling::perhaps)
        text += fmt::format(", or in part a transient that the window still holds ({}): more samples (-N) tell them "
                            "apart",
                            window_fall(s));
    if (state == Settling::unknown)
        text += fmt::format(", or a transient: the window, n = {} ... {}, is too short to tell whether the filter has "
                            "settled; more samples (-N) tell them apart",
                            s.first_sample, run.result.samples - 1);
    return text + ".";
}

/// The gap of a member's simulated steady state to its theory in standard errors, "(+1.7 standard errors)", or ""
/// where there is none.
std::string member_gap_note(const EnsembleRun& run) {
    const SteadyStateComparison& s = run.steady;
    if (run.theory.j_min == 0.0) return "(J_min = 0: see the verdict)";
    if (run.result.completed_realizations < 2 || !(s.mse_standard_error > 0)) return "";
    return fmt::format("({:+.1f} standard errors)", s.gap_in_standard_errors);
}

/// The gap of a member's simulated steady state to its theory, in words, and whether it is within sampling noise.
std::string member_gap(const EnsembleRun& run) {
    const SteadyStateComparison& s = run.steady;
    if (!run.member_theory.known) return "-";
    const std::string note = member_gap_note(run);
    return note.empty() ? percent(s.relative_gap) : percent(s.relative_gap) + " " + note;
}

/// Where theory's own curve has not reached its limit over the window (SteadyStateComparison::theory_settled): the
/// MSE row's gap is to the limit, and a row under it gives the curve's mean over the window, the prediction that the
/// standard errors count the gap to.
std::string limit_note(const SteadyStateComparison& s) {
    return fmt::format("(to the limit: not reached by n = {})", s.first_sample);
}
std::string window_row(const SteadyStateComparison& s, const std::string& gap_note) {
    return row("in the window", "", fmt::format("{:.6g}", s.predicted_window_mse),
               percent(s.window_relative_gap) + (gap_note.empty() ? "" : " " + gap_note));
}

/// ensemble_report for a member of the family other than lms: its recursion, its theory where there is one.
std::string member_report(const EnsembleRun& run) {
    const EnsembleResult& r = run.result;
    const SteadyStateComparison& s = run.steady;
    const MemberTheory& theory = run.member_theory;
    const FamilyMember& member = member_of(run.algorithm);
    std::string text = "lmsref ensemble: " + describe_ensemble(run) + "\n" + realizations_line(r);
    text += wrap_field(
        "algorithm",
        run.stage != nullptr && run.stage->uses_torch
            ? fmt::format("{}: {}, its LibTorch program ({}), batched over realizations, {}, LibTorch "
                          "{}",
                          member_label(run), member.update, member.pytorch_part, to_string(run.device),
                          libtorch_version())
            : fmt::format("{}: {}, the plain recursion on each realization", member_label(run), member.update));
    if (r.generated) text += "  rng            " + rng_description(r.rng) + "\n";
    if (r.decimate > 1) text += fmt::format("  curves         every {} samples (--decimate)\n", r.decimate);
    text += run.input_power_measured
                ? wrap_field("input", fmt::format("sx2 = mean(x^2) = {:.6g}, measured; the theory assumes white input",
                                                  run.theory.input_power))
            : run.theory.coloured ? coloured_input_lines(run)
                                  : "  input          white Gaussian, sx2 = 1\n";
    text += walk_lines(run);
    text += fmt::format("  steady state   the last quarter, n = {} ... {}; ± one standard error over realizations\n",
                        s.first_sample, r.samples - 1);
    const std::string standard_error =
        r.completed_realizations < 2 ? "n/a" : fmt::format("{:.2g}", s.mse_standard_error);
    if (!run.scenario.system_known) {
        text += row("MSE", fmt::format("{:.6g} ± {}", s.mse, standard_error), "", "");
        text += wrap_field("theory", "none: the system behind --x and --d is unknown; give --wo and --sigmav2 if they "
                                     "describe it");
        return text + divergence_lines(run, verdict(run)) + time_lines(run);
    }
    text += row("", "simulated", "theory", "gap");
    const bool limit_apart = theory.known && !s.theory_settled;
    text += row("MSE", fmt::format("{:.6g} ± {}", s.mse, standard_error),
                theory.known ? fmt::format("{:.6g}", run.theory.mse) : "none",
                limit_apart ? percent(s.relative_gap) + " " + limit_note(s) : member_gap(run));
    if (limit_apart) text += window_row(s, member_gap_note(run));
    text += row("EMSE", fmt::format("{:.6g}", s.emse), theory.known ? fmt::format("{:.6g}", run.theory.emse) : "none",
                theory.known ? percent(s.emse_relative_gap) + (limit_apart ? " (to the limit)" : "") : "");
    text += row("J_min", "", fmt::format("{:.6g}", run.theory.j_min), "");
    if (theory.known) {
        text += wrap_field("theory", theory.model + (theory.curves ? "" : " (the steady state only)"));
        text += wrap_field("", theory.basis);
    } else {
        text += wrap_field("theory", "none: " + theory.none);
    }
    if (!theory.bound.empty())
        text += wrap_field("bound", theory.bound + (theory.past_bound ? ": eta is PAST it" : ""));
    if (theory.known && r.completed_realizations >= 2 && s.mse_standard_error > 0)
        text += wrap_field("verdict", member_verdict(run));
    else if (!theory.known &&
             settling(s) == Settling::not_settled) // no theory to weigh, but the window is no steady state
        text += wrap_field("window", fmt::format("the MSE still {} through it ({}): the filter has not settled by "
                                                 "n = {}; more samples (-N) let it settle",
                                                 moves(s), window_fall(s), s.first_sample));
    return text + divergence_lines(run, verdict(run)) + time_lines(run);
}

} // namespace

EnsemblePlan plan_ensemble(const EnsembleOptions& options, const Stage* stage, const BatchedOptions& batched) {
    EnsemblePlan plan;
    plan.options = options;
    plan.stage = stage != nullptr ? stage : &stages().front();
    plan.batched = batched;
    // a member of the family: the LibTorch module's family_batched, which the caller gives
    if (batched.algorithm == FamilyId::lms || batched.stage == nullptr) plan.batched.stage = plan.stage->batched;
    if (plan.stage->uses_torch && plan.batched.stage == nullptr)
        throw InputError(Field{"stage"}, "" + std::string(plan.stage->name) + " has no batched form in this build");
    Scenario& scenario = plan.options.scenario;
    if (scenario.data_from_files()) {
        validate(scenario); // both files named
        const Array2D x = read_matrix("--x", scenario.x_file, plan.notes);
        const Array2D d = read_matrix("--d", scenario.d_file, plan.notes);
        if (x.rows != d.rows || x.cols != d.cols)
            throw InputError(Field{"d"}, "" + scenario.d_file + " has shape " + shape(d) + " and " + scenario.x_file +
                                             " has shape " + shape(x) +
                                             "; x and d must both be N x R (one column per realization)");
        scenario.samples = static_cast<std::int64_t>(x.rows);
        plan.options.realizations = static_cast<std::int64_t>(x.cols);
        plan.input_power = input_power(x.values);
        plan.lag_one = lag_one(x.values, x.rows, x.cols);
        if (!(plan.input_power > 0))
            throw InputError(Field{"x"}, "" + scenario.x_file + " holds only zeros; the filter cannot learn from it");
        plan.x = x.values;
        plan.d = d.values;
    }
    check_ensemble_options(plan.options, !scenario.data_from_files(), stage == nullptr || stage->uses_torch);
    plan.theory = predict_for(scenario, plan.input_power, *plan.stage);
    return plan;
}

std::string ensemble_report(const EnsembleRun& run) {
    if (run.is_member()) return member_report(run);
    const EnsembleResult& r = run.result;
    const TheoryPrediction& t = run.theory;
    const SteadyStateComparison& s = run.steady;
    std::string text = "lmsref ensemble: " + describe_ensemble(run) + "\n" + realizations_line(r);
    text += "  stage          " + stage_line(run) + "\n";
    if (r.generated) text += "  rng            " + rng_description(r.rng) + "\n";
    if (r.decimate > 1) text += fmt::format("  curves         every {} samples (--decimate)\n", r.decimate);
    if (t.coloured)
        text += coloured_input_lines(run);
    else if (!run.input_power_measured)
        text += "  input          white Gaussian, sx2 = 1\n";
    else if (run.lag_one.coloured())
        text += wrap_field("input", fmt::format("sx2 = mean(x^2) = {:.6g}, measured; COLOURED: {}; the theory assumes "
                                                "white input and does not describe these data",
                                                t.input_power, run.lag_one.describe()));
    else
        text += wrap_field("input", fmt::format("sx2 = mean(x^2) = {:.6g}, measured; the theory assumes white input "
                                                "(lag-1 autocorrelation {:.2g} ± {:.2g})",
                                                t.input_power, run.lag_one.rho, run.lag_one.standard_error));
    text += walk_lines(run);
    if (t.initial_weight_variance > 0)
        text += wrap_field("start", fmt::format("nn::Linear's default init, each weight uniform on (-1/sqrt(M), "
                                                "1/sqrt(M)): theory starts from E w(0) = 0, MSD(0) = ||wo_M||^2 + "
                                                "1/3 = {:.6g}",
                                                t.msd_curve.front()));
    if (t.coloured)
        ; // coloured_input_lines gave the bounds
    else if (t.past_mean_square_bound)
        text +=
            fmt::format("  step bounds    eta = {:g} is PAST the mean-square bound 2/((M + 2) sx2) = {:.6g}{}: no "
                        "steady state, theory's MSD grows by a factor a = {:.6g} per sample\n",
                        run.scenario.step_size, t.mean_square_bound,
                        t.past_mean_bound ? fmt::format(" and the mean bound 2/sx2 = {:.6g}", t.mean_bound) : "", t.a);
    else
        text += fmt::format("  step bounds    eta = {:g} is below 2/((M + 2) sx2) = {:.6g} (mean square) and 2/sx2 = "
                            "{:.6g} (mean)\n",
                            run.scenario.step_size, t.mean_square_bound, t.mean_bound);

    text += fmt::format("  steady state   the last quarter, n = {} ... {}; ± one standard error over realizations\n",
                        s.first_sample, r.samples - 1);
    const Verdict v = verdict(run);
    const std::string standard_error =
        r.completed_realizations < 2 ? "n/a" : fmt::format("{:.2g}", s.mse_standard_error);
    if (!run.scenario.system_known) {
        text += row("MSE", fmt::format("{:.6g} ± {}", s.mse, standard_error), "", "");
        text += wrap_field("theory", "none: the system behind --x and --d is unknown, so there is no MSD, no J_min and "
                                     "no theory to compare with; give --wo and --sigmav2 if they describe it");
        text += divergence_lines(run, v);
        return text + time_lines(run);
    }
    text += row("", "simulated", "theory", "gap");
    const std::string theory_mse = t.past_mean_square_bound ? "none" : fmt::format("{:.6g}", t.mse);
    const bool limit_apart = !t.past_mean_square_bound && !s.theory_settled;
    text += row("MSE", fmt::format("{:.6g} ± {}", s.mse, standard_error), theory_mse,
                t.past_mean_square_bound ? "-"
                : limit_apart            ? percent(s.relative_gap) + " " + limit_note(s)
                                         : percent(s.relative_gap) + " " + v.gap_note);
    if (limit_apart) text += window_row(s, v.gap_note);
    text += row("EMSE", v.emse_resolved ? fmt::format("{:.6g}", s.emse) : "not resolved",
                t.past_mean_square_bound ? "none" : fmt::format("{:.6g}", t.emse),
                t.past_mean_square_bound || !v.emse_resolved
                    ? "-"
                    : percent(s.emse_relative_gap) + (limit_apart ? " (to the limit)" : ""));
    text += row("misadjustment",
                v.emse_resolved && std::isfinite(s.misadjustment) ? fmt::format("{:.6g}", s.misadjustment) : "-",
                t.past_mean_square_bound ? "none" : fmt::format("{:.6g}", t.misadjustment), "");
    text += row("J_min", "", fmt::format("{:.6g}", t.j_min), "");
    if (!v.emse_resolved)
        text += wrap_field("", "EMSE = MSE - J_min is within two standard errors of 0 (or R < 2): more realizations "
                               "or samples resolve it");
    text += wrap_field("verdict", v.sentence);
    text += divergence_lines(run, v);
    const CurveFit fit = curve_fit(run);
    if (std::isfinite(fit.mean_relative_gap))
        text += fmt::format("  MSE curve      mean |simulated / theory - 1| = {} over n >= {} (sampling noise "
                            "alone: about {:.2f} %)\n",
                            percent(fit.mean_relative_gap).substr(1), fit.first_sample, 100.0 * fit.noise_level);
    return text + time_lines(run);
}

std::string ensemble_summary_json(const EnsembleRun& run) {
    const EnsembleResult& r = run.result;
    const TheoryPrediction& t = run.theory;
    const SteadyStateComparison& s = run.steady;
    Json json{{"lmsref", lmsref_version()},
              {"command", "ensemble"},
              {"stage", run.stage != nullptr ? std::string(run.stage->name) : "numpy"},
              {"device", to_string(run.device)},
              {"scenario", scenario_json(run.scenario, run.scenario.samples, false)},
              {"realizations", r.completed_realizations}};
    if (r.generated) {
        json["seeds"] = {{"first", r.first_seed}, {"last", r.last_seed}};
        json["rng"] = {{"name", to_string(r.rng)}, {"description", rng_description(r.rng)}};
    }
    json["decimate"] = r.decimate;
    const bool known = run.scenario.system_known;
    json["curves"] = {
        {"mse", r.mse.size()}, {"msd", known ? Json(r.msd.size()) : Json(nullptr)}, {"meanw_rows", r.meanw_rows()}};
    json["input_power"] = {{"sx2", t.input_power}, {"measured", run.input_power_measured}};
    if (run.input_power_measured)
        json["input_whiteness"] = {{"lag1_autocorrelation", run.lag_one.rho},
                                   {"standard_error", run.lag_one.standard_error},
                                   {"coloured", run.lag_one.coloured()}};
    json["theory"] = {{"start", t.start == StartModel::prewindowed ? "prewindowed" : "stationary"},
                      {"initial_weight_variance", t.initial_weight_variance},
                      {"j_min", t.j_min},
                      {"mean_bound", t.mean_bound},
                      {"mean_square_bound", t.mean_square_bound},
                      {"past_mean_bound", t.past_mean_bound},
                      {"past_mean_square_bound", t.past_mean_square_bound},
                      {"a", t.a},
                      {"emse", t.emse},
                      {"mse", t.mse},
                      {"msd", t.msd},
                      {"misadjustment", t.misadjustment}};
    if (t.coloured) {
        json["theory"]["eigenvalues"] = t.eigenvalues;
        json["theory"]["maxstep_bound"] = t.maxstep_bound;
    }
    if (t.walk > 0) {
        json["theory"]["walk"] = t.walk;
        json["theory"]["optimal_step"] = t.optimal_step;
        json["theory"]["optimal_emse"] = t.optimal_emse;
    }
    if (!known)
        json["theory"] = {{"none", "the system behind --x and --d is unknown: give --wo and --sigmav2 if they describe "
                                   "it"},
                          {"mean_bound", t.mean_bound},
                          {"mean_square_bound", t.mean_square_bound},
                          {"past_mean_square_bound", t.past_mean_square_bound}};
    if (run.is_member()) {
        const MemberTheory& m = run.member_theory;
        const FamilyOptions& f = run.family;
        json["algorithm"] = {{"name", std::string(member_of(run.algorithm).name)},
                             {"update", std::string(member_of(run.algorithm).update)},
                             {"settings", member_settings(run.algorithm, run.family)},
                             {"options",
                              {{"eps", f.eps},
                               {"gamma", f.gamma},
                               {"beta", f.beta},
                               {"huber_delta", f.huber_delta},
                               {"lambda", f.lambda},
                               {"rls_delta", f.rls_delta}}}};
        json["theory"] = {{"known", m.known},
                          {"none", m.known ? Json(nullptr) : Json(m.none)},
                          {"model", m.model},
                          {"basis", m.basis},
                          {"curves", m.curves},
                          {"bound", m.bound},
                          {"past_bound", m.past_bound},
                          {"j_min", t.j_min},
                          {"emse", m.known ? Json(t.emse) : Json(nullptr)},
                          {"mse", m.known ? Json(t.mse) : Json(nullptr)}};
    } else {
        json["algorithm"] = {{"name", "lms"}, {"update", "w += eta e x"}, {"settings", ""}};
    }
    const Verdict v = verdict(run);
    const auto or_null = [](bool is_known, double value) { return is_known ? Json(value) : Json(nullptr); };
    json["simulated"] = {{"steady_state_first_sample", s.first_sample},
                         {"mse", s.mse},
                         {"mse_standard_error", or_null(r.completed_realizations >= 2, s.mse_standard_error)},
                         {"emse", or_null(known && v.emse_resolved, s.emse)},
                         {"emse_resolved", known && v.emse_resolved},
                         {"misadjustment", or_null(known && v.emse_resolved, s.misadjustment)},
                         {"window_drop", or_null(s.settling_known, s.window_drop)},
                         {"drop_in_standard_errors", or_null(s.settling_known, s.drop_in_standard_errors)},
                         {"settled", s.settling_known ? Json(s.settled) : Json(nullptr)},
                         {"finite", r.finite}};
    Json first_diverged = Json::array();
    for (std::int64_t k : r.first_diverged) first_diverged.push_back(realization_name(r, k));
    json["divergence"] = {{"level", r.divergence_level},
                          {"rule", "steady-state mean e^2 not finite or above 1e12 mean(d^2)"},
                          {"diverged", r.diverged},
                          {"first", first_diverged},
                          {"kept_in_mean", r.diverged > 0}};
    json["largest_realization"] = {{"name", r.largest_steady_realization >= 0
                                                ? Json(realization_name(r, r.largest_steady_realization))
                                                : Json(nullptr)},
                                   {"steady_mse", r.largest_steady},
                                   {"share_of_mean", r.largest_steady_share()},
                                   {"dominates", v.dominated}};
    json["verdict"] = known && !run.is_member() ? Json(v.sentence) : Json(nullptr);
    const CurveFit fit = curve_fit(run);
    json["gap"] = {
        {"mse_relative", s.relative_gap},
        {"emse_relative", s.emse_relative_gap},
        {"mse_in_standard_errors", or_null(r.completed_realizations >= 2 && !v.dominated, s.gap_in_standard_errors)},
        {"theory_window_mse", s.predicted_window_mse},
        {"theory_settled", s.theory_settled},
        {"mse_relative_to_window", s.window_relative_gap},
        {"curve_first_sample", fit.first_sample},
        {"curve_mean_relative_gap", fit.mean_relative_gap},
        {"curve_sampling_noise", fit.noise_level}};
    if (!known || (run.is_member() && !run.member_theory.known)) json["gap"] = nullptr;
    json["timing"] = {{"threads", r.threads},
                      {"ranks", r.ranks},
                      {"seconds", r.seconds},
                      {"ns_per_realization_sample", r.ns_per_realization_sample()}};
    if (run.device == Device::cuda && !run.stage->uses_torch) {
        json["timing"]["kernel_seconds"] = r.kernel_seconds;
        json["timing"]["add_kernel_seconds"] = r.add_kernel_seconds;
    }
    return json_text(json);
}

void write_ensemble(const std::string& dir, const EnsembleRun& run, FileFormat format) {
    const EnsembleResult& r = run.result;
    const auto path = [&](const char* name) {
        return (std::filesystem::path(dir) / name).string() + extension(format);
    };
    write_array(path("mse"), column(r.mse), format);
    Array2D meanw(static_cast<std::size_t>(r.meanw_rows()), static_cast<std::size_t>(r.taps));
    meanw.values = r.meanw;
    write_array(path("meanw"), meanw, format);
    if (run.scenario.system_known) { // the MSD and the theory need wo and sigmav2
        write_array(path("msd"), column(r.msd), format);
        if (!run.theory.mse_curve.empty())
            write_array(path("mse_theory"), column(decimated(run.theory.mse_curve, r.decimate)), format);
        if (!run.theory.msd_curve.empty())
            write_array(path("msd_theory"), column(decimated(run.theory.msd_curve, r.decimate)), format);
    }
    write_file_atomically((std::filesystem::path(dir) / "summary.json").string(), ensemble_summary_json(run));
}

std::string ensemble_comparison_report(const EnsembleComparison& comparison) {
    const EnsembleStageRun& first = comparison.stages.front();
    std::string text;
    if (first.run) {
        const EnsembleRun& run = *first.run;
        text += "lmsref ensemble --stage all: " + describe_ensemble(run) + "\n";
        text += fmt::format("R = {}, device {} (the plain numpy engine on cpu, {} thread{}), LibTorch {}, tolerance "
                            "{:g}\n\n",
                            run.result.completed_realizations, to_string(comparison.device), run.result.threads,
                            run.result.threads == 1 ? "" : "s", libtorch_version(), comparison.tolerance);
    }
    text += fmt::format("{:<12} {:>9} {:>10}  {:<11} {:<11} {:<11} {}\n", "stage", "seconds", "ns/(r n)", "mse", "msd",
                        "meanw", "verdict");
    std::string notes;
    for (const EnsembleStageRun& s : comparison.stages) {
        if (!s.run) {
            text += fmt::format("{:<12} {:>9} {:>10}  {:<11} {:<11} {:<11} {}\n", s.stage->name, "-", "-", "-", "-",
                                "-", "FAILED");
            notes += s.failure + "\n";
            continue;
        }
        const EnsembleResult& r = s.run->result;
        const bool reference = &s == &comparison.stages.front();
        const auto cell = [&](double difference) {
            return reference ? std::string("(reference)") : fmt::format("{:.3e}", difference);
        };
        std::string verdict = "ref";
        if (!reference)
            verdict = !s.stage->starts_from_zero                       ? "differs (random init)"
                      : s.largest_difference() <= comparison.tolerance ? "ok"
                                                                       : "MISMATCH";
        text +=
            fmt::format("{:<12} {:>9.3f} {:>10.1f}  {:<11} {:<11} {:<11} {}\n", s.stage->name, r.seconds,
                        r.ns_per_realization_sample(), reference ? "(reference)" : cell(s.mse_difference),
                        reference ? "" : cell(s.msd_difference), reference ? "" : cell(s.meanw_difference), verdict);
    }
    text += "\nmse, msd, meanw: max |curve - numpy's| / max |numpy's|; ns/(r n): wall time per realization-sample, "
            "data generation included.\n";
    std::size_t zero_init = 0, agreeing = 0;
    for (const EnsembleStageRun& s : comparison.stages)
        if (s.stage->starts_from_zero && &s != &comparison.stages.front()) {
            ++zero_init;
            agreeing += s.run && s.largest_difference() <= comparison.tolerance ? 1 : 0;
        }
    text += fmt::format("{} of {} zero-init LibTorch stages agree with the plain engine to {:g}.\n", agreeing,
                        zero_init, comparison.tolerance);
    return text + notes;
}

std::string members_report(const std::vector<EnsembleMemberRun>& runs) {
    const auto first = std::find_if(runs.begin(), runs.end(), [](const EnsembleMemberRun& m) { return m.run; });
    std::string text, notes, failures;
    if (first != runs.end()) {
        const EnsembleRun& run = *first->run;
        text += "lmsref ensemble: " + describe_ensemble(run) + "\n" + realizations_line(run.result);
        if (run.result.generated) text += "  rng            " + rng_description(run.result.rng) + "\n";
        text += fmt::format("  steady state   the last quarter, n = {} ... {}; ± one standard error over "
                            "realizations\n\n",
                            run.steady.first_sample, run.result.samples - 1);
    }
    text +=
        fmt::format("{:<42} {:<22} {:<10} {:<24} {:>9}\n", "algorithm", "MSE simulated", "theory", "gap", "ns/(r n)");
    for (const EnsembleMemberRun& m : runs) {
        const std::string name(member_of(m.algorithm).name);
        if (!m.run) {
            text += fmt::format("{:<42} {:<22} {:<10} {:<24} {:>9}\n", name, "FAILED", "-", "-", "-");
            failures += m.failure + "\n";
            continue;
        }
        const EnsembleRun& run = *m.run;
        const SteadyStateComparison& s = run.steady;
        const bool lms = !run.is_member();
        const bool known =
            run.scenario.system_known && (lms ? !run.theory.past_mean_square_bound : run.member_theory.known);
        const Settling state = lms || !known ? Settling::settled : steady_theory_settling(run);
        const bool unsettled = state == Settling::not_settled;
        // Where theory's curve has not reached its limit over the window, its mean there is the prediction shown.
        const bool limit_apart = known && !s.theory_settled;
        const double relative_gap = limit_apart ? s.window_relative_gap : s.relative_gap;
        std::string gap = "-";
        if (known)
            gap = run.theory.j_min == 0.0 ? percent(relative_gap) + " (J_min = 0)"
                  : unsettled             ? percent(relative_gap) + " (not settled)"
                  : run.result.completed_realizations >= 2 && s.mse_standard_error > 0
                      ? fmt::format("{} ({:+.1f} se)", percent(relative_gap), s.gap_in_standard_errors)
                      : percent(relative_gap);
        text += fmt::format(
            "{:<42} {:<22} {:<10} {:<24} {:>9.1f}\n", lms ? name : member_label(run),
            fmt::format("{:.6g} ± {}", s.mse,
                        run.result.completed_realizations >= 2 ? fmt::format("{:.2g}", s.mse_standard_error) : "n/a"),
            known ? fmt::format("{:.6g}", limit_apart ? s.predicted_window_mse : run.theory.mse) : "none", gap,
            run.result.ns_per_realization_sample());
        if (!run.scenario.system_known) continue;
        const std::string basis =
            lms ? std::string("the Gaussian second-moment recursion, independence assumption (exact under it)")
            : run.member_theory.known ? run.member_theory.model + (run.member_theory.curves ? "" : " (steady state)") +
                                            "; " + run.member_theory.basis
                                      : "none: " + run.member_theory.none;
        notes += wrap_field(name, basis);
        if (limit_apart)
            notes += wrap_field("", fmt::format("theory's curve has not reached its limit {:.6g} by n = {}: the "
                                                "theory column gives its mean over the window",
                                                run.theory.mse, s.first_sample));
        if (unsettled)
            notes += wrap_field("", fmt::format("not settled: the MSE still {} through the window ({}); more "
                                                "samples (-N) let it settle",
                                                moves(s), window_fall(s)));
        else if (state == Settling::perhaps && std::abs(s.gap_in_standard_errors) > 3.0)
            notes += wrap_field("", fmt::format("perhaps not settled: the MSE may still {} through the window ({}); "
                                                "more samples (-N) tell",
                                                s.window_drop < 0 ? "rise" : "fall", window_fall(s)));
        if (run.result.diverged > 0)
            notes += wrap_field("", fmt::format("{} of {} realizations diverged ({}); kept in the mean "
                                                "(--allow-divergence)",
                                                run.result.diverged, run.result.completed_realizations,
                                                diverged_names(run.result)));
    }
    text += "\nse: standard errors of the simulation over realizations; ns/(r n): wall time per realization-sample, "
            "data generation included.\ntheory:\n" +
            notes;
    return text + failures;
}

std::string members_json(const std::vector<EnsembleMemberRun>& runs) {
    Json json{{"lmsref", lmsref_version()}, {"command", "ensemble --algorithm"}};
    json["algorithms"] = Json::object();
    for (const EnsembleMemberRun& m : runs) {
        const std::string name(member_of(m.algorithm).name);
        if (!m.run) {
            json["algorithms"][name] = {{"failure", m.failure}};
            continue;
        }
        if (!json.contains("scenario")) {
            json["scenario"] = scenario_json(m.run->scenario, m.run->scenario.samples, false);
            json["realizations"] = m.run->result.completed_realizations;
        }
        json["algorithms"][name] = Json::parse(ensemble_summary_json(*m.run));
    }
    return json_text(json);
}

std::string member_programs_report(const std::vector<MemberProgramRun>& runs, double tolerance) {
    std::string text, failures;
    const auto first = std::find_if(runs.begin(), runs.end(), [](const MemberProgramRun& m) { return m.recursion; });
    if (first != runs.end()) {
        const EnsembleRun& run = *first->recursion;
        text += "lmsref ensemble --stage all --algorithm: " + describe_ensemble(run) + "\n";
        text += fmt::format("R = {}, each member's plain recursion (cpu, {} thread{}) and its LibTorch program batched "
                            "(LibTorch {}), tolerance {:g}\n\n",
                            run.result.completed_realizations, run.result.threads, run.result.threads == 1 ? "" : "s",
                            libtorch_version(), tolerance);
    }
    text += fmt::format("{:<12} {:>18} {:>18}  {:<11} {:<11} {:<11} {}\n", "member", "recursion ns/(r n)",
                        "program ns/(r n)", "mse", "msd", "meanw", "verdict");
    std::size_t agreeing = 0;
    for (const MemberProgramRun& m : runs) {
        const std::string name(member_of(m.algorithm).name);
        if (!m.recursion || !m.program) {
            text +=
                fmt::format("{:<12} {:>18} {:>18}  {:<11} {:<11} {:<11} {}\n", name, "-", "-", "-", "-", "-", "FAILED");
            failures += m.failure + "\n";
            continue;
        }
        const bool within = m.largest_difference() <= tolerance;
        agreeing += within ? 1 : 0;
        text +=
            fmt::format("{:<12} {:>18.1f} {:>18.1f}  {:<11.3e} {:<11.3e} {:<11.3e} {}\n", name,
                        m.recursion->result.ns_per_realization_sample(), m.program->result.ns_per_realization_sample(),
                        m.mse_difference, m.msd_difference, m.meanw_difference, within ? "ok" : "MISMATCH");
    }
    text += fmt::format("\nmse, msd, meanw: max |curve - recursion's| / max |recursion's|; ns/(r n): wall time per "
                        "realization-sample, data generation included.\n{} of {} LibTorch programs "
                        "agree with their recursions to {:g}.\n",
                        agreeing, runs.size(), tolerance);
    return text + failures;
}

std::string member_programs_json(const std::vector<MemberProgramRun>& runs, double tolerance) {
    Json json{{"lmsref", lmsref_version()},
              {"libtorch", libtorch_version()},
              {"command", "ensemble --stage all --algorithm"},
              {"tolerance", tolerance},
              {"algorithms", Json::object()}};
    for (const MemberProgramRun& m : runs) {
        Json& entry = json["algorithms"][std::string(member_of(m.algorithm).name)];
        if (!m.recursion || !m.program) {
            entry = {{"failure", m.failure}};
            continue;
        }
        if (!json.contains("scenario")) {
            json["scenario"] = scenario_json(m.recursion->scenario, m.recursion->scenario.samples, false);
            json["realizations"] = m.recursion->result.completed_realizations;
        }
        entry = {{"recursion_ns_per_realization_sample", m.recursion->result.ns_per_realization_sample()},
                 {"program_ns_per_realization_sample", m.program->result.ns_per_realization_sample()},
                 {"max_relative_difference",
                  {{"mse", m.mse_difference}, {"msd", m.msd_difference}, {"meanw", m.meanw_difference}}},
                 {"within_tolerance", m.largest_difference() <= tolerance}};
    }
    return json_text(json);
}

std::string ensemble_comparison_json(const EnsembleComparison& comparison) {
    Json json{{"lmsref", lmsref_version()},        {"libtorch", libtorch_version()},
              {"command", "ensemble --stage all"}, {"device", to_string(comparison.device)},
              {"tolerance", comparison.tolerance}, {"agrees", comparison.agrees()}};
    if (const auto& first = comparison.stages.front(); first.run) {
        json["scenario"] = scenario_json(first.run->scenario, first.run->scenario.samples, false);
        json["realizations"] = first.run->result.completed_realizations;
    }
    json["stages"] = Json::object();
    for (const EnsembleStageRun& s : comparison.stages) {
        Json& stage = json["stages"][std::string(s.stage->name)];
        if (!s.run) {
            stage["failure"] = s.failure;
            continue;
        }
        stage["device"] = to_string(s.run->device);
        stage["threads"] = s.run->result.threads;
        stage["seconds"] = s.run->result.seconds;
        stage["ns_per_realization_sample"] = s.run->result.ns_per_realization_sample();
        stage["expected_to_match_numpy"] = s.stage->starts_from_zero;
        stage["max_relative_difference"] = {
            {"mse", s.mse_difference}, {"msd", s.msd_difference}, {"meanw", s.meanw_difference}};
    }
    return json_text(json);
}

} // namespace lmsref

namespace lmsref {

namespace {

/// summary.json of `dir`, when it is an ensemble's (its "command" is "ensemble"); null otherwise.
Json ensemble_summary_of(const std::string& dir) {
    const std::filesystem::path path = std::filesystem::path(dir) / "summary.json";
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) return nullptr;
    Json json = Json::parse(read_file(path.string()), nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("command") || !json["command"].is_string() ||
        json["command"].get<std::string>() != "ensemble")
        return nullptr;
    return json;
}

/// The file `name` of a saved set, whichever of the formats it was written in.
std::string saved_file(const std::string& dir, const std::string& name) {
    for (const char* ext : {".npy", ".csv"}) {
        const std::string path = (std::filesystem::path(dir) / (name + ext)).string();
        std::error_code error;
        if (std::filesystem::is_regular_file(path, error)) return path;
    }
    throw InputError(dir + ": holds no " + name + ".npy or " + name + ".csv; it is not a whole ensemble output set");
}

} // namespace

bool is_ensemble_output(const std::string& dir) {
    return !ensemble_summary_of(dir).is_null();
}

EnsembleRun load_ensemble_run(const std::string& dir) {
    const Json summary = ensemble_summary_of(dir);
    if (summary.is_null()) throw InputError(dir + ": no summary.json of an `lmsref ensemble` in it");
    try {
        EnsembleRun run;
        const Json& s = summary.at("scenario");
        Scenario& scenario = run.scenario;
        scenario.samples = s.at("N").get<std::int64_t>();
        scenario.taps = s.at("M").get<std::int64_t>();
        scenario.step_size = s.at("eta").get<double>();
        scenario.x_file = s.value("x_file", "");
        scenario.d_file = s.value("d_file", "");
        scenario.system_known = s.value("system_known", true);
        if (scenario.system_known) {
            scenario.noise_variance = s.at("sigmav2").get<double>();
            scenario.wo = s.at("wo").get<std::vector<double>>();
        }
        if (s.contains("seed")) scenario.seed = s.at("seed").get<std::uint32_t>();
        if (s.contains("ar1")) scenario.input_ar1 = s.at("ar1").get<double>();
        scenario.walk = s.value("walk", 0.0);
        if (scenario.samples < 1 || scenario.taps < 1 || summary.at("decimate").get<std::int64_t>() < 1)
            throw InputError(dir + "/summary.json: N, M or decimate below 1; it is not a summary lmsref wrote");
        const std::string stage_name = summary.at("stage").get<std::string>();
        run.stage = &find_stage(stage_name);
        run.device = summary.at("device").get<std::string>() == "cuda" ? Device::cuda : Device::cpu;
        run.input_power_measured = summary.at("input_power").at("measured").get<bool>();
        const double sx2 = summary.at("input_power").at("sx2").get<double>();
        if (summary.contains("input_whiteness")) {
            run.lag_one.rho = summary["input_whiteness"].at("lag1_autocorrelation").get<double>();
            run.lag_one.standard_error = summary["input_whiteness"].at("standard_error").get<double>();
        }

        EnsembleResult& r = run.result;
        r.samples = scenario.samples;
        r.taps = scenario.taps;
        r.completed_realizations = r.realizations = summary.at("realizations").get<std::int64_t>();
        r.decimate = summary.at("decimate").get<std::int64_t>();
        r.generated = summary.contains("rng");
        if (r.generated) r.rng = parse_rng(summary["rng"].at("name").get<std::string>());
        r.diverged = summary.at("divergence").at("diverged").get<std::int64_t>();
        r.mse = read_array(saved_file(dir, "mse")).values;
        r.meanw = read_array(saved_file(dir, "meanw")).values;
        if (scenario.system_known) r.msd = read_array(saved_file(dir, "msd")).values;
        run.steady.first_sample = summary.at("simulated").at("steady_state_first_sample").get<std::int64_t>();
        run.steady.mse = summary.at("simulated").at("mse").get<double>();
        const Json settled = summary.at("simulated").value("settled", Json(nullptr));
        run.steady.settling_known = settled.is_boolean();
        run.steady.settled = !settled.is_boolean() || settled.get<bool>();
        const Json gap = summary.value("gap", Json(nullptr));
        run.steady.theory_settled = !gap.is_object() || gap.value("theory_settled", true);
        if (r.mse.size() != static_cast<std::size_t>((r.samples - 1) / r.decimate + 1) ||
            r.meanw.size() != static_cast<std::size_t>((r.samples / r.decimate + 1) * r.taps))
            throw InputError(
                dir + ": its curves do not have the lengths summary.json gives (N = " + std::to_string(r.samples) +
                ", M = " + std::to_string(r.taps) + ", decimate = " + std::to_string(r.decimate) + ")");
        // The theory again, once the files' lengths have confirmed N and M (they bound what it allocates).
        const double variance = summary.at("theory").value("initial_weight_variance", 0.0);
        run.theory = predict(scenario, sx2, StartModel::prewindowed, variance);
        if (summary.contains("algorithm") && summary["algorithm"].at("name").get<std::string>() != "lms") {
            run.algorithm = find_member(summary["algorithm"].at("name").get<std::string>()).id;
            const Json& o = summary["algorithm"].at("options");
            FamilyOptions& f = run.family;
            f.eps = o.at("eps").get<double>();
            f.gamma = o.at("gamma").get<double>();
            f.beta = o.at("beta").get<double>();
            f.huber_delta = o.at("huber_delta").get<double>();
            f.lambda = o.at("lambda").get<double>();
            f.rls_delta = o.at("rls_delta").get<double>();
            run.member_theory = predict_member(scenario, sx2, run.algorithm, run.family);
            run.theory = run.member_theory.prediction;
        }
        return run;
    } catch (const Json::exception& error) {
        throw InputError(dir + "/summary.json: not an ensemble summary lmsref can read (" + error.what() + ")");
    }
}

} // namespace lmsref
