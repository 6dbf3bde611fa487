// SPDX-License-Identifier: LGPL-2.1-or-later
// Cross-stream batching without a thread of its own: the oldest waiting stream leads, gathers what
// the others submitted and runs the forward pass for all of them.
#include "engine/vision/shared_classifier.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <map>
#include <thread>

namespace feremotion {

struct SharedClassifier::Request {
    int stream = -1;
    unsigned long long submitted = 0; // `events_` when queued
    const std::vector<cv::Mat> *crops = nullptr;
    std::vector<Emotion> results;
    std::exception_ptr error;
    bool done = false;
};

SharedClassifier::SharedClassifier(std::unique_ptr<EmotionClassifier> classifier, std::string loadKey)
    : classifier_(std::move(classifier)), loadKey_(std::move(loadKey))
{
}

int SharedClassifier::addStream()
{
    std::lock_guard lock(mutex_);
    streams_.insert(nextStream_);
    return nextStream_++;
}

void SharedClassifier::removeStream(int stream)
{
    std::lock_guard lock(mutex_);
    streams_.erase(stream);
    idle_.erase(stream);
    flushing_.erase(stream);
    lastSkip_.erase(stream);
    lastThread_.erase(stream);
    changed_.notify_all();
}

void SharedClassifier::setStreamIdle(int stream)
{
    std::lock_guard lock(mutex_);
    idle_.insert(stream);
    changed_.notify_all();
}

void SharedClassifier::setStreamFlushing(int stream, bool flushing)
{
    std::lock_guard lock(mutex_);
    if (flushing) {
        flushing_.insert(stream);
        idle_.insert(stream);
    } else {
        flushing_.erase(stream);
    }
    changed_.notify_all();
}

void SharedClassifier::skipFrame(int stream)
{
    std::lock_guard lock(mutex_);
    idle_.erase(stream);
    lastSkip_[stream] = ++events_;
    lastThread_[stream] = std::this_thread::get_id();
    changed_.notify_all();
}

void SharedClassifier::setStreamThread(int stream)
{
    std::lock_guard lock(mutex_);
    lastThread_[stream] = std::this_thread::get_id();
}

bool SharedClassifier::heardFrom(int stream, const Request &leader) const
{
    if (idle_.count(stream))
        return true;
    const auto skip = lastSkip_.find(stream);
    if (skip != lastSkip_.end() && skip->second > leader.submitted)
        return true;
    // The leader asks from its own thread; a stream that thread also carries (feremotion !
    // feremotion) cannot submit while it waits.
    const auto thread = lastThread_.find(stream);
    if (thread != lastThread_.end() && thread->second == std::this_thread::get_id())
        return true;
    return std::any_of(queue_.begin(), queue_.end(), [&](const Request *r) { return r->stream == stream; });
}

bool SharedClassifier::everyActiveStreamHeardFrom(const Request &leader) const
{
    return std::all_of(streams_.begin(), streams_.end(), [&](int stream) { return heardFrom(stream, leader); });
}

void SharedClassifier::idleStreamsNotHeardFrom(const Request &leader)
{
    for (int stream : streams_)
        if (!heardFrom(stream, leader))
            idle_.insert(stream);
}

bool SharedClassifier::aQueuedStreamIsFlushing() const
{
    return std::any_of(queue_.begin(), queue_.end(), [&](const Request *r) { return flushing_.count(r->stream); });
}

size_t SharedClassifier::queuedCrops() const
{
    size_t n = 0;
    for (const Request *r : queue_)
        n += r->crops->size();
    return n;
}

std::vector<Emotion> SharedClassifier::classify(int stream, const std::vector<cv::Mat> &crops,
                                                std::chrono::milliseconds maxWait, int batchSize, int threads)
{
    if (crops.empty()) {
        skipFrame(stream);
        return {};
    }
    const auto deadline = std::chrono::steady_clock::now() + maxWait;
    Request request;
    request.stream = stream;
    request.crops = &crops;
    std::unique_lock lock(mutex_);
    if (!flushing_.count(stream))
        idle_.erase(stream);
    request.submitted = ++events_;
    lastThread_[stream] = std::this_thread::get_id();
    queue_.push_back(&request);
    changed_.notify_all();
    while (!request.done) {
        const bool leading = !running_ && queue_.front() == &request;
        if (!leading) {
            changed_.wait(lock);
            continue;
        }
        const bool ready = everyActiveStreamHeardFrom(request) || aQueuedStreamIsFlushing() ||
                           queuedCrops() >= static_cast<size_t>(batchSize);
        const bool late = !ready && std::chrono::steady_clock::now() >= deadline;
        if (late)
            idleStreamsNotHeardFrom(request);
        if (ready || late)
            runBatch(lock, batchSize, threads);
        else
            changed_.wait_until(lock, deadline);
    }
    if (request.error)
        std::rethrow_exception(request.error);
    return std::move(request.results);
}

// Takes every queued request, runs one forward pass for all of them without holding the lock,
// and hands each its results (or the error) under the lock again.
void SharedClassifier::runBatch(std::unique_lock<std::mutex> &lock, int batchSize, int threads)
{
    const std::vector<Request *> batch(queue_.begin(), queue_.end());
    queue_.clear();
    running_ = true;
    lock.unlock();

    std::vector<Emotion> emotions;
    std::exception_ptr error;
    try {
        std::vector<cv::Mat> all;
        for (const Request *r : batch)
            all.insert(all.end(), r->crops->begin(), r->crops->end());
        classifier_->setBatchSize(batchSize);
        classifier_->setThreads(threads);
        emotions = classifier_->classify(all, static_cast<int>(batch.size()));
        if (emotions.size() != all.size())
            throw std::logic_error("the classifier returned " + std::to_string(emotions.size()) + " results for " +
                                   std::to_string(all.size()) + " faces");
    } catch (...) {
        error = std::current_exception();
    }

    lock.lock();
    size_t offset = 0;
    for (Request *r : batch) {
        const size_t count = r->crops->size();
        if (error) {
            r->error = error;
        } else {
            try {
                const auto first = emotions.begin() + static_cast<std::ptrdiff_t>(offset);
                r->results.assign(first, first + static_cast<std::ptrdiff_t>(count));
            } catch (...) {
                r->error = std::current_exception();
            }
        }
        offset += count;
        r->done = true;
    }
    running_ = false;
    changed_.notify_all();
}

ClassifierStats SharedClassifier::stats()
{
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !running_; });
    return classifier_->stats();
}

std::shared_ptr<SharedClassifier> acquireSharedClassifier(const std::string &instanceId, const std::string &loadKey,
                                                          const std::function<std::unique_ptr<EmotionClassifier>()> &load)
{
    static std::mutex mutex;
    static std::map<std::string, std::weak_ptr<SharedClassifier>> registry;
    std::lock_guard lock(mutex);
    if (auto existing = registry[instanceId].lock()) {
        if (existing->loadKey() != loadKey)
            throw ModelError("model-instance-id '" + instanceId + "' already holds " + existing->loadKey() +
                             "; this element asks for " + loadKey);
        return existing;
    }
    auto created = std::make_shared<SharedClassifier>(load(), loadKey);
    registry[instanceId] = created;
    return created;
}

} // namespace feremotion
