#include "ensemble/team.hpp"

#include "core/errors.hpp"

#include <new>

namespace lmsref {

namespace {

// A failure as text that another process can turn back into an Error: the exit code, a newline, the field of an
// InputError that names one (else nothing), a newline, the message (the detail, with a field).
std::string describe(std::exception_ptr failure) {
    const auto code = [](ExitCode c) { return std::to_string(static_cast<int>(c)); };
    try {
        std::rethrow_exception(failure);
    } catch (const InputError& error) {
        return code(error.code()) + "\n" + error.field() + "\n" +
               (error.field().empty() ? error.what() : error.detail());
    } catch (const Error& error) {
        return code(error.code()) + "\n\n" + error.what();
    } catch (const std::bad_alloc&) {
        return code(ExitCode::runtime_failure) + "\n\nout of memory; try a smaller --samples or --taps";
    } catch (const std::exception& error) {
        return code(ExitCode::runtime_failure) + "\n\n" + error.what();
    } catch (...) {
        return code(ExitCode::runtime_failure) + "\n\nan unknown failure";
    }
}

} // namespace

void Team::check(std::exception_ptr failure) {
    const auto failing = static_cast<int>(minimum(failure ? rank() : size()));
    if (failing == size()) return;
    std::string text = failing == rank() ? describe(failure) : std::string();
    broadcast(failing, text);
    if (failing == rank()) std::rethrow_exception(failure);
    const std::size_t first = text.find('\n'), second = text.find('\n', first + 1);
    const auto code = static_cast<ExitCode>(std::stoi(text.substr(0, first)));
    const std::string field = text.substr(first + 1, second - first - 1), message = text.substr(second + 1);
    if (!field.empty()) throw InputError(Field{field.c_str()}, message);
    throw Error(message, code);
}

} // namespace lmsref
