// SPDX-License-Identifier: LGPL-2.1-or-later
#include "engine/vision/detection_worker.h"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <opencv2/core/utility.hpp>

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "engine/vision/preprocess.h"

namespace feremotion {

namespace {

// Frames first: the detector takes the CPU the streaming threads leave. Linux gives each thread a
// nice value of its own; this one is the process's plus kNicer.
void yieldToOtherThreads()
{
#ifdef __linux__
    constexpr int kNicer = 10;
    const auto thread = static_cast<id_t>(syscall(SYS_gettid));
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, thread);
    if (errno == 0)
        setpriority(PRIO_PROCESS, thread, std::min(nice + kNicer, 19));
#endif
}

} // namespace

DetectionWorker::DetectionWorker(std::unique_ptr<FaceDetector> detector)
    : detector_(std::move(detector)), thread_([this] { run(); })
{
}

DetectionWorker::~DetectionWorker()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

bool DetectionWorker::idle() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return !job_ && !working_ && !result_ && error_.empty();
}

void DetectionWorker::submit(const FrameView &frame, const DetectorSettings &settings, TrackSnapshot snapshot)
{
    // The copy is the image full-frame detection makes anyway (downscaled, BGR): the worker then
    // detects at its scale, with the smallest face scaled alike.
    DetectionImage copy = makeDetectionImage(frame, DetectorColor::Bgr, settings.maxDetectionSide);
    Job job;
    job.image = copy.image.u ? copy.image : copy.image.clone(); // a view of the frame's pixels is copied
    job.scaleX = copy.scaleX;
    job.scaleY = copy.scaleY;
    job.settings = settings;
    job.settings.maxDetectionSide = 0;
    job.settings.minFaceSize = std::max(1, static_cast<int>(settings.minFaceSize * copy.scaleX));
    job.snapshot = std::move(snapshot);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (job_ || working_ || result_)
            throw std::logic_error("DetectionWorker::submit while a detection is pending");
        job_ = std::move(job);
    }
    wake_.notify_all();
}

std::optional<DetectionWorker::Result> DetectionWorker::takeResult()
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_.empty()) {
        const std::string error = std::move(error_);
        error_.clear();
        throw std::runtime_error(error);
    }
    std::optional<Result> result = std::move(result_);
    result_.reset();
    return result;
}

void DetectionWorker::discard()
{
    std::unique_lock<std::mutex> lock(mutex_);
    job_.reset();
    done_.wait(lock, [this] { return !working_; });
    result_.reset();
    error_.clear();
}

void DetectionWorker::run()
{
    yieldToOtherThreads();
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || job_.has_value(); });
        if (stopping_)
            return;
        Job job = std::move(*job_);
        job_.reset();
        working_ = true;
        lock.unlock();
        Result result;
        std::string error;
        const auto started = std::chrono::steady_clock::now();
        try {
            // On one core, leaving the others to the streaming thread: OpenCV runs parallel loops
            // nested in a parallel_for_ on the calling thread. Its flag is process-wide: while this
            // detection runs, other threads' OpenCV loops run on their own threads too.
            cv::parallel_for_(cv::Range(0, 1), [&](const cv::Range &) {
                result.detections = detector_->detect(frameFromMat(job.image, PixelFormat::BGR), job.settings);
            });
            for (Detection &d : result.detections)
                d.box = {static_cast<float>(d.box.x / job.scaleX), static_cast<float>(d.box.y / job.scaleY),
                         static_cast<float>(d.box.width / job.scaleX), static_cast<float>(d.box.height / job.scaleY)};
            result.snapshot = std::move(job.snapshot);
            result.took = std::chrono::steady_clock::now() - started;
        } catch (const std::exception &e) {
            error = e.what();
        }
        lock.lock();
        working_ = false;
        if (!error.empty())
            error_ = error;
        else
            result_ = std::move(result);
        done_.notify_all();
    }
}

} // namespace feremotion
