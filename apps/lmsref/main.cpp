// lmsref: the command-line front end. cli.cpp parses, commands/ run each command over the library, and main maps
// what they throw to one line and an exit code.
#include "apps/lmsref/cli.hpp"
#include "apps/lmsref/command.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"
#include "ensemble/mpi_team.hpp"

#include "io/output_set.hpp"
#include "stages/registry.hpp"
#include <chrono>
#include <thread>

#include <cerrno>
#include <csignal>
#include <iostream>
#include <new>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace {

using namespace lmsref;
using namespace lmsref::cli;

/// Standard input, output and error closed at start (`>&-`) are opened on /dev/null for reading, so that no file
/// lmsref opens takes their numbers and writing to them fails as it should.
void occupy_closed_standard_streams() {
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd)
        if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) ::open("/dev/null", O_RDONLY); // the lowest free number
}

/// The commands by name; a stage's name runs that stage.
int run_command(const std::string& name, const Options& options) {
    static const struct {
        const char* name;
        int (*run)(const Options&);
    } commands[] = {{"compare", run_compare}, {"data", run_data},    {"ensemble", run_ensemble_command},
                    {"bench", run_bench},     {"plot", run_plot},    {"basics", run_basics},
                    {"list", run_list},       {"family", run_family}};
    for (const auto& command : commands)
        if (name == command.name) return command.run(options);
    return run_one_stage(find_stage(name), options);
}

} // namespace

namespace {
int run_main(int argc, char** argv);
} // namespace

int main(int argc, char** argv) {
    const int code = run_main(argc, argv);
    // mpirun ends the job when a rank exits with an error, and has been seen to drop rank 0's message when another
    // rank's error came first: the other ranks leave rank 0 time to print and go.
    if (code != 0 && launched_rank() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return code;
}

namespace {

int run_main(int argc, char** argv) {
    occupy_closed_standard_streams();
    remove_outputs_on_signals(); // first, before any thread starts
    // Under mpirun, rank 0 speaks for all: the others' messages would repeat its own (a failure on another rank
    // reaches rank 0 through Team::check).
    static struct : std::streambuf {
        int overflow(int c) override { return c; }
    } unheard;
    if (launched_rank() > 0) {
        std::cout.rdbuf(&unheard);
        std::cerr.rdbuf(&unheard);
    }
    // A closed standard output is an error to report (see check_standard_output), not a signal that ends lmsref
    // with its output set half made.
    std::signal(SIGPIPE, SIG_IGN);

    const Parsed parsed = parse_command_line(argc, argv);
    if (parsed.exit_code) return *parsed.exit_code;
    try {
        if (launched_size() > 1 && parsed.command != "ensemble")
            throw InputError("mpirun: only `lmsref ensemble` shares its work among MPI ranks; run this command "
                             "without mpirun");
        return checked_exit(run_command(parsed.command, parsed.options));
    } catch (const InputError& error) { // a field of the library's is said as its option
        const std::string message =
            error.field().empty() ? error.what() : option_spelling(error.field()) + ": " + error.detail();
        std::cerr << "lmsref: " << one_line(message) << "\n";
        return static_cast<int>(error.code());
    } catch (const Error& error) {
        std::cerr << "lmsref: " << one_line(error.what()) << "\n";
        return static_cast<int>(error.code());
    } catch (const std::bad_alloc&) {
        std::cerr << "lmsref: out of memory; try a smaller --samples or --taps\n";
        return static_cast<int>(ExitCode::runtime_failure);
    } catch (const std::exception& error) {
        std::string message = error.what();
        std::cerr << "lmsref: " << one_line(message.substr(0, message.find('\n'))) << "\n";
        return static_cast<int>(ExitCode::runtime_failure);
    }
}

} // namespace
