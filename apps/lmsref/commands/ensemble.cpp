// lmsref ensemble: Monte Carlo learning curves over realizations beside the theory; --stage all.
#include "apps/lmsref/command.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "ensemble/mpi_team.hpp"
#include "ensemble/run.hpp"
#include "io/array_io.hpp"
#include "io/files.hpp"
#include "lms/torch_module.hpp"
#include "plot/figures.hpp"
#include "plot/plot.hpp"
#include "report/ensemble_report.hpp"
#include "report/report.hpp"
#include "stages/libtorch.hpp"
#include "stages/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>

#include <unistd.h>

namespace lmsref::cli {

/// The progress line of a long ensemble on standard error: realizations done, their rate, the time left. On a
/// terminal it is one line redrawn in place (and erased at the end); elsewhere (`--progress always` into a log) a
/// line every few seconds. `auto` shows it on a terminal once the run has taken a second.
class ProgressLine {
public:
    enum class Mode { automatic, always, never };

    ProgressLine(std::int64_t total, Mode mode)
        : total_(total), mode_(mode), terminal_(::isatty(STDERR_FILENO) == 1), start_(Clock::now()), last_(start_) {}

    /// Called by the engine after each block, with its lock held: quick unless a line is due.
    void operator()(std::int64_t done) {
        if (mode_ == Mode::never || (mode_ == Mode::automatic && !terminal_)) return;
        const auto now = Clock::now();
        const double elapsed = seconds(now - start_);
        if (mode_ == Mode::automatic && elapsed < 1.0) return;
        if (done < total_ && shown_ && seconds(now - last_) < (terminal_ ? 0.1 : 5.0)) return;
        last_ = now;
        shown_ = true;
        const double rate = static_cast<double>(done) / std::max(elapsed, 1e-9);
        const std::string line =
            fmt::format("lmsref ensemble: {} of {} realizations, {:.0f} per second, {:.0f} s left", done, total_, rate,
                        static_cast<double>(total_ - done) / std::max(rate, 1e-9));
        std::cerr << (terminal_ ? "\r\033[K" + line : line + "\n") << std::flush;
    }

    /// Erases the line from a terminal.
    void finish() const {
        if (shown_ && terminal_) std::cerr << "\r\033[K" << std::flush;
    }

    static Mode parse(const std::string& text) {
        static const Choice<Mode> choices[] = {
            {"auto", Mode::automatic}, {"always", Mode::always}, {"never", Mode::never}};
        return parse_choice(Field{"progress"}, text, "a progress mode", choices);
    }

private:
    using Clock = std::chrono::steady_clock;
    static double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
    std::int64_t total_;
    Mode mode_;
    bool terminal_;
    Clock::time_point start_;
    Clock::time_point last_;
    bool shown_ = false;
};

/// --stage of `ensemble`: a stage of the table, or nullptr for `all`.
const Stage* ensemble_stage(const std::string& text) {
    if (text == "all") return nullptr;
    try {
        return &find_stage(text);
    } catch (const InputError& error) {
        throw InputError(std::string("--stage: ") + error.what() + ", or all");
    }
}

/// Runs `step` on rank 0 of an MPI launch only (all of it when alone: team null); a failure there is every rank's
/// (Team::check), so that no rank is left waiting for the others and all exit with rank 0's code.
template <class Step> void on_rank_zero(Team* team, const Step& step) {
    if (team == nullptr) return step();
    std::exception_ptr failure;
    if (team->rank() == 0) try {
            step();
        } catch (...) {
            failure = std::current_exception();
        }
    team->check(failure);
}

/// An ensemble's output set: the folder, summary and figure it will publish, staged on rank 0 alone (a rank that
/// writes nothing stages nothing).
struct EnsembleOutputs {
    OutputSet outputs{is_output_name};
    std::string out_dir, json, plot;
    EnsembleOutputs(const Options& o, Team* team) {
        on_rank_zero(team, [&] {
            out_dir = o.out_dir.empty() ? "" : outputs.folder(o.out_dir, "--out-dir");
            json = staged_file(outputs, o.json, "--json");
            plot = staged_file(outputs, o.plot, "--plot");
        });
    }
};

void publish_comparison(const Options& o, const EnsembleComparison& comparison, OutputSet& outputs,
                        const std::string& out_dir, const std::string& json, const std::string& plot, FileFormat format,
                        const DrawOptions& draw);

/// `ensemble --stage all`: every stage on the same realizations, their curves against the plain engine's.
int run_ensemble_comparison(const Options& o, const EnsemblePlan& plan, FileFormat format, const DrawOptions& draw) {
    const double tolerance = parse_tolerance(o.tolerance);
    EnsembleOutputs staged(o, plan.options.team);
    OutputSet& outputs = staged.outputs;
    const std::string &out_dir = staged.out_dir, &json = staged.json, &plot = staged.plot;
    const EnsembleComparison comparison = compare_ensemble_stages(plan, tolerance);
    std::cout << ensemble_comparison_report(comparison) << std::flush;
    if (comparison.failed()) {
        if (!out_dir.empty() || !json.empty() || !plot.empty()) std::cout << "nothing was written: a stage failed\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    on_rank_zero(plan.options.team,
                 [&] { publish_comparison(o, comparison, outputs, out_dir, json, plot, format, draw); });
    return comparison.agrees() ? 0 : static_cast<int>(ExitCode::out_of_tolerance);
}

void publish_comparison(const Options& o, const EnsembleComparison& comparison, OutputSet& outputs,
                        const std::string& out_dir, const std::string& json, const std::string& plot, FileFormat format,
                        const DrawOptions& draw) {
    outputs.write([&] {
        if (!json.empty()) write_file_atomically(json, ensemble_comparison_json(comparison));
        if (!plot.empty()) render(sized(stage_comparison_figure(comparison, draw.x_scale), draw), plot);
        if (out_dir.empty()) return;
        for (const EnsembleStageRun& s : comparison.stages) {
            const std::string dir = (std::filesystem::path(out_dir) / std::string(s.stage->name)).string();
            std::filesystem::create_directory(dir);
            write_ensemble(dir, *s.run, format);
        }
        write_file_atomically((std::filesystem::path(out_dir) / "summary.json").string(),
                              ensemble_comparison_json(comparison));
    });
    publish(outputs, (out_dir.empty() ? "" : "outputs in " + o.out_dir + " (summary.json and one folder per stage)\n") +
                         (json.empty() ? "" : "wrote " + o.json + "\n") +
                         (plot.empty() || plot == "-" ? "" : "plot " + o.plot + "\n"));
}

/// `ensemble --stage all --algorithm A,B,...`: each member's LibTorch program, batched, against its recursion.
int run_member_programs(const Options& o, const EnsemblePlan& plan, const std::vector<const FamilyMember*>& members,
                        FileFormat format) {
    const double tolerance = parse_tolerance(o.tolerance);
    if (!o.plot.empty()) throw InputError("--plot: --stage all --algorithm draws nothing; give --algorithm alone");
    EnsembleOutputs staged(o, plan.options.team); // no --plot: refused above
    OutputSet& outputs = staged.outputs;
    const std::string &out_dir = staged.out_dir, &json = staged.json;
    std::vector<FamilyId> ids;
    for (const FamilyMember* member : members) ids.push_back(member->id);
    const std::vector<MemberProgramRun> runs = compare_member_programs(plan, ids, torch_module().family_batched);
    std::cout << member_programs_report(runs, tolerance) << std::flush;
    const bool failed = std::any_of(runs.begin(), runs.end(), [](const MemberProgramRun& m) { return !m.program; });
    if (failed) {
        if (!out_dir.empty() || !json.empty()) std::cout << "nothing was written: an algorithm failed\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    on_rank_zero(plan.options.team, [&] {
        outputs.write([&] {
            if (!json.empty()) write_file_atomically(json, member_programs_json(runs, tolerance));
            if (out_dir.empty()) return;
            for (const MemberProgramRun& m : runs) {
                const std::string dir =
                    (std::filesystem::path(out_dir) / std::string(member_of(m.algorithm).name)).string();
                std::filesystem::create_directory(dir);
                write_ensemble(dir, *m.program, format);
            }
            write_file_atomically((std::filesystem::path(out_dir) / "summary.json").string(),
                                  member_programs_json(runs, tolerance));
        });
        publish(outputs,
                (out_dir.empty() ? ""
                                 : "outputs in " + o.out_dir +
                                       " (summary.json and one folder per algorithm: its program's curves)\n") +
                    (json.empty() ? "" : "wrote " + o.json + "\n"));
    });
    const bool agree = std::all_of(runs.begin(), runs.end(),
                                   [&](const MemberProgramRun& m) { return m.largest_difference() <= tolerance; });
    return agree ? 0 : static_cast<int>(ExitCode::out_of_tolerance);
}

/// `ensemble --algorithm A,B,...`: each member on the same realizations, a line each, one figure.
int run_ensemble_members(const Options& o, const EnsemblePlan& plan, const std::vector<const FamilyMember*>& members,
                         FileFormat format, const DrawOptions& draw) {
    EnsembleOutputs staged(o, plan.options.team);
    OutputSet& outputs = staged.outputs;
    const std::string &out_dir = staged.out_dir, &json = staged.json, &plot = staged.plot;
    std::vector<FamilyId> ids;
    for (const FamilyMember* member : members) ids.push_back(member->id);
    const std::vector<EnsembleMemberRun> runs = run_members(plan, ids);
    std::cout << members_report(runs) << std::flush;
    if (std::any_of(runs.begin(), runs.end(), [](const EnsembleMemberRun& m) { return !m.run; })) {
        if (!out_dir.empty() || !json.empty() || !plot.empty())
            std::cout << "nothing was written: an algorithm failed\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
    on_rank_zero(plan.options.team, [&] {
        outputs.write([&] {
            if (!json.empty()) write_file_atomically(json, members_json(runs));
            if (!plot.empty()) render(sized(members_figure(runs, draw.x_scale), draw), plot);
            if (out_dir.empty()) return;
            for (const EnsembleMemberRun& m : runs) {
                const std::string dir =
                    (std::filesystem::path(out_dir) / std::string(member_of(m.algorithm).name)).string();
                std::filesystem::create_directory(dir);
                write_ensemble(dir, *m.run, format);
            }
            write_file_atomically((std::filesystem::path(out_dir) / "summary.json").string(), members_json(runs));
        });
        publish(outputs,
                (out_dir.empty() ? "" : "outputs in " + o.out_dir + " (summary.json and one folder per algorithm)\n") +
                    (json.empty() ? "" : "wrote " + o.json + "\n") +
                    (plot.empty() || plot == "-" ? "" : "plot " + o.plot + "\n"));
    });
    return 0;
}

int run_ensemble_command(const Options& o) {
    EnsembleOptions options;
    options.scenario = scenario_from(o, true);
    if (options.scenario.data_from_files() && o.given("--realizations"))
        throw InputError("--realizations: the data come from --x and --d, one realization per column; give either "
                         "the files or --realizations");
    options.realizations = bounded_integer("--realizations", o.realizations, "R", std::int64_t{1} << 40);
    options.threads = static_cast<int>(parse_count("--threads", o.threads, 4096, " (0: all cores)"));
    options.decimate = bounded_integer("--decimate", o.decimate, "m", max_samples);
    const Stage* stage = ensemble_stage(o.ensemble_stage);
    const std::vector<const FamilyMember*> members = parse_members(o.algorithm);
    const bool family_run = members.size() > 1 || members.front()->id != FamilyId::lms;
    // A member's LibTorch program is the sgd stage with one part swapped: --stage sgd runs it batched, --stage all
    // beside the plain recursion.
    const bool programs = family_run && (stage == nullptr || stage->uses_torch);
    if (programs && stage != nullptr && stage->name != "sgd")
        throw InputError("--algorithm: a member's LibTorch program is the sgd stage with one part swapped; give "
                         "--stage sgd (its program, batched) or --stage all (beside its recursion)");
    options.family = family_options(o, members);
    if (members.size() == 1 && !programs) options.algorithm = members.front()->id;
    if (stage != nullptr && o.given("--tolerance"))
        throw InputError("--tolerance: only --stage all compares stages; give --stage all or leave --tolerance out");
    options.rng = parse_rng(o.rng);
    BatchedOptions batched;
    batched.chunk = static_cast<std::int64_t>(parse_count("--chunk", o.chunk, std::int64_t{1} << 40, " (0: auto)"));
    batched.first_torch_seed = options.scenario.linear_init_seed();
    if (programs) {
        batched.stage = torch_module().family_batched;
        batched.algorithm = members.front()->id;
        batched.family = options.family;
    }
    if (stage == nullptr || stage->uses_torch) {
        torch_module(); // a missing LibTorch module is said before any work
        batched.device = resolve_device(parse_device_choice(o.device));
        set_torch_threads(options.threads > 0 ? options.threads : available_cores());
    } else { // the plain engine: CPU threads, or its CUDA kernel (philox data made there, numpy's copied)
        const DeviceChoice choice = parse_device_choice(o.device);
        if (choice == DeviceChoice::cuda)
            options.device = Device::cuda; // the library checks the kernel and the GPU
        else if (choice == DeviceChoice::automatic && options.rng == Rng::philox && !family_run &&
                 ensemble_cuda_devices() > 0)
            options.device = Device::cuda;
    }
    const FileFormat format = parse_file_format(o.format);
    const ProgressLine::Mode progress_mode = ProgressLine::parse(o.progress);
    const DrawOptions draw = draw_options(o);
    check_plot_request(o.plot);
    EnsemblePlan plan = plan_ensemble(options, stage, batched);
    plan.allow_divergence = o.allow_divergence;
    for (const std::string& note : plan.notes) std::cerr << "lmsref: note: " << note << "\n";
    if (plan.lag_one.coloured())
        std::cerr << "lmsref: warning: --x is coloured (" << plan.lag_one.describe()
                  << "): the theory assumes white input and does not describe these data\n";
    if (plan.theory.past_mean_square_bound && !family_run)
        std::cerr << "lmsref: warning: eta = " << format_number(plan.options.scenario.step_size, "%g")
                  << " is at or above the mean-square stability bound " << mean_square_bound_name(plan.theory) << " = "
                  << format_number(plan.theory.mean_square_bound, "%.6g")
                  << ": theory has no steady state, and the curves grow\n";
    // Under mpirun, the ranks share the realizations (all of them read the options and files above alike); rank 0
    // alone prints, shows progress and writes.
    const std::unique_ptr<Team> team = join_launched_team();
    plan.options.team = team.get();
    if (stage == nullptr && programs) return run_member_programs(o, plan, members, format);
    if (stage == nullptr) return run_ensemble_comparison(o, plan, format, draw);
    if (members.size() > 1) return run_ensemble_members(o, plan, members, format, draw);
    EnsembleOutputs staged(o, team.get());
    OutputSet& outputs = staged.outputs;
    const std::string &out_dir = staged.out_dir, &json = staged.json, &plot = staged.plot;
    ProgressLine progress(plan.options.realizations, progress_mode); // the engine calls it on rank 0 alone
    plan.options.progress = std::ref(progress);
    const EnsembleRun run = run_plan(std::move(plan));
    progress.finish();
    run.check_finite();
    std::cout << ensemble_report(run) << std::flush;
    on_rank_zero(team.get(), [&] {
        outputs.write([&] {
            if (!out_dir.empty()) write_ensemble(out_dir, run, format);
            if (!json.empty()) write_file_atomically(json, ensemble_summary_json(run));
            if (!plot.empty()) render(sized(ensemble_figure(run, draw.x_scale), draw), plot);
        });
        publish(outputs, (out_dir.empty() ? ""
                                          : "  outputs        " + o.out_dir +
                                                (run.scenario.system_known
                                                     ? " (mse, msd, meanw, mse_theory, msd_theory, summary.json)\n"
                                                     : " (mse, meanw, summary.json: no MSD or theory without the "
                                                       "system)\n")) +
                             (json.empty() ? "" : "  summary        " + o.json + "\n") +
                             (plot.empty() || plot == "-" ? "" : "  plot           " + o.plot + "\n"));
    });
    return 0;
}

} // namespace lmsref::cli
