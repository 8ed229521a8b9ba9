#include "ensemble/mpi_team.hpp"

#include "core/errors.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifdef LMSREF_HAVE_MPI
#include <mpi.h>
#endif

namespace lmsref {

namespace {

int environment_integer(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::atoi(value) : -1;
}

#ifdef LMSREF_HAVE_MPI
// MPI_COMM_WORLD as a Team: MPI initialised on construction (only the thread that made it calls MPI), finalised on
// destruction.
class MpiTeam final : public Team {
public:
    MpiTeam() {
        int provided = 0;
        MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
        MPI_Comm host; // the ranks that share this host's memory, and so its GPUs
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &host);
        MPI_Comm_rank(host, &local_rank_);
        MPI_Comm_free(&host);
    }
    ~MpiTeam() override { MPI_Finalize(); }
    MpiTeam(const MpiTeam&) = delete;
    MpiTeam& operator=(const MpiTeam&) = delete;

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    int local_rank() const override { return local_rank_; }

    std::int64_t minimum(std::int64_t value) override {
        std::int64_t result = 0;
        MPI_Allreduce(&value, &result, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
        return result;
    }
    void broadcast(int root, double* values, std::size_t count) override {
        in_parts(count,
                 [&](std::size_t at, int part) { MPI_Bcast(values + at, part, MPI_DOUBLE, root, MPI_COMM_WORLD); });
    }
    void broadcast(int root, std::string& text) override {
        auto length = static_cast<std::int64_t>(text.size());
        MPI_Bcast(&length, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
        text.resize(static_cast<std::size_t>(length));
        MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, MPI_COMM_WORLD);
    }
    void send(int to, const double* values, std::size_t count) override {
        in_parts(count,
                 [&](std::size_t at, int part) { MPI_Send(values + at, part, MPI_DOUBLE, to, 0, MPI_COMM_WORLD); });
    }
    void receive(int from, double* values, std::size_t count) override {
        in_parts(count, [&](std::size_t at, int part) {
            MPI_Recv(values + at, part, MPI_DOUBLE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        });
    }

private:
    // MPI counts are ints: call(at, part) for parts of at most 2^30 values.
    template <class Call> static void in_parts(std::size_t count, const Call& call) {
        for (std::size_t at = 0; at < count; at += std::size_t{1} << 30)
            call(at, static_cast<int>(std::min<std::size_t>(count - at, std::size_t{1} << 30)));
    }

    int rank_ = 0, size_ = 1, local_rank_ = 0;
};
#endif

} // namespace

int launched_rank() {
    for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK"})
        if (const int rank = environment_integer(name); rank >= 0) return rank;
    return 0;
}

int launched_size() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
        if (const int size = environment_integer(name); size >= 1) return size;
    return 1;
}

std::string launcher_output_failure() {
    const char* daemon = std::getenv("OMPI_MCA_orte_local_daemon_uri");
    const char* mpirun = std::getenv("OMPI_MCA_orte_hnp_uri");
    if (launched_rank() != 0 || daemon == nullptr || mpirun == nullptr || std::string(daemon) != mpirun)
        return ""; // not rank 0, or mpirun is not this process's parent on this host
    const std::string process = "/proc/" + std::to_string(::getppid());
    std::string name;
    std::getline(std::ifstream(process + "/comm"), name);
    if (name != "mpirun" && name != "mpiexec" && name != "orterun") return "";
    std::ifstream info(process + "/fdinfo/1");
    if (!info) return "mpirun's standard output is closed";
    long flags = -1;
    for (std::string line; std::getline(info, line);)
        if (line.rfind("flags:", 0) == 0) flags = std::strtol(line.c_str() + 6, nullptr, 8);
    if (flags >= 0 && (flags & O_ACCMODE) == O_RDONLY) // its standard output was closed, the number reused
        return "mpirun's standard output is closed";
    const std::string output = process + "/fd/1";
    struct stat status {};
    if (::stat(output.c_str(), &status) != 0) return "";
    if (S_ISCHR(status.st_mode) && status.st_rdev == makedev(1, 7)) return "mpirun's standard output is /dev/full";
    if (!S_ISFIFO(status.st_mode)) return "";
    const int fd = ::open(output.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return errno == ENXIO ? "mpirun's standard output is a pipe that nobody reads" : "";
    pollfd pipe{fd, POLLOUT, 0};
    const bool gone = ::poll(&pipe, 1, 0) == 1 && (pipe.revents & POLLERR) != 0;
    ::close(fd);
    return gone ? "mpirun's standard output is a pipe that nobody reads" : "";
}

bool mpi_built() {
#ifdef LMSREF_HAVE_MPI
    return true;
#else
    return false;
#endif
}

std::unique_ptr<Team> join_launched_team() {
    if (environment_integer("OMPI_COMM_WORLD_SIZE") < 1 && environment_integer("PMI_SIZE") < 1) return nullptr;
#ifdef LMSREF_HAVE_MPI
    return std::make_unique<MpiTeam>();
#else
    if (launched_size() == 1) return nullptr;
    throw InputError("mpirun started " + std::to_string(launched_size()) +
                     " processes, but this lmsref was built without MPI (configure with libopenmpi-dev installed and "
                     "LMSREF_MPI=auto or on), so each would run the whole ensemble; run it without mpirun");
#endif
}

} // namespace lmsref
