// Running gnuplot: the one file that includes gnuplot-iostream (and Boost), built only when they are found.
#include "plot.hpp"

#include "errors.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#ifdef LMSREF_HAVE_GNUPLOT_IOSTREAM
#include <gnuplot-iostream.h>
#endif

namespace lmsref {

namespace {

constexpr const char* missing_gnuplot =
    "gnuplot not found: plotting needs the gnuplot program (Debian: apt-get install gnuplot-nox)";

std::string shell_quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// The gnuplot program to run: $LMSREF_GNUPLOT, or `gnuplot` found on the PATH. Throws RuntimeFailure.
std::string gnuplot_program() {
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

/// The line of gnuplot's messages that says what went wrong (warnings do not count), or "".
std::string gnuplot_error(const std::string& messages) {
    std::stringstream lines(messages);
    std::string error;
    for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(" ^\t") != std::string::npos && line.find("warning:") == std::string::npos)
            error = line.substr(line.find_first_not_of(" \t"));
    return error;
}

/// A new empty file named after `pattern` (ending in XXXXXX); a failure is reported against `label`.
std::string temporary_file(const std::string& pattern, const std::string& label) {
    std::string path = pattern;
    const int fd = ::mkstemp(path.data());
    if (fd < 0) throw RuntimeFailure(label + ": cannot write (" + std::strerror(errno) + ")");
    ::close(fd);
    return path;
}

} // namespace

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
}

void render(const Figure& figure, const std::string& output) {
    require_plotting();
    check_plot_target(output);
#ifndef LMSREF_HAVE_GNUPLOT_IOSTREAM
    (void)figure;
#else
    const std::string program = gnuplot_program();
    const bool to_terminal = output == "-";
    // gnuplot's messages first: if that file cannot be made, no temporary image is left behind either.
    const std::string messages_file = temporary_file(
        (std::filesystem::temp_directory_path() / "lmsref-gnuplot-XXXXXX").string(), "gnuplot's messages");
    const std::string file = to_terminal ? "" : temporary_file(output + ".tmp-XXXXXX", output);
    {
        Gnuplot gnuplot(shell_quoted(program) + " 2>" + shell_quoted(messages_file));
        gnuplot << gnuplot_script(figure, output, file) << std::flush;
    } // closing the pipe waits for gnuplot to finish
    std::ifstream in(messages_file);
    const std::string error = gnuplot_error(std::string(std::istreambuf_iterator<char>(in), {}));
    std::remove(messages_file.c_str());
    std::error_code ec;
    if (!error.empty() || (!to_terminal && std::filesystem::file_size(file, ec) == 0)) {
        if (!to_terminal) std::remove(file.c_str());
        throw RuntimeFailure(output + ": gnuplot failed: " + (error.empty() ? "it wrote nothing" : error));
    }
    if (!to_terminal) publish_file(file, output);
#endif
}

} // namespace lmsref
