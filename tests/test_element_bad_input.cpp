// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification: whatever reaches the elements' GStreamer functions (odd events, buffers that do not
// match their caps, queries, every property at its range's ends, upstream metadata of the wrong
// types), they answer with an error, a warning or normal work, never a crash or an exception.
#include <fstream>
#include <iterator>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "frames.h"
#include "gst_support.h"
#include "support.h"

using namespace feremotion::test;
using ::testing::HasSubstr;

namespace {

class BadInput : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        initGStreamer();
        dir_ = new TempDir();
        model_ = writeTestBundle(dir_->file("bad-input.pt"));
    }
    static void TearDownTestSuite()
    {
        delete dir_;
        dir_ = nullptr;
    }

    // feremotion on 320x240 RGB, with a bus to read its errors from.
    Harness playing(const std::string &properties = "")
    {
        Harness h = makeHarness("feremotion detector=full-frame model=" + model_ + " " + properties);
        gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
        bus_ = gst_bus_new();
        gst_element_set_bus(h->element, bus_);
        return h;
    }
    void TearDown() override
    {
        if (bus_)
            gst_object_unref(bus_);
    }
    std::string errorPosted()
    {
        GstMessage *message = gst_bus_pop_filtered(bus_, GST_MESSAGE_ERROR);
        if (!message)
            return "";
        GError *error = nullptr;
        gst_message_parse_error(message, &error, nullptr);
        std::string text = error->message;
        g_error_free(error);
        gst_message_unref(message);
        return text;
    }
    static GstBuffer *frame() { return bufferFromBgr(syntheticImage(320, 240), GST_VIDEO_FORMAT_RGB); }

    static inline TempDir *dir_ = nullptr;
    static inline std::string model_;
    GstBus *bus_ = nullptr;
};

} // namespace

// GstVideoFilter cannot map it as a frame: it passes unanalysed, and the element says so.
TEST_F(BadInput, ABufferSmallerThanItsCapsSayIsPassedOnWithAWarning)
{
    Harness h = playing();
    EXPECT_EQ(gst_harness_push(h.get(), gst_buffer_new_allocate(nullptr, 100, nullptr)), GST_FLOW_OK);
    GstMessage *warning = gst_bus_pop_filtered(bus_, GST_MESSAGE_WARNING);
    EXPECT_NE(warning, nullptr);
    if (warning)
        gst_message_unref(warning);
    EXPECT_EQ(errorPosted(), "");
}

TEST_F(BadInput, EventsOutOfOrderOrOfOtherFormatsLeaveTheElementWorking)
{
    Harness h = playing();
    GstSegment bytes;
    gst_segment_init(&bytes, GST_FORMAT_BYTES);
    gst_harness_push_event(h.get(), gst_event_new_segment(&bytes));
    gst_harness_push_event(h.get(), gst_event_new_flush_stop(TRUE)); // without a flush-start
    gst_harness_push_event(h.get(), gst_event_new_gap(0, GST_SECOND));
    gst_harness_push_event(h.get(), gst_event_new_stream_start("again"));
    GstSegment time;
    gst_segment_init(&time, GST_FORMAT_TIME);
    gst_harness_push_event(h.get(), gst_event_new_segment(&time));
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame());
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(roiMetas(out).size(), 1u);
    gst_buffer_unref(out);
    EXPECT_EQ(errorPosted(), "");
}

TEST_F(BadInput, QueriesOfEveryKindAreAnsweredOrDeclined)
{
    Harness h = playing();
    GstElement *element = gst_harness_find_element(h.get(), "feremotion");
    GstPad *src = gst_element_get_static_pad(element, "src");
    for (GstQuery *query : {gst_query_new_latency(), gst_query_new_position(GST_FORMAT_BYTES),
                            gst_query_new_duration(GST_FORMAT_DEFAULT), gst_query_new_seeking(GST_FORMAT_PERCENT),
                            gst_query_new_caps(nullptr), gst_query_new_allocation(nullptr, FALSE)}) {
        gst_pad_query(src, query);
        gst_query_unref(query);
    }
    gst_object_unref(src);
    gst_object_unref(element);
    EXPECT_EQ(errorPosted(), "");
}

TEST_F(BadInput, EveryNumericPropertyTakesBothEndsOfItsRangeAndReadsThemBack)
{
    GstElement *element = gst_element_factory_make("feremotion", nullptr);
    guint count = 0;
    GParamSpec **specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(element), &count);
    int checked = 0;
    for (guint i = 0; i < count; ++i) {
        GParamSpec *spec = specs[i];
        if (!(spec->flags & G_PARAM_WRITABLE))
            continue;
        if (G_IS_PARAM_SPEC_UINT(spec)) {
            for (guint value : {G_PARAM_SPEC_UINT(spec)->minimum, G_PARAM_SPEC_UINT(spec)->maximum}) {
                g_object_set(element, spec->name, value, nullptr);
                guint back = 0;
                g_object_get(element, spec->name, &back, nullptr);
                EXPECT_EQ(back, value) << spec->name;
            }
            ++checked;
        } else if (G_IS_PARAM_SPEC_FLOAT(spec)) {
            for (gfloat value : {G_PARAM_SPEC_FLOAT(spec)->minimum, G_PARAM_SPEC_FLOAT(spec)->maximum}) {
                g_object_set(element, spec->name, value, nullptr);
                gfloat back = 0;
                g_object_get(element, spec->name, &back, nullptr);
                EXPECT_EQ(back, value) << spec->name;
            }
            ++checked;
        }
    }
    g_free(specs);
    gst_object_unref(element);
    EXPECT_GE(checked, 10);
}

TEST_F(BadInput, PropertiesAtTheirLimitsStartOrFailWithAMessage)
{
    // The smallest max-input-size refuses the model, the largest intervals and timeouts run.
    for (const std::string properties :
         {"max-input-size=8", "detection-interval=100000 inference-interval=100000 forward-timeout=3600000",
          "batch-size=1024 threads=256 smoothing=0.99 min-face-size=16384", "input-mean=abc labels=,,"}) {
        GstElement *element = gst_parse_launch(("feremotion detector=full-frame model=" + model_ + " " + properties).c_str(), nullptr);
        ASSERT_NE(element, nullptr) << properties;
        const std::string error = stateChangeError(element);
        if (properties == "max-input-size=8") {
            EXPECT_THAT(error, HasSubstr("48x48")) << properties;
        } else if (!error.empty()) {
            EXPECT_THAT(error, HasSubstr("model")) << properties; // a clear message, not an internal error
        }
        gst_object_unref(element);
    }
}

TEST_F(BadInput, TheExportWritesUpstreamMetadataOfTheWrongTypesAsValidJson)
{
    const std::string out = dir_->file("odd-types.jsonl");
    Harness h = makeHarness("feremotionexport location=" + out);
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_RGB, 64, 64).c_str());
    GstBuffer *buffer = bufferFromBgr(syntheticImage(64, 64), GST_VIDEO_FORMAT_RGB);
    auto *meta = gst_buffer_add_video_region_of_interest_meta(buffer, "face", 1, 2, 30, 40);
    GValue strings = G_VALUE_INIT, ints = G_VALUE_INIT;
    gst_value_array_init(&strings, 2);
    gst_value_array_init(&ints, 2);
    for (int i = 0; i < 2; ++i) {
        GValue text = G_VALUE_INIT, number = G_VALUE_INIT;
        g_value_init(&text, G_TYPE_STRING);
        g_value_set_string(&text, "not a number");
        gst_value_array_append_and_take_value(&strings, &text);
        g_value_init(&number, G_TYPE_INT);
        g_value_set_int(&number, i);
        gst_value_array_append_and_take_value(&ints, &number);
    }
    GstStructure *emotion = gst_structure_new("emotion", "label", G_TYPE_STRING, "odd", "label_id", G_TYPE_STRING,
                                              "seven", "confidence", G_TYPE_STRING, "high", nullptr);
    gst_structure_take_value(emotion, "probabilities", &strings);
    gst_structure_take_value(emotion, "labels", &ints);
    gst_video_region_of_interest_meta_add_param(meta, emotion);
    gst_video_region_of_interest_meta_add_param(
        meta, gst_structure_new("detection", "x_min", G_TYPE_STRING, "left", "confidence", G_TYPE_INT, 3, nullptr));
    EXPECT_EQ(gst_harness_push(h.get(), buffer), GST_FLOW_OK);
    h.reset(); // stops the export: the file is complete
    std::ifstream in(out);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    const auto record = nlohmann::json::parse(line);
    EXPECT_EQ(record["objects"][0]["emotion"]["label"], "odd");
    EXPECT_EQ(record["objects"][0]["emotion"]["probabilities"].size(), 2u);
}

namespace {

// Resident memory of this process in MB (Linux).
double residentMegabytes()
{
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

} // namespace

// The probe's soak: 5,000 frames, every one analysed, memory flat once warmed up.
TEST_F(BadInput, FiveThousandFramesKeepMemoryFlat)
{
    Harness h = makeHarness("feremotion detector=full-frame overlay=false model=" + model_);
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_GRAY8, 64, 64).c_str());
    GstBuffer *image = bufferFromBgr(syntheticImage(64, 64), GST_VIDEO_FORMAT_GRAY8);
    double warmedUp = 0;
    for (int i = 0; i < 5000; ++i) {
        GstBuffer *out = gst_harness_push_and_pull(h.get(), gst_buffer_copy_deep(image));
        ASSERT_NE(out, nullptr) << "frame " << i;
        ASSERT_EQ(roiMetas(out).size(), 1u) << "frame " << i;
        gst_buffer_unref(out);
        if (i == 499)
            warmedUp = residentMegabytes();
    }
    gst_buffer_unref(image);
#ifdef __SANITIZE_ADDRESS__
    GTEST_SKIP() << "AddressSanitizer holds freed memory in quarantine: resident memory says nothing of leaks here";
#endif
    EXPECT_LT(residentMegabytes() - warmedUp, 20.0) << "MB grown over 4,500 frames";
}
