// Running the lmsref executable from the tests: its exit code and everything it printed.
#pragma once

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

#include <sys/wait.h>

namespace lmsref::test {

struct Result {
    int exit_code = -1;
    std::string output; // stdout and stderr together
};

/// Runs a shell command line, its standard error sent to standard output.
inline Result run_command(const std::string& command) {
    Result result;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, n);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

/// Runs lmsref with `arguments`, after `environment` (e.g. "NAME=value") when given, in `folder` when given.
inline Result run_lmsref(const std::string& arguments, const std::string& environment = "",
                         const std::string& folder = "") {
    return run_command((folder.empty() ? "" : "cd '" + folder + "' && ") +
                       (environment.empty() ? "" : "env " + environment + " ") + "'" + LMSREF_EXECUTABLE + "' " +
                       arguments);
}

/// A fresh, empty folder `area`/`name` under the test's working folder.
inline std::string fresh_folder(const std::string& area, const std::string& name) {
    const std::filesystem::path path = std::filesystem::absolute(area) / name;
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    return path.string();
}

} // namespace lmsref::test
