// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification on real media: decode ! videoconvert ! feremotion finds the faces of ../shared clips.
#include <gtest/gtest.h>

#include "gst_support.h"
#include "python_support.h"
#include "support.h"
#include "trainer_support.h"

using namespace feremotion;
using namespace feremotion::test;

namespace {

struct RunResult {
    int frames = 0;
    int framesWithFaces = 0;
    int framesWithEmotion = 0;
    std::string error;
};

void countFaces(GstElement *, GstBuffer *buffer, GstPad *, gpointer data)
{
    auto *result = static_cast<RunResult *>(data);
    ++result->frames;
    const auto metas = roiMetas(buffer);
    if (!metas.empty())
        ++result->framesWithFaces;
    if (!metas.empty() && gst_video_region_of_interest_meta_get_param(metas[0], "emotion"))
        ++result->framesWithEmotion;
}

RunResult runClip(const std::string &clip, const std::string &feremotionProperties)
{
    initGStreamer();
    const std::string launch = "filesrc location=" + clip + " ! decodebin ! videoconvert ! feremotion " +
                               feremotionProperties + " ! fakesink name=sink signal-handoffs=true";
    GError *error = nullptr;
    GstElement *pipeline = gst_parse_launch(launch.c_str(), &error);
    RunResult result;
    if (!pipeline) {
        result.error = error ? error->message : "parse failed";
        g_clear_error(&error);
        return result;
    }
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    g_signal_connect(sink, "handoff", G_CALLBACK(countFaces), &result);
    gst_object_unref(sink);
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
    EXPECT_EQ(result.frames, 89);
    EXPECT_GE(result.framesWithFaces, 85);
    EXPECT_EQ(result.framesWithEmotion, result.framesWithFaces);
}

TEST_F(EndToEnd, YunetFindsAFaceInAtLeast85Of89Frames)
{
    const auto yunet = sharedFile("models/face_detection_yunet_2022mar.onnx");
    if (!yunet)
        GTEST_SKIP() << "../shared/models/face_detection_yunet_2022mar.onnx is absent";
    const RunResult result = runClip(clip_, "model=" + model_ + " detector=yunet detector-model=" + *yunet);
    ASSERT_EQ(result.error, "");
    EXPECT_EQ(result.frames, 89);
    EXPECT_GE(result.framesWithFaces, 85);
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
