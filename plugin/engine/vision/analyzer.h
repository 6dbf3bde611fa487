// SPDX-License-Identifier: LGPL-2.1-or-later
// One stream's analysis, frame by frame: faces found by the detector (or given by upstream),
// followed between detections, classified by a model of its own or one shared with other streams.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "engine/model/model_info.h"
#include "engine/vision/detector.h"
#include "engine/vision/frame.h"
#include "engine/vision/tracker.h"
#include "engine/vision/types.h"

namespace feremotion {

class DetectionWorker;
class EmotionClassifier;
class SharedClassifier;

struct ClassificationSettings {
    int batchSize = 8; // most faces in one forward pass
    int threads = 1;   // CPU inference threads; 0 = all cores
    // Shared models only: the longest a frame's faces wait for other streams' faces.
    std::chrono::milliseconds batchTimeout{5};
};

// The model an Analyzer classifies with: one of its own, or its stream of a model that several
// streams share (SharedClassifier). LibTorch stays behind EmotionClassifier.
class FaceClassifier {
public:
    virtual ~FaceClassifier() = default;
    virtual const ModelInfo &info() const = 0;
    // The crops of one frame's faces (cropFaces with info()). Called on every frame, also with none:
    // a shared model then need not wait for this stream.
    virtual std::vector<Emotion> classify(const std::vector<cv::Mat> &crops, const ClassificationSettings &settings) = 0;
};

std::unique_ptr<FaceClassifier> ownModel(std::unique_ptr<EmotionClassifier> classifier);
// `stream` from model->addStream(); the caller keeps managing the stream (idle, flushing, removal).
std::unique_ptr<FaceClassifier> sharedModelStream(std::shared_ptr<SharedClassifier> model, int stream);

// AnalyzerSettings::tracking.detectionInterval and .confirmDetections for "the detector's own"
// (defaultDetectionInterval(), defaultTrackConfirmation()).
constexpr int kDetectorsDefaultInterval = 0;
constexpr int kDetectorsDefaultConfirmation = 0;

struct AnalyzerSettings {
    DetectorSettings detection;
    TrackingSettings tracking; // may hold the kDetectorsDefault* values
    ClassificationSettings classification;
    // Between full-frame detections, look for each reported face again in a window around its
    // followed box (the box grown by half its side on each side), at the face's scale only; a face
    // found there takes the detector's box, one not found keeps the optical flow's.
    bool windowDetection = false;
    // Full-frame detection runs on a worker thread (the Analyzer needs a background detector for
    // it): no frame waits for the detector. A frame starts a detection when none is running and
    // detectionInterval frames have passed since the last one started; meanwhile faces are
    // followed by optical flow, and the detection's faces join the tracks on the frame it finishes
    // (moved as their tracks moved since, new faces confirmed in windows there). For live sources.
    bool backgroundDetection = false;
};

// A face an upstream element found (detector=roi): its box, confidence and id (the region's own).
struct UpstreamFace {
    Detection detection;
    int id = 0;
};

// One frame for analyze(): the image, and what else is known of it.
struct FrameInput {
    FrameView view;
    // The frames are unrelated images (a frame rate of 0/1: multifilesrc, snapshots), where a face is
    // not seen twice in a row: every face is reported from its first detection.
    bool stills = false;
    // detector=roi: this frame's faces from upstream. Other detectors ignore it.
    std::vector<UpstreamFace> upstreamFaces;
};

// Per frame, analyze() returns the faces to report: boxes, track ids, whether each box was detected
// or followed and whether its emotion is new or carried over, and the (smoothed) emotions.
//   - detector=roi: upstream's faces; a face's detection.regionIndex is its index in upstreamFaces.
//     With distinct ids other than 0 from upstream, each face keeps its id and is classified on
//     every frame; otherwise (facedetect gives every face id 0) the faces are tracked as detections
//     on every frame: ids of this Analyzer, smoothing and reclassify/inference intervals apply.
//   - other detectors: FaceTracker's protocol (tracker.h) with this Analyzer's detector and model:
//     detection on detection frames, faces followed by optical flow in between, new and due faces
//     classified in one batch.
// reset() forgets the tracks: a new stream, a seek, a new segment or frame size.
class Analyzer {
public:
    // `backgroundDetector`: a second detector of the same kind, for backgroundDetection (detectors are
    // not shared between threads); without one, backgroundDetection is ignored.
    Analyzer(std::unique_ptr<FaceDetector> detector, DetectorKind kind, std::unique_ptr<FaceClassifier> classifier,
             std::unique_ptr<FaceDetector> backgroundDetector = nullptr);
    ~Analyzer();
    Analyzer(Analyzer &&) noexcept;
    Analyzer &operator=(Analyzer &&) noexcept;

    const ModelInfo &modelInfo() const { return classifier_->info(); }
    DetectorKind detectorKind() const { return kind_; }

    std::vector<TrackedFace> analyze(const FrameInput &frame, const AnalyzerSettings &settings);
    // For a frame passed on without analysis (a live stream catching up): the last analysed frame's
    // faces, flagged `carried`. The frame counts for no interval; the next analysed frame follows
    // its faces from the last analysed one.
    std::vector<TrackedFace> carriedFaces() const;
    // A background detection whose faces joined the tracks on the last analysed frame.
    struct JoinedDetection {
        long long framesAgo = 0; // the frame it looked at, counted back from the one it joined on
        std::chrono::nanoseconds took{0};
        size_t faces = 0;
    };
    const std::optional<JoinedDetection> &lastJoinedDetection() const { return joined_; }
    // Also ends a background detection in progress (waits for it) without its result.
    void reset();
    // Classifies from the next frame on with `classifier` (a model swapped in while playing): every
    // face is classified anew there, as the old model's emotions mean nothing to the new one.
    void replaceClassifier(std::unique_ptr<FaceClassifier> classifier);

private:
    std::vector<TrackedFace> analyzeUpstreamFaces(const FrameInput &frame, const AnalyzerSettings &settings);
    std::vector<TrackedFace> analyzeTrackedFaces(const FrameInput &frame, const AnalyzerSettings &settings);
    std::vector<Emotion> classify(const FrameView &view, const std::vector<Detection> &faces,
                                  const ClassificationSettings &settings);
    // Classifies the tracker's pending faces and hands it the results.
    void classifyPending(const FrameView &view, const ClassificationSettings &settings);
    // The detector's face in a window around `box` (see windowDetection), if any overlaps it.
    std::optional<Detection> findFaceNear(const FrameView &view, const Box &box, const AnalyzerSettings &settings);
    void findFacesInWindows(const FrameView &view, const AnalyzerSettings &settings);
    // New faces found by the last full-frame detection, looked for again in windows on the frames
    // after it, so that they are confirmed as soon as on every frame.
    void confirmCandidatesInWindows(const FrameView &view, const AnalyzerSettings &settings);

    // Runs or merges background detections; true when a detection's faces joined on this frame.
    bool detectInBackground(const FrameView &view, const AnalyzerSettings &settings, int interval);

    std::unique_ptr<FaceDetector> detector_;
    DetectorKind kind_;
    std::unique_ptr<FaceClassifier> classifier_;
    FaceTracker tracker_;
    std::unique_ptr<DetectionWorker> worker_;
    long long framesSinceBackgroundStart_ = 0;
    std::optional<JoinedDetection> joined_;
};

} // namespace feremotion
