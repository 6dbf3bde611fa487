// SPDX-License-Identifier: LGPL-2.1-or-later
// Tracks follow faces with a median-flow step (pyramidal Lucas-Kanade on a grid of points in the
// box, checked forwards and backwards) and are matched to detections by IoU.
#include "engine/vision/tracker.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <tuple>

#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

namespace feremotion {

namespace {

constexpr int kGridSide = 8;                  // points per box side followed by optical flow
constexpr float kMaxForwardBackwardError = 2; // image pixels
constexpr size_t kMinFollowedPoints = 6;
constexpr float kMaxScaleStep = 1.25f; // per frame
// A scene cut: consecutive frames, shrunk to a thumbnail that blurs motion away, differing by more
// than this many gray levels per pixel on average. Measured (32x24): cuts in a film trailer 34-43,
// hand-held and panning footage at most 17, a walk 13, still cameras under 9.
const cv::Size kThumbnailSize{32, 24};
constexpr double kSceneCutMeanDifference = 25.0;

float median(std::vector<float> values)
{
    const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
    std::nth_element(values.begin(), middle, values.end());
    return *middle;
}

Box clampToFrame(const Box &box, int width, int height)
{
    const float x0 = std::clamp(box.x, 0.0f, static_cast<float>(width));
    const float y0 = std::clamp(box.y, 0.0f, static_cast<float>(height));
    const float x1 = std::clamp(box.x + box.width, 0.0f, static_cast<float>(width));
    const float y1 = std::clamp(box.y + box.height, 0.0f, static_cast<float>(height));
    return {x0, y0, x1 - x0, y1 - y0};
}

// The box moved by the median displacement of its points and scaled by the median change of
// the distances between them; `from`/`to` are the points that survived the flow checks.
Box movedBox(const Box &box, const std::vector<cv::Point2f> &from, const std::vector<cv::Point2f> &to)
{
    std::vector<float> dx, dy, ratios;
    for (size_t i = 0; i < from.size(); ++i) {
        dx.push_back(to[i].x - from[i].x);
        dy.push_back(to[i].y - from[i].y);
        for (size_t j = i + 1; j < from.size(); ++j) {
            const float before = static_cast<float>(cv::norm(from[i] - from[j]));
            if (before > 1.0f)
                ratios.push_back(static_cast<float>(cv::norm(to[i] - to[j])) / before);
        }
    }
    const float scale = ratios.empty() ? 1.0f : std::clamp(median(ratios), 1 / kMaxScaleStep, kMaxScaleStep);
    const float cx = box.x + box.width / 2 + median(dx);
    const float cy = box.y + box.height / 2 + median(dy);
    const float w = box.width * scale, h = box.height * scale;
    return {cx - w / 2, cy - h / 2, w, h};
}

} // namespace

float intersectionOverUnion(const Box &a, const Box &b)
{
    const float x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
    const float x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
    const float intersection = std::max(0.0f, x1 - x0) * std::max(0.0f, y1 - y0);
    const float total = a.width * a.height + b.width * b.height - intersection;
    return total > 0 ? intersection / total : 0.0f;
}

void FaceTracker::setSettings(const TrackingSettings &settings)
{
    if (settings.detectionInterval < 1 || settings.inferenceInterval < 1 || settings.reclassifyInterval < 0 ||
        settings.stillDetectionInterval < 0)
        throw std::invalid_argument("tracking intervals must be at least 1 (reclassify, still detection: at least 0)");
    if (!(settings.smoothing >= 0.0f && settings.smoothing < 1.0f))
        throw std::invalid_argument("smoothing must be in [0, 1)");
    if (settings.confirmDetections < 1)
        throw std::invalid_argument("a track needs at least 1 detection to be confirmed");
    settings_ = settings;
}

void FaceTracker::reset()
{
    tracks_.clear();
    visible_.clear();
    visibleTracks_.clear();
    previous_.release();
    previousThumbnail_.release();
    previousPyramidFrame_ = kNoFrame;
    sceneCut_ = false;
    detectionFrame_ = false;
    lastScheduledDetection_ = kNoFrame;
    stillDetections_ = 0;
    frame_ = -1;
    lastDetectionFrame_ = 0;
    detectedSinceReset_ = false;
    ++generation_;
}

void FaceTracker::forgetEmotions()
{
    for (Track &t : tracks_) {
        t.face.emotion = Emotion{};
        t.face.raw = Emotion{};
        t.face.lastClassifiedFrame = -1;
        t.face.classifiedNow = false;
    }
    publish();
}

void FaceTracker::beginFrame(const cv::Mat &gray, double scaleX, double scaleY, int frameWidth, int frameHeight)
{
    if (!gray.empty() && gray.type() != CV_8UC1)
        throw std::invalid_argument("the tracker follows faces on 8-bit gray images");
    if (frameWidth != frameWidth_ || frameHeight != frameHeight_)
        reset();
    frameWidth_ = frameWidth;
    frameHeight_ = frameHeight;
    ++frame_;
    for (Track &t : tracks_) {
        t.face.detectedNow = false;
        t.face.classifiedNow = false;
    }
    detectSceneCut(gray);
    scheduleDetection();
    // On detection frames the detector places the faces; following them first would only cost time.
    if (!isDetectionFrame() && !gray.empty() && previous_.size() == gray.size() && !tracks_.empty())
        follow(gray, scaleX, scaleY);
    // The image may point into a frame that is unmapped after this call. Without one (detection
    // on every frame) the next frame has nothing to follow from.
    if (gray.empty())
        previous_.release();
    else
        gray.copyTo(previous_);
    previousScaleX_ = scaleX;
    previousScaleY_ = scaleY;
    publish();
}

void FaceTracker::follow(const cv::Mat &gray, double scaleX, double scaleY)
{
    std::vector<cv::Point2f> from;
    std::vector<size_t> owner;
    for (size_t t = 0; t < tracks_.size(); ++t) {
        // Hidden tracks keep their last detected box: moved by the flow of whatever now covers it,
        // such a box could capture another face's detection and swap the ids.
        if (!tracks_[t].visible)
            continue;
        const Box &b = tracks_[t].face.detection.box;
        // The inner part of the box: its border often holds background that moves differently.
        for (int i = 0; i < kGridSide; ++i)
            for (int j = 0; j < kGridSide; ++j) {
                const double fx = 0.15 + 0.7 * (i + 0.5) / kGridSide, fy = 0.15 + 0.7 * (j + 0.5) / kGridSide;
                from.emplace_back(static_cast<float>((b.x + fx * b.width) * previousScaleX_),
                                  static_cast<float>((b.y + fy * b.height) * previousScaleY_));
                owner.push_back(t);
            }
    }
    if (from.empty())
        return; // every track is hidden
    std::vector<cv::Point2f> to, back;
    std::vector<uchar> forwardOk, backwardOk;
    std::vector<float> error;
    const cv::Size window{15, 15};
    constexpr int kLevels = 3;
    // Both directions use the same two pyramids, built once here instead of in each call; this
    // frame's is the next frame's previous one (kept, with its buffers, rather than built again).
    // Their level 0 is a copy: `gray` may point into a frame that is unmapped after this call.
    if (previousPyramidFrame_ != frame_ - 1)
        cv::buildOpticalFlowPyramid(previous_, previousPyramid_, window, kLevels, true, cv::BORDER_REFLECT_101,
                                    cv::BORDER_CONSTANT, false);
    cv::buildOpticalFlowPyramid(gray, currentPyramid_, window, kLevels, true, cv::BORDER_REFLECT_101,
                                cv::BORDER_CONSTANT, false);
    cv::calcOpticalFlowPyrLK(previousPyramid_, currentPyramid_, from, to, forwardOk, error, window, kLevels);
    cv::calcOpticalFlowPyrLK(currentPyramid_, previousPyramid_, to, back, backwardOk, error, window, kLevels);
    std::swap(previousPyramid_, currentPyramid_);
    previousPyramidFrame_ = frame_;

    std::vector<std::vector<cv::Point2f>> kept(tracks_.size()), moved(tracks_.size());
    for (size_t i = 0; i < from.size(); ++i) {
        if (!forwardOk[i] || !backwardOk[i] || cv::norm(back[i] - from[i]) > kMaxForwardBackwardError)
            continue;
        // In frame pixels, so boxes and points share one scale.
        kept[owner[i]].emplace_back(static_cast<float>(from[i].x / previousScaleX_),
                                    static_cast<float>(from[i].y / previousScaleY_));
        moved[owner[i]].emplace_back(static_cast<float>(to[i].x / scaleX), static_cast<float>(to[i].y / scaleY));
    }
    for (size_t t = 0; t < tracks_.size(); ++t) {
        Track &track = tracks_[t];
        // A face that cannot be followed (turned away, blurred) keeps its box until the next detection.
        if (kept[t].size() < kMinFollowedPoints)
            continue;
        track.face.detection.box =
            clampToFrame(movedBox(track.face.detection.box, kept[t], moved[t]), frameWidth_, frameHeight_);
        if (track.face.detection.box.width < 1 || track.face.detection.box.height < 1)
            track.visible = false;
    }
}

// After a cut the boxes followed so far belong to another picture: the tracks end (their
// detections still on the way are dropped with them) and the detection schedule starts over,
// so the new picture's faces are looked for at once. New faces are confirmed as anywhere else.
void FaceTracker::detectSceneCut(const cv::Mat &gray)
{
    cv::Mat thumbnail;
    if (!gray.empty())
        cv::resize(gray, thumbnail, kThumbnailSize, 0, 0, cv::INTER_AREA);
    sceneCut_ = !thumbnail.empty() && !previousThumbnail_.empty() &&
                cv::norm(thumbnail, previousThumbnail_, cv::NORM_L1) / static_cast<double>(thumbnail.total()) >
                    kSceneCutMeanDifference;
    previousThumbnail_ = thumbnail;
    if (!sceneCut_)
        return;
    tracks_.clear();
    stillDetections_ = 0;
    ++generation_;
}

void FaceTracker::scheduleDetection()
{
    const bool still = settings_.stillDetectionInterval > 0 && stillDetections_ >= 2;
    const int interval = still ? settings_.stillDetectionInterval : settings_.detectionInterval;
    detectionFrame_ = !settings_.detectionsInBackground &&
                      (sceneCut_ || lastScheduledDetection_ == kNoFrame || frame_ - lastScheduledDetection_ >= interval);
    if (detectionFrame_)
        lastScheduledDetection_ = frame_;
}

TrackSnapshot FaceTracker::snapshot() const
{
    TrackSnapshot snapshot;
    snapshot.frame = frame_;
    snapshot.generation = generation_;
    for (const Track &t : tracks_)
        snapshot.boxes.emplace_back(t.key, t.face.detection.box);
    return snapshot;
}

void FaceTracker::applyLateDetections(const TrackSnapshot &snapshot, std::vector<Detection> detections)
{
    if (snapshot.generation != generation_)
        return;
    for (Detection &d : detections) {
        float best = settings_.matchIou;
        const Box *then = nullptr;
        long long key = 0;
        for (const auto &[trackKey, box] : snapshot.boxes) {
            const float overlap = intersectionOverUnion(d.box, box);
            if (overlap >= best)
                best = overlap, then = &box, key = trackKey;
        }
        const auto track = std::find_if(tracks_.begin(), tracks_.end(), [&](const Track &t) { return t.key == key; });
        if (!then || track == tracks_.end())
            continue;
        const Box &now = track->face.detection.box;
        d.box.x += (now.x + now.width / 2) - (then->x + then->width / 2);
        d.box.y += (now.y + now.height / 2) - (then->y + then->height / 2);
    }
    applyDetections(detections);
}

void FaceTracker::applyDetections(const std::vector<Detection> &detections)
{
    // Confirmed tracks (reported or hidden) are matched first, unconfirmed ones to what is left,
    // each stage by decreasing overlap (a cascade as in DeepSORT): a new track beside a face
    // cannot take that face's detection and with it its id.
    const auto stage = [](const Track &t) { return t.confirmed ? 0 : 1; };
    std::vector<std::tuple<int, float, size_t, size_t>> pairs; // (stage, iou, detection, track)
    for (size_t d = 0; d < detections.size(); ++d)
        for (size_t t = 0; t < tracks_.size(); ++t) {
            const float iou = intersectionOverUnion(detections[d].box, tracks_[t].face.detection.box);
            if (iou >= settings_.matchIou)
                pairs.emplace_back(stage(tracks_[t]), iou, d, t);
        }
    std::sort(pairs.begin(), pairs.end(), [](const auto &a, const auto &b) {
        return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) < std::get<0>(b) : std::get<1>(a) > std::get<1>(b);
    });
    std::vector<bool> detectionUsed(detections.size(), false), trackUsed(tracks_.size(), false);
    bool still = true; // no face new or on its way to confirmation, none missed or seen again
    for (const auto &[trackStage, iou, d, t] : pairs) {
        if (detectionUsed[d] || trackUsed[t])
            continue;
        detectionUsed[d] = trackUsed[t] = true;
        Track &track = tracks_[t];
        track.face.detection = detections[d];
        still = still && track.confirmed;
        if (!track.confirmed && ++track.detectionsInARow >= settings_.confirmDetections)
            confirm(track);
    }
    for (size_t d = 0; d < detections.size(); ++d)
        still = still && detectionUsed[d];
    for (size_t t = 0; t < tracks_.size(); ++t)
        still = still && (!tracks_[t].confirmed || trackUsed[t] == tracks_[t].visible);
    stillDetections_ = still ? stillDetections_ + 1 : 0;
    for (size_t t = 0; t < tracks_.size(); ++t) {
        tracks_[t].onProbation = false;
        tracks_[t].visible = trackUsed[t];
        tracks_[t].face.detectedNow = trackUsed[t];
        if (trackUsed[t])
            tracks_[t].lastSeenFrame = frame_;
    }
    // With long detection intervals a face is seen rarely; it must survive a few missed detections.
    // Detections made in the background come as often as the detector manages.
    const long long forgetAfter = std::max({static_cast<long long>(settings_.maxUnseenFrames),
                                            3LL * settings_.detectionInterval, 3 * (frame_ - lastDetectionFrame_)});
    lastDetectionFrame_ = frame_;
    // Faces of the first detection after a reset are reported at once (a still image has no second frame).
    const bool firstDetection = !detectedSinceReset_;
    detectedSinceReset_ = true;
    tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(),
                                 [&](const Track &t) {
                                     const bool missedNow = t.lastSeenFrame != frame_;
                                     return (!t.confirmed && missedNow) || frame_ - t.lastSeenFrame > forgetAfter;
                                 }),
                  tracks_.end());
    for (size_t d = 0; d < detections.size(); ++d) {
        if (detectionUsed[d])
            continue;
        Track track;
        track.key = nextKey_++;
        track.face.detection = detections[d];
        track.face.detectedNow = true;
        track.lastSeenFrame = frame_;
        track.visible = true;
        track.detectionsInARow = 1;
        if (settings_.confirmDetections <= 1 || firstDetection)
            confirm(track);
        tracks_.push_back(std::move(track));
    }
    publish();
}

void FaceTracker::relocate(const std::vector<size_t> &faces, const std::vector<Detection> &detections)
{
    if (faces.size() != detections.size())
        throw std::invalid_argument("one detection per relocated face expected");
    for (size_t i = 0; i < faces.size(); ++i) {
        Track &track = tracks_.at(visibleTracks_.at(faces[i]));
        track.face.detection = detections[i];
        track.face.detectedNow = true;
        track.lastSeenFrame = frame_;
    }
    publish();
}

std::vector<size_t> FaceTracker::candidateTracks() const
{
    std::vector<size_t> candidates;
    for (size_t t = 0; t < tracks_.size(); ++t)
        if ((!tracks_[t].confirmed && tracks_[t].visible) || tracks_[t].onProbation)
            candidates.push_back(t);
    return candidates;
}

std::vector<Box> FaceTracker::candidateBoxes() const
{
    std::vector<Box> boxes;
    for (size_t t : candidateTracks())
        boxes.push_back(tracks_[t].face.detection.box);
    return boxes;
}

void FaceTracker::confirmCandidates(const std::vector<std::optional<Detection>> &found)
{
    const std::vector<size_t> candidates = candidateTracks();
    if (found.size() != candidates.size())
        throw std::invalid_argument("one result per candidate expected");
    for (size_t i = 0; i < candidates.size(); ++i) {
        Track &track = tracks_[candidates[i]];
        if (!found[i]) {
            if (track.onProbation)
                track.visible = false;
            continue;
        }
        track.face.detection = *found[i];
        track.face.detectedNow = true;
        track.lastSeenFrame = frame_;
        if (track.onProbation) {
            track.visible = true;
        } else if (++track.detectionsInARow >= settings_.confirmDetections) {
            confirm(track);
            track.onProbation = true;
        }
    }
    publish();
}

std::vector<size_t> FaceTracker::pendingClassification() const
{
    const bool inferenceFrame = frame_ % settings_.inferenceInterval == 0;
    std::vector<size_t> pending, due;
    for (size_t v = 0; v < visible_.size(); ++v) {
        const TrackedFace &face = visible_[v];
        if (face.lastClassifiedFrame < 0)
            pending.push_back(v);
        else if (settings_.reclassifyInterval > 0 && inferenceFrame &&
                 frame_ - face.lastClassifiedFrame >= settings_.reclassifyInterval)
            due.push_back(v);
    }
    // Faces found together come due together. A live frame must not wait for them all: there they
    // are spread over the frames of an interval (the oldest results first), so that each frame costs
    // about the same. Elsewhere one forward pass for all is cheaper than one each.
    if (settings_.detectionsInBackground) {
        const size_t framesPerRound =
            static_cast<size_t>(std::max(1, settings_.reclassifyInterval / settings_.inferenceInterval));
        const size_t perFrame = (visible_.size() + framesPerRound - 1) / framesPerRound;
        std::stable_sort(due.begin(), due.end(), [&](size_t a, size_t b) {
            return visible_[a].lastClassifiedFrame < visible_[b].lastClassifiedFrame;
        });
        due.resize(std::min(due.size(), perFrame));
    }
    pending.insert(pending.end(), due.begin(), due.end());
    std::sort(pending.begin(), pending.end());
    return pending;
}

void FaceTracker::applyEmotions(const std::vector<size_t> &faces, const std::vector<Emotion> &emotions)
{
    if (faces.size() != emotions.size())
        throw std::invalid_argument("one emotion per pending face expected");
    for (size_t i = 0; i < faces.size(); ++i) {
        TrackedFace &face = tracks_.at(visibleTracks_.at(faces[i])).face;
        const Emotion &raw = emotions[i];
        Emotion smoothed = raw;
        if (settings_.smoothing > 0 && face.emotion.probabilities.size() == raw.probabilities.size()) {
            // Per frame: a result reused for k frames is followed by one that counts k frames.
            const long long age = frame_ - face.lastClassifiedFrame;
            const float keep = age <= 1 ? settings_.smoothing
                                        : std::pow(settings_.smoothing, static_cast<float>(age));
            for (size_t k = 0; k < raw.probabilities.size(); ++k)
                smoothed.probabilities[k] = keep * face.emotion.probabilities[k] + (1 - keep) * raw.probabilities[k];
            const auto best = std::max_element(smoothed.probabilities.begin(), smoothed.probabilities.end());
            smoothed.labelId = static_cast<int>(best - smoothed.probabilities.begin());
            smoothed.confidence = *best;
        }
        face.raw = raw;
        face.emotion = std::move(smoothed);
        face.classifiedNow = true;
        face.lastClassifiedFrame = frame_;
    }
    publish();
}

void FaceTracker::confirm(Track &track)
{
    track.confirmed = true;
    track.face.id = nextId_++;
}

void FaceTracker::publish()
{
    visibleTracks_.clear();
    for (size_t t = 0; t < tracks_.size(); ++t)
        if (tracks_[t].visible && tracks_[t].confirmed)
            visibleTracks_.push_back(t);
    // Largest first, as the detectors report faces.
    std::stable_sort(visibleTracks_.begin(), visibleTracks_.end(), [&](size_t a, size_t b) {
        const Box &x = tracks_[a].face.detection.box, &y = tracks_[b].face.detection.box;
        return x.width * x.height > y.width * y.height;
    });
    visible_.clear();
    for (size_t t : visibleTracks_)
        visible_.push_back(tracks_[t].face);
}

} // namespace feremotion
