// SPDX-License-Identifier: LGPL-2.1-or-later
// What the element's test files share: the Element fixture (a test bundle, harnesses, frames) and
// helpers reading the metadata, messages and debug log back.
#pragma once

#include <cstring>
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

#include "engine/model/device.h"
#include "engine/vision/classifier.h"
#include "engine/vision/detector.h"
#include "frames.h"
#include "gst_support.h"
#include "scoped_environment.h" // bench/
#include "support.h"

namespace feremotion::test {

using bench::ScopedEnvironment;

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

inline std::vector<double> probabilitiesOf(const GstStructure *emotion)
{
    std::vector<double> values;
    const GValue *array = gst_structure_get_value(emotion, "probabilities");
    for (guint i = 0; array && i < gst_value_array_get_size(array); ++i)
        values.push_back(g_value_get_double(gst_value_array_get_value(array, i)));
    return values;
}

inline bool sameBytes(GstBuffer *a, GstBuffer *b)
{
    GstMapInfo ma, mb;
    gst_buffer_map(a, &ma, GST_MAP_READ);
    gst_buffer_map(b, &mb, GST_MAP_READ);
    const bool same = ma.size == mb.size && std::memcmp(ma.data, mb.data, ma.size) == 0;
    gst_buffer_unmap(a, &ma);
    gst_buffer_unmap(b, &mb);
    return same;
}


inline std::string errorFor(const std::string &properties)
{
    GstElement *element = gst_parse_launch(("feremotion " + properties).c_str(), nullptr);
    const std::string error = stateChangeError(element);
    gst_object_unref(element);
    return error;
}

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

inline std::vector<std::string> linesOf(const std::string &path)
{
    std::ifstream file(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(file, line);)
        lines.push_back(line);
    return lines;
}

inline bool booleanOf(const GstStructure *s, const char *field)
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

inline FaceParams pushFrame(GstHarness *h, GstBuffer *in)
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

inline size_t occurrences(const std::string &text, const std::string &part)
{
    size_t count = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
        ++count;
    return count;
}

// Faces reported on a BGR frame pushed through the harness.
inline size_t facesReportedOn(GstHarness *h, const cv::Mat &bgr)
{
    GstBuffer *out = gst_harness_push_and_pull(h, bufferFromBgr(bgr, GST_VIDEO_FORMAT_BGR));
    const size_t faces = roiMetas(out).size();
    gst_buffer_unref(out);
    return faces;
}

// Faces reported on each of the frames pushed: a blank frame, then `faceFrames` frames of the astronaut.
inline std::vector<size_t> facesPerFrameAfterABlankOne(GstHarness *h, const cv::Mat &astronaut, int faceFrames)
{
    std::vector<size_t> counts{facesReportedOn(h, cv::Mat(astronaut.size(), CV_8UC3, cv::Scalar::all(128)))};
    for (int i = 0; i < faceFrames; ++i)
        counts.push_back(facesReportedOn(h, astronaut));
    return counts;
}

// The emotion label of the frame's first face.
inline std::string firstLabel(GstBuffer *buffer)
{
    const auto metas = roiMetas(buffer);
    if (metas.empty())
        return "";
    const gchar *label = gst_structure_get_string(gst_video_region_of_interest_meta_get_param(metas[0], "emotion"), "label");
    return label ? label : "";
}

inline std::string pushedLabel(GstHarness *h, GstBuffer *in)
{
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    const std::string label = firstLabel(out);
    gst_buffer_unref(out);
    return label;
}

// Pushes frames until one comes out labelled other than `old` (at most ~20 s); returns the labels.
inline std::vector<std::string> labelsUntilOtherThan(GstHarness *h, GstBuffer *(*frame)(GstVideoFormat, int, int),
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

// The same fixture under the name of each file's concern.
class ElementTracking : public Element {};
class ElementSharing : public Element {};
class ElementExport : public Element {};

} // namespace feremotion::test
