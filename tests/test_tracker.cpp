// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of FaceTracker: intervals, stable ids, following faces between detections, smoothing.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "engine/vision/tracker.h"
#include "frames.h"

using namespace feremotion;
using namespace feremotion::test;

namespace {

constexpr int kWidth = 320, kHeight = 240;

// A gray frame with a textured "face" patch whose top-left corner is at `at`; another background
// makes another scene.
cv::Mat frameWithPatch(cv::Point at, int background = 90)
{
    static const cv::Mat patch = [] {
        cv::Mat gray;
        cv::cvtColor(syntheticImage(60, 60, 3), gray, cv::COLOR_BGR2GRAY);
        return gray;
    }();
    cv::Mat frame(kHeight, kWidth, CV_8UC1, cv::Scalar(background));
    patch.copyTo(frame(cv::Rect(at, patch.size())));
    return frame;
}

Detection detectionAt(float x, float y, float side = 60)
{
    Detection d;
    d.box = {x, y, side, side};
    d.confidence = 0.9f;
    return d;
}

Emotion emotionOf(std::vector<float> probabilities)
{
    Emotion e;
    e.probabilities = std::move(probabilities);
    const auto best = std::max_element(e.probabilities.begin(), e.probabilities.end());
    e.labelId = static_cast<int>(best - e.probabilities.begin());
    e.confidence = *best;
    return e;
}

class Tracker : public ::testing::Test {
protected:
    void configure(int detectionInterval, int inferenceInterval = 1, int reclassifyInterval = 1, float smoothing = 0,
                   int confirmDetections = 1)
    {
        TrackingSettings s;
        s.confirmDetections = confirmDetections;
        s.detectionInterval = detectionInterval;
        s.inferenceInterval = inferenceInterval;
        s.reclassifyInterval = reclassifyInterval;
        s.smoothing = smoothing;
        tracker_.setSettings(s);
    }

    // One frame: the patch at `at`, the detector (on detection frames) reporting `detections`,
    // every pending face classified with `probabilities`. Returns the indices classified.
    std::vector<size_t> step(cv::Point at, const std::vector<Detection> &detections,
                             const std::vector<float> &probabilities = {0.2f, 0.8f})
    {
        tracker_.beginFrame(frameWithPatch(at), 1.0, 1.0, kWidth, kHeight);
        if (tracker_.isDetectionFrame())
            tracker_.applyDetections(detections);
        const auto pending = tracker_.pendingClassification();
        tracker_.applyEmotions(pending, std::vector<Emotion>(pending.size(), emotionOf(probabilities)));
        return pending;
    }

    const std::vector<TrackedFace> &faces() const { return tracker_.visibleFaces(); }

    // Detection on every 4th frame, confirmation 2: a first interval without faces, a face new at
    // (100, 80) on the second detection frame, and the frame after it begun (between detections).
    void beginTheFrameAfterANewFace()
    {
        configure(4, 1, 1, 0, 2);
        for (int i = 0; i < 4; ++i)
            step({50, 50}, {});
        step({100, 80}, {detectionAt(100, 80)});
        ASSERT_TRUE(faces().empty());
        tracker_.beginFrame(frameWithPatch({100, 80}), 1.0, 1.0, kWidth, kHeight);
        ASSERT_FALSE(tracker_.isDetectionFrame());
    }

    FaceTracker tracker_;
};

} // namespace

TEST_F(Tracker, DetectsOnEveryNthFrameOnly)
{
    configure(3);
    std::vector<bool> detected;
    for (int i = 0; i < 7; ++i) {
        tracker_.beginFrame(frameWithPatch({50, 50}), 1.0, 1.0, kWidth, kHeight);
        detected.push_back(tracker_.isDetectionFrame());
    }
    EXPECT_EQ(detected, (std::vector<bool>{true, false, false, true, false, false, true}));
}

TEST_F(Tracker, AFaceThatStaysKeepsItsId)
{
    configure(1);
    for (int i = 0; i < 20; ++i) {
        step({50 + i, 60}, {detectionAt(50.0f + i, 60)});
        ASSERT_EQ(faces().size(), 1u);
        EXPECT_EQ(faces()[0].id, 1);
        EXPECT_TRUE(faces()[0].detectedNow);
    }
}

TEST_F(Tracker, BetweenDetectionsTheBoxFollowsTheMovingFace)
{
    configure(5);
    step({100, 80}, {detectionAt(100, 80)});
    for (int i = 1; i <= 4; ++i)
        step({100 + 3 * i, 80 + 2 * i}, {});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_FALSE(faces()[0].detectedNow);
    EXPECT_NEAR(faces()[0].detection.box.x, 112, 1.5);
    EXPECT_NEAR(faces()[0].detection.box.y, 88, 1.5);
    EXPECT_NEAR(faces()[0].detection.box.width, 60, 3);
}

TEST_F(Tracker, AFaceMissedByOneDetectionKeepsItsIdWhenSeenAgain)
{
    configure(1);
    step({50, 50}, {detectionAt(50, 50)});
    step({50, 50}, {});
    EXPECT_TRUE(faces().empty()) << "a face the detector did not see is not reported";
    step({50, 50}, {detectionAt(51, 50)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, FramesBetweenDetectionsWithOnlyHiddenTracksAreFine)
{
    configure(2);
    step({50, 50}, {detectionAt(50, 50)});
    step({52, 50}, {});
    step({54, 50}, {}); // detection frame: the face is missed and hidden
    step({56, 50}, {}); // following frame with nothing visible to follow
    EXPECT_TRUE(faces().empty());
    step({58, 50}, {detectionAt(58, 50)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, AFaceThatLeftAndReturnsGetsANewId)
{
    configure(1);
    step({50, 50}, {detectionAt(50, 50)});
    for (int i = 0; i <= TrackingSettings().maxUnseenFrames; ++i)
        step({50, 50}, {});
    step({50, 50}, {detectionAt(50, 50)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 2);
}

TEST_F(Tracker, TwoFacesGetDistinctIdsLargestFirst)
{
    configure(1);
    step({50, 50}, {detectionAt(10, 10, 40), detectionAt(200, 100, 80)});
    ASSERT_EQ(faces().size(), 2u);
    EXPECT_EQ(faces()[0].detection.box.width, 80);
    EXPECT_NE(faces()[0].id, faces()[1].id);
}

TEST_F(Tracker, ATrackIsReclassifiedOnceItsResultIsOldEnough)
{
    configure(1, 1, 4);
    std::vector<bool> classified;
    for (int i = 0; i < 9; ++i) {
        classified.push_back(!step({50, 50}, {detectionAt(50, 50)}).empty());
        EXPECT_EQ(faces()[0].classifiedNow, classified.back());
        EXPECT_EQ(faces()[0].emotion.labelId, 1) << "reused frames carry the last result";
    }
    EXPECT_EQ(classified, (std::vector<bool>{true, false, false, false, true, false, false, false, true}));
}

TEST_F(Tracker, InferenceIntervalSkipsFramesButANewFaceIsClassifiedAtOnce)
{
    configure(1, 3, 1);
    std::vector<size_t> classifiedPerFrame;
    for (int i = 0; i < 7; ++i) {
        std::vector<Detection> detections{detectionAt(20, 20)};
        if (i >= 4)
            detections.push_back(detectionAt(200, 150));
        classifiedPerFrame.push_back(step({20, 20}, detections).size());
    }
    EXPECT_EQ(classifiedPerFrame, (std::vector<size_t>{1, 0, 0, 1, 1, 0, 2}));
}

TEST_F(Tracker, ReclassifyIntervalZeroClassifiesEachTrackOnce)
{
    configure(1, 1, 0);
    size_t classified = 0;
    for (int i = 0; i < 10; ++i)
        classified += step({50, 50}, {detectionAt(50, 50)}).size();
    EXPECT_EQ(classified, 1u);
}

TEST_F(Tracker, SmoothingBlendsProbabilitiesAndKeepsTheRawOutput)
{
    configure(1, 1, 1, 0.75f);
    step({50, 50}, {detectionAt(50, 50)}, {0.9f, 0.1f});
    step({50, 50}, {detectionAt(50, 50)}, {0.1f, 0.9f});
    const TrackedFace &face = faces()[0];
    EXPECT_NEAR(face.emotion.probabilities[0], 0.75f * 0.9f + 0.25f * 0.1f, 1e-6);
    EXPECT_NEAR(face.emotion.probabilities[1], 0.75f * 0.1f + 0.25f * 0.9f, 1e-6);
    EXPECT_EQ(face.emotion.labelId, 0) << "one frame does not flip a smoothed label";
    EXPECT_EQ(face.raw.labelId, 1);
    EXPECT_FLOAT_EQ(face.raw.probabilities[1], 0.9f);
}

// Smoothing is per frame: a result reused for three frames is followed by one that counts three.
TEST_F(Tracker, AClassificationSeveralFramesLaterWeighsThePreviousValueOncePerFrame)
{
    configure(1, 1, 3, 0.75f);
    step({50, 50}, {detectionAt(50, 50)}, {0.9f, 0.1f});
    step({50, 50}, {detectionAt(50, 50)}, {0.1f, 0.9f}); // reused, not classified
    step({50, 50}, {detectionAt(50, 50)}, {0.1f, 0.9f});
    ASSERT_EQ(step({50, 50}, {detectionAt(50, 50)}, {0.1f, 0.9f}).size(), 1u);
    const float keep = 0.75f * 0.75f * 0.75f;
    EXPECT_NEAR(faces()[0].emotion.probabilities[0], keep * 0.9f + (1 - keep) * 0.1f, 1e-6);
    EXPECT_EQ(faces()[0].emotion.labelId, 1) << "three frames' worth of evidence";
}

TEST_F(Tracker, WithoutSmoothingTheEmotionIsTheRawOutput)
{
    configure(1);
    step({50, 50}, {detectionAt(50, 50)}, {0.9f, 0.1f});
    step({50, 50}, {detectionAt(50, 50)}, {0.3f, 0.7f});
    EXPECT_EQ(faces()[0].emotion.probabilities, faces()[0].raw.probabilities);
    EXPECT_EQ(faces()[0].emotion.labelId, 1);
}

TEST_F(Tracker, ResetForgetsTracksAndStartsAtADetectionFrame)
{
    configure(4);
    step({50, 50}, {detectionAt(50, 50)});
    step({50, 50}, {});
    tracker_.reset();
    step({50, 50}, {detectionAt(50, 50)});
    EXPECT_TRUE(faces()[0].detectedNow);
    EXPECT_EQ(faces()[0].id, 2) << "ids are not reused after a reset either";
}

// Confirmation: the stream's first frame shows no face, so the exemption of first-frame tracks is
// out of the way.
TEST_F(Tracker, ANewFaceIsReportedOnceDetectedOnEnoughDetectionFramesInARow)
{
    configure(1, 1, 1, 0, 3);
    step({50, 50}, {});
    std::vector<size_t> reported, classified;
    for (int i = 0; i < 4; ++i) {
        classified.push_back(step({50, 50}, {detectionAt(50, 50)}).size());
        reported.push_back(faces().size());
    }
    EXPECT_EQ(reported, (std::vector<size_t>{0, 0, 1, 1}));
    EXPECT_EQ(classified, (std::vector<size_t>{0, 0, 1, 1})) << "an unconfirmed face costs no classification";
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, AnUnconfirmedFaceMissedOnceStartsOverAndUsesNoId)
{
    configure(1, 1, 1, 0, 2);
    step({50, 50}, {});
    step({50, 50}, {detectionAt(200, 100)}); // a one-off false hit
    step({50, 50}, {});
    step({50, 50}, {detectionAt(200, 100)});
    EXPECT_TRUE(faces().empty()) << "the miss in between ended the first sighting";
    step({50, 50}, {detectionAt(200, 100)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, FacesOnTheFirstFrameAfterAResetAreReportedAtOnce)
{
    configure(1, 1, 1, 0, 3);
    step({50, 50}, {detectionAt(50, 50)});
    EXPECT_EQ(faces().size(), 1u) << "a still image has no second frame";
    tracker_.reset();
    step({50, 50}, {detectionAt(50, 50)});
    EXPECT_EQ(faces().size(), 1u);
}

TEST_F(Tracker, AnUnconfirmedFaceIsFollowedBetweenDetections)
{
    configure(4, 1, 1, 0, 2);
    step({100, 80}, {});
    for (int i = 1; i <= 3; ++i)
        step({100, 80}, {});
    step({100, 80}, {detectionAt(100, 80)});
    for (int i = 1; i <= 3; ++i) {
        step({100 + 10 * i, 80}, {});
        EXPECT_TRUE(faces().empty()) << "followed, not reported, on frame " << i;
    }
    // 40 px from where it was first seen: matched only because its box moved with it.
    step({140, 80}, {detectionAt(140, 80)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, ANewTrackBesideAConfirmedFaceCannotTakeItsDetection)
{
    configure(1, 1, 1, 0, 2);
    step({50, 50}, {detectionAt(50, 50)});
    step({50, 50}, {detectionAt(50, 50), detectionAt(70, 50)}); // a second, shifted box starts a track
    // The one detection overlaps the new track more (IoU 0.88) than the face's (0.58).
    step({50, 50}, {detectionAt(66, 50)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 1);
    EXPECT_TRUE(faces()[0].detectedNow);
}

TEST_F(Tracker, InvalidSettingsAreRejected)
{
    TrackingSettings s;
    s.detectionInterval = 0;
    EXPECT_THROW(tracker_.setSettings(s), std::invalid_argument);
    s = {};
    s.smoothing = 1.0f;
    EXPECT_THROW(tracker_.setSettings(s), std::invalid_argument);
    s = {};
    s.confirmDetections = 0;
    EXPECT_THROW(tracker_.setSettings(s), std::invalid_argument);
}

TEST(IntersectionOverUnion, IsOneForEqualBoxesAndZeroForDisjointOnes)
{
    EXPECT_FLOAT_EQ(intersectionOverUnion({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0f);
    EXPECT_FLOAT_EQ(intersectionOverUnion({0, 0, 10, 10}, {20, 20, 5, 5}), 0.0f);
    EXPECT_NEAR(intersectionOverUnion({0, 0, 10, 10}, {5, 0, 10, 10}), 50.0f / 150.0f, 1e-6);
}

TEST_F(Tracker, ARelocatedFaceTakesTheNewBoxKeepsItsIdAndCountsAsDetected)
{
    configure(5);
    step({100, 80}, {detectionAt(100, 80)});
    tracker_.beginFrame(frameWithPatch({104, 82}), 1.0, 1.0, kWidth, kHeight);
    ASSERT_FALSE(tracker_.isDetectionFrame());
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_FALSE(faces()[0].detectedNow);
    tracker_.relocate({0}, {detectionAt(104, 82, 62)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 1);
    EXPECT_TRUE(faces()[0].detectedNow);
    EXPECT_FLOAT_EQ(faces()[0].detection.box.x, 104);
    EXPECT_FLOAT_EQ(faces()[0].detection.box.width, 62);
}

TEST_F(Tracker, ANewFaceFoundAgainInAWindowIsConfirmedBetweenDetections)
{
    beginTheFrameAfterANewFace();
    const std::vector<Box> candidates = tracker_.candidateBoxes();
    ASSERT_EQ(candidates.size(), 1u);
    EXPECT_NEAR(candidates[0].x, 100, 3);
    tracker_.confirmCandidates({detectionAt(101, 80)});
    ASSERT_EQ(faces().size(), 1u) << "confirmed on the frame after its first detection, as on every frame";
    EXPECT_EQ(faces()[0].id, 1);
    EXPECT_TRUE(faces()[0].detectedNow);
    EXPECT_EQ(tracker_.pendingClassification().size(), 1u) << "and classified at once";
    EXPECT_EQ(tracker_.candidateBoxes().size(), 1u) << "on probation until the next full-frame detection";
}

TEST_F(Tracker, AFaceConfirmedInAWindowIsHiddenWhileItsWindowMissesItUntilTheNextDetection)
{
    beginTheFrameAfterANewFace();
    tracker_.confirmCandidates({detectionAt(101, 80)});
    tracker_.beginFrame(frameWithPatch({100, 80}), 1.0, 1.0, kWidth, kHeight);
    tracker_.confirmCandidates({std::nullopt});
    EXPECT_TRUE(faces().empty()) << "not found in its window: hidden, as a face missed on every frame";
    tracker_.beginFrame(frameWithPatch({100, 80}), 1.0, 1.0, kWidth, kHeight);
    ASSERT_EQ(tracker_.candidateBoxes().size(), 1u) << "still looked for";
    tracker_.confirmCandidates({detectionAt(100, 80)});
    ASSERT_EQ(faces().size(), 1u) << "found again: shown again";
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, AFullFrameDetectionEndsTheProbationOfAFaceConfirmedInAWindow)
{
    beginTheFrameAfterANewFace();
    tracker_.confirmCandidates({detectionAt(101, 80)});
    step({100, 80}, {});
    step({100, 80}, {});
    step({100, 80}, {detectionAt(100, 80)});
    ASSERT_TRUE(tracker_.isDetectionFrame());
    tracker_.beginFrame(frameWithPatch({100, 80}), 1.0, 1.0, kWidth, kHeight);
    EXPECT_TRUE(tracker_.candidateBoxes().empty());
    EXPECT_EQ(faces().size(), 1u) << "followed between detections like any confirmed face";
}

TEST_F(Tracker, ACandidateNotFoundInItsWindowWaitsForTheNextDetection)
{
    beginTheFrameAfterANewFace();
    tracker_.confirmCandidates({std::nullopt});
    EXPECT_TRUE(faces().empty());
    EXPECT_EQ(tracker_.candidateBoxes().size(), 1u) << "still a candidate";
    step({100, 80}, {});
    step({100, 80}, {});
    step({100, 80}, {detectionAt(100, 80)});
    ASSERT_EQ(faces().size(), 1u) << "the next full-frame detection confirms it";
}

TEST_F(Tracker, ConfirmCandidatesWantsOneResultPerCandidate)
{
    beginTheFrameAfterANewFace();
    EXPECT_THROW(tracker_.confirmCandidates({}), std::invalid_argument);
}

TEST_F(Tracker, AfterForgetEmotionsEveryFaceIsClassifiedAgainWithoutSmoothingAcrossModels)
{
    configure(1, 1, 0, 0.5f);
    step({50, 50}, {detectionAt(50, 50)}, {0.2f, 0.8f});
    EXPECT_TRUE(step({50, 50}, {detectionAt(50, 50)}).empty()) << "reclassify-interval 0: classified once";
    tracker_.forgetEmotions();
    const auto classified = step({50, 50}, {detectionAt(50, 50)}, {0.1f, 0.3f, 0.6f});
    ASSERT_EQ(classified.size(), 1u);
    EXPECT_EQ(faces()[0].emotion.probabilities, (std::vector<float>{0.1f, 0.3f, 0.6f}));
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, LateDetectionsJoinMovedAsTheirTrackMovedAndNotAcrossAReset)
{
    TrackingSettings s;
    s.detectionsInBackground = true;
    tracker_.setSettings(s);
    tracker_.beginFrame(frameWithPatch({100, 80}), 1.0, 1.0, kWidth, kHeight);
    tracker_.applyLateDetections(tracker_.snapshot(), {detectionAt(100, 80)});
    ASSERT_EQ(faces().size(), 1u);
    const TrackSnapshot then = tracker_.snapshot();
    for (int x = 105; x <= 120; x += 5)
        tracker_.beginFrame(frameWithPatch({x, 80}), 1.0, 1.0, kWidth, kHeight);
    ASSERT_NEAR(faces()[0].detection.box.x, 120, 3) << "followed on every frame";
    tracker_.applyLateDetections(then, {detectionAt(101, 80)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_NEAR(faces()[0].detection.box.x, 121, 3) << "the late box moved as the track did";
    EXPECT_EQ(faces()[0].id, 1);
    const TrackSnapshot beforeReset = tracker_.snapshot();
    tracker_.reset();
    tracker_.beginFrame(frameWithPatch({120, 80}), 1.0, 1.0, kWidth, kHeight);
    tracker_.applyLateDetections(beforeReset, {detectionAt(120, 80)});
    EXPECT_TRUE(faces().empty()) << "a detection of a frame before the reset joined";
}

namespace {

// Four faces found on the first frame, detected on every frame, reclassified every 4th frame: how
// many are classified on each of 13 frames.
std::vector<size_t> classifiedPerFrameOfFourFaces(FaceTracker &tracker, bool detectionsInBackground)
{
    TrackingSettings s;
    s.reclassifyInterval = 4;
    s.detectionsInBackground = detectionsInBackground;
    tracker.setSettings(s);
    const std::vector<Detection> four{detectionAt(20, 20), detectionAt(200, 20), detectionAt(20, 150),
                                      detectionAt(200, 150)};
    std::vector<size_t> classifiedPerFrame;
    for (int i = 0; i < 13; ++i) {
        tracker.beginFrame(frameWithPatch({20, 20}), 1.0, 1.0, kWidth, kHeight);
        if (i == 0 || !detectionsInBackground)
            tracker.applyDetections(four);
        const auto pending = tracker.pendingClassification();
        tracker.applyEmotions(pending, std::vector<Emotion>(pending.size(), emotionOf({0.2f, 0.8f})));
        classifiedPerFrame.push_back(pending.size());
    }
    return classifiedPerFrame;
}

} // namespace

TEST_F(Tracker, OnALiveStreamFacesFoundTogetherAreReclassifiedOnDifferentFrames)
{
    const std::vector<size_t> classified = classifiedPerFrameOfFourFaces(tracker_, true);
    EXPECT_EQ(classified[0], 4u) << "new faces are classified at once";
    // From then on one face a frame: each face every 4th frame, as the interval asks.
    EXPECT_EQ(std::vector<size_t>(classified.begin() + 4, classified.end()), std::vector<size_t>(9, 1));
    for (const TrackedFace &face : faces())
        EXPECT_GE(face.lastClassifiedFrame, 12 - 4 - 3) << "no face waits much more than its interval";
}

TEST_F(Tracker, ElsewhereFacesDueTogetherAreClassifiedInOnePass)
{
    EXPECT_EQ(classifiedPerFrameOfFourFaces(tracker_, false),
              (std::vector<size_t>{4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4}));
}

TEST_F(Tracker, ASceneCutEndsEveryTrackAndDetectsAtOnce)
{
    configure(4);
    step({100, 80}, {detectionAt(100, 80)});
    step({100, 80}, {});
    tracker_.beginFrame(frameWithPatch({100, 80}, 200), 1.0, 1.0, kWidth, kHeight);
    EXPECT_TRUE(tracker_.isSceneCut());
    EXPECT_TRUE(faces().empty()) << "a box followed into another picture was kept";
    ASSERT_TRUE(tracker_.isDetectionFrame());
    tracker_.applyDetections({detectionAt(100, 80)});
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 2) << "a face after a cut is a new face, even where an old one was";
}

TEST_F(Tracker, AMovingFaceIsNoSceneCut)
{
    configure(4);
    step({100, 80}, {detectionAt(100, 80)});
    tracker_.beginFrame(frameWithPatch({112, 86}), 1.0, 1.0, kWidth, kHeight);
    EXPECT_FALSE(tracker_.isSceneCut());
    EXPECT_FALSE(tracker_.isDetectionFrame());
    ASSERT_EQ(faces().size(), 1u);
    EXPECT_EQ(faces()[0].id, 1);
}

TEST_F(Tracker, AfterASceneCutDetectionFramesAreCountedFromTheCut)
{
    configure(3);
    std::vector<bool> detected;
    for (int i = 0; i < 8; ++i) {
        tracker_.beginFrame(frameWithPatch({50, 50}, i < 2 ? 90 : 200), 1.0, 1.0, kWidth, kHeight);
        detected.push_back(tracker_.isDetectionFrame());
    }
    EXPECT_EQ(detected, (std::vector<bool>{true, false, true, false, false, true, false, false}));
}

TEST_F(Tracker, LateDetectionsOfAFrameBeforeASceneCutAreDropped)
{
    TrackingSettings s;
    s.detectionsInBackground = true;
    tracker_.setSettings(s);
    tracker_.beginFrame(frameWithPatch({100, 80}), 1.0, 1.0, kWidth, kHeight);
    const TrackSnapshot beforeCut = tracker_.snapshot();
    tracker_.beginFrame(frameWithPatch({100, 80}, 200), 1.0, 1.0, kWidth, kHeight);
    ASSERT_TRUE(tracker_.isSceneCut());
    tracker_.applyLateDetections(beforeCut, {detectionAt(100, 80)});
    EXPECT_TRUE(faces().empty()) << "a face of the picture before the cut joined";
}

namespace {

// The frames, of `frames`, that are detection frames for a face that stays at one place; the
// detector finds it on each, and besides it a new face on `newFaceAt` and nothing on `missedAt`.
std::vector<int> detectionFramesWithAStillFace(FaceTracker &tracker, int stillDetectionInterval, int frames,
                                               int newFaceAt = -1, int missedAt = -1)
{
    TrackingSettings s;
    s.detectionInterval = 4;
    s.stillDetectionInterval = stillDetectionInterval;
    tracker.setSettings(s);
    std::vector<int> detectionFrames;
    for (int i = 0; i < frames; ++i) {
        tracker.beginFrame(frameWithPatch({100, 80}), 1.0, 1.0, kWidth, kHeight);
        if (!tracker.isDetectionFrame())
            continue;
        detectionFrames.push_back(i);
        std::vector<Detection> found;
        if (i != missedAt)
            found.push_back(detectionAt(100, 80));
        if (i == newFaceAt)
            found.push_back(detectionAt(220, 150, 40));
        tracker.applyDetections(found);
    }
    return detectionFrames;
}

} // namespace

TEST_F(Tracker, AfterTwoDetectionsThatFoundExactlyTheFollowedFacesTheStillIntervalApplies)
{
    EXPECT_EQ(detectionFramesWithAStillFace(tracker_, 8, 25), (std::vector<int>{0, 4, 8, 16, 24}));
}

TEST_F(Tracker, ANewFaceBringsTheDetectionIntervalBack)
{
    EXPECT_EQ(detectionFramesWithAStillFace(tracker_, 8, 37, 16), (std::vector<int>{0, 4, 8, 16, 20, 24, 28, 36}));
}

TEST_F(Tracker, AMissedFaceBringsTheDetectionIntervalBack)
{
    EXPECT_EQ(detectionFramesWithAStillFace(tracker_, 8, 29, -1, 16), (std::vector<int>{0, 4, 8, 16, 20, 24, 28}));
}

TEST_F(Tracker, WithoutAStillIntervalAStillSceneKeepsTheInterval)
{
    EXPECT_EQ(detectionFramesWithAStillFace(tracker_, 0, 17), (std::vector<int>{0, 4, 8, 12, 16}));
}
