#include "io/files.hpp"

#include "core/errors.hpp"
#include "io/output_set.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lmsref {

std::string lowercase_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

std::string kind_of_file(const std::filesystem::file_status& status) {
    switch (status.type()) {
    case std::filesystem::file_type::fifo: return "a FIFO";
    case std::filesystem::file_type::character: return "a character device";
    case std::filesystem::file_type::block: return "a block device";
    case std::filesystem::file_type::socket: return "a socket";
    case std::filesystem::file_type::directory: return "a folder";
    case std::filesystem::file_type::regular: return "a regular file";
    default: return "not a plain file";
    }
}

void check_regular_file(const std::string& path) {
    std::error_code ec;
    const std::filesystem::file_status status = std::filesystem::status(path, ec);
    if (std::filesystem::is_directory(status)) throw InputError(path + ": is a folder, not a file");
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
        throw InputError(path + ": is not a regular file (" + kind_of_file(status) +
                         "); lmsref reads .npy and .csv files");
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open (" + std::strerror(errno) + ")");
    std::ostringstream contents;
    contents << in.rdbuf();
    if (in.bad()) throw InputError(path + ": cannot read (" + std::strerror(errno) + ")");
    return contents.str();
}

namespace {

/// A test hook, read once: LMSREF_TEST_FAULT=write-error:N makes the N-th file write of the process fail as on a full
/// disk (ENOSPC, after half the bytes); LMSREF_TEST_FAULT=signal:N[:INT|TERM|HUP|KILL][:wait] sends the process that
/// signal (default TERM) once the N-th file is written, and then writes on while the signal is handled, or (wait) waits
/// for the end the signal brings. The tests use it to stop a run in the middle of writing its outputs.
struct Fault {
    enum Kind { none, write_error, signal } kind = none;
    long at = 0;
    int signal_number = SIGTERM;
    bool wait = false;
};

Fault injected_fault() {
    static const Fault fault = [] {
        const char* text = std::getenv("LMSREF_TEST_FAULT");
        const std::string value = text ? text : "";
        const std::size_t colon = value.find(':');
        if (colon == std::string::npos) return Fault{};
        const std::string kind = value.substr(0, colon);
        const long at = std::atol(value.c_str() + colon + 1);
        if (kind == "write-error") return Fault{Fault::write_error, at};
        if (kind == "signal") {
            const auto has = [&](const char* word) { return value.find(word, colon) != std::string::npos; };
            return Fault{Fault::signal, at,
                         has(":INT")    ? SIGINT
                         : has(":HUP")  ? SIGHUP
                         : has(":KILL") ? SIGKILL
                                        : SIGTERM,
                         has(":wait")};
        }
        return Fault{};
    }();
    return fault;
}

/// Removes an unfinished temporary file and says why `path` could not be written.
[[noreturn]] void discard(const std::string& temporary, const std::string& path, int error) {
    ::unlink(temporary.c_str());
    throw RuntimeFailure(path + ": cannot write (" + std::strerror(error) + ")");
}

/// Writes contents into a temporary beside path, then renames it there; with fail_midway, the injected full disk.
void write_whole_file(const std::string& path, const std::string& contents, bool fail_midway) {
    const auto no_signal_meanwhile = hold_off_signals(); // the file is whole, or not begun, when a signal cleans up
    std::string temporary = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(temporary.data());
    if (fd < 0) throw RuntimeFailure(path + ": cannot write (" + std::strerror(errno) + ")");
    std::size_t written = 0;
    while (written < contents.size()) {
        if (fail_midway && written > 0) { // the injected fault: half the bytes, then a full disk
            ::close(fd);
            discard(temporary, path, ENOSPC);
        }
        const std::size_t chunk = fail_midway ? (contents.size() + 1) / 2 : contents.size() - written;
        const ssize_t n = ::write(fd, contents.data() + written, chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = errno;
            ::close(fd);
            discard(temporary, path, error);
        }
        written += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) discard(temporary, path, errno);
    publish_file(temporary, path);
}

} // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
    static std::atomic<long> files_written{0};
    const Fault fault = injected_fault();
    const long this_file = ++files_written;
    write_whole_file(path, contents, fault.kind == Fault::write_error && fault.at == this_file);
    if (fault.kind == Fault::signal && fault.at == this_file) {
        ::kill(::getpid(), fault.signal_number);
        while (fault.wait)
            std::this_thread::sleep_for(std::chrono::seconds(1)); // the signal's handling ends the process
    }
}

void publish_file(const std::string& temporary, const std::string& path) {
    const auto no_signal_meanwhile = hold_off_signals();
    const mode_t mask = ::umask(0); // reading the umask means setting it; put it back at once
    ::umask(mask);
    if (::chmod(temporary.c_str(), 0666 & ~mask) != 0 || std::rename(temporary.c_str(), path.c_str()) != 0)
        discard(temporary, path, errno);
}

void prepare_output_dir(const std::string& path) {
    const auto no_signal_meanwhile = hold_off_signals(); // no folder made again inside a work folder being removed
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) throw RuntimeFailure(path + ": cannot create the output folder (" + ec.message() + ")");
    if (!std::filesystem::is_directory(path, ec)) throw RuntimeFailure(path + ": exists and is not a folder");
    std::string probe = (std::filesystem::path(path) / ".lmsref-write-test-XXXXXX").string();
    const int fd = ::mkstemp(probe.data());
    if (fd < 0) throw RuntimeFailure(path + ": cannot write to the output folder (" + std::strerror(errno) + ")");
    ::close(fd);
    ::unlink(probe.c_str());
}

} // namespace lmsref
