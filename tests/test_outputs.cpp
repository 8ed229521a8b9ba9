// A run's outputs as a whole set (a full disk, a signal, a stale file, two runs at once), input files that are not
// files, the stage reports and the help: what a user meets first.
#include "cli_support.hpp"
#include "plot/plot.hpp"
#include "report/report.hpp"
#include "stages/registry.hpp"
#include "stages/runner.hpp"
#include "support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace lmsref;
using namespace lmsref::test;

namespace {

/// Every file under `dir` with its bytes, by path relative to `dir`.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
        if (entry.is_regular_file())
            files[std::filesystem::relative(entry.path(), dir).string()] = file_bytes(entry.path().string());
    return files;
}

/// Entries under `dir` that a run leaves only while it works: work folders and temporary files.
std::vector<std::string> leftovers(const std::string& dir) {
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(".lmsref-", 0) == 0 || name.find(".tmp-") != std::string::npos)
            found.push_back(entry.path().string());
    }
    return found;
}

/// A tmpfs of `kilobytes` mounted on a folder, unmounted when the object goes; mounted() is false where this
/// process may not mount (not root, no CAP_SYS_ADMIN).
class SmallDisk {
public:
    explicit SmallDisk(const std::string& folder, int kilobytes) : folder_(folder) {
        std::filesystem::create_directories(folder);
        const std::string options = "size=" + std::to_string(kilobytes) + "k";
        mounted_ = ::mount("tmpfs", folder.c_str(), "tmpfs", 0, options.c_str()) == 0;
        if (!mounted_) reason_ = std::strerror(errno);
    }
    ~SmallDisk() {
        if (mounted_) ::umount2(folder_.c_str(), MNT_DETACH);
    }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;
    bool mounted() const { return mounted_; }
    const std::string& reason() const { return reason_; }

private:
    std::string folder_;
    bool mounted_ = false;
    std::string reason_;
};

bool killed_by_signal(const Result& result, int signal) {
    return result.exit_code == -1 || result.exit_code == 128 + signal; // the shell may report it either way
}

} // namespace

TEST_CASE("outputs: a write that fails midway leaves the previous set whole and no temporary", "[outputs]") {
    TemporaryDir dir;
    const std::string out = dir / "o";
    REQUIRE(run_lmsref("compare -N 40 --out-dir '" + out + "'").exit_code == 0);
    const auto before = snapshot(out);
    // x, d, summary.json, then w, y, e for every stage and loss for those with one.
    Scenario scenario;
    scenario.samples = 40;
    std::size_t expected = 3;
    for (const StageComparison& c : compare_stages(generate_data(scenario), scenario, Device::cpu, 1e-12).stages)
        expected += 3 + (c.run->trajectory.loss.empty() ? 0 : 1);
    REQUIRE(before.size() == expected);

    // The 5th file of the new set fails as on a full disk, half written.
    const Result result =
        run_lmsref("compare -N 60 --seed 1 --out-dir '" + out + "'", "LMSREF_TEST_FAULT=write-error:5");
    INFO(result.output);
    REQUIRE(result.exit_code == 2);
    REQUIRE_THAT(result.output, Catch::Contains("No space left on device") && Catch::Contains("lmsref: " + out + "/") &&
                                    !Catch::Contains(".lmsref-"));
    REQUIRE(snapshot(out) == before);
    REQUIRE(leftovers(dir.path()).empty());
    REQUIRE(files_in(dir.path()) == 1);
}

TEST_CASE("outputs: a full disk during compare leaves the previous set whole", "[outputs]") {
    TemporaryDir dir;
    SmallDisk disk(dir / "disk", 256); // compare -N 100 needs about 60 KB; -N 2000 about 1.2 MB
    if (!disk.mounted()) {
        WARN("skipped: cannot mount a tmpfs here (" << disk.reason()
                                                    << "); the injected write failure above covers it");
        return;
    }
    const std::string out = dir / "disk/o";
    REQUIRE(run_lmsref("compare -N 100 --out-dir '" + out + "'").exit_code == 0);
    const auto before = snapshot(out);
    const Result result = run_lmsref("compare -N 2000 --format csv --out-dir '" + out + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 2);
    REQUIRE_THAT(result.output, Catch::Contains("No space left on device") && !Catch::Contains(".lmsref-"));
    REQUIRE(snapshot(out) == before);
    REQUIRE(leftovers(dir / "disk").empty());
}

TEST_CASE("outputs: SIGTERM, SIGINT or SIGHUP while writing removes the new set and keeps the old", "[outputs]") {
    for (const auto& [name, number] : {std::pair{"TERM", SIGTERM}, {"INT", SIGINT}, {"HUP", SIGHUP}}) {
        CAPTURE(name);
        TemporaryDir dir;
        const std::string out = dir / "o";
        REQUIRE(run_lmsref("sgd -N 30 --out-dir '" + out + "'").exit_code == 0);
        const auto before = snapshot(out);
        // The signal comes after the 2nd file of the new run: w.npy and y.npy are written, e.npy is not (the writer
        // waits for the signal's end: on a loaded machine it could otherwise finish the set first).
        const Result result = run_lmsref("sgd -N 50 --out-dir '" + out + "'",
                                         std::string("LMSREF_TEST_FAULT=signal:2:") + name + ":wait");
        INFO(result.output);
        REQUIRE(killed_by_signal(result, number));
        REQUIRE(snapshot(out) == before);
        REQUIRE(leftovers(dir.path()).empty());
        REQUIRE(files_in(dir.path()) == 1);
    }
}

TEST_CASE("outputs: a folder holds exactly the last run's files", "[outputs]") {
    TemporaryDir dir;
    const std::string out = dir / "o";
    REQUIRE(run_lmsref("mseloss -N 20 --out-dir '" + out + "'").exit_code == 0);
    REQUIRE(std::filesystem::exists(out + "/loss.npy"));
    REQUIRE(run_lmsref("numpy -N 20 --out-dir '" + out + "'").exit_code == 0);
    REQUIRE(snapshot(out).size() == 3); // w, y, e: no stale loss.npy
    REQUIRE_FALSE(std::filesystem::exists(out + "/loss.npy"));
    REQUIRE(run_lmsref("numpy -N 20 --format csv --out-dir '" + out + "'").exit_code == 0);
    std::vector<std::string> names;
    for (const auto& [name, bytes] : snapshot(out)) names.push_back(name);
    REQUIRE(names == std::vector<std::string>{"e.csv", "w.csv", "y.csv"}); // no x.npy beside x.csv
    REQUIRE(leftovers(dir.path()).empty());
}

TEST_CASE("outputs: two runs into one folder at once publish one whole set, never a mix", "[outputs]") {
    TemporaryDir dir;
    const std::string out = dir / "o";
    Result first;
    Result second;
    std::thread other([&] { first = run_lmsref("compare -N 300 --seed 1 --out-dir '" + out + "'"); });
    second = run_lmsref("compare -N 300 --seed 2 --out-dir '" + out + "'");
    other.join();
    INFO(first.output << second.output);
    REQUIRE(first.exit_code == 0);
    REQUIRE(second.exit_code == 0);
    // Whichever came last, every file belongs to the seed that summary.json names.
    Scenario scenario;
    scenario.samples = 300;
    scenario.seed = file_bytes(out + "/summary.json").find("\"seed\": 1") != std::string::npos ? 1 : 2;
    const Data data = generate_data(scenario);
    REQUIRE(read_signal(out + "/x.npy") == data.x);
    for (const Stage& stage : stages()) {
        CAPTURE(stage.name);
        const StageRun run = run_stage(stage, data, scenario, Device::cpu);
        REQUIRE(read_array(out + "/" + std::string(stage.name) + "/w.npy").values == run.trajectory.w.values);
    }
    REQUIRE(leftovers(dir.path()).empty());
}

TEST_CASE("outputs: a folder with files lmsref did not write is refused, not replaced", "[outputs]") {
    TemporaryDir dir;
    std::filesystem::create_directories(dir / "o/numpy");
    std::ofstream(dir / "o/numpy/notes.txt") << "mine\n";
    const Result result = run_lmsref("compare -N 20 --out-dir '" + (dir / "o") + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 1);
    REQUIRE_THAT(result.output, Catch::Contains("holds numpy/notes.txt, which lmsref did not write"));
    REQUIRE(file_bytes(dir / "o/numpy/notes.txt") == "mine\n");
    REQUIRE(leftovers(dir.path()).empty());
}

TEST_CASE("input: a FIFO is refused at once rather than read", "[outputs][errors]") {
    TemporaryDir dir;
    REQUIRE(::mkfifo((dir / "x.npy").c_str(), 0600) == 0);
    const Result result =
        run_lmsref("numpy --x '" + (dir / "x.npy") + "' --d '" + std::string(LMSREF_CLI_ERRORS_DIR) + "/d9.npy'");
    INFO(result.output);
    REQUIRE(result.exit_code == 1);
    REQUIRE_THAT(result.output, Catch::Contains("x.npy: is not a regular file (a FIFO)"));
}

TEST_CASE("report: a stage prints what it used, in compare's number format", "[report]") {
    Result result = run_lmsref("numpy -N 1");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE_THAT(result.output,
                 Catch::Contains("for 1 sample)") && !Catch::Contains("  device ") && !Catch::Contains("torch seed"));
    result = run_lmsref("linear -N 30 --torch-seed 7");
    REQUIRE_THAT(result.output, Catch::Contains("torch seed = 7") && Catch::Contains("device     cpu, LibTorch") &&
                                    Catch::Contains("for 30 samples)"));
    result = run_lmsref("sgd -N 30");
    REQUIRE_THAT(result.output, !Catch::Contains("torch seed") && Catch::Contains("device     cpu"));
    // The final weights with 9 significant digits, as compare prints them.
    Scenario scenario;
    scenario.samples = 30;
    const StageRun run = run_stage(find_stage("sgd"), generate_data(scenario), scenario, Device::cpu);
    REQUIRE_THAT(result.output, Catch::Contains("w_N        " + shown_weights(run.trajectory.final_weights())));
    // A long filter is shortened like compare's table.
    result = run_lmsref("numpy -N 30 -M 20");
    REQUIRE_THAT(result.output, Catch::Contains(", ... (20 taps)]"));
}

TEST_CASE("report: table values keep 9 significant digits at any magnitude", "[report]") {
    REQUIRE(shown_weights({1.1e289, -2.5e-300, 0.1}) == "[1.1e+289, -2.5e-300, 0.1]");
    REQUIRE(shown_weights({0.123456789012}) == "[0.123456789]");
    REQUIRE(shown_weights(std::vector<double>(7, 1.0)) == "[1, 1, 1, 1, 1, 1, ... (7 taps)]");
}

TEST_CASE("help: each command lists the options it uses, within 100 columns, names apart from descriptions", "[help]") {
    const auto help = [](const std::string& command) {
        const Result result = run_lmsref(command + " --help");
        REQUIRE(result.exit_code == 0);
        return result.output;
    };
    std::vector<std::string> commands = {"", "compare", "data", "ensemble", "bench", "plot", "basics", "list"};
    for (const Stage& stage : stages()) commands.emplace_back(stage.name);
    for (const std::string& command : commands) {
        CAPTURE(command);
        std::stringstream lines(help(command));
        for (std::string line; std::getline(lines, line);) {
            CAPTURE(line);
            REQUIRE(line.size() <= 100);
            // An option's name and default end two columns before its description (column 32), never touching it.
            if (line.rfind("  -", 0) == 0 && line.size() > 32) REQUIRE(line.substr(30, 2) == "  ");
        }
    }
    REQUIRE_THAT(help("numpy"), !Catch::Contains("--device") && !Catch::Contains("--torch-seed") &&
                                    Catch::Contains("--eta FLOAT") && Catch::Contains("--x FILE") &&
                                    Catch::Contains("--out-dir DIR") && Catch::Contains("--wo LIST"));
    REQUIRE_THAT(help("sgd"), Catch::Contains("--device DEVICE") && !Catch::Contains("--torch-seed"));
    REQUIRE_THAT(help("linear"), Catch::Contains("--torch-seed UINT") && Catch::Contains("--device"));
    REQUIRE_THAT(help("data"), !Catch::Contains("--eta") && !Catch::Contains("--taps") &&
                                   !Catch::Contains("--device") && !Catch::Contains("--x") &&
                                   Catch::Contains("--seed UINT"));
    REQUIRE_THAT(help("compare"), Catch::Contains("--tolerance FLOAT") && Catch::Contains("3 a zero-init stage"));
    REQUIRE_THAT(help("numpy"), !Catch::Contains("3 a zero-init stage") && Catch::Contains("Exit codes"));
    REQUIRE_THAT(help("list"), !Catch::Contains("Exit codes"));
    REQUIRE_THAT(help("ensemble"), Catch::Contains("-R,--realizations UINT") && Catch::Contains("--threads UINT") &&
                                       Catch::Contains("--x FILE") && Catch::Contains("N x R") &&
                                       Catch::Contains("--stage STAGE") && Catch::Contains("--device DEVICE") &&
                                       Catch::Contains("--chunk UINT") && Catch::Contains("--torch-seed UINT") &&
                                       Catch::Contains("3 a zero-init stage"));
}

TEST_CASE("help: the README and docs/cli.md show lmsref --help and compare --help as they are", "[help]") {
    const std::filesystem::path root = std::filesystem::path(LMSREF_REFERENCE_DIR).parent_path().parent_path();
    const std::pair<std::string, std::string> shown_in[] = {{"--help", "README.md"}, {"compare --help", "docs/cli.md"}};
    for (const auto& [command, page] : shown_in) {
        CAPTURE(command, page);
        const std::string text = file_bytes((root / page).string());
        const std::string marker = "<!-- lmsref " + command + " -->\n```\n";
        const std::size_t start = text.find(marker);
        REQUIRE(start != std::string::npos);
        const std::size_t begin = start + marker.size();
        const std::string shown = text.substr(begin, text.find("```\n", begin) - begin);
        REQUIRE(shown == run_lmsref(command).output);
    }
}

TEST_CASE("outputs: a signal never races the writer, 20 times over", "[outputs]") {
    // The writer keeps going while the signal is handled: each file write and folder made holds the signal off
    // (hold_off_signals), so no file can land in a work folder after it was removed. Before that, about one run in
    // ten left a .lmsref-XXXXXX folder behind.
    TemporaryDir dir;
    const std::string out = dir / "o";
    REQUIRE(run_lmsref("compare -N 30 --out-dir '" + out + "'").exit_code == 0);
    const auto before = snapshot(out);
    for (int run = 0; run < 20; ++run) {
        CAPTURE(run);
        const Result result =
            run_lmsref("compare -N 30 --seed 1 --out-dir '" + out + "'", "LMSREF_TEST_FAULT=signal:2");
        REQUIRE(killed_by_signal(result, SIGTERM));
        REQUIRE(leftovers(dir.path()).empty());
    }
    REQUIRE(snapshot(out) == before);
}

TEST_CASE("outputs: a closed standard output drops the set with exit 2", "[outputs]") {
    TemporaryDir dir;
    const std::string out = dir / "o";
    // `| true` reads nothing: the report cannot be written, so the run must not publish behind an error.
    std::ofstream(dir / "run.sh") << "'" << LMSREF_EXECUTABLE << "' compare -N 2000 --out-dir '" << out << "' 2>'"
                                  << (dir / "err.txt") << "' | true\nexit ${PIPESTATUS[0]}\n";
    const int status = std::system(("bash '" + (dir / "run.sh") + "'").c_str());
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 2);
    REQUIRE_THAT(file_bytes(dir / "err.txt"), Catch::Contains("standard output: cannot write"));
    REQUIRE_FALSE(std::filesystem::exists(out));
    REQUIRE(leftovers(dir.path()).empty());
}

TEST_CASE("outputs: Ctrl-C while gnuplot hangs stops gnuplot too and leaves nothing", "[outputs][plot]") {
    if (!plotting_built_in())
        FAIL("lmsref was built without plotting"); // else it waits for a gnuplot that never starts
    TemporaryDir dir;
    // A gnuplot that records its process id and never finishes.
    const std::string fake = dir / "gnuplot.sh";
    std::ofstream(fake) << "#!/bin/sh\necho $$ > '" << (dir / "gnuplot.pid") << "'\nexec sleep 300\n";
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    // Job control on (set -m): a script's background command otherwise starts with SIGINT ignored, as Ctrl-C
    // never reaches it, and lmsref keeps a signal ignored at start.
    std::ofstream(dir / "run.sh") << "set -m\n"
                                  << "LMSREF_GNUPLOT='" << fake << "' '" << LMSREF_EXECUTABLE
                                  << "' numpy -N 50 --plot '" << (dir / "p.png") << "' --out-dir '" << (dir / "o")
                                  << "' >/dev/null 2>&1 &\n"
                                  << "p=$!\nwhile [ ! -s '" << (dir / "gnuplot.pid") << "' ]; do sleep 0.05; done\n"
                                  << "kill -INT $p\nwait $p\n";
    const int status = std::system(("bash '" + (dir / "run.sh") + "'").c_str());
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 128 + SIGINT);
    const pid_t gnuplot = std::stoi(file_bytes(dir / "gnuplot.pid"));
    bool gone = false;
    for (int wait = 0; wait < 100 && !gone; ++wait) { // it is killed at once; allow 5 s for the kernel to reap it
        gone = ::kill(gnuplot, 0) != 0;
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(gone);
    REQUIRE_FALSE(std::filesystem::exists(dir / "o"));
    REQUIRE_FALSE(std::filesystem::exists(dir / "p.png"));
    REQUIRE(leftovers(dir.path()).empty());
}

namespace {

/// The type of what stands at `path` (not following a last symbolic link).
std::filesystem::file_type type_at(const std::string& path) {
    return std::filesystem::symlink_status(path).type();
}

/// Runs a shell script (bash) and returns its exit code; -1 when it did not exit.
int run_script(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    const int status = std::system(("bash '" + path + "'").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST_CASE("outputs: a device, a FIFO or a link to one is refused as an output, never replaced", "[outputs]") {
    TemporaryDir dir;
    const std::string device = dir / "dev", fifo = dir / "fifo";
    // A character device made here (/dev/null's numbers), never the machine's own: only root may make one.
    const bool have_device = ::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
    if (!have_device) WARN("no device case: mknod needs root (" << std::strerror(errno) << "); the FIFOs still run");
    REQUIRE(::mkfifo(fifo.c_str(), 0666) == 0);
    REQUIRE(::mkfifo((dir / "fifo.png").c_str(), 0666) == 0);
    std::filesystem::create_symlink(have_device ? device : fifo, dir / "link.json");
    std::filesystem::create_symlink(have_device ? device : fifo, dir / "link.png");
    REQUIRE(run_lmsref("data -N 20 --out-dir '" + (dir / "in") + "'").exit_code == 0);
    const std::string kind = have_device ? "a character device" : "a FIFO";
    const struct {
        std::string arguments, message;
    } cases[] = {
        {"bench -N 20 --stages numpy --repeats 1 --json '" + (have_device ? device : fifo) + "'", " is " + kind},
        {"bench -N 20 --stages numpy --repeats 1 --json '" + fifo + "'", " is a FIFO, not a regular file"},
        {"bench -N 20 --stages numpy --repeats 1 --json '" + (dir / "link.json") + "'",
         "link.json (a symbolic link to " + (have_device ? device : fifo) + ") is " + kind},
        {"numpy -N 20 --plot '" + (dir / "fifo.png") + "'", "fifo.png is a FIFO, not a regular file"},
        {"numpy -N 20 --plot '" + (dir / "link.png") + "'", "link.png (a symbolic link to"},
        {"plot '" + (dir / "in/x.npy") + "' --out '" + (dir / "fifo.png") + "'", "fifo.png is a FIFO"},
        {"ensemble -R 2 -N 20 --json '" + fifo + "'", "is a FIFO, not a regular file"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.arguments);
        const Result result = run_lmsref(c.arguments);
        INFO(result.output);
        REQUIRE(result.exit_code == 1);
        REQUIRE(std::count(result.output.begin(), result.output.end(), '\n') == 1);
        REQUIRE_THAT(result.output, Catch::Contains(c.message) &&
                                        Catch::Contains("lmsref writes over regular files "
                                                        "only") &&
                                        !Catch::Contains(".lmsref-"));
        if (have_device) REQUIRE(type_at(device) == std::filesystem::file_type::character);
        REQUIRE(type_at(fifo) == std::filesystem::file_type::fifo);
        REQUIRE(type_at(dir / "fifo.png") == std::filesystem::file_type::fifo);
        REQUIRE(type_at(dir / "link.json") == std::filesystem::file_type::symlink);
        REQUIRE(leftovers(dir.path()).empty());
    }
    // A folder of lmsref's outputs that holds a FIFO under one of their names is not lmsref's to replace.
    REQUIRE(run_lmsref("numpy -N 20 --out-dir '" + (dir / "o") + "'").exit_code == 0);
    std::filesystem::remove(dir / "o/w.npy");
    REQUIRE(::mkfifo((dir / "o/w.npy").c_str(), 0666) == 0);
    const Result result = run_lmsref("numpy -N 20 --out-dir '" + (dir / "o") + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 1);
    REQUIRE_THAT(result.output, Catch::Contains("holds w.npy, which lmsref did not write"));
    REQUIRE(type_at(dir / "o/w.npy") == std::filesystem::file_type::fifo);
}

TEST_CASE("outputs: a signal once the new set is in place leaves the run a success", "[outputs]") {
    for (const char* name : {"TERM", "INT", "HUP"}) {
        CAPTURE(name);
        TemporaryDir dir;
        const std::string out = dir / "o";
        REQUIRE(run_lmsref("numpy -N 30 --seed 1 --out-dir '" + out + "'").exit_code == 0);
        const auto before = snapshot(out);
        REQUIRE(run_lmsref("numpy -N 50 --seed 7 --out-dir '" + (dir / "expected") + "'").exit_code == 0);
        const Result result = run_lmsref("numpy -N 50 --seed 7 --out-dir '" + out + "'",
                                         std::string("LMSREF_TEST_FAULT=signal:published:") + name);
        INFO(result.output);
        REQUIRE(result.exit_code == 0); // never "interrupted" with the new set in place
        REQUIRE(snapshot(out) == snapshot(dir / "expected"));
        REQUIRE(snapshot(out) != before);
        REQUIRE(leftovers(dir.path()).empty());
    }
}

TEST_CASE("outputs: a signal ignored at the start (nohup, &) stays ignored", "[outputs]") {
    for (const auto& [name, number] : {std::pair{"HUP", SIGHUP}, {"INT", SIGINT}, {"TERM", SIGTERM}}) {
        CAPTURE(name);
        TemporaryDir dir;
        // The run sends itself the signal after its first file, as `kill -HUP` would reach a nohup'ed run.
        const int code = run_script(
            dir / "run.sh", std::string("trap '' ") + name + "\nLMSREF_TEST_FAULT=signal:1:" + name + " '" +
                                LMSREF_EXECUTABLE + "' compare -N 40 --out-dir '" + (dir / "o") + "' >/dev/null\n");
        REQUIRE(code == 0);
        REQUIRE(std::filesystem::exists(dir / "o/summary.json"));
        REQUIRE(leftovers(dir.path()).empty());
        // Not ignored, the same signal ends the run with nothing published (the first test of this kind).
        const int stopped = run_script(dir / "run2.sh", std::string("LMSREF_TEST_FAULT=signal:1:") + name + ":wait '" +
                                                            LMSREF_EXECUTABLE + "' compare -N 40 --out-dir '" +
                                                            (dir / "p") + "' >/dev/null\n");
        REQUIRE(stopped == 128 + number);
        REQUIRE_FALSE(std::filesystem::exists(dir / "p"));
    }
}

TEST_CASE("outputs: success is reported only when standard output took everything", "[outputs]") {
    TemporaryDir dir;
    REQUIRE(run_lmsref("data -N 20 --out-dir '" + (dir / "in") + "'").exit_code == 0);
    const std::string lmsref = std::string("'") + LMSREF_EXECUTABLE + "' ";
    const struct {
        std::string command, published; // published: what the command would write ("" for none)
    } cases[] = {
        {"data -N 2000 --out-dir '" + (dir / "o1") + "' >&-", dir / "o1"},
        {"data -N 2000 --out-dir '" + (dir / "o2") + "' >/dev/full", dir / "o2"},
        {"plot '" + (dir / "in/x.npy") + "' --out '" + (dir / "p.png") + "' >&-", dir / "p.png"},
        {"numpy -N 50 --out-dir '" + (dir / "o3") + "' >/dev/full", dir / "o3"},
        {"list >/dev/full", ""},
        {"list >&-", ""},
        {"--help >/dev/full", ""},
        {"--version >&-", ""},
        {"numpy --help >/dev/full", ""},
        {"basics --section tensors >/dev/full", ""},
    };
    for (const auto& c : cases) {
        CAPTURE(c.command);
        const int code = run_script(dir / "run.sh", lmsref + c.command + " 2>'" + (dir / "err.txt") + "'\n");
        const std::string errors = file_bytes(dir / "err.txt");
        INFO(errors);
        if (c.command.find("p.png") != std::string::npos && !plotting_built_in()) continue; // refused otherwise
        REQUIRE(code == 2);
        REQUIRE_THAT(errors,
                     Catch::StartsWith("lmsref: standard output: cannot write (") &&
                         Catch::EndsWith(c.published.empty() ? "its output is lost\n" : "nothing was published\n"));
        if (!c.published.empty()) REQUIRE_FALSE(std::filesystem::exists(c.published));
        REQUIRE(leftovers(dir.path()).empty());
    }
}

TEST_CASE("outputs: a mismatch (exit 3) still publishes its outputs, the evidence", "[outputs]") {
    TemporaryDir dir;
    // At --tolerance 0 the LibTorch stages, whose arithmetic differs from numpy's in the last bits, disagree.
    Result result = run_lmsref("compare -N 50 --tolerance 0 --out-dir '" + (dir / "c") + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 3);
    REQUIRE(std::filesystem::exists(dir / "c/summary.json"));
    REQUIRE_THAT(result.output, Catch::Contains("outputs in "));
    result = run_lmsref("ensemble --stage all -R 20 -N 50 --tolerance 0 --out-dir '" + (dir / "e") + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 3);
    REQUIRE(std::filesystem::exists(dir / "e/summary.json"));
    REQUIRE(leftovers(dir.path()).empty());
}

TEST_CASE("outputs: the work folder of a killed run goes with the next run there, a living run's stays", "[outputs]") {
    TemporaryDir dir;
    const std::string out = dir / "o";
    // Killed outright after its first file: its work folder stays behind.
    const Result killed = run_lmsref("numpy -N 50 --out-dir '" + out + "'", "LMSREF_TEST_FAULT=signal:1:KILL");
    REQUIRE(killed_by_signal(killed, SIGKILL));
    REQUIRE(leftovers(dir.path()).size() >= 1);
    // One of a living run: held locked, as its run holds it.
    const std::string living = dir / ".lmsref-Living";
    std::filesystem::create_directories(living + "/o");
    const int lock = ::open(living.c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(lock >= 0);
    REQUIRE(::flock(lock, LOCK_EX) == 0);
    // Not ours by its name: never touched.
    std::filesystem::create_directories(dir / ".lmsref-notours/keep");
    const Result result = run_lmsref("numpy -N 50 --out-dir '" + out + "'");
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    REQUIRE(std::filesystem::exists(out + "/w.npy"));
    const std::vector<std::string> left = leftovers(dir.path());
    REQUIRE(std::filesystem::exists(living + "/o"));
    REQUIRE(std::filesystem::exists(dir / ".lmsref-notours/keep"));
    REQUIRE(std::count_if(left.begin(), left.end(), [&](const std::string& path) {
                return path.rfind(living, 0) != 0 && path.rfind(dir / ".lmsref-notours", 0) != 0;
            }) == 0);
    ::close(lock);
}
