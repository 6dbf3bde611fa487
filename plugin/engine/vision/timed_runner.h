// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs jobs on a thread of its own and waits for each a bounded time, so that a job that does not
// end (a model whose forward pass loops) can be left behind instead of hanging its caller.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace feremotion {

// A job ran past its limit (and every job after it on the same runner).
class TimeoutError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class TimedRunner {
public:
    TimedRunner() = default;
    ~TimedRunner(); // waits for a job in progress, unless one was left behind
    TimedRunner(const TimedRunner &) = delete;
    TimedRunner &operator=(const TimedRunner &) = delete;

    // Runs `job` and returns when it has finished, rethrowing what it threw; with a limit of 0 in
    // the calling thread, else on the runner's thread. Throws TimeoutError when the job runs past
    // `limit`: it is left running on that thread (the thread ends when it does), so it must own
    // what it uses, not refer to the caller's. From then on every run throws TimeoutError at once.
    void run(std::function<void()> job, std::chrono::milliseconds limit);
    // True once a job was left behind.
    bool stuck() const;

private:
    struct State;
    static void work(std::shared_ptr<State> state);

    mutable std::mutex callMutex_; // one run at a time
    std::shared_ptr<State> state_;
    std::thread thread_;
    bool stuck_ = false;
};

} // namespace feremotion
