#include "io/output_set.hpp"

#include "core/errors.hpp"
#include "io/files.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lmsref {

namespace fs = std::filesystem;

namespace {

// The work folders of every uncommitted output set of the process. This is the one piece of process-wide state in
// lmsref: a signal ends the process from any point of a run, so the folders to remove must be reachable from the
// thread that handles it, and so must the gnuplot process groups to stop and the stray files to remove. The mutex
// keeps a signal from cutting a commit, a file write or a gnuplot start in half: the thread that handles a signal
// takes it and never gives it back, so no writer starts anything new once the work folders are going.
struct Pending {
    std::recursive_mutex mutex;
    bool published = false; ///< a set is in place: the run has succeeded, and a signal no longer ends it
    std::vector<OutputSet::Target*> targets;
    std::vector<pid_t> groups;
    std::vector<std::string> files;
};

Pending& pending() {
    static Pending instance;
    return instance;
}

/// Adds `item` to one of the lists the signal handler reads, or takes it out.
template <class T> void set_pending(std::vector<T>& list, const T& item, bool present) {
    const std::lock_guard<std::recursive_mutex> lock(pending().mutex);
    if (present)
        list.push_back(item);
    else
        list.erase(std::remove(list.begin(), list.end(), item), list.end());
}

std::string error_text(int error) {
    return std::strerror(error);
}

/// Removes a target's work folder, and the parent folders the run created for it when nothing else is in them.
void remove_work(const OutputSet::Target& target) noexcept {
    std::error_code ec;
    fs::remove_all(target.work, ec);
    if (target.created_above.empty()) return;
    for (fs::path folder = fs::path(target.path).parent_path();; folder = folder.parent_path()) {
        if (::rmdir(folder.c_str()) != 0 || folder == target.created_above || !folder.has_relative_path()) break;
    }
}

/// Whether `inner` is `outer` or lies inside it (both absolute and normal).
bool is_within(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
        if (o->empty()) continue; // a trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

/// The first entry under `folder` that lmsref did not write, as a path relative to it; "" when there is none.
std::string foreign_entry(const fs::path& folder, const std::function<bool(const std::string&, bool)>& is_output,
                          const fs::path& relative = {}) {
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
        const fs::file_status status = entry.symlink_status(ec);
        const bool is_folder = fs::is_directory(status);
        const std::string name = entry.path().filename().string();
        // Only folders and regular files can be lmsref's: a link, a FIFO or a device of the same name is not.
        if ((!is_folder && !fs::is_regular_file(status)) || !is_output(name, is_folder))
            return (relative / name).string();
        if (is_folder) {
            const std::string inside = foreign_entry(entry.path(), is_output, relative / name);
            if (!inside.empty()) return inside;
        }
    }
    if (ec) return (relative / ".").string() + " (unreadable: " + ec.message() + ")";
    return "";
}

/// Flushes a file or a folder tree to disk. Returns errno of the first failure, 0 on success.
int sync_tree(const fs::path& path) {
    std::error_code ec;
    const bool is_folder = fs::is_directory(fs::symlink_status(path, ec));
    if (is_folder)
        for (const fs::directory_entry& entry : fs::directory_iterator(path, ec))
            if (const int error = sync_tree(entry.path())) return error;
    if (ec) return ec.value();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (is_folder ? O_DIRECTORY : 0));
    if (fd < 0) return errno;
    const int error = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return error;
}

/// `folder`, opened and locked (flock, exclusive); -1 when it cannot be opened or locked. `wait`: wait for the lock.
int lock_folder(const std::string& folder, bool wait) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    int locked;
    while ((locked = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR) {
    }
    if (locked == 0) return fd;
    ::close(fd);
    return -1;
}

/// Removes the work folders in `parent` that no living run holds: a run killed outright (SIGKILL) cannot remove
/// its own, and its lock went with it. Only folders named as ours (.lmsref-XXXXXX) and owned by this user.
void remove_stale_work(const fs::path& parent) noexcept {
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(parent, ec)) {
        const std::string name = entry.path().filename().string();
        struct stat info {};
        if (name.size() != 14 || name.rfind(".lmsref-", 0) != 0 || ::lstat(entry.path().c_str(), &info) != 0 ||
            !S_ISDIR(info.st_mode) || info.st_uid != ::geteuid())
            continue;
        const int fd = lock_folder(entry.path().string(), false);
        if (fd < 0) continue; // a living run's
        std::error_code removed;
        fs::remove_all(entry.path(), removed);
        ::close(fd);
    }
}

/// A test hook: LMSREF_TEST_FAULT=signal:published[:INT|HUP] sends the process that signal (default TERM) once a set
/// is in place, and gives its handling a moment before the clean-up goes on; the run must still succeed.
void signal_after_publishing() {
    const char* fault = std::getenv("LMSREF_TEST_FAULT");
    const std::string value = fault ? fault : "";
    if (value.rfind("signal:published", 0) != 0) return;
    ::kill(::getpid(), value.find(":INT") != std::string::npos   ? SIGINT
                       : value.find(":HUP") != std::string::npos ? SIGHUP
                                                                 : SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

/// Advisory locks on the parent folders of the targets, taken for the time of a commit: two runs that publish into
/// the same place publish one after the other. Each folder is locked once, whatever path names it.
class ParentLocks {
public:
    explicit ParentLocks(const std::deque<OutputSet::Target>& targets) {
        std::vector<std::pair<dev_t, ino_t>> seen;
        for (const OutputSet::Target& target : targets) {
            const std::string parent = fs::path(target.path).parent_path().string();
            const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd >= 0) fds_.fds.push_back(fd); // closed by Fds' destructor, also when this constructor throws
            struct stat info {};
            if (fd < 0 || ::fstat(fd, &info) != 0)
                throw RuntimeFailure(parent + ": cannot open the folder to publish into it (" + error_text(errno) +
                                     ")");
            if (std::find(seen.begin(), seen.end(), std::make_pair(info.st_dev, info.st_ino)) != seen.end()) continue;
            seen.emplace_back(info.st_dev, info.st_ino);
            while (::flock(fd, LOCK_EX) != 0)
                if (errno != EINTR)
                    throw RuntimeFailure(parent + ": cannot lock the folder (" + error_text(errno) + ")");
        }
    }
    ~ParentLocks() {
        for (int fd : fds_.fds) ::fsync(fd); // the renames into these folders reach the disk
    }
    ParentLocks(const ParentLocks&) = delete;
    ParentLocks& operator=(const ParentLocks&) = delete;

private:
    struct Fds {
        std::vector<int> fds;
        ~Fds() {
            for (int fd : fds) ::close(fd);
        }
    } fds_;
};

/// Throws InputError when what now stands at a target cannot be replaced by it: a file where a folder goes (or
/// the reverse), or a folder holding anything lmsref did not write.
void check_replaceable(const OutputSet::Target& target,
                       const std::function<bool(const std::string&, bool)>& is_output_name) {
    const std::string what = target.option + ": " + target.shown;
    std::error_code ec;
    const fs::file_status status = fs::status(target.path, ec);
    if (!fs::exists(status)) return;
    if (target.is_folder && !fs::is_directory(status)) throw InputError(what + " exists and is not a folder");
    if (!target.is_folder && fs::is_directory(status)) throw InputError(what + " is a folder; give a file name");
    if (!target.is_folder && !fs::is_regular_file(status)) // a device or a FIFO is never replaced by a file
        throw InputError(what + (target.shown_link.empty() ? "" : " (a symbolic link to " + target.shown_link + ")") +
                         " is " + kind_of_file(status) +
                         ", not a regular file; lmsref writes over regular files only, so give another name");
    if (!target.is_folder) return;
    const std::string foreign = foreign_entry(target.path, is_output_name);
    if (!foreign.empty())
        throw InputError(what + " holds " + foreign +
                         ", which lmsref did not write; lmsref replaces a folder only when it holds nothing but "
                         "lmsref's outputs, so give a new or empty folder");
}

} // namespace

OutputSet::OutputSet(std::function<bool(const std::string&, bool)> is_output_name)
    : is_output_name_(std::move(is_output_name)) {}

OutputSet::~OutputSet() {
    if (!committed_) discard();
}

std::string OutputSet::folder(const std::string& target, const std::string& option) {
    return add(target, option, true).staged;
}

std::string OutputSet::file(const std::string& target, const std::string& option) {
    return add(target, option, false).staged;
}

OutputSet::Target& OutputSet::add(const std::string& target, const std::string& option, bool is_folder) {
    const std::string what = option + ": " + target;
    if (target.empty()) throw InputError(option + ": the path is empty");
    if (!is_folder && target.back() == '/') throw InputError(what + " names a folder; give a file name");
    std::error_code ec;
    fs::path path = fs::absolute(target, ec).lexically_normal();
    if (ec) throw RuntimeFailure(what + ": " + ec.message());
    if (path.filename().empty()) path = path.parent_path(); // "out/" is "out"
    std::string link;                                       // what a symbolic link given as the target points to
    if (fs::is_symlink(fs::symlink_status(path, ec))) {
        if (!fs::exists(path, ec))
            throw InputError(what + " is a symbolic link to " + fs::read_symlink(path, ec).string() +
                             ", which does not exist");
        link = fs::read_symlink(path, ec).string();
        path = fs::canonical(path, ec);
    }
    const fs::path here = fs::current_path(ec);
    if (!path.has_relative_path() || (!ec && is_within(here, path)))
        throw InputError(what +
                         " is the current folder or holds it, which lmsref cannot replace; name a new folder, "
                         "e.g. " +
                         option + " out");
    for (const Target& other : targets_)
        if (is_within(path, other.path) || is_within(other.path, path))
            throw InputError(what + " overlaps " + other.option + " " + other.shown +
                             "; give every output its own place");

    Target entry;
    entry.path = path.string();
    entry.shown = target;
    entry.option = option;
    entry.shown_link = link;
    entry.is_folder = is_folder;
    check_replaceable(entry, is_output_name_);
    const fs::path parent = path.parent_path();
    if (!is_folder && !fs::exists(parent, ec))
        throw InputError(what + ": the folder " + parent.string() + " does not exist");
    if (!fs::exists(parent, ec)) { // an output folder's parents are made, as mkdir -p would
        fs::path top = parent;
        while (!fs::exists(top.parent_path(), ec) && top.has_relative_path()) top = top.parent_path();
        entry.created_above = top.string();
    }
    std::lock_guard<std::recursive_mutex> lock(pending().mutex);
    if (!entry.created_above.empty()) {
        fs::create_directories(parent, ec);
        if (ec) {
            remove_work(entry);
            throw RuntimeFailure(what + ": cannot create the folder " + parent.string() + " (" + ec.message() + ")");
        }
    }
    if (!fs::is_directory(parent, ec)) throw RuntimeFailure(what + ": " + parent.string() + " is not a folder");
    // Under the parent's lock, as commit() takes it: stale work folders go, and ours is made and locked at once, so
    // that no other run sweeps it away unlocked.
    const int parent_lock = lock_folder(parent.string(), true);
    remove_stale_work(parent);
    std::string work = (parent / ".lmsref-XXXXXX").string();
    const bool made = ::mkdtemp(work.data()) != nullptr;
    const int error = errno;
    if (made) entry.lock = lock_folder(work, false);
    if (parent_lock >= 0) ::close(parent_lock);
    if (!made) {
        remove_work(entry);
        throw RuntimeFailure(what + " cannot be written: no new file can be made in " + parent.string() + " (" +
                             error_text(error) + ")");
    }
    entry.work = work;
    entry.staged = (fs::path(work) / path.filename()).string();
    Target& added = targets_.emplace_back(std::move(entry));
    pending().targets.push_back(&added);
    if (is_folder && ::mkdir(added.staged.c_str(), 0777) != 0)
        throw RuntimeFailure(what + " cannot be written (" + error_text(errno) + ")");
    return added;
}

std::string OutputSet::in_user_terms(std::string message) const {
    for (const Target& target : targets_)
        for (std::size_t at; (at = message.find(target.staged)) != std::string::npos;)
            message.replace(at, target.staged.size(), target.shown);
    return message;
}

void OutputSet::commit() {
    for (const Target& target : targets_) {
        if (!fs::exists(fs::symlink_status(target.staged)))
            throw RuntimeFailure(target.path + ": nothing was written there");
        if (const int error = sync_tree(target.work))
            throw RuntimeFailure(target.path + ": cannot write (" + error_text(error) + ")");
    }
    {
        const ParentLocks locks(targets_);
        std::lock_guard<std::recursive_mutex> lock(pending().mutex); // no signal cuts the renames in half
        // Again, now that no other lmsref publishes here: something may have been put at a target during the run.
        for (const Target& target : targets_) check_replaceable(target, is_output_name_);
        std::vector<bool> moved(targets_.size(), false);
        const auto previous = [](const Target& t) { return (fs::path(t.work) / ".previous").string(); };
        for (std::size_t i = 0; i < targets_.size(); ++i) {
            const Target& t = targets_[i];
            std::error_code ec;
            int error = 0;
            if (fs::exists(fs::symlink_status(t.path, ec))) {
                if (std::rename(t.path.c_str(), previous(t).c_str()) == 0)
                    moved[i] = true;
                else
                    error = errno;
            }
            if (error == 0 && std::rename(t.staged.c_str(), t.path.c_str()) != 0) error = errno;
            if (error == 0) continue;
            for (std::size_t j = i + 1; j-- > 0;) { // put back what this commit changed, newest first
                if (j < i) std::rename(targets_[j].path.c_str(), targets_[j].staged.c_str());
                if (moved[j]) std::rename(previous(targets_[j]).c_str(), targets_[j].path.c_str());
            }
            throw RuntimeFailure(t.path + ": cannot publish the outputs (" + error_text(error) + ")");
        }
        committed_ = true;
        pending().published = true;
    }
    signal_after_publishing();
    discard(); // the previous sets, now in the work folders
}

void OutputSet::discard() noexcept {
    std::lock_guard<std::recursive_mutex> lock(pending().mutex);
    for (auto target = targets_.rbegin(); target != targets_.rend(); ++target) { // the newest first: folders the
        // run created for two targets are emptied by the second before the first removes them
        Target work = *target;
        if (committed_) work.staged = work.created_above = ""; // published: only the previous set goes
        remove_work(work);
        if (target->lock >= 0) ::close(target->lock);
        auto& list = pending().targets;
        list.erase(std::remove(list.begin(), list.end(), &*target), list.end());
    }
    targets_.clear();
}

void remove_outputs_on_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) {
        struct sigaction action {};
        if (::sigaction(signal, nullptr, &action) == 0 && action.sa_handler == SIG_IGN) continue; // nohup's stays
        sigaddset(&signals, signal);
    }
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::thread([signals] {
        int signal = 0;
        for (;;) {
            while (sigwait(&signals, &signal) != 0) {
            }
            pending().mutex.lock(); // for good, unless the run has already succeeded: no writer starts anything new
            if (!pending().published) break;
            pending().mutex.unlock(); // the new set is in place: the run finishes its clean-up and exits 0
        }
        for (const pid_t group : pending().groups) ::kill(-group, SIGKILL);
        for (const std::string& file : pending().files) ::unlink(file.c_str());
        auto& targets = pending().targets;
        for (auto target = targets.rbegin(); target != targets.rend(); ++target) remove_work(**target);
        // End the process as the signal would have: the shell sees 128 + the signal number.
        std::signal(signal, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, signal);
        pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
        std::raise(signal);
        std::_Exit(128 + signal);
    }).detach();
}

std::unique_lock<std::recursive_mutex> hold_off_signals() {
    return std::unique_lock<std::recursive_mutex>(pending().mutex);
}

void stop_group_on_signal(pid_t group, bool stop) {
    set_pending(pending().groups, group, stop);
}

void remove_file_on_signal(const std::string& path, bool remove) {
    set_pending(pending().files, path, remove);
}

} // namespace lmsref
