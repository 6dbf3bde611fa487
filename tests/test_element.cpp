// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of the feremotion element, driven through GstHarness.
#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <future>
#include <numeric>
#include <optional>
#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "frames.h"
#include "gst_support.h"
#include "classifier.h"
#include "device.h"
#include "detector.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::HasSubstr;

namespace {

class Element : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        initGStreamer();
        dir_ = new TempDir();
        model_ = writeTestBundle(dir_->file("element-test.pt"));
    }
    static void TearDownTestSuite()
    {
        delete dir_;
        dir_ = nullptr;
    }

    static Harness harness(const std::string &properties, GstVideoFormat format = GST_VIDEO_FORMAT_RGB, int width = 320,
                           int height = 240)
    {
        Harness h = makeHarness("feremotion model=" + model_ + " " + properties);
        gst_harness_set_src_caps_str(h.get(), capsFor(format, width, height).c_str());
        return h;
    }

    static GstBuffer *frame(GstVideoFormat format = GST_VIDEO_FORMAT_RGB, int width = 320, int height = 240)
    {
        return bufferFromBgr(syntheticImage(width, height), format);
    }

    // A frame carrying an upstream "face" ROI meta with a detection confidence.
    static GstBuffer *frameWithFace(const cv::Rect &box, double confidence)
    {
        GstBuffer *buffer = frame();
        auto *meta = gst_buffer_add_video_region_of_interest_meta(buffer, "face", box.x, box.y, box.width, box.height);
        meta->id = 42;
        gst_video_region_of_interest_meta_add_param(
            meta, gst_structure_new("detection", "confidence", G_TYPE_DOUBLE, confidence, nullptr));
        return buffer;
    }

    static inline TempDir *dir_ = nullptr;
    static inline std::string model_;
};

std::vector<double> probabilitiesOf(const GstStructure *emotion)
{
    std::vector<double> values;
    const GValue *array = gst_structure_get_value(emotion, "probabilities");
    for (guint i = 0; array && i < gst_value_array_get_size(array); ++i)
        values.push_back(g_value_get_double(gst_value_array_get_value(array, i)));
    return values;
}

bool sameBytes(GstBuffer *a, GstBuffer *b)
{
    GstMapInfo ma, mb;
    gst_buffer_map(a, &ma, GST_MAP_READ);
    gst_buffer_map(b, &mb, GST_MAP_READ);
    const bool same = ma.size == mb.size && std::memcmp(ma.data, mb.data, ma.size) == 0;
    gst_buffer_unmap(a, &ma);
    gst_buffer_unmap(b, &mb);
    return same;
}

class ElementPerFormat : public Element, public ::testing::WithParamInterface<GstVideoFormat> {};

} // namespace

TEST_P(ElementPerFormat, AnalysesFramesOfTheFormat)
{
    auto h = harness("detector=full-frame", GetParam(), 160, 120);
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame(GetParam(), 160, 120));
    ASSERT_NE(out, nullptr);
    const auto metas = roiMetas(out);
    ASSERT_EQ(metas.size(), 1u);
    EXPECT_NE(gst_video_region_of_interest_meta_get_param(metas[0], "emotion"), nullptr);
    gst_buffer_unref(out);
}

INSTANTIATE_TEST_SUITE_P(AllCapsFormats, ElementPerFormat,
                         ::testing::Values(GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGB, GST_VIDEO_FORMAT_BGRx,
                                           GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_RGBA,
                                           GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_GRAY8),
                         [](const auto &info) { return std::string(gst_video_format_to_string(info.param)); });

TEST_F(Element, HasTheAnalyzerKlassAndWorksInPlace)
{
    GstElementFactory *factory = gst_element_factory_find("feremotion");
    ASSERT_NE(factory, nullptr);
    EXPECT_STREQ(gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS), "Filter/Analyzer/Video");
    gst_object_unref(factory);
}

TEST_F(Element, AcceptsOneByOneFrames)
{
    auto h = harness("", GST_VIDEO_FORMAT_I420, 1, 1);
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame(GST_VIDEO_FORMAT_RGB, 1, 1));
    ASSERT_NE(out, nullptr);
    EXPECT_TRUE(roiMetas(out).empty());
    gst_buffer_unref(out);
}

TEST_F(Element, MetadataCarriesDetectionAndEmotionAsDesigned)
{
    auto h = harness("detector=full-frame");
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame());
    const auto metas = roiMetas(out);
    ASSERT_EQ(metas.size(), 1u);
    GstVideoRegionOfInterestMeta *meta = metas[0];
    EXPECT_STREQ(g_quark_to_string(meta->roi_type), "face");
    EXPECT_EQ(meta->x, 0u);
    EXPECT_EQ(meta->y, 0u);
    EXPECT_EQ(meta->w, 320u);
    EXPECT_EQ(meta->h, 240u);

    const GstStructure *detection = gst_video_region_of_interest_meta_get_param(meta, "detection");
    ASSERT_NE(detection, nullptr);
    double value = -1;
    for (const char *field : {"x_min", "y_min"}) {
        ASSERT_TRUE(gst_structure_get_double(detection, field, &value)) << field;
        EXPECT_DOUBLE_EQ(value, 0.0);
    }
    for (const char *field : {"x_max", "y_max", "confidence"}) {
        ASSERT_TRUE(gst_structure_get_double(detection, field, &value)) << field;
        EXPECT_DOUBLE_EQ(value, 1.0);
    }
    gint labelId = -1;
    EXPECT_TRUE(gst_structure_get_int(detection, "label_id", &labelId));
    EXPECT_EQ(labelId, 0);
    EXPECT_STREQ(gst_structure_get_string(detection, "label"), "face");

    const GstStructure *emotion = gst_video_region_of_interest_meta_get_param(meta, "emotion");
    ASSERT_NE(emotion, nullptr);
    const auto probabilities = probabilitiesOf(emotion);
    ASSERT_EQ(probabilities.size(), 7u);
    EXPECT_NEAR(std::accumulate(probabilities.begin(), probabilities.end(), 0.0), 1.0, 1e-5);
    const auto best = std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin();
    ASSERT_TRUE(gst_structure_get_int(emotion, "label_id", &labelId));
    EXPECT_EQ(labelId, best);
    EXPECT_STREQ(gst_structure_get_string(emotion, "label"), fer2013Labels()[best].c_str());
    ASSERT_TRUE(gst_structure_get_double(emotion, "confidence", &value));
    EXPECT_NEAR(value, probabilities[best], 1e-6);
    EXPECT_STREQ(gst_structure_get_string(emotion, "model_name"), "element-test");
    EXPECT_STREQ(gst_structure_get_string(emotion, "attribute_name"), "emotion");
    EXPECT_STREQ(gst_structure_get_string(emotion, "type"), "classification_result");
    gst_buffer_unref(out);
}

TEST_F(Element, PostsOneMessagePerFrameWithTheFaces)
{
    auto h = harness("detector=full-frame post-messages=true");
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    for (int i = 0; i < 2; ++i) {
        GstBuffer *in = frame();
        GST_BUFFER_PTS(in) = i * 33 * GST_MSECOND;
        GST_BUFFER_DURATION(in) = 33 * GST_MSECOND;
        gst_buffer_unref(gst_harness_push_and_pull(h.get(), in));
    }
    for (int i = 0; i < 2; ++i) {
        GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
        ASSERT_NE(message, nullptr) << "message " << i;
        const GstStructure *s = gst_message_get_structure(message);
        EXPECT_TRUE(gst_structure_has_name(s, "feremotion"));
        guint64 timestamp = 0, duration = 0, streamTime = 0, runningTime = 0;
        EXPECT_TRUE(gst_structure_get_uint64(s, "timestamp", &timestamp));
        EXPECT_EQ(timestamp, static_cast<guint64>(i * 33 * GST_MSECOND));
        EXPECT_TRUE(gst_structure_get_uint64(s, "duration", &duration));
        EXPECT_EQ(duration, 33 * GST_MSECOND);
        EXPECT_TRUE(gst_structure_get_uint64(s, "stream-time", &streamTime));
        EXPECT_TRUE(gst_structure_get_uint64(s, "running-time", &runningTime));
        EXPECT_EQ(runningTime, timestamp);
        const GValue *faces = gst_structure_get_value(s, "faces");
        ASSERT_TRUE(faces && GST_VALUE_HOLDS_LIST(faces));
        ASSERT_EQ(gst_value_list_get_size(faces), 1u);
        const GstStructure *face = gst_value_get_structure(gst_value_list_get_value(faces, 0));
        gint width = 0, id = -1;
        EXPECT_TRUE(gst_structure_get_int(face, "width", &width));
        EXPECT_EQ(width, 320);
        EXPECT_TRUE(gst_structure_get_int(face, "id", &id));
        EXPECT_NE(gst_structure_get_string(face, "label"), nullptr);
        EXPECT_EQ(probabilitiesOf(face).size(), 7u);
        gst_message_unref(message);
    }
    gst_element_set_bus(h->element, nullptr);
    gst_object_unref(bus);
}

// A frame wider than detection-max-side is detected downscaled, so the face's box has fractions.
TEST_F(Element, TheMessageGivesEachFaceThePixelBoxOfItsRegionMeta)
{
    const auto path = sharedFile("media/astronaut.png");
    if (!path)
        GTEST_SKIP() << "../shared/media is absent";
    cv::Mat image;
    cv::resize(cv::imread(*path, cv::IMREAD_COLOR), image, {641, 641});
    auto h = harness("post-messages=true", GST_VIDEO_FORMAT_BGR, 641, 641);
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    GstBuffer *out = gst_harness_push_and_pull(h.get(), bufferFromBgr(image, GST_VIDEO_FORMAT_BGR));
    GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    ASSERT_NE(message, nullptr);
    const GValue *faces = gst_structure_get_value(gst_message_get_structure(message), "faces");
    const auto metas = roiMetas(out);
    ASSERT_FALSE(metas.empty());
    ASSERT_EQ(gst_value_list_get_size(faces), metas.size());
    for (guint i = 0; i < metas.size(); ++i) {
        const GstStructure *face = gst_value_get_structure(gst_value_list_get_value(faces, i));
        gint x = -1, y = -1, width = -1, height = -1;
        ASSERT_TRUE(gst_structure_get(face, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width", G_TYPE_INT, &width,
                                      "height", G_TYPE_INT, &height, nullptr));
        EXPECT_EQ(x, static_cast<gint>(metas[i]->x));
        EXPECT_EQ(y, static_cast<gint>(metas[i]->y));
        EXPECT_EQ(width, static_cast<gint>(metas[i]->w));
        EXPECT_EQ(height, static_cast<gint>(metas[i]->h));
    }
    gst_message_unref(message);
    gst_buffer_unref(out);
    gst_element_set_bus(h->element, nullptr);
    gst_object_unref(bus);
}

TEST_F(Element, OverlayChangesPixelsInsideFaceBoxesOnly)
{
    auto h = harness("detector=roi overlay=true");
    const cv::Rect box(50, 40, 120, 100);
    GstBuffer *in = frameWithFace(box, 0.95);
    GstBuffer *original = gst_buffer_copy_deep(in);
    GstBuffer *out = gst_harness_push_and_pull(h.get(), in);
    GstMapInfo before, after;
    gst_buffer_map(original, &before, GST_MAP_READ);
    gst_buffer_map(out, &after, GST_MAP_READ);
    ASSERT_EQ(before.size, after.size);
    size_t changed = 0;
    for (size_t i = 0; i < after.size; ++i) {
        if (before.data[i] == after.data[i])
            continue;
        const int x = static_cast<int>((i % (320 * 3)) / 3), y = static_cast<int>(i / (320 * 3));
        ASSERT_TRUE(box.contains({x, y})) << "pixel (" << x << "," << y << ") outside the face box changed";
        ++changed;
    }
    EXPECT_GT(changed, 500u);
    gst_buffer_unmap(original, &before);
    gst_buffer_unmap(out, &after);
    gst_buffer_unref(original);
    gst_buffer_unref(out);
}

TEST_F(Element, OverlayOffLeavesTheFrameBitIdentical)
{
    auto h = harness("detector=roi overlay=false");
    GstBuffer *in = frameWithFace({50, 40, 120, 100}, 0.95);
    GstBuffer *original = gst_buffer_copy_deep(in);
    GstBuffer *out = gst_harness_push_and_pull(h.get(), in);
    EXPECT_TRUE(sameBytes(original, out));
    ASSERT_EQ(roiMetas(out).size(), 1u);
    EXPECT_NE(gst_video_region_of_interest_meta_get_param(roiMetas(out)[0], "emotion"), nullptr);
    gst_buffer_unref(original);
    gst_buffer_unref(out);
}

TEST_F(Element, RoiDetectorAnnotatesTheUpstreamMeta)
{
    auto h = harness("detector=roi");
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frameWithFace({10, 20, 64, 64}, 0.95));
    const auto metas = roiMetas(out);
    ASSERT_EQ(metas.size(), 1u);
    EXPECT_EQ(metas[0]->id, 42);
    const GstStructure *detection = gst_video_region_of_interest_meta_get_param(metas[0], "detection");
    double xMin = 0;
    ASSERT_TRUE(gst_structure_get_double(detection, "x_min", &xMin));
    EXPECT_NEAR(xMin, 10.0 / 320, 1e-9);
    EXPECT_EQ(g_list_length(metas[0]->params), 2u);
    gst_buffer_unref(out);
}

TEST_F(Element, CapsChangeMidStreamIsFollowed)
{
    auto h = harness("detector=full-frame");
    GstBuffer *first = gst_harness_push_and_pull(h.get(), frame());
    EXPECT_EQ(roiMetas(first)[0]->w, 320u);
    gst_buffer_unref(first);
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_NV12, 640, 480).c_str());
    GstBuffer *second = gst_harness_push_and_pull(h.get(), frame(GST_VIDEO_FORMAT_NV12, 640, 480));
    ASSERT_EQ(roiMetas(second).size(), 1u);
    EXPECT_EQ(roiMetas(second)[0]->w, 640u);
    EXPECT_EQ(roiMetas(second)[0]->h, 480u);
    gst_buffer_unref(second);
}

TEST_F(Element, ThresholdAndOverlayChangesWhilePlayingApplyAtTheNextFrame)
{
    auto h = harness("detector=roi overlay=false threshold=0.5");
    const cv::Rect box(50, 40, 120, 100);
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frameWithFace(box, 0.6));
    EXPECT_NE(gst_video_region_of_interest_meta_get_param(roiMetas(out)[0], "emotion"), nullptr);
    gst_buffer_unref(out);

    GstElement *element = gst_harness_find_element(h.get(), "feremotion");
    g_object_set(element, "threshold", 0.7f, "overlay", TRUE, nullptr);
    GstBuffer *in = frameWithFace(box, 0.6);
    GstBuffer *original = gst_buffer_copy_deep(in);
    out = gst_harness_push_and_pull(h.get(), in);
    EXPECT_EQ(gst_video_region_of_interest_meta_get_param(roiMetas(out)[0], "emotion"), nullptr);
    EXPECT_TRUE(sameBytes(original, out)) << "a face below the threshold gets no overlay";
    gst_buffer_unref(original);
    gst_buffer_unref(out);

    g_object_set(element, "threshold", 0.3f, nullptr);
    gst_object_unref(element);
    in = frameWithFace(box, 0.6);
    original = gst_buffer_copy_deep(in);
    out = gst_harness_push_and_pull(h.get(), in);
    EXPECT_NE(gst_video_region_of_interest_meta_get_param(roiMetas(out)[0], "emotion"), nullptr);
    EXPECT_FALSE(sameBytes(original, out)) << "overlay=true now draws";
    gst_buffer_unref(original);
    gst_buffer_unref(out);
}

TEST_F(Element, SurvivesFiftyNullPlayingCycles)
{
    const std::string launch = "videotestsrc num-buffers=2 ! video/x-raw,width=96,height=64 ! feremotion model=" +
                               model_ + " detector=full-frame ! fakesink";
    GstElement *pipeline = gst_parse_launch(launch.c_str(), nullptr);
    ASSERT_NE(pipeline, nullptr);
    GstBus *bus = gst_element_get_bus(pipeline);
    for (int cycle = 0; cycle < 50; ++cycle) {
        ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << cycle;
        GstMessage *message = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                                         static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
        ASSERT_NE(message, nullptr) << "cycle " << cycle << " timed out";
        EXPECT_EQ(GST_MESSAGE_TYPE(message), GST_MESSAGE_EOS) << "cycle " << cycle;
        gst_message_unref(message);
        ASSERT_EQ(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    }
    gst_object_unref(bus);
    gst_object_unref(pipeline);
}

TEST_F(Element, FlushesAndPassesEos)
{
    auto h = harness("detector=full-frame");
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_start()));
    EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_stop(TRUE)));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame());
    EXPECT_EQ(roiMetas(out).size(), 1u);
    gst_buffer_unref(out);
    EXPECT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));
    bool sawEos = false;
    while (GstEvent *event = gst_harness_try_pull_event(h.get())) {
        sawEos |= GST_EVENT_TYPE(event) == GST_EVENT_EOS;
        gst_event_unref(event);
    }
    EXPECT_TRUE(sawEos);
}

TEST_F(Element, BareTorchScriptUsesTheLabelAndInputProperties)
{
    TestBundle spec;
    spec.writeMetadata = false;
    spec.outputs = 2;
    spec.color = "rgb";
    spec.width = 32;
    spec.height = 24;
    const std::string bare = writeTestBundle(dir_->file("bare.pt"), spec);
    Harness h = makeHarness("feremotion model=" + bare +
                            " detector=full-frame labels=calm,tense input-width=32 input-height=24 input-color=rgb "
                            "input-mean=0.485,0.456,0.406 input-std=0.229,0.224,0.225");
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_BGRx, 64, 48).c_str());
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame(GST_VIDEO_FORMAT_BGRx, 64, 48));
    const GstStructure *emotion = gst_video_region_of_interest_meta_get_param(roiMetas(out)[0], "emotion");
    ASSERT_NE(emotion, nullptr);
    const std::string label = gst_structure_get_string(emotion, "label");
    EXPECT_TRUE(label == "calm" || label == "tense") << label;
    EXPECT_EQ(probabilitiesOf(emotion).size(), 2u);
    gst_buffer_unref(out);
}

namespace {

std::string errorFor(const std::string &properties)
{
    GstElement *element = gst_parse_launch(("feremotion " + properties).c_str(), nullptr);
    const std::string error = stateChangeError(element);
    gst_object_unref(element);
    return error;
}

} // namespace

TEST_F(Element, MissingModelFailsTheStateChangeNamingTheFile)
{
    EXPECT_THAT(errorFor("model=/nonexistent/emotions.pt"),
                AllOf(HasSubstr("/nonexistent/emotions.pt"), HasSubstr("does not exist")));
}

TEST_F(Element, CorruptModelFailsTheStateChangeNamingTheCause)
{
    const std::string path = dir_->file("corrupt.pt");
    g_file_set_contents(path.c_str(), "garbage", -1, nullptr);
    EXPECT_THAT(errorFor("model=" + path), AllOf(HasSubstr(path), HasSubstr("not a TorchScript archive")));
}

TEST_F(Element, ModelWithWrongOutputWidthFailsTheStateChange)
{
    TestBundle spec;
    spec.outputs = 3;
    const std::string path = writeTestBundle(dir_->file("three.pt"), spec);
    EXPECT_THAT(errorFor("model=" + path), HasSubstr("returns 3 outputs per face but has 7 labels"));
}

TEST_F(Element, CudaDeviceFailsClearlyOnACpuOnlyMachine)
{
    if (cudaAvailable())
        GTEST_SKIP() << "a CUDA device is present";
    EXPECT_THAT(errorFor("model=" + model_ + " device=cuda"), HasSubstr("sees no CUDA device"));
}

TEST_F(Element, YunetWithoutAModelFileFailsTheStateChange)
{
    EXPECT_THAT(errorFor("model=" + model_ + " detector=yunet"), HasSubstr("needs detector-model"));
}

TEST_F(Element, WithoutAModelPropertyTheDefaultBundleIsUsed)
{
    const char *path = g_getenv("FEREMOTION_DEFAULT_MODEL");
    if (!path || !g_file_test(path, G_FILE_TEST_EXISTS))
        GTEST_SKIP() << "no default model in this checkout (models/feremotion-default.pt)";
    Harness h = makeHarness("feremotion detector=full-frame");
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_I420, 96, 96).c_str());
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame(GST_VIDEO_FORMAT_I420, 96, 96));
    const GstStructure *emotion = gst_video_region_of_interest_meta_get_param(roiMetas(out)[0], "emotion");
    ASSERT_NE(emotion, nullptr);
    EXPECT_STREQ(gst_structure_get_string(emotion, "model_name"), "feremotion-default");
    gst_buffer_unref(out);
}

namespace {

// Sets (or, given nullptr, unsets) FEREMOTION_DEFAULT_MODEL for one scope.
class DefaultModelVariable {
public:
    explicit DefaultModelVariable(const char *value)
    {
        const char *saved = g_getenv("FEREMOTION_DEFAULT_MODEL");
        hadValue_ = saved != nullptr;
        previous_ = saved ? saved : "";
        if (value)
            g_setenv("FEREMOTION_DEFAULT_MODEL", value, TRUE);
        else
            g_unsetenv("FEREMOTION_DEFAULT_MODEL");
    }
    ~DefaultModelVariable()
    {
        if (hadValue_)
            g_setenv("FEREMOTION_DEFAULT_MODEL", previous_.c_str(), TRUE);
        else
            g_unsetenv("FEREMOTION_DEFAULT_MODEL");
    }

private:
    bool hadValue_ = false;
    std::string previous_;
};

} // namespace

TEST_F(Element, WithoutModelOrDefaultBundleTheErrorSaysSo)
{
    std::string error;
    {
        DefaultModelVariable unset(nullptr);
        error = errorFor("");
    }
    if (error.empty())
        GTEST_SKIP() << "a default model is installed";
    EXPECT_THAT(error, HasSubstr("no model given and no default model installed"));
}

TEST_F(Element, ADefaultModelVariableNamingNoFileIsTheError)
{
    std::string error;
    {
        DefaultModelVariable typo("/nonexistent/default.pt");
        error = errorFor("");
    }
    EXPECT_THAT(error, AllOf(HasSubstr("FEREMOTION_DEFAULT_MODEL"), HasSubstr("/nonexistent/default.pt"),
                             HasSubstr("does not exist")));
}

namespace {

std::vector<std::string> linesOf(const std::string &path)
{
    std::ifstream file(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(file, line);)
        lines.push_back(line);
    return lines;
}

} // namespace

TEST_F(Element, ExportWritesOneJsonRecordPerFrameWithFaces)
{
    const std::string path = dir_->file("faces.jsonl");
    Harness h = makeHarness("feremotion model=" + model_ + " detector=full-frame ! feremotionexport source=test location=" +
                            path);
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
    for (int i = 0; i < 3; ++i) {
        GstBuffer *in = frame();
        GST_BUFFER_PTS(in) = i * 40 * GST_MSECOND;
        gst_buffer_unref(gst_harness_push_and_pull(h.get(), in));
        // Each frame's record is on disk as soon as the frame has passed.
        EXPECT_EQ(linesOf(path).size(), static_cast<size_t>(i + 1));
    }
    const auto record = nlohmann::json::parse(linesOf(path)[2]);
    EXPECT_EQ(record["timestamp"], 80 * GST_MSECOND);
    EXPECT_EQ(record["resolution"]["width"], 320);
    EXPECT_EQ(record["source"], "test");
    ASSERT_EQ(record["objects"].size(), 1u);
    const auto &face = record["objects"][0];
    EXPECT_EQ(face["roi_type"], "face");
    EXPECT_EQ(face["w"], 320);
    EXPECT_DOUBLE_EQ(face["detection"]["bounding_box"]["x_max"].get<double>(), 1.0);
    EXPECT_EQ(face["emotion"]["probabilities"].size(), 7u);
    EXPECT_TRUE(face["emotion"]["probabilities"].contains(face["emotion"]["label"].get<std::string>()));
}

TEST_F(Element, ExportWritesOneCsvRowPerFace)
{
    const std::string path = dir_->file("faces.csv");
    Harness h = makeHarness("feremotion model=" + model_ + " detector=full-frame ! feremotionexport format=csv location=" +
                            path);
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    const auto lines = linesOf(path);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "timestamp,frame,track_id,x,y,w,h,label,confidence,angry,disgust,fear,happy,sad,surprise,neutral");
    EXPECT_EQ(std::count(lines[1].begin(), lines[1].end(), ','), 15);
}

TEST_F(Element, ExportToAnUnwritableFileFailsTheStateChange)
{
    GstElement *element = gst_element_factory_make("feremotionexport", nullptr);
    g_object_set(element, "location", "/nonexistent-folder/faces.jsonl", nullptr);
    EXPECT_THAT(stateChangeError(element), HasSubstr("/nonexistent-folder/faces.jsonl"));
    gst_object_unref(element);
}

TEST_F(Element, InvalidBareModelPropertiesFailTheStateChange)
{
    TestBundle spec;
    spec.writeMetadata = false;
    const std::string bare = writeTestBundle(dir_->file("bare-invalid.pt"), spec);
    EXPECT_THAT(errorFor("model=" + bare + " input-std=0"), HasSubstr("std must hold positive numbers"));
    EXPECT_THAT(errorFor("model=" + bare + " input-color=rgb input-mean=0.1,0.2"), HasSubstr("need 1 or 3 values"));
}

namespace {

bool booleanOf(const GstStructure *s, const char *field)
{
    gboolean value = FALSE;
    EXPECT_TRUE(gst_structure_get_boolean(s, field, &value)) << field;
    return value;
}

// The single face's "detection" and "emotion" params of a frame pushed through the harness.
struct FaceParams {
    gint id = -1;
    bool tracked = false, reused = false;
    std::vector<double> probabilities, raw;
};

FaceParams pushFrame(GstHarness *h, GstBuffer *in)
{
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    FaceParams params;
    const auto metas = roiMetas(out);
    EXPECT_EQ(metas.size(), 1u);
    if (metas.size() == 1) {
        const GstStructure *detection = gst_video_region_of_interest_meta_get_param(metas[0], "detection");
        const GstStructure *emotion = gst_video_region_of_interest_meta_get_param(metas[0], "emotion");
        params.id = metas[0]->id;
        params.tracked = booleanOf(detection, "tracked");
        params.reused = booleanOf(emotion, "reused");
        params.probabilities = probabilitiesOf(emotion);
        const GValue *raw = gst_structure_get_value(emotion, "raw_probabilities");
        for (guint i = 0; raw && i < gst_value_array_get_size(raw); ++i)
            params.raw.push_back(g_value_get_double(gst_value_array_get_value(raw, i)));
    }
    gst_buffer_unref(out);
    return params;
}

} // namespace

TEST_F(Element, PrecisionBf16ClassifiesWithinBfloat16RoundingOfFp32)
{
    auto fp32 = harness("detector=full-frame precision=fp32");
    auto bf16 = harness("detector=full-frame precision=bf16");
    const auto exact = pushFrame(fp32.get(), frame()).probabilities;
    const auto rounded = pushFrame(bf16.get(), frame()).probabilities;
    ASSERT_EQ(exact.size(), rounded.size());
    EXPECT_NE(exact, rounded);
    for (size_t k = 0; k < exact.size(); ++k)
        EXPECT_NEAR(exact[k], rounded[k], 0.03);
}

TEST_F(Element, AModelThatFailsInBfloat16FailsTheStateChangeWithPrecisionBf16)
{
    TestBundle spec;
    spec.float32Only = true;
    const std::string path = writeTestBundle(dir_->file("float32-only.pt"), spec);
    EXPECT_THAT(errorFor("model=" + path + " precision=bf16"), AllOf(HasSubstr(path), HasSubstr("bfloat16")));
}

TEST_F(Element, AModelInstanceIdHeldInAnotherPrecisionFailsTheStateChange)
{
    auto holder = harness("detector=full-frame model-instance-id=fp32-id precision=fp32");
    EXPECT_THAT(errorFor("model=" + model_ + " model-instance-id=fp32-id precision=bf16"),
                AllOf(HasSubstr("model-instance-id 'fp32-id'"), HasSubstr("in bf16"), HasSubstr(" UTC) on device")));
}

namespace {

// Collects the element's debug log lines of one level while it lives.
class DebugLog {
public:
    explicit DebugLog(GstDebugLevel level = GST_LEVEL_WARNING) : level_(level)
    {
        previous_ = gst_debug_get_default_threshold();
        gst_debug_set_threshold_for_name("feremotion", level);
        gst_debug_add_log_function(&DebugLog::collect, this, nullptr);
    }
    ~DebugLog()
    {
        gst_debug_remove_log_function_by_data(this);
        gst_debug_set_threshold_for_name("feremotion", previous_);
    }
    std::string text() const
    {
        std::lock_guard lock(mutex_);
        return text_;
    }

private:
    static void collect(GstDebugCategory *, GstDebugLevel level, const gchar *, const gchar *, gint, GObject *,
                        GstDebugMessage *message, gpointer data)
    {
        auto *self = static_cast<DebugLog *>(data);
        std::lock_guard lock(self->mutex_);
        if (level == self->level_)
            self->text_ += std::string(gst_debug_message_get(message)) + "\n";
    }
    const GstDebugLevel level_;
    GstDebugLevel previous_;
    mutable std::mutex mutex_;
    std::string text_;
};

size_t occurrences(const std::string &text, const std::string &part)
{
    size_t count = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
        ++count;
    return count;
}

} // namespace

TEST_F(Element, AReadyPropertySetWhilePlayingIsKeptForTheNextStartWithAWarning)
{
    auto h = harness("detector=full-frame precision=fp32");
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    GstElement *element = gst_harness_find_element(h.get(), "feremotion");
    DebugLog log;
    g_object_set(element, "precision", 2 /* bf16 */, nullptr);
    gint precision = -1;
    g_object_get(element, "precision", &precision, nullptr);
    gst_object_unref(element);
    EXPECT_EQ(precision, 2);
    EXPECT_THAT(log.text(), AllOf(HasSubstr("'precision' set while PLAYING"), HasSubstr("next start")));
}

// GST_DEBUG=feremotion:6 shows each forward pass: how many faces, of how many streams, how long.
TEST_F(Element, EachForwardPassIsLoggedAtLevelLog)
{
    DebugLog log(GST_LEVEL_LOG);
    auto h = harness("detector=full-frame");
    for (int i = 0; i < 2; ++i)
        gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    EXPECT_EQ(occurrences(log.text(), "forward pass: 1 face of 1 stream in "), 2u) << log.text();
}

TEST_F(Element, ADetectorSetWhilePlayingChangesNothingUntilTheNextStart)
{
    auto h = harness("detector=full-frame");
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    GstElement *element = gst_harness_find_element(h.get(), "feremotion");
    DebugLog log;
    gst_util_set_object_arg(G_OBJECT(element), "detector", "roi");
    gst_object_unref(element);
    // Still the full-frame detector: one face, the whole frame (the roi detector would find none).
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame());
    const auto metas = roiMetas(out);
    ASSERT_EQ(metas.size(), 1u);
    EXPECT_EQ(metas[0]->w, 320u);
    gst_buffer_unref(out);
    EXPECT_THAT(log.text(), HasSubstr("'detector' set while PLAYING"));
}

TEST_F(Element, ReadyKeepsTheModelAndNullReleasesIt)
{
    const std::string launch = "videotestsrc num-buffers=1 ! video/x-raw,width=96,height=64 ! feremotion model=" +
                               model_ + " detector=full-frame ! fakesink";
    GstElement *pipeline = gst_parse_launch(launch.c_str(), nullptr);
    ASSERT_NE(pipeline, nullptr);
    DebugLog log(GST_LEVEL_INFO);
    for (GstState between : {GST_STATE_READY, GST_STATE_NULL, GST_STATE_PAUSED}) {
        ASSERT_EQ(gst_element_set_state(pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
        ASSERT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
        ASSERT_NE(gst_element_set_state(pipeline, between), GST_STATE_CHANGE_FAILURE);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    // Loaded at the first start and again after NULL; the start after READY reused it.
    EXPECT_EQ(occurrences(log.text(), "loaded model '" + model_ + "'"), 2u) << log.text();
}

TEST_F(Element, AFaceThatStaysKeepsItsTrackId)
{
    auto h = harness("detector=full-frame");
    const gint first = pushFrame(h.get(), frame()).id;
    EXPECT_GE(first, 1);
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(pushFrame(h.get(), frame()).id, first);
}

TEST_F(Element, ANewSegmentStartsNewTracks)
{
    auto h = harness("detector=full-frame");
    const gint before = pushFrame(h.get(), frame()).id;
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    segment.start = segment.time = 10 * GST_SECOND; // a non-flushing seek to 10 s
    ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
    EXPECT_NE(pushFrame(h.get(), frame()).id, before);
}

TEST_F(Element, ARepeatedSegmentKeepsTheTracks)
{
    auto h = harness("detector=full-frame");
    const gint before = pushFrame(h.get(), frame()).id;
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME); // the harness's own segment, sent again
    ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
    EXPECT_EQ(pushFrame(h.get(), frame()).id, before);
}

TEST_F(Element, BetweenDetectionsBoxesAreMarkedTracked)
{
    auto h = harness("detector=full-frame detection-interval=3");
    std::vector<bool> tracked;
    for (int i = 0; i < 4; ++i)
        tracked.push_back(pushFrame(h.get(), frame()).tracked);
    EXPECT_EQ(tracked, (std::vector<bool>{false, true, true, false}));
}

TEST_F(Element, BetweenInferencesResultsAreReusedAndMarkedSo)
{
    auto h = harness("detector=full-frame inference-interval=3");
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

TEST_F(Element, SmoothingBlendsProbabilitiesAndKeepsTheRawOnes)
{
    auto h = harness("detector=full-frame smoothing=0.5");
    const FaceParams first = pushFrame(h.get(), frame());
    EXPECT_EQ(first.probabilities, first.raw);
    const FaceParams second = pushFrame(h.get(), bufferFromBgr(syntheticImage(320, 240, 99), GST_VIDEO_FORMAT_RGB));
    ASSERT_EQ(second.raw.size(), 7u);
    for (size_t k = 0; k < 7; ++k)
        EXPECT_NEAR(second.probabilities[k], 0.5 * first.raw[k] + 0.5 * second.raw[k], 1e-6);
}

TEST_F(Element, ElementsWithOneModelInstanceIdGiveTheResultsOfSeparateModels)
{
    auto separate = harness("detector=full-frame");
    auto sharedA = harness("detector=full-frame model-instance-id=element-test batch-timeout=1");
    auto sharedB = harness("detector=full-frame model-instance-id=element-test batch-timeout=1");
    const auto expected = pushFrame(separate.get(), frame()).probabilities;
    EXPECT_EQ(pushFrame(sharedA.get(), frame()).probabilities, expected);
    EXPECT_EQ(pushFrame(sharedB.get(), frame()).probabilities, expected);
}

TEST_F(Element, AFlushEndsTheWaitForTheOtherStreamsOfASharedModel)
{
    auto waiting = harness("detector=full-frame model-instance-id=flush-test batch-timeout=10000");
    auto silent = harness("detector=full-frame model-instance-id=flush-test batch-timeout=10000"); // never pushes
    const auto begin = std::chrono::steady_clock::now();
    auto push = std::async(std::launch::async, [&] { return gst_harness_push(waiting.get(), frame()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(push.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "the frame did not wait";
    gst_harness_push_event(waiting.get(), gst_event_new_flush_start());
    push.get();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5)) << "the flush waited for batch-timeout";
    gst_harness_push_event(waiting.get(), gst_event_new_flush_stop(TRUE));
}

TEST_F(Element, SharingElementsInOneStreamingThreadDoNotWaitForEachOther)
{
    const std::string element =
        "feremotion model=" + model_ + " detector=full-frame model-instance-id=chain-test batch-timeout=10000";
    Harness chain = makeHarness(element + " ! " + element);
    gst_harness_set_src_caps_str(chain.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < 2; ++i) {
        GstBuffer *out = gst_harness_push_and_pull(chain.get(), frame());
        EXPECT_EQ(roiMetas(out).size(), 2u) << "one face from each element";
        gst_buffer_unref(out);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5)) << "an element waited for batch-timeout";
}

TEST_F(Element, WithASharedModelTheLatencyIncludesTheBatchTimeout)
{
    auto shared = harness("detector=full-frame model-instance-id=latency-test batch-timeout=40");
    auto own = harness("detector=full-frame batch-timeout=40");
    for (GstHarness *h : {shared.get(), own.get()}) {
        gst_harness_set_live(h, TRUE);
        gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
    }
    EXPECT_EQ(gst_harness_query_latency(shared.get()), 50 * GST_MSECOND);
    EXPECT_EQ(gst_harness_query_latency(own.get()), 10 * GST_MSECOND);
}

TEST_F(Element, AModelInstanceIdHeldWithAnotherModelFailsTheStateChange)
{
    auto holder = harness("detector=full-frame model-instance-id=held-id");
    TestBundle spec;
    spec.seed = 5;
    const std::string other = writeTestBundle(dir_->file("other.pt"), spec);
    EXPECT_THAT(errorFor("model=" + other + " model-instance-id=held-id"),
                AllOf(HasSubstr("model-instance-id 'held-id'"), HasSubstr("other.pt")));
}

TEST_F(Element, ExportWritesWebVttCuesWithEachTracksDominantEmotion)
{
    const std::string path = dir_->file("faces.vtt");
    {
        Harness h = makeHarness("feremotion model=" + model_ +
                                " detector=full-frame ! feremotionexport format=webvtt cue-duration=500 location=" + path);
        gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
        for (int i = 0; i < 12; ++i) {
            GstBuffer *in = frame();
            GST_BUFFER_PTS(in) = i * 100 * GST_MSECOND;
            GST_BUFFER_DURATION(in) = 100 * GST_MSECOND;
            gst_buffer_unref(gst_harness_push_and_pull(h.get(), in));
        }
        gst_harness_push_event(h.get(), gst_event_new_eos());
    }
    const auto lines = linesOf(path);
    ASSERT_GE(lines.size(), 2u);
    EXPECT_EQ(lines[0], "WEBVTT");
    std::vector<std::string> times, texts;
    for (size_t i = 1; i < lines.size(); ++i) {
        if (lines[i].find(" --> ") != std::string::npos) {
            times.push_back(lines[i]);
            ASSERT_LT(i + 1, lines.size());
            texts.push_back(lines[i + 1]);
        }
    }
    EXPECT_EQ(times, (std::vector<std::string>{"00:00:00.000 --> 00:00:00.500", "00:00:00.500 --> 00:00:01.000",
                                               "00:00:01.000 --> 00:00:01.200"}));
    for (const std::string &text : texts)
        EXPECT_THAT(text, ::testing::MatchesRegex("face [0-9]+: [a-z]+ \\([0-9]+%\\)"));
}

TEST_F(Element, ExportAppendsToAnExistingFileWithoutASecondHeader)
{
    const std::string path = dir_->file("appended.csv");
    for (int run = 0; run < 2; ++run) {
        Harness h = makeHarness("feremotion model=" + model_ +
                                " detector=full-frame ! feremotionexport format=csv append=true location=" + path);
        gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
        gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    }
    const auto lines = linesOf(path);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[1].find("timestamp"), std::string::npos);
    EXPECT_EQ(lines[2].find("timestamp"), std::string::npos);
}

TEST_F(Element, AGroupSharingAModelCanRestartWithAnotherModel)
{
    TestBundle spec;
    spec.seed = 9;
    const std::string other = writeTestBundle(dir_->file("swap.pt"), spec);
    std::vector<GstElement *> group;
    for (int i = 0; i < 2; ++i) {
        group.push_back(gst_element_factory_make("feremotion", nullptr));
        g_object_set(group.back(), "model", model_.c_str(), "model-instance-id", "swap-id", nullptr);
        EXPECT_NE(gst_element_set_state(group.back(), GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    }
    for (GstElement *element : group) {
        gst_element_set_state(element, GST_STATE_NULL);
        g_object_set(element, "model", other.c_str(), nullptr);
    }
    for (GstElement *element : group)
        EXPECT_NE(gst_element_set_state(element, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE)
            << "a stopped element still held the old model";
    for (GstElement *element : group) {
        gst_element_set_state(element, GST_STATE_NULL);
        gst_object_unref(element);
    }
}

TEST_F(Element, ExportRefusesToAppendWebVtt)
{
    GstElement *element = gst_element_factory_make("feremotionexport", nullptr);
    g_object_set(element, "location", dir_->file("refused.vtt").c_str(), nullptr);
    gst_util_set_object_arg(G_OBJECT(element), "format", "webvtt");
    g_object_set(element, "append", TRUE, nullptr);
    EXPECT_THAT(stateChangeError(element), HasSubstr("append is not supported with format=webvtt"));
    gst_object_unref(element);
}

// An application's source URI or an upstream region type in another encoding (Latin-1 here) once aborted
// the process from inside the streaming thread (nlohmann::json throws on it).
TEST_F(Element, ExportWritesTextThatIsNotUtf8WithReplacementCharactersAndWarnsOnce)
{
    const std::string path = dir_->file("latin1.jsonl");
    Harness h = makeHarness("feremotionexport name=export location=" + path);
    gst_element_set_state(h->element, GST_STATE_NULL);
    GstElement *exporter = gst_bin_get_by_name(GST_BIN(h->element), "export");
    g_object_set(exporter, "source", "file:///caf\xe9.mp4", nullptr);
    gst_object_unref(exporter);
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    gst_harness_play(h.get());
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 64, 48).c_str());
    for (int i = 0; i < 2; ++i) {
        GstBuffer *in = frame(GST_VIDEO_FORMAT_RGB, 64, 48);
        // GStreamer itself refuses strings that are not UTF-8 in a structure (an emotion's label), not
        // in a region's type.
        gst_buffer_add_video_region_of_interest_meta(in, "f\xe4" "ce", 0, 0, 32, 32);
        gst_buffer_unref(gst_harness_push_and_pull(h.get(), in));
    }
    const auto lines = linesOf(path);
    ASSERT_EQ(lines.size(), 2u);
    const auto record = nlohmann::json::parse(lines[1]);
    EXPECT_EQ(record["source"], "file:///caf\xef\xbf\xbd.mp4");
    EXPECT_EQ(record["objects"][0]["roi_type"], "f\xef\xbf\xbd" "ce");
    int warnings = 0;
    while (GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING)) {
        ++warnings;
        gst_message_unref(message);
    }
    EXPECT_EQ(warnings, 1);
    gst_element_set_bus(h->element, nullptr);
    gst_object_unref(bus);
}

// The detection param's "tracked" says whether a face's box was followed (true) or detected on this
// frame: with window detection the astronaut is found again on the frames between full detections.
TEST_F(Element, WindowDetectionFindsTheFaceAgainBetweenFullFrameDetections)
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

TEST_F(Element, TinyFramesAreFollowedBetweenDetections)
{
    for (int side : {1, 2, 7}) {
        auto h = harness("detector=full-frame detection-interval=2", GST_VIDEO_FORMAT_RGB, side, side);
        for (int i = 0; i < 4; ++i) {
            const FaceParams face = pushFrame(h.get(), frame(GST_VIDEO_FORMAT_RGB, side, side));
            EXPECT_EQ(face.tracked, i % 2 == 1) << side << "x" << side << " frame " << i;
        }
    }
}

namespace {

// Faces reported on a BGR frame pushed through the harness.
size_t facesReportedOn(GstHarness *h, const cv::Mat &bgr)
{
    GstBuffer *out = gst_harness_push_and_pull(h, bufferFromBgr(bgr, GST_VIDEO_FORMAT_BGR));
    const size_t faces = roiMetas(out).size();
    gst_buffer_unref(out);
    return faces;
}

// Faces reported on each of the frames pushed: a blank frame, then `faceFrames` frames of the astronaut.
std::vector<size_t> facesPerFrameAfterABlankOne(GstHarness *h, const cv::Mat &astronaut, int faceFrames)
{
    std::vector<size_t> counts{facesReportedOn(h, cv::Mat(astronaut.size(), CV_8UC3, cv::Scalar::all(128)))};
    for (int i = 0; i < faceFrames; ++i)
        counts.push_back(facesReportedOn(h, astronaut));
    return counts;
}

} // namespace

// By default haar detects every 6th frame: the astronaut, there from frame 1, is found on frame 6
// and confirmed on frame 7 by a detection in a window around it.
TEST_F(Element, ANewFaceIsReportedFromTheFrameAfterItsFirstDetectionByDefault)
{
    const auto path = sharedFile("media/astronaut.png");
    if (!path)
        GTEST_SKIP() << "../shared/media is absent";
    const cv::Mat astronaut = cv::imread(*path, cv::IMREAD_COLOR);
    auto byDefault = harness("", GST_VIDEO_FORMAT_BGR, astronaut.cols, astronaut.rows);
    EXPECT_EQ(facesPerFrameAfterABlankOne(byDefault.get(), astronaut, 8), (std::vector<size_t>{0, 0, 0, 0, 0, 0, 0, 1, 1}));
    auto atOnce = harness("track-confirmation=1", GST_VIDEO_FORMAT_BGR, astronaut.cols, astronaut.rows);
    EXPECT_EQ(facesPerFrameAfterABlankOne(atOnce.get(), astronaut, 7), (std::vector<size_t>{0, 0, 0, 0, 0, 0, 1, 1}));
    auto everyFrame = harness("detection-interval=1", GST_VIDEO_FORMAT_BGR, astronaut.cols, astronaut.rows);
    EXPECT_EQ(facesPerFrameAfterABlankOne(everyFrame.get(), astronaut, 3), (std::vector<size_t>{0, 0, 1, 1}));
}

TEST_F(Element, InAStreamOfStillsAtFrameRateZeroEveryFaceIsReportedAtOnce)
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

TEST_F(Element, HaarVerificationOffAlsoReportsWhatOnlyTheDefaultCascadeSees)
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

namespace {

// Sets an environment variable for one test, restoring the earlier value after it.
class ScopedEnvironment {
public:
    ScopedEnvironment(const char *name, const std::string &value) : name_(name)
    {
        if (const char *old = g_getenv(name))
            previous_ = old;
        g_setenv(name, value.c_str(), TRUE);
    }
    ~ScopedEnvironment()
    {
        if (previous_)
            g_setenv(name_, previous_->c_str(), TRUE);
        else
            g_unsetenv(name_);
    }

private:
    const char *name_;
    std::optional<std::string> previous_;
};

} // namespace

TEST_F(Element, DetectorAutoTakesTheYuNetFileTheEnvironmentNamesAndSaysSo)
{
    const auto yunet = sharedYuNetModel();
    if (!yunet)
        GTEST_SKIP() << missingYuNetModel();
    ScopedEnvironment environment("FEREMOTION_YUNET_MODEL", std::filesystem::path(*yunet).parent_path().string());
    DebugLog log(GST_LEVEL_INFO);
    auto h = harness("");
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    EXPECT_THAT(log.text(), HasSubstr("detector=auto: using yunet with " + *yunet + ": found through FEREMOTION_YUNET_MODEL"));
}

TEST_F(Element, DetectorAutoIsHaarWithoutAYuNetFileAndSaysWhy)
{
    TempDir empty;
    ScopedEnvironment environment("FEREMOTION_YUNET_MODEL", empty.path());
    DebugLog log(GST_LEVEL_INFO);
    auto h = harness("");
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    EXPECT_THAT(log.text(), HasSubstr("detector=auto: using haar: FEREMOTION_YUNET_MODEL names the folder '" +
                                      empty.path() + "', which has no " + yunetReleaseForThisOpenCV()));
}

TEST_F(Element, DetectorAutoFailsToStartWhenTheEnvironmentNamesNothing)
{
    ScopedEnvironment environment("FEREMOTION_YUNET_MODEL", "/nonexistent/yunet.onnx");
    EXPECT_THAT(errorFor("model=" + model_), HasSubstr("FEREMOTION_YUNET_MODEL names '/nonexistent/yunet.onnx'"));
}

// facedetect gives every face id 0: the element tracks such regions and numbers them, the same
// face keeping its number from frame to frame.
TEST_F(Element, UpstreamFacesWithoutIdsAreTrackedAndNumbered)
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

namespace {

// The emotion label of the frame's first face.
std::string firstLabel(GstBuffer *buffer)
{
    const auto metas = roiMetas(buffer);
    if (metas.empty())
        return "";
    const gchar *label = gst_structure_get_string(gst_video_region_of_interest_meta_get_param(metas[0], "emotion"), "label");
    return label ? label : "";
}

std::string pushedLabel(GstHarness *h, GstBuffer *in)
{
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    const std::string label = firstLabel(out);
    gst_buffer_unref(out);
    return label;
}

// Pushes frames until one comes out labelled other than `old` (at most ~20 s); returns the labels.
std::vector<std::string> labelsUntilOtherThan(GstHarness *h, GstBuffer *(*frame)(GstVideoFormat, int, int),
                                              const std::string &old)
{
    std::vector<std::string> labels;
    for (int i = 0; i < 2000; ++i) {
        GstBuffer *out = gst_harness_push_and_pull(h, frame(GST_VIDEO_FORMAT_RGB, 320, 240));
        labels.push_back(firstLabel(out));
        gst_buffer_unref(out);
        if (labels.back() != old)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return labels;
}

} // namespace

// A model set while playing loads in the background: frames go on with the old model (none is
// dropped or left without a face) until the new one takes over, which a message announces.
TEST_F(Element, AModelSetWhilePlayingTakesOverBetweenTwoFramesAndIsAnnounced)
{
    TestBundle calm;
    calm.outputs = 2;
    calm.labels = {"calm", "calm too"};
    const std::string newModel = writeTestBundle(dir_->file("calm.pt"), calm);
    auto h = harness("detector=full-frame");
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    const std::string old = pushedLabel(h.get(), frame());
    ASSERT_FALSE(old.empty());
    GstElement *element = gst_harness_find_element(h.get(), "feremotion");
    g_object_set(element, "model", newModel.c_str(), nullptr);
    gst_object_unref(element);
    const auto labels = labelsUntilOtherThan(h.get(), &Element::frame, old);
    ASSERT_FALSE(labels.empty());
    EXPECT_THAT(labels.back(), testing::StartsWith("calm")) << "the new model never took over";
    for (size_t i = 0; i + 1 < labels.size(); ++i)
        EXPECT_EQ(labels[i], old) << "frame " << i << " after the set";
    GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    ASSERT_NE(message, nullptr);
    const GstStructure *s = gst_message_get_structure(message);
    EXPECT_TRUE(gst_structure_has_name(s, "feremotion-model"));
    EXPECT_STREQ(gst_structure_get_string(s, "model"), newModel.c_str());
    gst_message_unref(message);
    gst_element_set_bus(h->element, nullptr);
    gst_object_unref(bus);
}

TEST_F(Element, AModelThatFailsToLoadWhilePlayingLeavesTheOldOneAndWarnsNamingTheFile)
{
    auto h = harness("detector=full-frame");
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    const std::string old = pushedLabel(h.get(), frame());
    GstElement *element = gst_harness_find_element(h.get(), "feremotion");
    g_object_set(element, "model", "/nonexistent/new.pt", nullptr);
    GstMessage *warning = nullptr;
    for (int i = 0; i < 2000 && !warning; ++i) {
        GstBuffer *out = gst_harness_push_and_pull(h.get(), frame());
        EXPECT_EQ(firstLabel(out), old) << "frame " << i;
        gst_buffer_unref(out);
        warning = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_NE(warning, nullptr);
    GError *error = nullptr;
    gst_message_parse_warning(warning, &error, nullptr);
    EXPECT_THAT(error->message, HasSubstr("/nonexistent/new.pt"));
    g_error_free(error);
    gst_message_unref(warning);
    gchar *model = nullptr;
    g_object_get(element, "model", &model, nullptr);
    EXPECT_STREQ(model, "/nonexistent/new.pt") << "the property says what was asked for";
    g_free(model);
    gst_object_unref(element);
    gst_element_set_bus(h->element, nullptr);
    gst_object_unref(bus);
}

// background-detection=auto: a live source gets detection on a worker thread, and the element
// adds one frame (1/30 s) to the latency it reports.
TEST_F(Element, ALiveSourceGetsBackgroundDetectionAndAFrameOfLatency)
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
    EXPECT_GE(min, GST_SECOND / 30);
    EXPECT_THAT(log.text(), HasSubstr("upstream is live"));
}

// Labels are the model's: a comma, a quote or a line break in one must not shift the CSV's columns,
// split its row, or end a WebVTT cue.
TEST_F(Element, ExportQuotesCsvLabelsAndKeepsWebVttCuesWhole)
{
    TestBundle spec;
    spec.outputs = 2;
    spec.labels = {"calm, \"really\"\nnow", "tense"};
    spec.firstLabelWins = true;
    const std::string model = writeTestBundle(dir_->file("odd-labels.pt"), spec);
    const std::string csv = dir_->file("odd.csv"), vtt = dir_->file("odd.vtt");
    for (const std::string &format : {std::string("csv location=") + csv, std::string("webvtt cue-duration=100 location=") + vtt}) {
        Harness h = makeHarness("feremotion model=" + model + " detector=full-frame ! feremotionexport format=" + format);
        gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
        for (int i = 0; i < 3; ++i) {
            GstBuffer *in = frame();
            GST_BUFFER_PTS(in) = i * 100 * GST_MSECOND;
            GST_BUFFER_DURATION(in) = 100 * GST_MSECOND;
            gst_buffer_unref(gst_harness_push_and_pull(h.get(), in));
        }
        gst_harness_push_event(h.get(), gst_event_new_eos());
    }
    std::ifstream csvFile(csv);
    const std::string csvText((std::istreambuf_iterator<char>(csvFile)), std::istreambuf_iterator<char>());
    EXPECT_THAT(csvText, HasSubstr(",\"calm, \"\"really\"\"\nnow\","));
    std::ifstream vttFile(vtt);
    const std::string vttText((std::istreambuf_iterator<char>(vttFile)), std::istreambuf_iterator<char>());
    EXPECT_THAT(vttText, HasSubstr(": calm, \"really\" now ("));
}
