// Typed errors: the library throws them with a message a user can act on; the CLI prints the message on one
// line and maps the type to an exit code (see ExitCode).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace lmsref {

/// Process exit codes, documented in `lmsref --help` and the README.
enum class ExitCode : int {
    success = 0,
    bad_input = 1,       ///< a bad option, argument or input file
    runtime_failure = 2, ///< divergence, an I/O failure, a device failure
    out_of_tolerance = 3 ///< `compare`: a stage disagrees with `numpy` beyond --tolerance
};

/// Base of every error lmsref throws on purpose.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, ExitCode code) : std::runtime_error(message), code_(code) {}
    ExitCode code() const noexcept { return code_; }

private:
    ExitCode code_;
};

/// The setting an error is about, by the library's name for it ("samples", "realizations"); the CLI shows it as the
/// option that sets it (apps/lmsref/cli.cpp: --samples, --realizations), so the library never spells an option.
struct Field {
    const char* name;
};

/// The user asked for something that cannot be done: a bad value, a malformed file, an unknown name.
class InputError : public Error {
public:
    explicit InputError(const std::string& message) : Error(message, ExitCode::bad_input) {}
    /// "<field>: <detail>"; field() and detail() let the CLI say it with the option's spelling.
    InputError(Field field, const std::string& detail)
        : Error(std::string(field.name) + ": " + detail, ExitCode::bad_input), field_(field.name), detail_(detail) {}
    const std::string& field() const noexcept { return field_; }
    const std::string& detail() const noexcept { return detail_; }

private:
    std::string field_; ///< empty when the message names no setting
    std::string detail_;
};

/// Something failed while working: a file could not be written, a device failed, the filter diverged.
class RuntimeFailure : public Error {
public:
    explicit RuntimeFailure(const std::string& message) : Error(message, ExitCode::runtime_failure) {}
};

/// The weights stopped being finite: the step size is too large for this input.
class DivergenceError : public RuntimeFailure {
public:
    DivergenceError(const std::string& message, std::size_t sample) : RuntimeFailure(message), sample_(sample) {}
    std::size_t sample() const noexcept { return sample_; }

private:
    std::size_t sample_;
};

} // namespace lmsref
