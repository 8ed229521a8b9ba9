// The command line: every CLI11 call of lmsref is in cli.cpp, each option declared once with the commands that take it.
#pragma once

#include "apps/lmsref/options.hpp"

#include <optional>
#include <string>

namespace lmsref::cli {

/// What the command line asks for: the command (a stage's name for a stage) and its options; or, when parsing
/// already ended the run (--help, --version, a usage error, said on the standard streams), its exit code.
struct Parsed {
    std::string command;
    Options options;
    std::optional<int> exit_code;
};
Parsed parse_command_line(int argc, char** argv);

/// The option that sets the library's field `field` (core/errors.hpp's Field): "realizations" -> "--realizations".
/// The one place that maps the library's names to the options': renaming an option adds its exception here.
std::string option_spelling(const std::string& field);

} // namespace lmsref::cli
