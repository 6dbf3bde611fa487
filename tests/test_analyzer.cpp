// SPDX-License-Identifier: LGPL-2.1-or-later
// The Analyzer: one stream's faces found, followed and classified, with an own or a shared model.
#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>

#include "engine/vision/analyzer.h"
#include "engine/vision/classifier.h"
#include "engine/vision/detection_worker.h"
#include "engine/vision/model_loader.h"
#include "engine/vision/shared_classifier.h"
#include "frames.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;

// Declares `name`, the path of a file under ../shared, or skips the test when it is absent.
#define REQUIRE_SHARED_FILE(name, relative)                                                                       \
    const auto name = sharedFile(relative);                                                                         \
    if (!name)                                                                                                      \
        GTEST_SKIP() << "../shared/" relative " is absent (set FEREMOTION_SHARED to the shared folder)";

namespace {

std::unique_ptr<FaceClassifier> testModel(const TempDir &dir)
{
    return ownModel(std::make_unique<EmotionClassifier>(writeTestBundle(dir.file("m.pt")), ClassifierOptions{}));
}

Analyzer haarAnalyzer(const TempDir &dir)
{
    return Analyzer(createDetector(DetectorKind::Haar), DetectorKind::Haar, testModel(dir));
}

bool contains(const Box &box, float x, float y)
{
    return x >= box.x && x <= box.x + box.width && y >= box.y && y <= box.y + box.height;
}

// A still of ../shared/media as a BGR frame, cut to even sides as the detector tests do.
OwnedFrame mediaFrame(const std::string &path)
{
    const cv::Mat image = cv::imread(path);
    return makeFrame(image(cv::Rect(0, 0, image.cols & ~1, image.rows & ~1)).clone(), PixelFormat::BGR);
}

// The group photo's four people, and a gray frame of its size: a face new on the second frame
// waits for confirmation unless tracks start afresh (a new size would start them too).
struct PeopleAfterNobody {
    OwnedFrame people, nobody;
    explicit PeopleAfterNobody(const std::string &groupPhoto)
        : people(mediaFrame(groupPhoto)),
          nobody(makeFrame(cv::Mat(people.view.height, people.view.width, CV_8UC3, cv::Scalar::all(128)),
                           PixelFormat::BGR))
    {
    }
};

AnalyzerSettings confirmingNewFacesTwice()
{
    AnalyzerSettings settings;
    settings.tracking.confirmDetections = 2;
    return settings;
}

FrameInput inputOf(const OwnedFrame &frame, bool stills = false)
{
    FrameInput input;
    input.view = frame.view;
    input.stills = stills;
    return input;
}

} // namespace

TEST(Analyzer, FindsAndClassifiesTheAstronautsFace)
{
    REQUIRE_SHARED_FILE(path, "media/astronaut.png");
    TempDir dir;
    Analyzer analyzer = haarAnalyzer(dir);
    const OwnedFrame frame = mediaFrame(*path);
    const auto faces = analyzer.analyze(inputOf(frame), AnalyzerSettings{});
    ASSERT_EQ(faces.size(), 1u);
    EXPECT_TRUE(contains(faces[0].detection.box, 210, 110));
    EXPECT_TRUE(faces[0].detectedNow);
    EXPECT_TRUE(faces[0].classifiedNow);
    EXPECT_EQ(faces[0].emotion.probabilities.size(), analyzer.modelInfo().labels.size());
    EXPECT_GT(faces[0].id, 0);
}

// Detection every third frame of a real clip: the faces in between are followed under the ids they
// had, and with reclassify-interval 0 each track is classified once.
TEST(Analyzer, FollowsAClipsFacesBetweenDetectionsUnderTheirIds)
{
    REQUIRE_SHARED_FILE(clip, "media/video_01.mp4");
    TempDir dir;
    Analyzer analyzer = haarAnalyzer(dir);
    AnalyzerSettings settings;
    settings.tracking.detectionInterval = 3;
    settings.tracking.reclassifyInterval = 0;
    std::set<int> ids, previousIds;
    int followed = 0, classified = 0;
    for (int index = 0; index < 12; ++index) {
        const cv::Mat bgr = videoFrame(*clip, index);
        ASSERT_FALSE(bgr.empty()) << index;
        const OwnedFrame frame = makeFrame(bgr, PixelFormat::BGR);
        std::set<int> frameIds;
        for (const TrackedFace &face : analyzer.analyze(inputOf(frame), settings)) {
            frameIds.insert(face.id);
            EXPECT_EQ(face.detectedNow, index % 3 == 0) << "frame " << index;
            if (!face.detectedNow) {
                ++followed;
                EXPECT_TRUE(previousIds.count(face.id)) << "frame " << index << ": followed face " << face.id
                                                        << " was not on the frame before";
            }
            classified += face.classifiedNow ? 1 : 0;
        }
        ids.insert(frameIds.begin(), frameIds.end());
        previousIds = frameIds;
    }
    ASSERT_FALSE(ids.empty()) << "no face in video_01's first 12 frames";
    EXPECT_GT(followed, 0);
    EXPECT_EQ(classified, static_cast<int>(ids.size())) << "reclassify-interval 0 classifies each track once";
}

// A frame rate of 0/1 (snapshots): every image's faces are reported at once, although a new face is
// otherwise confirmed by a second detection first.
TEST(Analyzer, StillsReportEachImagesFacesFromTheirFirstDetection)
{
    REQUIRE_SHARED_FILE(group, "media/pexels-group.jpeg");
    TempDir dir;
    const AnalyzerSettings settings = confirmingNewFacesTwice();
    const PeopleAfterNobody frames(*group);
    for (bool stills : {false, true}) {
        Analyzer analyzer = haarAnalyzer(dir);
        EXPECT_TRUE(analyzer.analyze(inputOf(frames.nobody, stills), settings).empty());
        EXPECT_EQ(analyzer.analyze(inputOf(frames.people, stills), settings).size(), stills ? 4u : 0u)
            << (stills ? "stills" : "video");
    }
}

TEST(Analyzer, AfterResetAFramesFacesAreReportedAtOnceAsOnAFirstFrame)
{
    REQUIRE_SHARED_FILE(group, "media/pexels-group.jpeg");
    TempDir dir;
    const AnalyzerSettings settings = confirmingNewFacesTwice();
    const PeopleAfterNobody frames(*group);
    Analyzer analyzer = haarAnalyzer(dir);
    analyzer.analyze(inputOf(frames.nobody), settings);
    analyzer.reset();
    EXPECT_EQ(analyzer.analyze(inputOf(frames.people), settings).size(), 4u);
}

// detector=roi: upstream's faces, with upstream's ids, each classified on every frame; regions below
// the threshold are left out, and each face says which region it is.
TEST(Analyzer, UpstreamFacesKeepTheirIdsAndAreClassifiedOnEveryFrame)
{
    TempDir dir;
    Analyzer analyzer(createDetector(DetectorKind::Roi), DetectorKind::Roi, testModel(dir));
    const OwnedFrame frame = makeFrame(syntheticImage(320, 240), PixelFormat::BGR);
    FrameInput input = inputOf(frame);
    input.upstreamFaces = {{{{10, 10, 60, 60}, 0.95f}, 41}, {{{100, 20, 50, 50}, 0.2f}, 42}, {{{200, 100, 80, 80}, 1.0f}, 43}};
    AnalyzerSettings settings;
    settings.detection.threshold = 0.5f;
    for (int repeat = 0; repeat < 2; ++repeat) {
        const auto faces = analyzer.analyze(input, settings);
        ASSERT_EQ(faces.size(), 2u);
        EXPECT_EQ(faces[0].id, 41);
        EXPECT_EQ(faces[0].detection.regionIndex, 0);
        EXPECT_EQ(faces[1].id, 43);
        EXPECT_EQ(faces[1].detection.regionIndex, 2);
        for (const TrackedFace &face : faces) {
            EXPECT_TRUE(face.classifiedNow);
            EXPECT_EQ(face.emotion.probabilities.size(), 7u);
        }
    }
}

// Two streams' Analyzers on one shared model, driven from one thread (as `feremotion ! feremotion`
// with one model-instance-id): each gets its own faces' emotions, without waiting for the other.
TEST(Analyzer, TwoStreamsShareOneModel)
{
    TempDir dir;
    auto shared = std::make_shared<SharedClassifier>(
        std::make_unique<EmotionClassifier>(writeTestBundle(dir.file("m.pt")), ClassifierOptions{}), "test");
    std::vector<Analyzer> streams;
    for (int i = 0; i < 2; ++i) {
        const int stream = shared->addStream();
        shared->setStreamThread(stream); // as the element does at the stream's segment
        streams.emplace_back(createDetector(DetectorKind::FullFrame), DetectorKind::FullFrame,
                             sharedModelStream(shared, stream));
    }
    AnalyzerSettings settings;
    settings.classification.batchTimeout = std::chrono::milliseconds(10000);
    const OwnedFrame frame = makeFrame(syntheticImage(96, 96), PixelFormat::BGR);
    const auto start = std::chrono::steady_clock::now();
    for (Analyzer &analyzer : streams) {
        const auto faces = analyzer.analyze(inputOf(frame), settings);
        ASSERT_EQ(faces.size(), 1u);
        EXPECT_EQ(faces[0].emotion.probabilities.size(), 7u);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(shared->stats().faces, 2);
}

// facedetect's regions all have id 0: they are tracked as detections on every frame, so each face
// keeps an id of its own, as the Analyzer's own faces do.
TEST(Analyzer, UpstreamFacesWithoutIdsAreTrackedUnderIdsOfTheirOwn)
{
    TempDir dir;
    Analyzer analyzer(createDetector(DetectorKind::Roi), DetectorKind::Roi, testModel(dir));
    const OwnedFrame frame = makeFrame(syntheticImage(320, 240), PixelFormat::BGR);
    AnalyzerSettings settings;
    settings.tracking.smoothing = 0.5f;
    std::vector<std::vector<int>> ids;
    for (int step = 0; step < 3; ++step) {
        FrameInput input = inputOf(frame);
        input.upstreamFaces = {{{{10.0f + 3 * step, 10, 60, 60}, 0.95f}, 0}, {{{200.0f - 3 * step, 100, 80, 80}, 0.95f}, 0}};
        std::vector<int> frameIds;
        for (const TrackedFace &face : analyzer.analyze(input, settings)) {
            frameIds.push_back(face.id);
            const size_t region = static_cast<size_t>(face.detection.regionIndex);
            EXPECT_NEAR(face.detection.box.x, input.upstreamFaces.at(region).detection.box.x, 1e-3);
        }
        std::sort(frameIds.begin(), frameIds.end());
        ids.push_back(frameIds);
    }
    EXPECT_EQ(ids, (std::vector<std::vector<int>>(3, {1, 2})));
}

TEST(Analyzer, ForDetectorRoiNeedsTheRoiDetector)
{
    TempDir dir;
    EXPECT_THROW(Analyzer(createDetector(DetectorKind::FullFrame), DetectorKind::Roi, testModel(dir)),
                 std::invalid_argument);
}

// Between full-frame detections (every 5th frame), window detection finds the clip's faces again
// near their followed boxes; without it they are only followed.
TEST(Analyzer, WindowDetectionFindsFollowedFacesAgainBetweenFullFrameDetections)
{
    REQUIRE_SHARED_FILE(clip, "media/video_01.mp4");
    TempDir dir;
    std::vector<OwnedFrame> frames;
    for (int index = 0; index < 15; ++index) {
        const cv::Mat bgr = videoFrame(*clip, index);
        ASSERT_FALSE(bgr.empty()) << index;
        frames.push_back(makeFrame(bgr, PixelFormat::BGR));
    }
    for (bool windows : {false, true}) {
        Analyzer analyzer = haarAnalyzer(dir);
        AnalyzerSettings settings;
        settings.tracking.detectionInterval = 5;
        settings.windowDetection = windows;
        int between = 0, foundBetween = 0;
        for (size_t index = 0; index < frames.size(); ++index)
            for (const TrackedFace &face : analyzer.analyze(inputOf(frames[index]), settings))
                if (index % 5 != 0) {
                    ++between;
                    foundBetween += face.detectedNow ? 1 : 0;
                }
        ASSERT_GT(between, 0) << "no face followed between detections";
        if (windows)
            EXPECT_GT(foundBetween, between / 2) << "of " << between << " faces between detections";
        else
            EXPECT_EQ(foundBetween, 0);
    }
}

// kDetectorsDefaultInterval/-Confirmation: haar's own schedule (every 4th frame, new faces confirmed
// twice). On video_01 the faces of the first frame are reported at once and followed in between.
TEST(Analyzer, TheDetectorsOwnScheduleDetectsHaarFacesOnEveryFourthFrame)
{
    REQUIRE_SHARED_FILE(clip, "media/video_01.mp4");
    TempDir dir;
    Analyzer analyzer = haarAnalyzer(dir);
    AnalyzerSettings settings;
    settings.tracking.detectionInterval = kDetectorsDefaultInterval;
    settings.tracking.confirmDetections = kDetectorsDefaultConfirmation;
    std::vector<bool> detected;
    for (int index = 0; index < 9; ++index) {
        const OwnedFrame frame = makeFrame(videoFrame(*clip, index), PixelFormat::BGR);
        const auto faces = analyzer.analyze(inputOf(frame), settings);
        ASSERT_FALSE(faces.empty()) << "frame " << index;
        detected.push_back(std::all_of(faces.begin(), faces.end(), [](const TrackedFace &f) { return f.detectedNow; }));
    }
    EXPECT_EQ(detected, (std::vector<bool>{true, false, false, false, true, false, false, false, true}));
}

// A frame passed on unanalysed gets the last analysed frame's faces, flagged, and counts for nothing:
// the next analysed frame is the one the schedule would have come to next.
TEST(Analyzer, CarriedFacesAreTheLastAnalysedFramesFlaggedAsCarried)
{
    REQUIRE_SHARED_FILE(path, "media/astronaut.png");
    TempDir dir;
    Analyzer analyzer = haarAnalyzer(dir);
    AnalyzerSettings settings;
    settings.tracking.detectionInterval = 2;
    const OwnedFrame frame = mediaFrame(*path);
    const auto analysed = analyzer.analyze(inputOf(frame), settings);
    ASSERT_EQ(analysed.size(), 1u);
    const auto carried = analyzer.carriedFaces();
    ASSERT_EQ(carried.size(), 1u);
    EXPECT_TRUE(carried[0].carried);
    EXPECT_FALSE(carried[0].detectedNow);
    EXPECT_FALSE(carried[0].classifiedNow);
    EXPECT_EQ(carried[0].id, analysed[0].id);
    EXPECT_EQ(carried[0].detection.box.x, analysed[0].detection.box.x);
    EXPECT_EQ(carried[0].emotion.probabilities, analysed[0].emotion.probabilities);
    const auto next = analyzer.analyze(inputOf(frame), settings);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_FALSE(next[0].carried);
    EXPECT_FALSE(next[0].detectedNow) << "frame 1 of every 2nd: followed, as if no frame had been carried";
}

// The astronaut on every frame of a stream: the Haar schedule of the detector's own doubles its
// interval once two full-frame detections found exactly the faces followed; a set interval stays.
TEST(Analyzer, TheDetectorsOwnScheduleDetectsHalfAsOftenWhileTheSceneIsStill)
{
    REQUIRE_SHARED_FILE(path, "media/astronaut.png");
    TempDir dir;
    const OwnedFrame frame = mediaFrame(*path);
    const auto detectionFrames = [&](int interval) {
        Analyzer analyzer = haarAnalyzer(dir);
        AnalyzerSettings settings;
        settings.tracking.detectionInterval = interval;
        settings.tracking.confirmDetections = kDetectorsDefaultConfirmation;
        std::vector<int> detected;
        for (int index = 0; index < 17; ++index) {
            const auto faces = analyzer.analyze(inputOf(frame), settings);
            if (faces.size() != 1u) {
                ADD_FAILURE() << "frame " << index << ": " << faces.size() << " faces";
                continue;
            }
            if (faces[0].detectedNow)
                detected.push_back(index);
        }
        return detected;
    };
    EXPECT_EQ(detectionFrames(kDetectorsDefaultInterval), (std::vector<int>{0, 4, 8, 16}));
    EXPECT_EQ(detectionFrames(4), (std::vector<int>{0, 4, 8, 12, 16}));
}

// Hikers, then a cut to video_01's woman between two scheduled detections (every 4th frame, new faces
// confirmed by a second detection): the new picture is detected at once, so its faces are reported
// on the frame after the cut (confirmed in windows), and none keeps an id from before the cut.
TEST(Analyzer, ASceneCutIsDetectedAtOnceAndEndsTheOldScenesFaces)
{
    REQUIRE_SHARED_FILE(hikers, "media/video_02.mp4");
    REQUIRE_SHARED_FILE(woman, "media/video_01.mp4");
    TempDir dir;
    Analyzer analyzer = haarAnalyzer(dir);
    AnalyzerSettings settings;
    settings.tracking.detectionInterval = kDetectorsDefaultInterval;
    settings.tracking.confirmDetections = kDetectorsDefaultConfirmation;
    std::set<int> idsBeforeTheCut;
    constexpr int kCut = 6;
    for (int index = 0; index < kCut + 2; ++index) {
        const cv::Mat bgr = index < kCut ? videoFrame(*hikers, 300 + index) : videoFrame(*woman, index - kCut);
        ASSERT_FALSE(bgr.empty()) << index;
        const OwnedFrame frame = makeFrame(bgr, PixelFormat::BGR);
        const auto faces = analyzer.analyze(inputOf(frame), settings);
        for (const TrackedFace &face : faces) {
            if (index < kCut) {
                idsBeforeTheCut.insert(face.id);
            } else {
                EXPECT_EQ(idsBeforeTheCut.count(face.id), 0u) << "frame " << index << ": face " << face.id;
            }
        }
        if (index == kCut + 1) {
            EXPECT_FALSE(faces.empty()) << "the new picture's faces waited for the next scheduled detection";
        }
    }
}

TEST(BackgroundModelLoader, DeliversTheLoadedModelOnce)
{
    TempDir dir;
    BackgroundModelLoader loader;
    loader.request(writeTestBundle(dir.file("m.pt")), [](const std::string &path) {
        return ownModel(std::make_unique<EmotionClassifier>(path, ClassifierOptions{}));
    });
    while (loader.busy())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto result = loader.takeResult();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->path, dir.file("m.pt"));
    ASSERT_TRUE(result->model) << result->error;
    EXPECT_EQ(result->model->info().labels.size(), 7u);
    EXPECT_FALSE(loader.takeResult());
}

TEST(BackgroundModelLoader, AFailedLoadSaysWhy)
{
    BackgroundModelLoader loader;
    loader.request("/nonexistent/m.pt", [](const std::string &path) {
        return ownModel(std::make_unique<EmotionClassifier>(path, ClassifierOptions{}));
    });
    while (loader.busy())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto result = loader.takeResult();
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->model);
    EXPECT_NE(result->error.find("/nonexistent/m.pt"), std::string::npos) << result->error;
}

TEST(BackgroundModelLoader, OnlyTheNewestOfSeveralRequestsIsDelivered)
{
    BackgroundModelLoader loader;
    std::mutex gate;
    std::unique_lock<std::mutex> closed(gate);
    std::vector<std::string> loaded;
    std::atomic<bool> started{false};
    const auto load = [&](const std::string &path) -> std::unique_ptr<FaceClassifier> {
        started = true;
        std::lock_guard<std::mutex> wait(gate);
        loaded.push_back(path);
        throw std::runtime_error("not a model: " + path);
    };
    loader.request("first", load);
    while (!started)
        std::this_thread::yield(); // "first" is loading, held at the gate
    loader.request("second", load);
    loader.request("third", load);
    closed.unlock();
    while (loader.busy())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(loaded, (std::vector<std::string>{"first", "third"}));
    auto result = loader.takeResult();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->path, "third");
}

namespace {

// Reports one face, 10 px further right on each call; the background one waits at a gate first
// (a slow detector).
class FixedFaceDetector : public FaceDetector {
public:
    // `started`, when given, is set as a detection begins (before the gate).
    explicit FixedFaceDetector(std::shared_future<void> gate = {}, std::shared_ptr<std::atomic<bool>> started = {})
        : gate_(std::move(gate)), started_(std::move(started))
    {
    }
    std::vector<Detection> detect(const FrameView &frame, const DetectorSettings &) override
    {
        if (started_)
            *started_ = true;
        if (gate_.valid())
            gate_.wait();
        const float side = std::min(frame.width, frame.height) / 2.0f;
        return {Detection{{frame.width / 4.0f + 10.0f * calls_++, frame.height / 4.0f, side, side}, 1.0f}};
    }

private:
    std::shared_future<void> gate_;
    std::shared_ptr<std::atomic<bool>> started_;
    int calls_ = 0;
};

} // namespace

// A live source must not wait for the detector: with background detection, frames are analysed
// while a (here: held) full-frame detection runs, and its face joins the tracks once it finishes.
TEST(Analyzer, BackgroundDetectionLetsFramesGoOnAndMergesTheFacesWhenItFinishes)
{
    TempDir dir;
    std::promise<void> release;
    Analyzer analyzer(std::make_unique<FixedFaceDetector>(), DetectorKind::Haar, testModel(dir),
                      std::make_unique<FixedFaceDetector>(release.get_future().share()));
    AnalyzerSettings settings;
    settings.backgroundDetection = true;
    settings.tracking.detectionInterval = 1;
    const OwnedFrame frame = makeFrame(syntheticImage(320, 240), PixelFormat::BGR);
    for (int i = 0; i < 5; ++i) {
        auto pending = std::async(std::launch::async, [&] { return analyzer.analyze(inputOf(frame), settings); });
        ASSERT_EQ(pending.wait_for(std::chrono::seconds(30)), std::future_status::ready)
            << "frame " << i << " waited for the held detection";
        EXPECT_TRUE(pending.get().empty()) << "frame " << i;
    }
    release.set_value();
    std::vector<TrackedFace> faces;
    for (int i = 0; i < 1000 && faces.empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        faces = analyzer.analyze(inputOf(frame), settings);
    }
    ASSERT_EQ(faces.size(), 1u) << "the finished detection's face never joined";
    EXPECT_NEAR(faces[0].detection.box.x, 80, 1);
    EXPECT_TRUE(faces[0].classifiedNow);
}

// For the debug log: the frame a background detection joins on says which frame it looked at and
// how long it took; other frames have none.
TEST(Analyzer, ABackgroundDetectionThatJoinsSaysHowManyFramesAgoItLookedAndHowLongItTook)
{
    TempDir dir;
    std::promise<void> release;
    auto started = std::make_shared<std::atomic<bool>>(false);
    Analyzer analyzer(std::make_unique<FixedFaceDetector>(), DetectorKind::Haar, testModel(dir),
                      std::make_unique<FixedFaceDetector>(release.get_future().share(), started));
    AnalyzerSettings settings;
    settings.backgroundDetection = true;
    settings.tracking.detectionInterval = 1000; // one detection in this test
    const OwnedFrame frame = makeFrame(syntheticImage(320, 240), PixelFormat::BGR);
    for (int i = 0; i < 5; ++i) { // frame 0 starts the detection, held at the gate
        analyzer.analyze(inputOf(frame), settings);
        EXPECT_FALSE(analyzer.lastJoinedDetection()) << "frame " << i;
    }
    while (!*started)
        std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release.set_value();
    long long frames = 5;
    for (; frames < 1000 && !analyzer.lastJoinedDetection(); ++frames) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        analyzer.analyze(inputOf(frame), settings);
    }
    ASSERT_TRUE(analyzer.lastJoinedDetection()) << "the detection never joined";
    EXPECT_EQ(analyzer.lastJoinedDetection()->framesAgo, frames - 1);
    EXPECT_GE(analyzer.lastJoinedDetection()->took, std::chrono::milliseconds(50));
    EXPECT_EQ(analyzer.lastJoinedDetection()->faces, 1u);
    analyzer.analyze(inputOf(frame), settings);
    EXPECT_FALSE(analyzer.lastJoinedDetection()) << "only the frame it joined on has it";
}

// A reset (seek) drops a detection in progress: its faces belong to frames before the seek.
TEST(Analyzer, ResetDropsTheBackgroundDetectionInProgress)
{
    TempDir dir;
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    auto started = std::make_shared<std::atomic<bool>>(false);
    Analyzer analyzer(std::make_unique<FixedFaceDetector>(), DetectorKind::Haar, testModel(dir),
                      std::make_unique<FixedFaceDetector>(gate, started));
    AnalyzerSettings settings;
    settings.backgroundDetection = true;
    settings.tracking.detectionInterval = 1000;
    const OwnedFrame frame = makeFrame(syntheticImage(320, 240), PixelFormat::BGR);
    analyzer.analyze(inputOf(frame), settings);
    // The worker has taken the frame and waits at the gate: its detection (the first box) is in progress.
    for (int i = 0; i < 10000 && !*started; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(*started);
    auto resetting = std::async(std::launch::async, [&] { analyzer.reset(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    release.set_value();
    resetting.get();
    // The next detection starts on the frame after the reset, and only its face joins.
    std::vector<TrackedFace> faces;
    for (int i = 0; i < 1000 && faces.empty(); ++i) {
        faces = analyzer.analyze(inputOf(frame), settings);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(faces.size(), 1u);
    EXPECT_NEAR(faces[0].detection.box.x, 90, 1) << "the face of the detection before the reset joined";
}

namespace {

// Runs an OpenCV parallel loop of eight 20 ms parts and notes the threads the parts ran on.
class ParallelLoopDetector : public FaceDetector {
public:
    std::vector<Detection> detect(const FrameView &, const DetectorSettings &) override
    {
        caller = std::this_thread::get_id();
        cv::parallel_for_(cv::Range(0, 8), [this](const cv::Range &range) {
            for (int part = range.start; part < range.end; ++part) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                std::lock_guard<std::mutex> lock(mutex);
                threads.insert(std::this_thread::get_id());
            }
        }, 8);
        return {};
    }
    std::thread::id caller;
    std::mutex mutex;
    std::set<std::thread::id> threads;
};

} // namespace

namespace {

// One detection of a synthetic width x height frame on `worker`, waited for up to 10 s.
std::optional<DetectionWorker::Result> detectOnce(DetectionWorker &worker, int width, int height)
{
    const OwnedFrame frame = makeFrame(syntheticImage(width, height), PixelFormat::BGR);
    worker.submit(frame.view, DetectorSettings{}, TrackSnapshot{});
    std::optional<DetectionWorker::Result> result;
    for (int i = 0; i < 1000 && !result; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        result = worker.takeResult();
    }
    return result;
}

} // namespace

// The streaming thread keeps a core of its own: a background detection runs OpenCV's parallel loops
// on the worker's thread only.
TEST(DetectionWorker, DetectsOnItsOwnThreadAlone)
{
    // Four OpenCV threads, even on a one-core machine, and this process's count again afterwards.
    struct OpenCVThreads {
        int before = cv::getNumThreads();
        OpenCVThreads() { cv::setNumThreads(4); }
        ~OpenCVThreads() { cv::setNumThreads(before); }
    } const openCVThreads;
    auto detector = std::make_unique<ParallelLoopDetector>();
    ParallelLoopDetector &seen = *detector;
    {
        DetectionWorker worker(std::move(detector));
        ASSERT_TRUE(detectOnce(worker, 320, 240));
        EXPECT_EQ(seen.threads, std::set<std::thread::id>{seen.caller});
    }
}

namespace {

// Notes the nice value of the thread it detects on.
class NiceValueDetector : public FaceDetector {
public:
    std::vector<Detection> detect(const FrameView &, const DetectorSettings &) override
    {
        errno = 0;
        const int nice = getpriority(PRIO_PROCESS, 0); // Linux: the calling thread's
        if (errno == 0)
            niceValue = nice;
        return {};
    }
    std::atomic<int> niceValue{-100};
};

} // namespace

// Frames first: the worker takes the CPU the streaming threads leave it, so a busy machine delays
// detections rather than frames.
TEST(DetectionWorker, DetectsAtALowerPriorityThanTheThreadThatFeedsIt)
{
#ifndef __linux__
    GTEST_SKIP() << "per-thread nice values are Linux's";
#else
    const int ours = getpriority(PRIO_PROCESS, 0);
    if (ours >= 19)
        GTEST_SKIP() << "this test runs at the lowest priority already";
    auto detector = std::make_unique<NiceValueDetector>();
    NiceValueDetector &seen = *detector;
    DetectionWorker worker(std::move(detector));
    ASSERT_TRUE(detectOnce(worker, 64, 48));
    EXPECT_EQ(seen.niceValue, std::min(ours + 10, 19));
    EXPECT_EQ(getpriority(PRIO_PROCESS, 0), ours) << "the calling thread keeps its own";
#endif
}
