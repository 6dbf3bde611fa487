// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of the feremotion element following faces: track ids, segments, detection schedules, smoothing, live sources.
#include <utility>

#include "element_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::HasSubstr;

TEST_F(ElementTracking, AFaceThatStaysKeepsItsTrackId)
{
    auto h = harness("detector=full-frame");
    const gint first = pushFrame(h.get(), frame()).id;
    EXPECT_GE(first, 1);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(pushFrame(h.get(), frame()).id, first);
}

TEST_F(ElementTracking, ANewSegmentStartsNewTracks)
{
    auto h = harness("detector=full-frame");
    const gint before = pushFrame(h.get(), frame()).id;
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    segment.start = segment.time = 10 * GST_SECOND; // a non-flushing seek to 10 s
    ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
    EXPECT_NE(pushFrame(h.get(), frame()).id, before);
}

TEST_F(ElementTracking, ARepeatedSegmentKeepsTheTracks)
{
    auto h = harness("detector=full-frame");
    const gint before = pushFrame(h.get(), frame()).id;
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME); // the harness's own segment, sent again
    ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
    EXPECT_EQ(pushFrame(h.get(), frame()).id, before);
}

TEST_F(ElementTracking, BetweenDetectionsBoxesAreMarkedTracked)
{
    auto h = harness("detector=full-frame detection-interval=3");
    std::vector<bool> tracked;
    for (int i = 0; i < 4; ++i)
        tracked.push_back(pushFrame(h.get(), frame()).tracked);
    EXPECT_EQ(tracked, (std::vector<bool>{false, true, true, false}));
}

TEST_F(ElementTracking, BetweenInferencesResultsAreReusedAndMarkedSo)
{
    auto h = harness("detector=full-frame inference-interval=3 reclassify-interval=1");
    const FaceParams first = pushFrame(h.get(), frame());
    EXPECT_FALSE(first.reused);
    // A different picture: a fresh classification would change the probabilities.
    const FaceParams second = pushFrame(h.get(), bufferFromBgr(syntheticImage(320, 240, 99), GST_VIDEO_FORMAT_RGB));
    EXPECT_TRUE(second.reused);
    EXPECT_EQ(second.probabilities, first.probabilities);
    pushFrame(h.get(), frame());
    const FaceParams fourth = pushFrame(h.get(), bufferFromBgr(syntheticImage(320, 240, 99), GST_VIDEO_FORMAT_RGB));
    EXPECT_FALSE(fourth.reused);
    EXPECT_NE(fourth.probabilities, first.probabilities);
}

TEST_F(ElementTracking, SmoothingBlendsProbabilitiesAndKeepsTheRawOnes)
{
    auto h = harness("detector=full-frame smoothing=0.5");
    const FaceParams first = pushFrame(h.get(), frame());
    EXPECT_EQ(first.probabilities, first.raw);
    const FaceParams second = pushFrame(h.get(), bufferFromBgr(syntheticImage(320, 240, 99), GST_VIDEO_FORMAT_RGB));
    ASSERT_EQ(second.raw.size(), 7u);
    for (size_t k = 0; k < 7; ++k)
        EXPECT_NEAR(second.probabilities[k], 0.5 * first.raw[k] + 0.5 * second.raw[k], 1e-6);
}

// The detection param's "tracked" says whether a face's box was followed (true) or detected on this
// frame: with window detection the astronaut is found again on the frames between full detections.
TEST_F(ElementTracking, WindowDetectionFindsTheFaceAgainBetweenFullFrameDetections)
{
    const auto path = sharedFile("media/astronaut.png");
    if (!path)
        GTEST_SKIP() << "../shared/media/astronaut.png is absent";
    const cv::Mat astronaut = cv::imread(*path, cv::IMREAD_COLOR);
    for (bool windows : {false, true}) {
        auto h = harness(std::string("detection-interval=3 window-detection=") + (windows ? "true" : "false"),
                         GST_VIDEO_FORMAT_BGR, astronaut.cols, astronaut.rows);
        std::vector<bool> tracked;
        for (int i = 0; i < 3; ++i)
            tracked.push_back(pushFrame(h.get(), bufferFromBgr(astronaut, GST_VIDEO_FORMAT_BGR)).tracked);
        EXPECT_EQ(tracked, (std::vector<bool>{false, !windows, !windows})) << "window-detection=" << windows;
    }
}

TEST_F(ElementTracking, TinyFramesAreFollowedBetweenDetections)
{
    for (int side : {1, 2, 7}) {
        auto h = harness("detector=full-frame detection-interval=2", GST_VIDEO_FORMAT_RGB, side, side);
        for (int i = 0; i < 4; ++i) {
            const FaceParams face = pushFrame(h.get(), frame(GST_VIDEO_FORMAT_RGB, side, side));
            EXPECT_EQ(face.tracked, i % 2 == 1) << side << "x" << side << " frame " << i;
        }
    }
}

// By default haar detects every 4th frame, and at once when the picture changes as at a cut: the
// astronaut after a blank frame is found on frame 1 and confirmed on frame 2 by a detection in a
// window around it, as when detecting on every frame.
TEST_F(ElementTracking, ANewFaceIsReportedFromTheFrameAfterItsFirstDetectionByDefault)
{
    const auto path = sharedFile("media/astronaut.png");
    if (!path)
        GTEST_SKIP() << "../shared/media is absent";
    const cv::Mat astronaut = cv::imread(*path, cv::IMREAD_COLOR);
    auto byDefault = harness("", GST_VIDEO_FORMAT_BGR, astronaut.cols, astronaut.rows);
    EXPECT_EQ(facesPerFrameAfterABlankOne(byDefault.get(), astronaut, 6), (std::vector<size_t>{0, 0, 1, 1, 1, 1, 1}));
    auto atOnce = harness("track-confirmation=1", GST_VIDEO_FORMAT_BGR, astronaut.cols, astronaut.rows);
    EXPECT_EQ(facesPerFrameAfterABlankOne(atOnce.get(), astronaut, 5), (std::vector<size_t>{0, 1, 1, 1, 1, 1}));
    auto everyFrame = harness("detection-interval=1", GST_VIDEO_FORMAT_BGR, astronaut.cols, astronaut.rows);
    EXPECT_EQ(facesPerFrameAfterABlankOne(everyFrame.get(), astronaut, 3), (std::vector<size_t>{0, 0, 1, 1}));
}

TEST_F(ElementTracking, InAStreamOfStillsAtFrameRateZeroEveryFaceIsReportedAtOnce)
{
    const auto path = sharedFile("media/astronaut.png");
    if (!path)
        GTEST_SKIP() << "../shared/media is absent";
    const cv::Mat astronaut = cv::imread(*path, cv::IMREAD_COLOR);
    Harness h = makeHarness("feremotion model=" + model_);
    gst_harness_set_src_caps_str(h.get(), ("video/x-raw,format=BGR,width=" + std::to_string(astronaut.cols) +
                                           ",height=" + std::to_string(astronaut.rows) + ",framerate=0/1")
                                              .c_str());
    EXPECT_EQ(facesPerFrameAfterABlankOne(h.get(), astronaut, 2), (std::vector<size_t>{0, 1, 1}));
}

TEST_F(ElementTracking, HaarVerificationOffAlsoReportsWhatOnlyTheDefaultCascadeSees)
{
    const auto clip = sharedFile("media/video_02.mp4");
    if (!clip)
        GTEST_SKIP() << "../shared/media is absent";
    const cv::Mat frame = videoFrame(*clip, kHikersFrameWithFalseHits);
    ASSERT_FALSE(frame.empty()) << *clip;
    std::vector<size_t> faces;
    for (const char *verification : {"true", "false"}) {
        auto h =
            harness(std::string("haar-verification=") + verification, GST_VIDEO_FORMAT_BGR, frame.cols, frame.rows);
        faces.push_back(facesReportedOn(h.get(), frame));
    }
    EXPECT_GE(faces[0], 1u);
    EXPECT_GT(faces[1], faces[0]);
}

// facedetect gives every face id 0: the element tracks such regions and numbers them, the same
// face keeping its number from frame to frame.
TEST_F(ElementTracking, UpstreamFacesWithoutIdsAreTrackedAndNumbered)
{
    auto h = harness("detector=roi");
    std::vector<std::vector<gint>> ids;
    for (int i = 0; i < 3; ++i) {
        GstBuffer *in = frame();
        for (const cv::Rect &box : {cv::Rect(10 + 2 * i, 20, 64, 64), cv::Rect(180 - 2 * i, 60, 80, 80)}) {
            auto *meta = gst_buffer_add_video_region_of_interest_meta(in, "face", box.x, box.y, box.width, box.height);
            meta->id = 0;
        }
        GstBuffer *out = gst_harness_push_and_pull(h.get(), in);
        std::vector<gint> frameIds;
        for (GstVideoRegionOfInterestMeta *meta : roiMetas(out))
            frameIds.push_back(meta->id);
        std::sort(frameIds.begin(), frameIds.end());
        ids.push_back(frameIds);
        gst_buffer_unref(out);
    }
    EXPECT_EQ(ids, (std::vector<std::vector<gint>>(3, {1, 2})));
}

// background-detection=auto: a live source gets detection on a worker thread, and the element
// adds 100 ms in whole frames (3/30 s) to the latency it reports.
TEST_F(ElementTracking, ALiveSourceGetsBackgroundDetectionAndOneHundredMillisecondsOfLatency)
{
    const std::string launch = "videotestsrc is-live=true num-buffers=15 ! video/x-raw,width=320,height=240,framerate=30/1 "
                               "! feremotion name=f detector=haar model=" + model_ + " ! fakesink sync=true";
    GstElement *pipeline = gst_parse_launch(launch.c_str(), nullptr);
    ASSERT_NE(pipeline, nullptr);
    DebugLog log(GST_LEVEL_INFO);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    ASSERT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
    GstQuery *query = gst_query_new_latency();
    ASSERT_TRUE(gst_element_query(pipeline, query));
    gboolean live = FALSE;
    GstClockTime min = 0;
    gst_query_parse_latency(query, &live, &min, nullptr);
    gst_query_unref(query);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *end = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND,
                                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(end, nullptr);
    EXPECT_EQ(GST_MESSAGE_TYPE(end), GST_MESSAGE_EOS);
    gst_message_unref(end);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    EXPECT_TRUE(live);
    EXPECT_GE(min, 3 * (GST_SECOND / 30));
    EXPECT_THAT(log.text(), HasSubstr("upstream is live"));
}

namespace {

// Plays `pipeline` to its end (EOS expected), handing each message of `types` to `onMessage`.
template <typename OnMessage>
void playToTheEnd(GstElement *pipeline, GstMessageType types, OnMessage onMessage)
{
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipeline);
    for (;;) {
        GstMessage *message = gst_bus_timed_pop_filtered(
            bus, 60 * GST_SECOND, static_cast<GstMessageType>(types | GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
        EXPECT_NE(message, nullptr) << "no end within a minute";
        if (!message)
            break;
        const GstMessageType type = GST_MESSAGE_TYPE(message);
        if (type != GST_MESSAGE_EOS && type != GST_MESSAGE_ERROR)
            onMessage(message);
        gst_message_unref(message);
        if (type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR) {
            EXPECT_EQ(type, GST_MESSAGE_EOS);
            break;
        }
    }
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
}

// Runs a live pipeline to its end, answering LATENCY messages as an application does; returns whether
// the element named "f" posted one, and the latency the pipeline reported after the last one.
std::pair<bool, GstClockTime> runCountingLatencyMessages(const std::string &launch)
{
    GstElement *pipeline = gst_parse_launch(launch.c_str(), nullptr);
    EXPECT_NE(pipeline, nullptr);
    if (!pipeline)
        return {false, 0};
    GstElement *element = gst_bin_get_by_name(GST_BIN(pipeline), "f");
    bool posted = false;
    GstClockTime min = 0;
    playToTheEnd(pipeline, GST_MESSAGE_LATENCY, [&](GstMessage *message) {
        if (GST_MESSAGE_SRC(message) != GST_OBJECT(element))
            return;
        posted = true;
        gst_bin_recalculate_latency(GST_BIN(pipeline));
        GstQuery *query = gst_query_new_latency();
        if (gst_element_query(pipeline, query))
            gst_query_parse_latency(query, nullptr, &min, nullptr);
        gst_query_unref(query);
    });
    gst_object_unref(element);
    gst_object_unref(pipeline);
    return {posted, min};
}

} // namespace

// Frames sent faster than the element handles them (100,000 a second) leave later and later: without
// catch-up the element raises the latency it reports, in whole frames, and tells the pipeline. A
// frame without faces takes the element about 0.5 ms here: 1,000 frames leave ~500 ms late by the
// end, well past the 100 ms it starts at (a machine 3 times as fast still gets there).
TEST_F(ElementTracking, ALiveSourceFasterThanTheElementGetsAHigherLatency)
{
    const auto [posted, latency] = runCountingLatencyMessages(
        "videotestsrc is-live=true num-buffers=1000 ! video/x-raw,width=1280,height=720,framerate=100000/1 "
        "! feremotion name=f detector=haar catch-up=false model=" + model_ + " ! fakesink sync=true");
    EXPECT_TRUE(posted);
    EXPECT_GT(latency, 100 * GST_MSECOND) << "above the 100 ms it starts at";
}

// Only the element's own time counts: an upstream that falls behind (15 ms for each 10 ms frame) is
// not the element's latency, and counting it would raise the latency without end.
TEST_F(ElementTracking, AnUpstreamThatFallsBehindLeavesTheElementsLatencyAlone)
{
    const bool posted = runCountingLatencyMessages(
        "videotestsrc is-live=true num-buffers=60 ! video/x-raw,width=160,height=120,framerate=100/1 "
        "! identity sleep-time=15000 ! feremotion name=f detector=haar model=" + model_ + " ! fakesink sync=true")
                            .first;
    EXPECT_FALSE(posted);
}

namespace {

// Runs a live pipeline to its end; for each "feremotion" element message, whether its frame was carried.
std::vector<bool> carriedFrames(const std::string &launch)
{
    GstElement *pipeline = gst_parse_launch(launch.c_str(), nullptr);
    EXPECT_NE(pipeline, nullptr);
    if (!pipeline)
        return {};
    std::vector<bool> carried;
    playToTheEnd(pipeline, GST_MESSAGE_ELEMENT, [&](GstMessage *message) {
        const GstStructure *s = gst_message_get_structure(message);
        gboolean frameCarried = FALSE;
        if (gst_structure_has_name(s, "feremotion") && gst_structure_get_boolean(s, "carried", &frameCarried))
            carried.push_back(frameCarried);
    });
    gst_object_unref(pipeline);
    return carried;
}

} // namespace

// For finding why a live stream's latency rose: at LOG level the element gives each live frame's time
// with the streaming thread's CPU time and preemptions, and each background detection as it joins.
TEST_F(ElementTracking, ALiveFramesTimeAndEachJoinedDetectionAreInTheDebugLog)
{
    const std::string launch = "videotestsrc is-live=true num-buffers=30 ! video/x-raw,width=320,height=240,framerate=30/1 "
                               "! feremotion detector=haar model=" + model_ + " ! fakesink sync=true";
    GstElement *pipeline = gst_parse_launch(launch.c_str(), nullptr);
    ASSERT_NE(pipeline, nullptr);
    DebugLog log(GST_LEVEL_LOG);
    playToTheEnd(pipeline, GST_MESSAGE_UNKNOWN, [](GstMessage *) {});
    gst_object_unref(pipeline);
    EXPECT_THAT(log.text(), HasSubstr("on this thread's CPU, preempted"));
    EXPECT_THAT(log.text(), HasSubstr("frames ago joined with 0 faces; it took"));
}

// catch-up (the default): frames that start more than a frame behind their time are passed on with
// the last analysed frame's faces and say so ("carried" in the message and in each face's detection
// param), so that the stream gets back on time; every frame still leaves with its message.
TEST_F(ElementTracking, ALiveSourceFasterThanTheElementHasItsLateFramesCarriedAndSaysSo)
{
    const std::string launch = "videotestsrc is-live=true num-buffers=200 ! video/x-raw,width=1280,height=720,"
                               "framerate=10000/1 ! feremotion detector=haar post-messages=true model=" + model_;
    const std::vector<bool> carried = carriedFrames(launch + " ! fakesink sync=true");
    ASSERT_EQ(carried.size(), 200u) << "a frame left without its message";
    EXPECT_FALSE(carried[0]);
    EXPECT_GT(std::count(carried.begin(), carried.end(), true), 0);
    const std::vector<bool> analysed = carriedFrames(launch + " catch-up=false ! fakesink sync=true");
    EXPECT_EQ(std::count(analysed.begin(), analysed.end(), true), 0);
}

// A live camera with a face, 1,000 frames a second, faster than the element follows the face: the
// faces of carried frames are the last analysed frame's, flagged "carried" in their detection param;
// those of analysed frames are not.
TEST_F(ElementTracking, ACarriedFrameFlagsItsFacesInTheirDetectionParam)
{
    const auto path = sharedFile("media/astronaut.png");
    if (!path)
        GTEST_SKIP() << "../shared/media/astronaut.png is absent";
    const cv::Mat astronaut = cv::imread(*path, cv::IMREAD_COLOR);
    const std::string launch = "appsrc name=src is-live=true format=time block=true max-bytes=4000000 "
                               "caps=video/x-raw,format=BGR,width=" + std::to_string(astronaut.cols) +
                               ",height=" + std::to_string(astronaut.rows) + ",framerate=1000/1 "
                               "! feremotion detector=haar model=" + model_ + " ! fakesink name=sink sync=true";
    GstElement *pipeline = gst_parse_launch(launch.c_str(), nullptr);
    ASSERT_NE(pipeline, nullptr);
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    std::vector<std::pair<bool, bool>> flags; // (carried, detection param says carried) per face
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, [](GstPad *, GstPadProbeInfo *info, gpointer data) {
        auto *out = static_cast<std::vector<std::pair<bool, bool>> *>(data);
        for (GstVideoRegionOfInterestMeta *meta : roiMetas(GST_PAD_PROBE_INFO_BUFFER(info))) {
            const GstStructure *detection = gst_video_region_of_interest_meta_get_param(meta, "detection");
            const GstStructure *emotion = gst_video_region_of_interest_meta_get_param(meta, "emotion");
            // A carried face is neither detected nor classified on its frame.
            const bool carried = booleanOf(detection, "carried");
            out->emplace_back(carried, carried && booleanOf(detection, "tracked") && booleanOf(emotion, "reused"));
        }
        return GST_PAD_PROBE_OK;
    }, &flags, nullptr);
    gst_object_unref(pad);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    for (int i = 0; i < 600; ++i) {
        GstBuffer *buffer = bufferFromBgr(astronaut, GST_VIDEO_FORMAT_BGR);
        GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(i) * GST_MSECOND;
        GST_BUFFER_DURATION(buffer) = GST_MSECOND;
        GstFlowReturn pushed = GST_FLOW_ERROR;
        g_signal_emit_by_name(src, "push-buffer", buffer, &pushed); // the signal takes a reference of its own
        gst_buffer_unref(buffer);
        ASSERT_EQ(pushed, GST_FLOW_OK);
    }
    GstFlowReturn ended = GST_FLOW_ERROR;
    g_signal_emit_by_name(src, "end-of-stream", &ended);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *end = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(end, nullptr);
    EXPECT_EQ(GST_MESSAGE_TYPE(end), GST_MESSAGE_EOS);
    gst_message_unref(end);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    const auto carried = std::count_if(flags.begin(), flags.end(), [](const auto &f) { return f.first; });
    EXPECT_GT(carried, 0) << "no face was carried";
    EXPECT_LT(carried, static_cast<long>(flags.size())) << "no face was analysed";
    for (const auto &[isCarried, flagged] : flags) {
        if (isCarried) {
            EXPECT_TRUE(flagged) << "a carried face claims to be detected or classified on its frame";
        }
    }
}
