// K threads playing the K ranks of an MPI launch (src/ensemble/team.hpp): each runs the whole engine with its own Team,
// talking through a hub as MPI ranks would. Shared by test_team.cpp and test_cuda_emulation.cpp.
#pragma once

#include "ensemble/ensemble.hpp"
#include "core/errors.hpp"
#include "ensemble/team.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lmsref {
namespace test {

// What the threads of a team share: mailboxes for send and receive, and one collective exchange at a time.
class Hub {
public:
    explicit Hub(int size) : size_(size), slots_(static_cast<std::size_t>(size)) {}
    int size() const { return size_; }

    // Collective: every rank puts in its text, and gets every rank's.
    std::vector<std::string> exchange(int rank, std::string text) {
        std::unique_lock<std::mutex> lock(mutex_);
        const std::uint64_t generation = generation_;
        slots_[static_cast<std::size_t>(rank)] = std::move(text);
        if (++arrived_ == size_) {
            result_ = slots_;
            arrived_ = 0;
            ++generation_;
            changed_.notify_all();
        } else {
            changed_.wait(lock, [&] { return generation_ != generation; });
        }
        return result_;
    }
    void send(int from, int to, std::vector<double> values) {
        std::lock_guard<std::mutex> lock(mutex_);
        mail_[{from, to}].push_back(std::move(values));
        changed_.notify_all();
    }
    std::vector<double> receive(int from, int to) {
        std::unique_lock<std::mutex> lock(mutex_);
        auto& box = mail_[{from, to}];
        changed_.wait(lock, [&] { return !box.empty(); });
        std::vector<double> values = std::move(box.front());
        box.pop_front();
        return values;
    }

private:
    int size_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> slots_, result_;
    int arrived_ = 0;
    std::uint64_t generation_ = 0;
    std::map<std::pair<int, int>, std::deque<std::vector<double>>> mail_;
};

inline std::string as_text(const double* values, std::size_t count) {
    return std::string(reinterpret_cast<const char*>(values), count * sizeof(double));
}

class ThreadTeam final : public Team {
public:
    ThreadTeam(Hub& hub, int rank) : hub_(hub), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return hub_.size(); }
    int local_rank() const override { return rank_; }
    std::int64_t minimum(std::int64_t value) override {
        std::int64_t smallest = value;
        for (const std::string& text : hub_.exchange(rank_, std::to_string(value)))
            smallest = std::min<std::int64_t>(smallest, std::stoll(text));
        return smallest;
    }
    void broadcast(int root, double* values, std::size_t count) override {
        const std::string sent = hub_.exchange(rank_, rank_ == root ? as_text(values, count) : "")[root];
        REQUIRE(sent.size() == count * sizeof(double));
        std::memcpy(values, sent.data(), sent.size());
    }
    void broadcast(int root, std::string& text) override {
        text = hub_.exchange(rank_, rank_ == root ? text : "")[static_cast<std::size_t>(root)];
    }
    void send(int to, const double* values, std::size_t count) override {
        hub_.send(rank_, to, std::vector<double>(values, values + count));
    }
    void receive(int from, double* values, std::size_t count) override {
        const std::vector<double> got = hub_.receive(from, rank_);
        REQUIRE(got.size() == count);
        std::copy(got.begin(), got.end(), values);
    }

private:
    Hub& hub_;
    int rank_;
};

// What each rank of a team got: its result, or its failure's message and exit code.
struct RankOutcome {
    EnsembleResult result;
    std::string failure;
    ExitCode code = ExitCode::success;
};

// Runs `run` (an ensemble on the options it is given) on K threads, rank k with options.team = rank k's team.
template <class Run> std::vector<RankOutcome> run_team(int K, const EnsembleOptions& options, const Run& run) {
    Hub hub(K);
    std::vector<RankOutcome> outcomes(static_cast<std::size_t>(K));
    std::vector<std::thread> ranks;
    for (int k = 0; k < K; ++k)
        ranks.emplace_back([&, k] {
            ThreadTeam team(hub, k);
            EnsembleOptions mine = options;
            mine.team = &team;
            RankOutcome& outcome = outcomes[static_cast<std::size_t>(k)];
            try {
                outcome.result = run(mine);
            } catch (const Error& error) {
                outcome.failure = error.what();
                outcome.code = error.code();
            }
        });
    for (std::thread& rank : ranks) rank.join();
    return outcomes;
}

} // namespace test
} // namespace lmsref
