// Reading files and writing them atomically: a temporary file in the same folder, then a rename, so a failed run
// never leaves a torn file behind.
#pragma once

#include <filesystem>
#include <string>

namespace lmsref {

/// A path's extension in lower case, with its dot: "w.NPY" -> ".npy".
std::string lowercase_extension(const std::string& path);

/// What kind of file a status describes, for messages: "a FIFO", "a character device", "a socket", ...
std::string kind_of_file(const std::filesystem::file_status& status);

/// Refuses a folder, a FIFO, a device or a socket (reading one would block or never end). Throws InputError.
void check_regular_file(const std::string& path);
/// The whole contents of a file. Throws InputError.
std::string read_file(const std::string& path);

/// Gives a finished temporary file the permissions of a new file (0666 less the umask) and renames it to `path`.
/// On failure removes the temporary file and throws RuntimeFailure.
void publish_file(const std::string& temporary, const std::string& path);
/// Writes `contents` to `path` through a temporary file in the same folder and a rename. Throws RuntimeFailure.
void write_file_atomically(const std::string& path, const std::string& contents);
/// Creates a folder (and its parents) and checks it can be written to. Throws RuntimeFailure.
void prepare_output_dir(const std::string& path);

} // namespace lmsref
