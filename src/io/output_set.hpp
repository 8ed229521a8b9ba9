// A run's output set: every folder and file one command writes (--out-dir, --plot-dir, --plot, --json), published
// together only when the whole run succeeded, or not at all.
//
// Each target gets a private work folder beside it (<parent>/.lmsref-XXXXXX), created before any computation, so
// that a target that cannot be written is reported before the work. The run writes into <work>/<target name>.
// commit() flushes everything to disk (fsync), takes an advisory lock (flock) on each target's parent folder, moves
// the previous set aside, renames the new one into place, and only then removes the previous sets; a failed rename
// puts back what was already moved. A run that fails, throws, or is stopped by SIGINT, SIGTERM or SIGHUP before the
// renames removes its work folders and leaves every previous set as it was; once the renames are done the run has
// succeeded, and a signal no longer ends it. A work folder is locked (flock) while its run lives, so that a run
// killed outright (SIGKILL) leaves one that the next run into the same folder recognises as stale and removes.
#pragma once

#include "core/errors.hpp"

#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include <sys/types.h>

namespace lmsref {

class OutputSet {
public:
    /// `is_output_name(name, is_folder)` says whether an entry found in an existing target folder is one lmsref
    /// writes (a stage folder, w.npy, summary.json, gallery.png, ...). A folder holding anything else is refused
    /// rather than replaced: lmsref never removes files it did not write.
    explicit OutputSet(std::function<bool(const std::string& name, bool is_folder)> is_output_name);
    ~OutputSet(); ///< removes whatever was not committed
    OutputSet(const OutputSet&) = delete;
    OutputSet& operator=(const OutputSet&) = delete;

    /// A folder target (`option` names it in messages). Checks it and returns the empty folder to write into.
    /// Throws RuntimeFailure (cannot be written) or InputError (holds files lmsref did not write, is the current
    /// folder, is a file, is a dangling link).
    std::string folder(const std::string& target, const std::string& option);
    /// A file target: returns the path to write it at (the same file name, in a work folder). Throws as folder().
    std::string file(const std::string& target, const std::string& option);

    /// Runs `write`, which writes the outputs at the paths folder() and file() returned; a RuntimeFailure it throws
    /// names the targets as the user gave them rather than the work folders.
    template <class Write> void write(Write&& write) {
        try {
            write();
        } catch (const RuntimeFailure& failure) {
            throw RuntimeFailure(in_user_terms(failure.what()));
        }
    }
    /// `message` with every work path replaced by its target as the user gave it.
    std::string in_user_terms(std::string message) const;

    /// Publishes every target at once. Throws RuntimeFailure, after putting back any target already moved.
    void commit();

    struct Target {
        std::string path;          ///< where the output goes (absolute, symbolic links resolved)
        std::string shown;         ///< the target as the user gave it, for messages
        std::string option;        ///< the option that named it
        std::string shown_link;    ///< where the target, a symbolic link, points (as the link says), or ""
        std::string work;          ///< the private work folder beside it
        std::string staged;        ///< work/<name>: what the run writes
        std::string created_above; ///< the topmost parent folder this run had to create, "" if none
        bool is_folder = false;
        int lock = -1; ///< the work folder, open and locked (flock) for the life of the run: it is not stale
    };

private:
    Target& add(const std::string& target, const std::string& option, bool is_folder);
    void discard() noexcept;

    std::function<bool(const std::string&, bool)> is_output_name_;
    std::deque<Target> targets_; ///< a deque: the signal handler holds pointers to them
    bool committed_ = false;
};

/// While the lock it returns is held, a signal waits: what the holder does inside a work folder (a file written
/// and renamed, a folder made, gnuplot started) is complete, or not begun, when the signal removes the folders.
std::unique_lock<std::recursive_mutex> hold_off_signals();
/// Registers (`true`) or forgets a process group (gnuplot's) that a signal ending lmsref kills first.
void stop_group_on_signal(pid_t group, bool stop);
/// Registers (`true`) or forgets a file outside every work folder (gnuplot's messages) that a signal removes.
void remove_file_on_signal(const std::string& path, bool remove);

/// From now on SIGINT, SIGTERM and SIGHUP remove every uncommitted output set's work folders before the process
/// ends with that signal. Call it first in main, before any thread starts (it blocks the signals in every thread
/// and waits for them on one of its own).
void remove_outputs_on_signals();

} // namespace lmsref
