// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of the feremotion element: formats, metadata, messages, overlays, models and properties.
#include "element_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::HasSubstr;

namespace {

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

TEST_F(Element, YunetWithoutAModelFileFailsTheStateChangeAndSaysWhereItLooked)
{
    TempDir empty;
    ScopedEnvironment environment("FEREMOTION_YUNET_MODEL", empty.path());
    EXPECT_THAT(errorFor("model=" + model_ + " detector=yunet"),
                AllOf(HasSubstr("detector=yunet found no YuNet ONNX file"),
                      HasSubstr("FEREMOTION_YUNET_MODEL names the folder '" + empty.path() + "', which has no " +
                                yunetReleaseForThisOpenCV())));
}

TEST_F(Element, YunetWithoutDetectorModelTakesTheFileAutoWouldFind)
{
    const auto yunet = sharedYuNetModel();
    if (!yunet)
        GTEST_SKIP() << missingYuNetModel();
    ScopedEnvironment environment("FEREMOTION_YUNET_MODEL", std::filesystem::path(*yunet).parent_path().string());
    DebugLog log(GST_LEVEL_INFO);
    auto h = harness("detector=yunet");
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame()));
    EXPECT_THAT(log.text(), HasSubstr("detector=yunet: using " + *yunet + ": found through FEREMOTION_YUNET_MODEL"));
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

TEST_F(Element, InvalidBareModelPropertiesFailTheStateChange)
{
    TestBundle spec;
    spec.writeMetadata = false;
    const std::string bare = writeTestBundle(dir_->file("bare-invalid.pt"), spec);
    EXPECT_THAT(errorFor("model=" + bare + " input-std=0"), HasSubstr("std must hold positive numbers"));
    EXPECT_THAT(errorFor("model=" + bare + " input-color=rgb input-mean=0.1,0.2"), HasSubstr("need 1 or 3 values"));
}

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
    auto h = harness("detector=full-frame reclassify-interval=1");
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
