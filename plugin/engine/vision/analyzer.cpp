// SPDX-License-Identifier: LGPL-2.1-or-later
// One stream's analysis, frame by frame: detect or take upstream faces, follow, classify.
#include "engine/vision/analyzer.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "engine/vision/classifier.h"
#include "engine/vision/detection_worker.h"
#include "engine/vision/preprocess.h"
#include "engine/vision/shared_classifier.h"

namespace feremotion {

namespace {

class OwnModel : public FaceClassifier {
public:
    explicit OwnModel(std::unique_ptr<EmotionClassifier> classifier) : classifier_(std::move(classifier)) {}
    const ModelInfo &info() const override { return classifier_->info(); }
    std::vector<Emotion> classify(const std::vector<cv::Mat> &crops, const ClassificationSettings &settings) override
    {
        if (crops.empty())
            return {};
        classifier_->setBatchSize(settings.batchSize);
        classifier_->setThreads(settings.threads);
        return classifier_->classify(crops);
    }

private:
    std::unique_ptr<EmotionClassifier> classifier_;
};

class SharedModelStream : public FaceClassifier {
public:
    SharedModelStream(std::shared_ptr<SharedClassifier> model, int stream) : model_(std::move(model)), stream_(stream) {}
    const ModelInfo &info() const override { return model_->info(); }
    std::vector<Emotion> classify(const std::vector<cv::Mat> &crops, const ClassificationSettings &settings) override
    {
        return model_->classify(stream_, crops, settings.batchTimeout, settings.batchSize, settings.threads);
    }

private:
    std::shared_ptr<SharedClassifier> model_;
    int stream_;
};

} // namespace

std::unique_ptr<FaceClassifier> ownModel(std::unique_ptr<EmotionClassifier> classifier)
{
    return std::make_unique<OwnModel>(std::move(classifier));
}

std::unique_ptr<FaceClassifier> sharedModelStream(std::shared_ptr<SharedClassifier> model, int stream)
{
    return std::make_unique<SharedModelStream>(std::move(model), stream);
}

Analyzer::Analyzer(std::unique_ptr<FaceDetector> detector, DetectorKind kind, std::unique_ptr<FaceClassifier> classifier,
                   std::unique_ptr<FaceDetector> backgroundDetector)
    : detector_(std::move(detector)), kind_(kind), classifier_(std::move(classifier))
{
    if (!detector_ || !classifier_)
        throw std::invalid_argument("an Analyzer needs a detector and a classifier");
    if (kind_ == DetectorKind::Auto)
        throw std::invalid_argument("an Analyzer needs the detector detector=auto chose");
    if (kind_ == DetectorKind::Roi && !dynamic_cast<RoiDetector *>(detector_.get()))
        throw std::invalid_argument("an Analyzer for detector=roi needs the roi detector");
    if (backgroundDetector)
        worker_ = std::make_unique<DetectionWorker>(std::move(backgroundDetector));
}

Analyzer::~Analyzer() = default;
Analyzer::Analyzer(Analyzer &&) noexcept = default;
Analyzer &Analyzer::operator=(Analyzer &&) noexcept = default;

void Analyzer::reset()
{
    if (worker_)
        worker_->discard();
    tracker_.reset();
    framesSinceBackgroundStart_ = 0;
}

std::vector<TrackedFace> Analyzer::carriedFaces() const
{
    std::vector<TrackedFace> faces = tracker_.visibleFaces();
    for (TrackedFace &face : faces) {
        face.detectedNow = face.classifiedNow = false;
        face.carried = true;
    }
    return faces;
}

void Analyzer::replaceClassifier(std::unique_ptr<FaceClassifier> classifier)
{
    if (!classifier)
        throw std::invalid_argument("an Analyzer needs a classifier");
    classifier_ = std::move(classifier);
    tracker_.forgetEmotions();
}

std::vector<TrackedFace> Analyzer::analyze(const FrameInput &frame, const AnalyzerSettings &settings)
{
    joined_.reset();
    return kind_ == DetectorKind::Roi ? analyzeUpstreamFaces(frame, settings) : analyzeTrackedFaces(frame, settings);
}

std::vector<Emotion> Analyzer::classify(const FrameView &view, const std::vector<Detection> &faces,
                                        const ClassificationSettings &settings)
{
    return classifier_->classify(cropFaces(view, faces, classifier_->info()), settings);
}

namespace {

// Upstream gave each face an id of its own (not 0, as facedetect gives every face, and no repeats).
bool haveDistinctIds(const std::vector<UpstreamFace> &faces)
{
    std::vector<int> ids;
    for (const UpstreamFace &face : faces)
        ids.push_back(face.id);
    std::sort(ids.begin(), ids.end());
    return std::find(ids.begin(), ids.end(), 0) == ids.end() && std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

} // namespace

// Upstream chose the boxes: with ids of its own each face keeps its id and is classified on every
// frame; without (facedetect), this Analyzer's tracker numbers them, smooths and reclassifies as
// for its own detections (upstream's faces are its detections on every frame).
std::vector<TrackedFace> Analyzer::analyzeUpstreamFaces(const FrameInput &frame, const AnalyzerSettings &settings)
{
    auto &detector = static_cast<RoiDetector &>(*detector_);
    std::vector<Detection> regions;
    for (size_t i = 0; i < frame.upstreamFaces.size(); ++i)
        regions.push_back(frame.upstreamFaces[i].detection);
    detector.setRegions(std::move(regions));
    const std::vector<Detection> detections = detector.detect(frame.view, settings.detection);
    if (!haveDistinctIds(frame.upstreamFaces)) {
        TrackingSettings tracking = settings.tracking;
        tracking.detectionInterval = 1;
        tracking.confirmDetections = 1; // upstream decided what is a face
        tracker_.setSettings(tracking);
        tracker_.beginFrame(cv::Mat(), 1.0, 1.0, frame.view.width, frame.view.height);
        tracker_.applyDetections(detections);
        classifyPending(frame.view, settings.classification);
        return tracker_.visibleFaces();
    }
    const std::vector<Emotion> emotions = classify(frame.view, detections, settings.classification);
    std::vector<TrackedFace> faces(detections.size());
    for (size_t i = 0; i < detections.size(); ++i) {
        faces[i].id = frame.upstreamFaces[static_cast<size_t>(detections[i].regionIndex)].id;
        faces[i].detection = detections[i];
        faces[i].detectedNow = faces[i].classifiedNow = true;
        faces[i].emotion = faces[i].raw = emotions[i];
    }
    return faces;
}

bool Analyzer::detectInBackground(const FrameView &view, const AnalyzerSettings &settings, int interval)
{
    bool joined = false;
    if (std::optional<DetectionWorker::Result> result = worker_->takeResult()) {
        joined_ = JoinedDetection{tracker_.frame() - result->snapshot.frame, result->took, result->detections.size()};
        tracker_.applyLateDetections(result->snapshot, std::move(result->detections));
        joined = true;
    }
    // The first frame after a reset or a scene cut starts one at once.
    if (worker_->idle() &&
        (framesSinceBackgroundStart_ == 0 || framesSinceBackgroundStart_ >= interval || tracker_.isSceneCut())) {
        worker_->submit(view, settings.detection, tracker_.snapshot());
        framesSinceBackgroundStart_ = 0;
    }
    ++framesSinceBackgroundStart_;
    return joined;
}

void Analyzer::classifyPending(const FrameView &view, const ClassificationSettings &settings)
{
    const std::vector<size_t> pending = tracker_.pendingClassification();
    std::vector<Detection> boxes;
    for (size_t i : pending)
        boxes.push_back(tracker_.visibleFaces()[i].detection);
    tracker_.applyEmotions(pending, classify(view, boxes, settings));
}

std::vector<TrackedFace> Analyzer::analyzeTrackedFaces(const FrameInput &frame, const AnalyzerSettings &settings)
{
    TrackingSettings tracking = settings.tracking;
    // Stills are unrelated images: nothing can be followed from one to the next.
    if (tracking.detectionInterval == kDetectorsDefaultInterval) {
        tracking.detectionInterval = frame.stills ? 1 : defaultDetectionInterval(kind_);
        tracking.stillDetectionInterval = frame.stills ? 0 : defaultStillDetectionInterval(kind_);
    }
    if (tracking.confirmDetections == kDetectorsDefaultConfirmation)
        tracking.confirmDetections = defaultTrackConfirmation(kind_);
    if (frame.stills)
        tracking.confirmDetections = 1;
    const bool background = settings.backgroundDetection && worker_ && !frame.stills;
    tracking.detectionsInBackground = background;
    tracker_.setSettings(tracking);
    // Faces are followed between detections only; with detection on every frame no image is needed.
    const DetectionImage gray = tracking.detectionInterval > 1 || background
                                    ? makeDetectionImage(frame.view, DetectorColor::Gray,
                                                         settings.detection.maxDetectionSide)
                                    : DetectionImage{};
    tracker_.beginFrame(gray.image, gray.scaleX, gray.scaleY, frame.view.width, frame.view.height);
    if (tracker_.isDetectionFrame()) {
        tracker_.applyDetections(detector_->detect(frame.view, settings.detection));
    } else {
        const bool lateFacesJoined = background && detectInBackground(frame.view, settings, tracking.detectionInterval);
        if (settings.windowDetection && !lateFacesJoined)
            findFacesInWindows(frame.view, settings);
        confirmCandidatesInWindows(frame.view, settings);
    }
    classifyPending(frame.view, settings.classification);
    return tracker_.visibleFaces();
}

std::optional<Detection> Analyzer::findFaceNear(const FrameView &view, const Box &box, const AnalyzerSettings &settings)
{
    // The window's image is scaled as full-frame detection scales the frame, so a face costs the
    // same detector work in both; and only faces of at least 3/5 of the followed box's side are
    // looked for, which leaves a cascade a few scales instead of the whole pyramid.
    constexpr float kWindowMargin = 0.5f;
    constexpr float kLeastSideOfTheBox = 0.6f;
    const int maxSide = settings.detection.maxDetectionSide;
    const int longerSide = std::max(view.width, view.height);
    const double scale = maxSide > 0 && longerSide > maxSide ? static_cast<double>(maxSide) / longerSide : 1.0;
    const cv::Rect window = cropRect(box, kWindowMargin, view.width, view.height);
    if (window.empty())
        return std::nullopt;
    const cv::Size size(std::max(1, static_cast<int>(std::lround(window.width * scale))),
                        std::max(1, static_cast<int>(std::lround(window.height * scale))));
    cv::Mat rgb = extractCrop(view, window, ColorMode::Rgb, size);
    DetectorSettings inWindow = settings.detection;
    inWindow.maxDetectionSide = 0;
    inWindow.minFaceSize = static_cast<int>(std::max<float>(static_cast<float>(settings.detection.minFaceSize),
                                                            kLeastSideOfTheBox * std::min(box.width, box.height)) *
                                            scale);
    const double toFrameX = static_cast<double>(window.width) / size.width;
    const double toFrameY = static_cast<double>(window.height) / size.height;
    std::optional<Detection> best;
    float bestOverlap = settings.tracking.matchIou;
    for (Detection found : detector_->detect(frameFromMat(rgb, PixelFormat::RGB), inWindow)) {
        found.box = {static_cast<float>(window.x + found.box.x * toFrameX),
                     static_cast<float>(window.y + found.box.y * toFrameY),
                     static_cast<float>(found.box.width * toFrameX), static_cast<float>(found.box.height * toFrameY)};
        const float overlap = intersectionOverUnion(found.box, box);
        if (overlap >= bestOverlap)
            best = found, bestOverlap = overlap;
    }
    return best;
}

void Analyzer::findFacesInWindows(const FrameView &view, const AnalyzerSettings &settings)
{
    const std::vector<TrackedFace> &faces = tracker_.visibleFaces();
    std::vector<size_t> relocated;
    std::vector<Detection> detections;
    for (size_t i = 0; i < faces.size(); ++i)
        if (std::optional<Detection> found = findFaceNear(view, faces[i].detection.box, settings)) {
            relocated.push_back(i);
            detections.push_back(*found);
        }
    tracker_.relocate(relocated, detections);
}

void Analyzer::confirmCandidatesInWindows(const FrameView &view, const AnalyzerSettings &settings)
{
    std::vector<std::optional<Detection>> found;
    for (const Box &box : tracker_.candidateBoxes())
        found.push_back(findFaceNear(view, box, settings));
    tracker_.confirmCandidates(found);
}

} // namespace feremotion
