// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotionexport in pipelines: JSON Lines, CSV and WebVTT files.
#include "element_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::HasSubstr;

TEST_F(ElementExport, ExportWritesOneJsonRecordPerFrameWithFaces)
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

TEST_F(ElementExport, ExportWritesOneCsvRowPerFace)
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

TEST_F(ElementExport, ExportToAnUnwritableFileFailsTheStateChange)
{
    GstElement *element = gst_element_factory_make("feremotionexport", nullptr);
    g_object_set(element, "location", "/nonexistent-folder/faces.jsonl", nullptr);
    EXPECT_THAT(stateChangeError(element), HasSubstr("/nonexistent-folder/faces.jsonl"));
    gst_object_unref(element);
}

TEST_F(ElementExport, ExportWritesWebVttCuesWithEachTracksDominantEmotion)
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

TEST_F(ElementExport, ExportAppendsToAnExistingFileWithoutASecondHeader)
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

TEST_F(ElementExport, ExportRefusesToAppendWebVtt)
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
TEST_F(ElementExport, ExportWritesTextThatIsNotUtf8WithReplacementCharactersAndWarnsOnce)
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

// Labels are the model's: a comma, a quote or a line break in one must not shift the CSV's columns,
// split its row, or end a WebVTT cue.
TEST_F(ElementExport, ExportQuotesCsvLabelsAndKeepsWebVttCuesWhole)
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
