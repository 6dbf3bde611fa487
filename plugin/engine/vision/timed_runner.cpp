// SPDX-License-Identifier: LGPL-2.1-or-later
// The runner's thread takes one job at a time; a job left behind takes the shared state with it.
#include "engine/vision/timed_runner.h"

#include <condition_variable>
#include <exception>

namespace feremotion {

struct TimedRunner::State {
    std::mutex mutex;
    std::condition_variable jobGiven, jobDone;
    std::function<void()> job;
    bool done = false;
    bool stopping = false;
    bool leftBehind = false;
    std::exception_ptr error;
};

void TimedRunner::work(std::shared_ptr<State> state)
{
    std::unique_lock<std::mutex> lock(state->mutex);
    for (;;) {
        state->jobGiven.wait(lock, [&] { return state->job || state->stopping; });
        if (!state->job)
            return;
        std::function<void()> job = std::move(state->job);
        state->job = nullptr;
        lock.unlock();
        std::exception_ptr error;
        try {
            job();
        } catch (...) {
            error = std::current_exception();
        }
        job = nullptr; // what it holds is let go of outside the lock
        lock.lock();
        state->error = error;
        state->done = true;
        state->jobDone.notify_all();
        if (state->leftBehind)
            return;
    }
}

TimedRunner::~TimedRunner()
{
    if (!thread_.joinable())
        return;
    {
        std::lock_guard<std::mutex> lock(state_->mutex);
        state_->stopping = true;
    }
    state_->jobGiven.notify_all();
    thread_.join();
}

bool TimedRunner::stuck() const
{
    std::lock_guard<std::mutex> lock(callMutex_);
    return stuck_;
}

void TimedRunner::run(std::function<void()> job, std::chrono::milliseconds limit)
{
    std::lock_guard<std::mutex> call(callMutex_);
    if (stuck_)
        throw TimeoutError("an earlier job ran past its time limit and is still running");
    if (limit.count() <= 0) {
        job();
        return;
    }
    if (!thread_.joinable()) {
        state_ = std::make_shared<State>();
        thread_ = std::thread(work, state_);
    }
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->job = std::move(job);
    state_->done = false;
    state_->error = nullptr;
    state_->jobGiven.notify_one();
    if (!state_->jobDone.wait_for(lock, limit, [&] { return state_->done; })) {
        state_->leftBehind = true;
        lock.unlock();
        thread_.detach();
        stuck_ = true;
        throw TimeoutError("it ran past its time limit of " + std::to_string(limit.count()) + " ms");
    }
    if (state_->error)
        std::rethrow_exception(state_->error);
}

} // namespace feremotion
