// Running gnuplot: the one file that includes gnuplot-iostream (and Boost), built only when they are found.
// lmsref starts gnuplot itself (posix_spawn, in a process group of its own, its messages into a file) and hands
// the pipe to gnuplot-iostream, so that it can check gnuplot's exit status, survive a gnuplot that stops reading
// (EPIPE rather than SIGPIPE), and kill a gnuplot that does not finish in time.
#include "plot/plot.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "io/files.hpp"
#include "io/output_set.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LMSREF_HAVE_GNUPLOT_IOSTREAM
#include <gnuplot-iostream.h>
#endif

extern char** environ;

namespace lmsref {

namespace {

constexpr const char* missing_gnuplot =
    "gnuplot not found: plotting needs the gnuplot program (Debian: apt-get install gnuplot-nox)";
constexpr double default_timeout_seconds = 60.0;

/// The gnuplot program to run: $LMSREF_GNUPLOT, or `gnuplot` found on the PATH. Throws RuntimeFailure.
[[maybe_unused]] std::string gnuplot_program() { // unused in a build without plotting
    const char* chosen = std::getenv("LMSREF_GNUPLOT");
    const std::string program = chosen && *chosen ? chosen : "gnuplot";
    if (program.find('/') != std::string::npos) {
        if (::access(program.c_str(), X_OK) == 0) return program;
        throw RuntimeFailure(std::string(missing_gnuplot) + "; " + program + " cannot be run");
    }
    const char* path = std::getenv("PATH");
    std::stringstream folders(path ? path : "");
    for (std::string folder; std::getline(folders, folder, ':');) {
        const std::string candidate = (std::filesystem::path(folder.empty() ? "." : folder) / program).string();
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    throw RuntimeFailure(missing_gnuplot);
}

/// A new empty file named after `pattern` (ending in XXXXXX); a failure is reported against `label`.
[[maybe_unused]] std::string temporary_file(const std::string& pattern, const std::string& label) {
    const auto no_signal_meanwhile = hold_off_signals();
    std::string path = pattern;
    const int fd = ::mkstemp(path.data());
    if (fd < 0) throw RuntimeFailure(label + ": cannot write (" + std::strerror(errno) + ")");
    ::close(fd);
    return path;
}

/// Removes a file when it goes, unless released.
class RemovedFile {
public:
    /// `outside_work_folders`: a signal that ends lmsref removes it too (a work folder's files go with the folder).
    explicit RemovedFile(std::string path, bool outside_work_folders = false)
        : path_(std::move(path)), registered_(outside_work_folders && !path_.empty()) {
        if (registered_) remove_file_on_signal(path_, true);
    }
    ~RemovedFile() {
        if (!path_.empty()) std::remove(path_.c_str());
        if (registered_) remove_file_on_signal(path_, false);
    }
    RemovedFile(const RemovedFile&) = delete;
    RemovedFile& operator=(const RemovedFile&) = delete;
    const std::string& path() const { return path_; }
    void release() {
        if (registered_) remove_file_on_signal(path_, false);
        registered_ = false;
        path_.clear();
    }

private:
    std::string path_;
    bool registered_ = false;
};

#ifdef LMSREF_HAVE_GNUPLOT_IOSTREAM

/// A running gnuplot: its process (the leader of a process group of its own) and the write end of its stdin.
/// Going away without wait() kills the group and reaps the process.
class GnuplotProcess {
public:
    /// `folder`: gnuplot's working folder, where the script's relative output file lies.
    GnuplotProcess(const std::string& program, const std::string& messages_file, const std::string& folder) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw RuntimeFailure(std::string("cannot start gnuplot: ") + std::strerror(errno));
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attributes;
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
        posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, messages_file.c_str(), O_WRONLY | O_TRUNC, 0);
        posix_spawn_file_actions_addchdir_np(&actions, folder.c_str());
        // Its own process group, so that a timeout kills whatever it started too; a plain signal mask and
        // SIGPIPE's default action, whatever lmsref's threads block.
        sigset_t none;
        sigset_t pipe_signal;
        sigemptyset(&none);
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        posix_spawnattr_setpgroup(&attributes, 0);
        posix_spawnattr_setsigmask(&attributes, &none);
        posix_spawnattr_setsigdefault(&attributes, &pipe_signal);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
        const auto no_signal_meanwhile = hold_off_signals(); // started and registered, or not started
        const int failed = ::posix_spawn(&pid_, program.c_str(), &actions, &attributes, argv, environ);
        if (failed == 0) stop_group_on_signal(pid_, true);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
        ::close(fds[0]);
        if (failed != 0) {
            ::close(fds[1]);
            throw RuntimeFailure(std::string(missing_gnuplot) + "; " + program + " cannot be run (" +
                                 std::strerror(failed) + ")");
        }
        input_ = fds[1];
    }
    ~GnuplotProcess() {
        if (input_ >= 0) ::close(input_);
        if (pid_ > 0) {
            ::kill(-pid_, SIGKILL);
            reap();
        }
    }
    GnuplotProcess(const GnuplotProcess&) = delete;
    GnuplotProcess& operator=(const GnuplotProcess&) = delete;

    pid_t pid() const { return pid_; }
    /// The write end of gnuplot's stdin; the caller now owns it.
    int take_input() { return std::exchange(input_, -1); }
    /// Waits until gnuplot has ended, without reaping it (its process group cannot be reused meanwhile).
    void wait_for_end() const {
        siginfo_t info;
        while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
        }
    }
    /// Reaps gnuplot; returns its wait status.
    int reap() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        stop_group_on_signal(pid_, false);
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
    int input_ = -1;
};

/// Kills process group `group` unless stopped within `seconds`.
class Watchdog {
public:
    Watchdog(pid_t group, double seconds)
        : thread_([this, group, seconds] {
              std::unique_lock<std::mutex> lock(mutex_);
              if (!ended_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stopped_; })) {
                  fired_ = true;
                  ::kill(-group, SIGKILL);
              }
          }) {}
    ~Watchdog() { stop(); }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;
    /// Stops the watch; returns whether it killed the group.
    bool stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopped_ = true;
        }
        ended_.notify_all();
        if (thread_.joinable()) thread_.join();
        return fired_;
    }

private:
    std::mutex mutex_;
    std::condition_variable ended_;
    bool stopped_ = false;
    bool fired_ = false;
    std::thread thread_; // last: it starts once the members above exist
};

/// Blocks SIGPIPE in this thread for the life of the object, so that writing to a gnuplot that is gone fails with
/// EPIPE; a SIGPIPE raised meanwhile is consumed before the old mask comes back.
class SigpipeBlocked {
public:
    SigpipeBlocked() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    }
    ~SigpipeBlocked() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
            const timespec now{0, 0};
            ::sigtimedwait(&pipe_, nullptr, &now);
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeBlocked(const SigpipeBlocked&) = delete;
    SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

private:
    sigset_t pipe_;
    sigset_t old_;
    bool was_pending_ = false;
};

/// Writes `script` to gnuplot's stdin through gnuplot-iostream and closes it. Returns false when the write failed
/// (gnuplot stopped reading).
bool send_script(int input, const std::string& script) {
    const SigpipeBlocked blocked;
    std::FILE* file = ::fdopen(input, "w");
    if (!file) {
        ::close(input);
        return false;
    }
    Gnuplot gnuplot(file); // fcloses `file` when it goes
    gnuplot << script << std::flush;
    bool written = gnuplot.good();
    try {
        gnuplot.close(); // drops whatever a failed write left in the buffer while the descriptor is still open
    } catch (...) {
        written = false;
    }
    return written;
}

#endif

} // namespace

std::string incomplete_image(const std::string& path, const std::string& output) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    const std::streamoff size = in ? static_cast<std::streamoff>(in.tellg()) : -1;
    if (size <= 0) return "it wrote nothing";
    const std::streamoff tail_size = std::min<std::streamoff>(size, 64);
    std::string tail(static_cast<std::size_t>(tail_size), '\0');
    in.seekg(size - tail_size);
    in.read(tail.data(), tail_size);
    if (!in) return "its image cannot be read back";
    const std::string ext = lowercase_extension(output);
    if (ext == ".png") {
        static const char iend[] = "\0\0\0\0IEND\xae\x42\x60\x82";
        const std::string end(iend, sizeof iend - 1);
        if (tail.size() < end.size() || tail.compare(tail.size() - end.size(), end.size(), end) != 0)
            return "its PNG file is torn (no IEND chunk at the end; a full disk?)";
        return "";
    }
    const std::string end = ext == ".svg" ? "</svg>" : ext == ".pdf" ? "%%EOF" : "";
    tail.erase(tail.find_last_not_of(" \t\r\n") + 1);
    if (end.empty() || (tail.size() >= end.size() && tail.compare(tail.size() - end.size(), end.size(), end) == 0))
        return "";
    std::string kind = ext.substr(1);
    for (char& c : kind) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return "its " + kind + " file is torn (it does not end with " + end + "; a full disk?)";
}

double gnuplot_timeout_seconds() {
    const char* text = std::getenv("LMSREF_GNUPLOT_TIMEOUT");
    if (!text || !*text) return default_timeout_seconds;
    char* end = nullptr;
    errno = 0;
    const double seconds = std::strtod(text, &end);
    if (*end != '\0' || errno != 0 || !(seconds > 0) || seconds > 1e6)
        throw InputError("LMSREF_GNUPLOT_TIMEOUT: " + quote_value(text) +
                         " is not allowed; give the seconds gnuplot may take, a number above 0 and at most 1e6");
    return seconds;
}

std::string gnuplot_error(const std::string& messages) {
    std::stringstream lines(messages);
    std::string error;
    for (std::string line; std::getline(lines, line);) {
        const std::size_t start = line.find_first_not_of(" ^\t\r");
        if (start == std::string::npos) continue;
        std::string lower = line;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.find("warning:") == std::string::npos) error = line.substr(line.find_first_not_of(" \t"));
    }
    while (!error.empty() && (error.back() == '\r' || error.back() == ' ')) error.pop_back();
    return error;
}

bool plotting_built_in() {
#ifdef LMSREF_HAVE_GNUPLOT_IOSTREAM
    return true;
#else
    return false;
#endif
}

void require_plotting() {
    if (!plotting_built_in())
        throw InputError("plotting is not built in: install libgnuplot-iostream-dev, libboost-iostreams-dev and "
                         "libboost-filesystem-dev, then rebuild lmsref");
#ifdef LMSREF_HAVE_GNUPLOT_IOSTREAM
    gnuplot_program(); // a missing gnuplot or a bad timeout is said before any work
    gnuplot_timeout_seconds();
#endif
}

void render(const Figure& figure, const std::string& output) {
    require_plotting();
    check_plot_target(output);
#ifndef LMSREF_HAVE_GNUPLOT_IOSTREAM
    (void)figure;
#else
    const std::string program = gnuplot_program();
    const double timeout = gnuplot_timeout_seconds();
    const bool to_terminal = output == "-";
    // gnuplot's messages first: if that file cannot be made, no temporary image is left behind either.
    const RemovedFile messages(
        temporary_file((std::filesystem::temp_directory_path() / "lmsref-gnuplot-XXXXXX").string(),
                       "gnuplot's messages"),
        true);
    const std::filesystem::path folder = std::filesystem::path(output).parent_path();
    RemovedFile image(to_terminal ? "" : temporary_file((folder / ".lmsref-plot-XXXXXX").string(), output));
    const std::string script =
        gnuplot_script(figure, output, to_terminal ? "" : std::filesystem::path(image.path()).filename().string());

    GnuplotProcess gnuplot(program, messages.path(), folder.empty() ? "." : folder.string());
    Watchdog watchdog(gnuplot.pid(), timeout);
    const bool sent = send_script(gnuplot.take_input(), script);
    gnuplot.wait_for_end();
    const bool timed_out = watchdog.stop();
    const int status = gnuplot.reap();

    std::ifstream in(messages.path());
    const std::string error = gnuplot_error(std::string(std::istreambuf_iterator<char>(in), {}));
    std::string failure;
    if (timed_out)
        failure = "it did not finish within " + format_number(timeout, "%g") +
                  " s and was stopped (LMSREF_GNUPLOT_TIMEOUT sets the limit in seconds)";
    else if (WIFSIGNALED(status))
        failure = "it was killed by signal " + std::to_string(WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        failure = error.empty() ? "it exited with status " + std::to_string(WEXITSTATUS(status)) : error;
    else if (!sent)
        failure = "it exited before reading the whole figure";
    else if (!error.empty())
        failure = error;
    else if (!to_terminal)
        failure = incomplete_image(image.path(), output);
    if (!failure.empty()) throw RuntimeFailure(output + ": gnuplot failed: " + failure);
    if (!to_terminal) {
        publish_file(image.path(), output);
        image.release();
    }
#endif
}

} // namespace lmsref
