// The processes that share one ensemble: MPI's ranks (src/mpi_team.hpp), or this process alone. The ensemble asks
// little of them (src/ensemble/ensemble.cpp): a few collective decisions, the running totals handed from rank to rank
// in block order, and the final totals broadcast from rank 0. Abstract so that the engine needs no MPI header, and so
// that the tests can play a team of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

namespace lmsref {

class Team {
public:
    virtual ~Team() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    /// This rank's place among the team's processes on its host: it picks the host's GPU (local rank mod GPUs).
    virtual int local_rank() const = 0;

    /// Collective: the smallest of the ranks' values.
    virtual std::int64_t minimum(std::int64_t value) = 0;
    /// Collective: root's values (count of them, the same count on every rank) to every rank.
    virtual void broadcast(int root, double* values, std::size_t count) = 0;
    /// Collective: root's text to every rank.
    virtual void broadcast(int root, std::string& text) = 0;
    /// Point to point, blocking until the peer has it: count doubles to rank `to`, from rank `from`.
    virtual void send(int to, const double* values, std::size_t count) = 0;
    virtual void receive(int from, double* values, std::size_t count) = 0;

    /// Collective: whether any rank's flag is set.
    bool any(bool flag) { return minimum(flag ? 0 : 1) == 0; }
    /// Collective: the largest of the ranks' values.
    std::int64_t maximum(std::int64_t value) { return -minimum(-value); }
    /// Collective: every rank gives its own failure (null when it has none). If any rank failed, every rank throws
    /// the failure of the lowest rank that failed: that rank its own exception, the others an Error with its exit code
    /// and message. So all ranks leave together, and rank 0 can print what went wrong wherever it happened.
    void check(std::exception_ptr failure);
};

} // namespace lmsref
