// SPDX-License-Identifier: LGPL-2.1-or-later
// Full-frame face detection on a thread of its own, one frame at a time, so that frames go on
// without waiting for it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/vision/detector.h"
#include "engine/vision/tracker.h"

namespace feremotion {

class DetectionWorker {
public:
    // `detector` is the worker's own: detectors are not shared between threads.
    explicit DetectionWorker(std::unique_ptr<FaceDetector> detector);
    ~DetectionWorker(); // waits for a detection in progress
    DetectionWorker(const DetectionWorker &) = delete;
    DetectionWorker &operator=(const DetectionWorker &) = delete;

    struct Result {
        TrackSnapshot snapshot;            // the tracks on the detected frame
        std::vector<Detection> detections; // in frame pixels
        std::chrono::nanoseconds took{0};  // the detection's own time, from start to end
    };

    // Neither a detection in progress nor a result not yet taken.
    bool idle() const;
    // Starts detecting faces in a copy of `frame` (made here; the frame may go right after).
    // Call only when idle().
    void submit(const FrameView &frame, const DetectorSettings &settings, TrackSnapshot snapshot);
    // The finished detection, once. Rethrows the detector's exception, if it threw.
    std::optional<Result> takeResult();
    // Ends a detection in progress without its result (a seek, a new stream): waits for it.
    void discard();

private:
    void run();

    std::unique_ptr<FaceDetector> detector_;
    mutable std::mutex mutex_;
    std::condition_variable wake_, done_;
    struct Job {
        cv::Mat image; // BGR, downscaled as full-frame detection would
        double scaleX = 1, scaleY = 1;
        DetectorSettings settings;
        TrackSnapshot snapshot;
    };
    std::optional<Job> job_;
    bool working_ = false;
    bool stopping_ = false;
    std::optional<Result> result_;
    std::string error_;
    std::thread thread_;
};

} // namespace feremotion
