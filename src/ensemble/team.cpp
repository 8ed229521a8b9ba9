#include "ensemble/team.hpp"

#include "core/errors.hpp"

#include <new>

namespace lmsref {

namespace {

// A failure as text that another process can turn back into an Error: the exit code, a newline, the message.
std::string describe(std::exception_ptr failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const Error& error) {
        return std::to_string(static_cast<int>(error.code())) + "\n" + error.what();
    } catch (const std::bad_alloc&) {
        return std::to_string(static_cast<int>(ExitCode::runtime_failure)) +
               "\nout of memory; try a smaller --samples or --taps";
    } catch (const std::exception& error) {
        return std::to_string(static_cast<int>(ExitCode::runtime_failure)) + "\n" + error.what();
    } catch (...) {
        return std::to_string(static_cast<int>(ExitCode::runtime_failure)) + "\nan unknown failure";
    }
}

} // namespace

void Team::check(std::exception_ptr failure) {
    const auto failing = static_cast<int>(minimum(failure ? rank() : size()));
    if (failing == size()) return;
    std::string text = failing == rank() ? describe(failure) : std::string();
    broadcast(failing, text);
    if (failing == rank()) std::rethrow_exception(failure);
    const std::size_t newline = text.find('\n');
    throw Error(text.substr(newline + 1), static_cast<ExitCode>(std::stoi(text.substr(0, newline))));
}

} // namespace lmsref
