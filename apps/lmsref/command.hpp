// The commands of lmsref, each a plain function over the options (commands/<command>.cpp), and what they share:
// the scenario from the options, the data, publishing an output set once standard output took everything.
#pragma once

#include "apps/lmsref/options.hpp"
#include "io/output_set.hpp"
#include "lms/family.hpp"
#include "lms/scenario.hpp"
#include "lms/stage.hpp"
#include "plot/figures.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace lmsref::cli {

int run_one_stage(const Stage& stage, const Options& o);
int run_compare(const Options& o);
int run_data(const Options& o);
int run_ensemble_command(const Options& o);
int run_bench(const Options& o);
int run_plot(const Options& o);
int run_basics(const Options& o);
int run_list(const Options& o);
int run_family(const Options& o);

/// The scenario the options describe, checked.
/// The scenario of the options. files_may_describe_system: with --x/--d, --wo and --sigmav2 may (together) describe
/// the system that made d (`ensemble`); elsewhere they are refused with files.
Scenario scenario_from(const Options& o, bool files_may_describe_system = false);
/// --x-scale (or plot's --log-x) and --size.
DrawOptions draw_options(const Options& o);
/// The scenario's data, with a note on standard error for each file whose dtype was converted.
Data load_data(const Scenario& scenario);
/// Before the work: a step size past the mean-square stability bound is worth a word, not a refusal.
void warn_about_step_size(const Scenario& scenario, const Data& data);
/// --seed: NumPy's seeds are 32-bit.
std::uint32_t numpy_seed(const std::string& text);
/// A whole number option with an upper bound (the lower bounds are validate()'s).
std::int64_t bounded_integer(const std::string& option, const std::string& text, const char* symbol, std::int64_t max);
/// The family's settings (--eps, --gamma, --beta, --huber-delta, --lambda, --rls-delta), each checked; one given for
/// none of `members` is refused (it would change nothing).
FamilyOptions family_options(const Options& o, const std::vector<const FamilyMember*>& members);
/// Whether any of `ids` is among `members`.
bool runs_any(const std::vector<const FamilyMember*>& members, std::initializer_list<FamilyId> ids);
/// --tolerance: finite and >= 0.
double parse_tolerance(const std::string& text);

/// Throws RuntimeFailure, saying `consequence`, unless everything printed so far has reached standard output.
void check_standard_output(const std::string& consequence);
/// Publishes the run's outputs once what it printed, `closing` included, has reached standard output.
void publish(OutputSet& outputs, const std::string& closing = "");
/// A plot request is checked before any work: a build without plotting, an unknown image type.
void check_plot_request(const std::string& target);
/// Where to write a file target (--plot, --json, --out) within the output set; "-" and "" stay as they are.
std::string staged_file(OutputSet& outputs, const std::string& target, const char* option);
/// What a command that returned `code` ends with: its code once everything it printed has reached standard output,
/// else a one-line error and exit code 2.
int checked_exit(int code);

} // namespace lmsref::cli
