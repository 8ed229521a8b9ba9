// The README and docs/: every example command they show runs, and what they show it printing is what it prints.
#include "cli_support.hpp"
#include "io/array_io.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace lmsref;
using namespace lmsref::test;

namespace {

/// One example: the command as a reader would type it, and the lines the page shows it printing.
struct Example {
    std::string page;
    std::size_t line = 0;
    std::string command;
    std::vector<std::string> shown;
};

/// The examples of a page: in its fenced blocks, each line that starts with `build/lmsref `, `$ build/lmsref ` or
/// `$ lmsref ` (a trailing `#` comment dropped), and the lines after it up to the next command or the block's end.
/// Commands with placeholders ([options], ...) are forms, not examples.
std::vector<Example> examples_of(const std::string& page) {
    std::ifstream in(page);
    std::vector<Example> examples;
    bool in_block = false;
    Example* current = nullptr;
    std::size_t number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        if (line.rfind("```", 0) == 0) {
            in_block = !in_block;
            current = nullptr;
            continue;
        }
        if (!in_block) continue;
        const bool prompt = line.rfind("$ ", 0) == 0;
        std::string command = prompt ? line.substr(2) : line;
        if (command.rfind("build/lmsref ", 0) == 0 || (prompt && command.rfind("lmsref ", 0) == 0)) {
            const std::size_t comment = command.find("  #");
            if (comment != std::string::npos) command = command.substr(0, command.find_last_not_of(' ', comment) + 1);
            if (command.find('[') != std::string::npos || command.find("...") != std::string::npos) {
                current = nullptr;
                continue;
            }
            examples.push_back({page, number, command, {}});
            current = &examples.back();
        } else if (current != nullptr) {
            current->shown.push_back(line); // an empty line too: it ends a table
        }
    }
    return examples;
}

/// What may differ between machines and runs: the LibTorch version, the threads, and (masked) every number.
std::string normalised(std::string line, bool mask_numbers) {
    line = std::regex_replace(line, std::regex("LibTorch [0-9][^ ,)]*"), "LibTorch V");
    line = std::regex_replace(line, std::regex("[0-9]+ threads?"), "T threads");
    if (mask_numbers) { // and the columns' padding, which follows the numbers' widths
        line = std::regex_replace(line, std::regex("[-+]?[0-9][0-9.e+-]*"), "#");
        line = std::regex_replace(line, std::regex(" +"), " ");
    }
    return std::regex_replace(line, std::regex(" +$"), "");
}

/// A line that holds a time, and so is compared by its shape alone.
bool holds_time(const std::string& line) {
    static const std::regex timing("time |us/sample|seconds|ns/\\(r n\\)|ns per");
    return std::regex_search(line, timing);
}

} // namespace

TEST_CASE("docs: every example command runs, and prints what the page shows", "[docs]") {
    const std::filesystem::path root = std::filesystem::path(LMSREF_REFERENCE_DIR).parent_path().parent_path();
    std::vector<std::string> pages = {(root / "README.md").string()};
    for (const auto& entry : std::filesystem::directory_iterator(root / "docs"))
        if (entry.path().extension() == ".md") pages.push_back(entry.path().string());
    std::sort(pages.begin(), pages.end());
    std::size_t ran = 0;
    for (const std::string& page : pages) {
        // Each page runs in a folder of its own, its examples in order (a later one may draw what an earlier one
        // wrote), with build/lmsref and lmsref on PATH, and the files the error examples name.
        TemporaryDir dir;
        std::filesystem::create_directory(dir / "build");
        std::filesystem::create_symlink(LMSREF_EXECUTABLE, dir / "build/lmsref");
        std::ofstream(dir / "header.csv") << "x\n1\n2\n";
        write_array(dir / "d.npy", Array2D(2, 1), FileFormat::npy);
        for (const Example& example : examples_of(page)) {
            CAPTURE(example.page, example.line, example.command);
            const Result result = run_command("cd '" + dir.path() + "' && PATH='" + dir.path() + "/build':\"$PATH\" " +
                                              example.command + " 2>&1");
            ++ran;
            // An example that shows an error (its first line "lmsref: ..." or "lmsref <command>: ...", not a
            // warning or a note) must fail; every other must succeed.
            static const std::regex failure("^lmsref(: | [a-z-]+: unknown )");
            const bool error = !example.shown.empty() && std::regex_search(example.shown.front(), failure) &&
                               example.shown.front().find("warning:") == std::string::npos &&
                               example.shown.front().find("note:") == std::string::npos;
            CAPTURE(result.output);
            if (error)
                CHECK(result.exit_code != 0);
            else
                CHECK(result.exit_code == 0);
            std::vector<std::string> printed;
            std::istringstream lines(result.output);
            for (std::string line; std::getline(lines, line);) printed.push_back(line);
            // Timed lines are compared by their shape: a line that holds a time, and the rows of a table whose
            // header names one (up to the table's end, an empty line).
            std::vector<bool> timed(example.shown.size(), false);
            bool in_table = false;
            for (std::size_t k = 0; k < example.shown.size(); ++k) {
                const std::string& line = example.shown[k];
                in_table = in_table && !line.empty();
                timed[k] = holds_time(line) || in_table;
                if (line.find("seconds") != std::string::npos || line.find("us/sample") != std::string::npos ||
                    line.find("ns/(r n)") != std::string::npos)
                    in_table = true;
            }
            for (std::size_t k = 0; k < example.shown.size(); ++k) {
                const std::string& shown = example.shown[k];
                if (shown.empty()) continue;
                CAPTURE(shown);
                const auto found = [&](bool mask) {
                    return std::any_of(printed.begin(), printed.end(), [&](const std::string& line) {
                        return normalised(line, mask) == normalised(shown, mask);
                    });
                };
                // Exactly, but for the version and the threads; a timed line by its shape.
                CHECK((found(false) || (timed[k] && found(true))));
            }
        }
    }
    CHECK(ran >= 10); // the pages hold examples, and the parser found them
}
