// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification on real media: decode ! videoconvert ! feremotion finds the faces of ../shared clips.
#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "engine/vision/tracker.h"
#include "gst_support.h"
#include "python_support.h"
#include "support.h"
#include "trainer_support.h"

using namespace feremotion;
using namespace feremotion::test;

namespace {

struct Face {
    gint id = -1;
    Box box;
    std::string label;
};

// What one fakesink saw: the faces of every frame.
struct SinkRecord {
    std::vector<std::vector<Face>> frames;
    int framesWithFaces() const
    {
        return static_cast<int>(std::count_if(frames.begin(), frames.end(), [](const auto &f) { return !f.empty(); }));
    }
};

struct RunResult {
    std::map<std::string, SinkRecord> sinks;
    int framesWithEmotion = 0; // over all sinks
    std::string error;
    // The only sink's record, for single-branch pipelines.
    const SinkRecord &sink() const { return sinks.at("sink"); }
};

struct HandoffContext {
    SinkRecord *record;
    RunResult *result;
};

void recordFaces(GstElement *, GstBuffer *buffer, GstPad *, gpointer data)
{
    auto *context = static_cast<HandoffContext *>(data);
    std::vector<Face> faces;
    const auto metas = roiMetas(buffer);
    for (GstVideoRegionOfInterestMeta *meta : metas) {
        Face face;
        face.id = meta->id;
        face.box = {static_cast<float>(meta->x), static_cast<float>(meta->y), static_cast<float>(meta->w),
                    static_cast<float>(meta->h)};
        if (const GstStructure *emotion = gst_video_region_of_interest_meta_get_param(meta, "emotion"))
            face.label = gst_structure_get_string(emotion, "label");
        faces.push_back(face);
    }
    if (!metas.empty() && !faces[0].label.empty())
        ++context->result->framesWithEmotion;
    context->record->frames.push_back(std::move(faces));
}

// Runs the launch line to EOS; every fakesink named in `sinks` records what reaches it.
RunResult runPipeline(const std::string &launch, const std::vector<std::string> &sinks = {"sink"})
{
    initGStreamer();
    GError *error = nullptr;
    GstElement *pipeline = gst_parse_launch(launch.c_str(), &error);
    RunResult result;
    if (!pipeline) {
        result.error = error ? error->message : "parse failed";
        g_clear_error(&error);
        return result;
    }
    std::vector<HandoffContext> contexts;
    contexts.reserve(sinks.size());
    for (const std::string &name : sinks) {
        contexts.push_back({&result.sinks[name], &result});
        GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), name.c_str());
        g_object_set(sink, "signal-handoffs", TRUE, nullptr);
        g_signal_connect(sink, "handoff", G_CALLBACK(recordFaces), &contexts.back());
        gst_object_unref(sink);
    }
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *message =
        gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (!message) {
        result.error = "timed out";
    } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        GError *gerror = nullptr;
        gst_message_parse_error(message, &gerror, nullptr);
        result.error = gerror->message;
        g_error_free(gerror);
    }
    if (message)
        gst_message_unref(message);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return result;
}

RunResult runClip(const std::string &clip, const std::string &feremotionProperties)
{
    return runPipeline("filesrc location=" + clip + " ! decodebin ! videoconvert ! feremotion " + feremotionProperties +
                       " ! fakesink name=sink");
}

// Frames on which the face with the id of frame 0's largest face is present.
int framesWithTheFirstLargestFace(const SinkRecord &record)
{
    if (record.frames.empty() || record.frames[0].empty())
        return 0;
    const gint id = record.frames[0][0].id; // faces come largest first
    return static_cast<int>(std::count_if(record.frames.begin(), record.frames.end(), [&](const auto &faces) {
        return std::any_of(faces.begin(), faces.end(), [&](const Face &f) { return f.id == id; });
    }));
}

class EndToEnd : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto video = sharedFile("media/video_01.mp4");
        if (!video)
            GTEST_SKIP() << "../shared/media/video_01.mp4 is absent (set FEREMOTION_SHARED to the shared folder)";
        clip_ = *video;
        model_ = writeTestBundle(dir_.file("e2e.pt"));
    }
    TempDir dir_;
    std::string clip_;
    std::string model_;
};

} // namespace

TEST_F(EndToEnd, HaarFindsAFaceInAtLeast85Of89Frames)
{
    const RunResult result = runClip(clip_, "model=" + model_ + " detector=haar");
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.sink().frames.size(), 89u);
    EXPECT_GE(result.sink().framesWithFaces(), 85);
    EXPECT_EQ(result.framesWithEmotion, result.sink().framesWithFaces());
}

TEST_F(EndToEnd, YunetFindsAFaceInAtLeast85Of89Frames)
{
    const auto yunet = sharedYuNetModel();
    if (!yunet)
        GTEST_SKIP() << missingYuNetModel();
    const RunResult result = runClip(clip_, "model=" + model_ + " detector=yunet detector-model=" + *yunet);
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.sink().frames.size(), 89u);
    EXPECT_GE(result.sink().framesWithFaces(), 85);
}

TEST_F(EndToEnd, ABundleScriptedInPythonClassifiesTheClipsFaces)
{
    if (!pythonTorchAvailable())
        GTEST_SKIP() << "/usr/bin/python3 cannot import torch (install python3-torch)";
    const std::string bundle = dir_.file("python.pt");
    runInterop("make " + bundle);
    const RunResult result = runClip(clip_, "model=" + bundle + " overlay=true");
    ASSERT_EQ(result.error, "");
    EXPECT_GE(result.framesWithEmotion, 85);
}

TEST_F(EndToEnd, ABundleFromTheTrainerClassifiesTheClipsFaces)
{
    const auto train = sharedFile("data/fer2013/fer2013-train-00.csv.gz");
    const auto publicTest = sharedFile("data/fer2013/fer2013-publictest.csv.gz");
    if (!train || !publicTest)
        GTEST_SKIP() << "../shared/data/fer2013 is absent";
    const std::string bundle = dir_.file("trained.pt");
    const auto trained = runTrainer("train --data " + *train + " --val " + *publicTest +
                                    " --limit 256 --val-limit 64 --arch mini-xception --width 4 --epochs 1 --threads 1 "
                                    "--out " + bundle);
    ASSERT_EQ(trained.status, 0) << trained.output;
    const RunResult result = runClip(clip_, "model=" + bundle);
    ASSERT_EQ(result.error, "");
    EXPECT_GE(result.framesWithEmotion, 85);
}

TEST_F(EndToEnd, TheWomanInFrontKeepsOneTrackIdWithDetectionOnEveryFrame)
{
    const RunResult result = runClip(clip_, "model=" + model_ + " detection-interval=1");
    ASSERT_EQ(result.error, "");
    EXPECT_GE(framesWithTheFirstLargestFace(result.sink()), 80);
}

TEST_F(EndToEnd, TheWomanInFrontKeepsOneTrackIdWithDetectionOnEveryFifthFrame)
{
    const RunResult result = runClip(clip_, "model=" + model_ + " detection-interval=5");
    ASSERT_EQ(result.error, "");
    EXPECT_GE(framesWithTheFirstLargestFace(result.sink()), 80);
}

TEST_F(EndToEnd, DetectingEveryFifthFrameFindsTheSameFacesWithTheSameLabels)
{
    // The trained default model: labels of a random model say little about agreement.
    const RunResult every = runClip(clip_, "detection-interval=1");
    const RunResult fifth = runClip(clip_, "detection-interval=5");
    ASSERT_EQ(every.error, "");
    ASSERT_EQ(fifth.error, "");
    ASSERT_EQ(every.sink().frames.size(), fifth.sink().frames.size());
    int faces = 0, found = 0, sameLabel = 0;
    for (size_t i = 0; i < every.sink().frames.size(); ++i)
        for (const Face &face : every.sink().frames[i]) {
            ++faces;
            const auto &others = fifth.sink().frames[i];
            const auto match = std::max_element(others.begin(), others.end(), [&](const Face &a, const Face &b) {
                return intersectionOverUnion(face.box, a.box) < intersectionOverUnion(face.box, b.box);
            });
            if (match == others.end() || intersectionOverUnion(face.box, match->box) < 0.5f)
                continue;
            ++found;
            sameLabel += match->label == face.label;
        }
    ASSERT_GT(faces, 300);
    EXPECT_GE(found, faces * 85 / 100) << "faces of detection-interval=1 found with detection-interval=5";
    EXPECT_GE(sameLabel, found * 75 / 100) << "of the faces found, labels that agree";
}

TEST_F(EndToEnd, TwoStreamsShareOneModelAndOneStreamsEosDoesNotStallTheOther)
{
    // A long batch-timeout: were the second stream waiting for the first after its EOS, it would
    // take 2 s per frame and time out.
    const std::string analysis = " ! videoconvert ! feremotion model=" + model_ +
                                 " model-instance-id=e2e-shared batch-timeout=2000";
    const RunResult result = runPipeline("filesrc location=" + clip_ + " ! decodebin ! identity eos-after=10" +
                                             analysis + " ! fakesink name=short filesrc location=" + clip_ +
                                             " ! decodebin" + analysis + " ! fakesink name=full",
                                         {"short", "full"});
    ASSERT_EQ(result.error, "");
    EXPECT_LT(result.sinks.at("short").frames.size(), 20u);
    EXPECT_EQ(result.sinks.at("full").frames.size(), 89u);
    EXPECT_GE(result.sinks.at("full").framesWithFaces(), 85);
}
