// SPDX-License-Identifier: LGPL-2.1-or-later
// Face tracks across frames: detection and classification intervals, stable ids, following faces
// between detections with optical flow, and per-track smoothing of the emotion probabilities.
#pragma once

#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "engine/vision/types.h"

namespace feremotion {

// Names and meaning as in Intel DL Streamer's gvadetect/gvaclassify.
struct TrackingSettings {
    int detectionInterval = 1; // run the detector on every Nth frame, follow tracks in between
    // While the scene is still (the last two full-frame detections each found exactly the faces
    // followed: none new, none missed), detect on every this-many-th frame instead; 0 = never.
    int stillDetectionInterval = 0;
    int inferenceInterval = 1; // classify tracks on every Nth frame only
    // A classified track is classified again after this many frames; 0 = never (classify once).
    int reclassifyInterval = 1;
    // Weight of a track's previous smoothed probabilities against a classification of the next
    // frame, in [0,1). Per frame: a classification k frames after the last one (reclassify-interval,
    // inference-interval) weighs them by smoothing^k, so labels follow a change in the same time
    // however often a face is classified.
    float smoothing = 0.0f;
    float matchIou = 0.3f; // least overlap of a detection with a track's box to continue it
    // A track not seen by the detector for more frames than this is forgotten (its id is not
    // reused); below it, a face the detector missed once keeps its id when it is seen again.
    int maxUnseenFrames = 15;
    // A new track is reported once the detector has found it on this many detection frames in a
    // row: detectors' one-off false hits (a hand, a lamp) then never show. Until then it is
    // followed but neither reported nor classified, and one missed detection ends it. Tracks
    // started on the first frame after a reset are reported at once (a still image has no second).
    int confirmDetections = 1;
    // Detections are made on another thread and arrive frames later (applyLateDetections): no frame
    // is a detection frame, and faces are followed on every frame.
    bool detectionsInBackground = false;
};

// The tracks' boxes on one frame, for detections of that frame that arrive later.
struct TrackSnapshot {
    long long frame = -1;
    long long generation = 0; // FaceTracker::reset() starts a new one
    std::vector<std::pair<long long, Box>> boxes; // (track, box)
};

struct TrackedFace {
    int id = 0;             // stable while the face stays; never reused; given when the track is confirmed
    Detection detection;    // box in frame pixels, followed between detections
    bool detectedNow = false;  // the box came from this frame's detection, not from following
    Emotion emotion;        // smoothed probabilities (equal to `raw` when smoothing is 0)
    Emotion raw;            // the classifier's last output for this track
    bool classifiedNow = false; // false: the emotion is reused from an earlier frame
    // This frame was not analysed (Analyzer::carriedFaces): box and emotion are the last analysed frame's.
    bool carried = false;
    long long lastClassifiedFrame = -1;
};

// One per stream. Per frame: beginFrame, then (when isDetectionFrame) applyDetections, then
// classify the faces pendingClassification names and hand the results to applyEmotions; the
// faces to report are visibleFaces().
class FaceTracker {
public:
    void setSettings(const TrackingSettings &settings);

    // Starts the next frame: `gray` is the frame as 8-bit gray (any scale; `scaleX`/`scaleY` are
    // its pixels per frame pixel). On frames between detections the visible tracks are moved along
    // the optical flow from the previous frame's image. An empty image: nothing is followed from
    // or to this frame (enough when every frame is a detection frame). A frame that cuts to another
    // scene ends every track instead (isSceneCut).
    void beginFrame(const cv::Mat &gray, double scaleX, double scaleY, int frameWidth, int frameHeight);
    bool isDetectionFrame() const { return detectionFrame_; }
    // This frame differs from the previous one as after a cut (not as after motion): every track
    // ended in beginFrame, and the detection schedule starts over on this frame.
    bool isSceneCut() const { return sceneCut_; }
    // The frame beginFrame started, counted from 0 after the last reset.
    long long frame() const { return frame_; }
    // Continues the tracks the detections overlap, starts tracks for the others; tracks the
    // detector did not see are hidden until it sees them again or they are forgotten.
    void applyDetections(const std::vector<Detection> &detections);
    // Between detection frames: visibleFaces()[faces[i]] found again by a detector near its followed
    // box (the Analyzer's window detection). Each takes its detection's box and counts as seen.
    void relocate(const std::vector<size_t> &faces, const std::vector<Detection> &detections);
    // Between detection frames: the boxes of new faces not yet confirmed (confirmDetections) or
    // on probation (see confirmCandidates), in the order confirmCandidates takes its results in.
    std::vector<Box> candidateBoxes() const;
    // found[i]: what a detector found near candidateBoxes()[i] on this frame. A found candidate
    // takes the detection's box and counts it as one more detection in a row (confirmed now, it
    // is reported from this frame on); one not found stays a candidate for the next full-frame
    // detection to continue or end. So a face needs no more frames to be confirmed between
    // detections than on every frame, and a detector that misses faces in small windows costs
    // nothing but the look.
    // A face confirmed so stays a candidate (on probation) until the next full-frame detection:
    // looked for in its window on every frame, hidden while not found there, shown again when
    // found. Detecting on every frame, a one-off false hit that was seen twice is gone on the
    // third; without probation it would be reported until the next full-frame detection.
    void confirmCandidates(const std::vector<std::optional<Detection>> &found);
    // This frame's tracks, for applyLateDetections when the detections of this frame arrive.
    TrackSnapshot snapshot() const;
    // Detections of the frame `snapshot` was taken on, arriving now: each is moved by how far the
    // track it overlaps there has moved since (detections of new faces stay where they were
    // found), then applied as applyDetections applies this frame's. Detections of a frame before
    // the last reset (a new size, a seek) are dropped.
    void applyLateDetections(const TrackSnapshot &snapshot, std::vector<Detection> detections);
    // Indices into visibleFaces() of the faces to classify on this frame: faces never classified,
    // and on inference frames faces whose last classification is reclassifyInterval frames old; with
    // detectionsInBackground (live) at most an interval's share of the visible faces of those (oldest
    // first; the others on the next frames).
    std::vector<size_t> pendingClassification() const;
    void applyEmotions(const std::vector<size_t> &faces, const std::vector<Emotion> &emotions);
    const std::vector<TrackedFace> &visibleFaces() const { return visible_; }

    // Keeps the tracks but not their emotions: each is classified again when next visible, and
    // smoothing starts over (another model's probabilities do not mix with these).
    void forgetEmotions();
    // Forgets every track and the previous frame (new stream, seek, size change).
    void reset();

private:
    struct Track {
        TrackedFace face;
        long long lastSeenFrame = 0;
        bool visible = false;
        int detectionsInARow = 0; // while unconfirmed
        bool confirmed = false;
        // Confirmed in a window since the last full-frame detection: looked for again in a window
        // on every frame until that detection, and hidden while not found there.
        bool onProbation = false;
        long long key = 0; // names the track in snapshots
    };
    void confirm(Track &track);
    std::vector<size_t> candidateTracks() const;
    void detectSceneCut(const cv::Mat &gray);
    void scheduleDetection();
    void follow(const cv::Mat &gray, double scaleX, double scaleY);
    void publish();

    static constexpr long long kNoFrame = -2;
    TrackingSettings settings_;
    std::vector<Track> tracks_;
    std::vector<TrackedFace> visible_;
    std::vector<size_t> visibleTracks_; // visible_[i] is tracks_[visibleTracks_[i]]
    cv::Mat previous_;
    cv::Mat previousThumbnail_;
    bool sceneCut_ = false;
    bool detectionFrame_ = false;
    long long lastScheduledDetection_ = kNoFrame; // the frame the next detection is counted from
    int stillDetections_ = 0; // full-frame detections in a row that found exactly the faces followed
    std::vector<cv::Mat> previousPyramid_, currentPyramid_; // optical flow's, with their derivatives
    long long previousPyramidFrame_ = kNoFrame;              // the frame previousPyramid_ was built for
    double previousScaleX_ = 1.0, previousScaleY_ = 1.0;
    int frameWidth_ = 0, frameHeight_ = 0;
    long long frame_ = -1;
    int nextId_ = 1;
    long long nextKey_ = 1;
    long long lastDetectionFrame_ = 0;
    bool detectedSinceReset_ = false;
    long long generation_ = 0;
};

// Intersection over union of two boxes (0 when either is empty).
float intersectionOverUnion(const Box &a, const Box &b);

} // namespace feremotion
