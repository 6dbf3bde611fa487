// SPDX-License-Identifier: LGPL-2.1-or-later
// Many streams, one model: a classifier loaded once per model-instance-id, and faces that several
// streams submit together classified in one forward pass, each stream waiting a bounded time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "engine/vision/classifier.h"

namespace feremotion {

class SharedClassifier {
public:
    SharedClassifier(std::unique_ptr<EmotionClassifier> classifier, std::string loadKey);
    SharedClassifier(const SharedClassifier &) = delete;
    SharedClassifier &operator=(const SharedClassifier &) = delete;

    // Fixed after loading, so safe to read from any stream.
    const ModelInfo &info() const { return classifier_->info(); }
    const std::string &loadKey() const { return loadKey_; }
    std::string deviceName() const { return classifier_->deviceName(); }
    bool optimized() const { return classifier_->optimized(); }
    Precision precision() const { return classifier_->precision(); }

    // A stream takes part from addStream to removeStream. An idle stream (at EOS, or failed) is
    // not waited for until it submits again.
    int addStream();
    void removeStream(int stream);
    void setStreamIdle(int stream);
    // While a stream flushes (a seek), faces it has waiting go through at once, in a batch with
    // whatever is queued, and it is not waited for; afterwards it is idle until it submits again.
    void setStreamFlushing(int stream, bool flushing);
    // The stream has no faces to classify on its current frame: faces already waiting need not
    // wait for it.
    void skipFrame(int stream);
    // The calling thread carries the stream's frames: its streaming thread says so before the first
    // frame (classify and skipFrame note it too), so that a stream behind another in one thread is
    // not waited for from the first frame on.
    void setStreamThread(int stream);

    // Classifies the stream's crops (see cropFaces) together with the crops other streams submit
    // meanwhile. The first waiting stream runs the forward pass as soon as every other active
    // stream has submitted or skipped a frame since it submitted, `batchSize` crops are queued,
    // or `maxWait` has passed since it submitted; streams that let `maxWait` pass are idle until
    // they submit or skip again (a stalled camera delays the others once, not on every frame).
    // Streams whose last submission or skip came from the calling thread are not waited for: that
    // thread carries their frames too, so they cannot submit while it waits.
    // An exception from the forward pass reaches every stream of that batch.
    std::vector<Emotion> classify(int stream, const std::vector<cv::Mat> &crops, std::chrono::milliseconds maxWait,
                                  int batchSize, int threads);

    // Forward passes and faces so far (every stream's, together).
    ClassifierStats stats();

private:
    struct Request;
    bool heardFrom(int stream, const Request &leader) const;
    bool everyActiveStreamHeardFrom(const Request &leader) const;
    size_t queuedCrops() const;
    bool aQueuedStreamIsFlushing() const;
    void idleStreamsNotHeardFrom(const Request &leader);
    void runBatch(std::unique_lock<std::mutex> &lock, int batchSize, int threads);

    std::unique_ptr<EmotionClassifier> classifier_;
    const std::string loadKey_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Request *> queue_;
    std::set<int> streams_, idle_, flushing_;
    std::map<int, unsigned long long> lastSkip_; // stream -> `events_` when it last skipped a frame
    std::map<int, std::thread::id> lastThread_;   // stream -> the thread of its last submission or skip
    unsigned long long events_ = 0;               // orders submissions and skips
    int nextStream_ = 0;
    bool running_ = false; // a forward pass is in progress
};

// The process-wide instance registered under `instanceId`, created with `load` when there is
// none. Elements naming the same id must name the same model: a different `loadKey` throws
// ModelError. The model is unloaded when the last holder releases it.
std::shared_ptr<SharedClassifier> acquireSharedClassifier(const std::string &instanceId, const std::string &loadKey,
                                                          const std::function<std::unique_ptr<EmotionClassifier>()> &load);

} // namespace feremotion
