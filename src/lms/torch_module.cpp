#include "lms/torch_module.hpp"

#include "core/errors.hpp"

#include <climits>
#include <cstdlib>
#include <string>

#include <dlfcn.h>
#include <unistd.h>

namespace lmsref {

namespace {

constexpr const char* module_file = "liblmsref_torch.so";
constexpr const char* entry_name = "lmsref_torch_module";

/// The folder of the running executable, from /proc/self/exe; "" when it cannot be read.
std::string executable_folder() {
    char path[PATH_MAX];
    const ssize_t length = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (length <= 0) return "";
    const std::string executable(path, static_cast<std::size_t>(length));
    return executable.substr(0, executable.rfind('/'));
}

struct Loaded {
    void* handle = RTLD_DEFAULT; ///< RTLD_DEFAULT: linked into the program itself (the tests)
    std::string path;            ///< for messages
};

/// Finds the module: linked in already, else beside the executable, else in ../lib/lmsref/ of an installed tree.
Loaded load() {
    if (::dlsym(RTLD_DEFAULT, entry_name) != nullptr) return {RTLD_DEFAULT, "(linked in)"};
    const std::string folder = executable_folder();
    const std::string candidates[] = {folder + "/" + module_file, folder + "/../lib/lmsref/" + module_file};
    for (const std::string& candidate : candidates) {
        if (::access(candidate.c_str(), F_OK) != 0) continue;
        void* handle = ::dlopen(candidate.c_str(), RTLD_LAZY | RTLD_LOCAL); // lazy: as a linked LibTorch binds
        if (handle == nullptr) {
            const char* why = ::dlerror();
            throw RuntimeFailure("the LibTorch module " + candidate + " cannot be loaded (" +
                                 std::string(why ? why : "unknown reason") + "); rebuild lmsref");
        }
        return {handle, candidate};
    }
    throw RuntimeFailure("the LibTorch module " + candidates[0] + " is missing (nor is it in " + candidates[1] +
                         "); this command needs LibTorch: rebuild or reinstall lmsref");
}

const Loaded& loaded() {
    static const Loaded module = load();
    return module;
}

} // namespace

void* torch_module_symbol(const char* name) {
    const Loaded& module = loaded();
    void* symbol = ::dlsym(module.handle, name);
    if (symbol == nullptr)
        throw RuntimeFailure("the LibTorch module " + module.path + " has no " + name +
                             ": it was built from other sources; rebuild lmsref");
    return symbol;
}

const TorchModule& torch_module() {
    static const TorchModule& module = []() -> const TorchModule& {
        using Entry = const TorchModule* (*)();
        const TorchModule* entry = reinterpret_cast<Entry>(torch_module_symbol(entry_name))();
        if (entry == nullptr || entry->interface != torch_module_interface)
            throw RuntimeFailure("the LibTorch module " + loaded().path + " was built from other sources (interface " +
                                 std::to_string(entry ? entry->interface : -1) + ", lmsref expects " +
                                 std::to_string(torch_module_interface) + "); rebuild lmsref");
        return *entry;
    }();
    return module;
}

} // namespace lmsref
