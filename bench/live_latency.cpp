// SPDX-License-Identifier: LGPL-2.1-or-later
#include "live_latency.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include "scoped_environment.h"

namespace feremotion::bench {

namespace {

constexpr int kFramesPerSecond = 30;
constexpr int kWindowSeconds = 20;

struct DecodedClip {
    std::vector<GstBuffer *> frames;
    GstCaps *caps = nullptr;
    ~DecodedClip()
    {
        for (GstBuffer *b : frames)
            gst_buffer_unref(b);
        if (caps)
            gst_caps_unref(caps);
    }
};

// The clip's frames as raw I420 buffers in memory, so that decoding costs the live run nothing.
void decode(const std::string &clip, DecodedClip &decoded)
{
    GstElement *pipeline = gst_parse_launch(("filesrc location=" + clip +
                                             " ! decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=out sync=false")
                                                .c_str(),
                                            nullptr);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    while (GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
        decoded.frames.push_back(gst_buffer_ref(gst_sample_get_buffer(sample)));
        if (!decoded.caps)
            decoded.caps = gst_caps_copy(gst_sample_get_caps(sample));
        gst_sample_unref(sample);
    }
    gst_object_unref(sink);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
}

struct Arrival {
    double at = 0;        // the frame's running time, s
    double late = 0;      // ms
    bool carried = false; // its faces were carried (catch-up), not analysed
};

struct Arrivals {
    std::mutex mutex;
    std::vector<Arrival> lateness;
    GstElement *pipeline = nullptr;
};

GstPadProbeReturn onArrival(GstPad *, GstPadProbeInfo *info, gpointer data)
{
    auto *arrivals = static_cast<Arrivals *>(data);
    GstClock *clock = gst_element_get_clock(arrivals->pipeline);
    if (!clock)
        return GST_PAD_PROBE_OK;
    const GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(arrivals->pipeline);
    gst_object_unref(clock);
    GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    const GstClockTime pts = GST_BUFFER_PTS(buffer);
    bool carried = false;
    gpointer state = nullptr;
    while (GstMeta *meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
        const GstStructure *detection = gst_video_region_of_interest_meta_get_param(
            reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta), "detection");
        gboolean flag = FALSE;
        if (detection && gst_structure_get_boolean(detection, "carried", &flag) && flag)
            carried = true;
    }
    std::lock_guard<std::mutex> lock(arrivals->mutex);
    arrivals->lateness.push_back({static_cast<double>(pts) / GST_SECOND,
                                  (static_cast<double>(now) - static_cast<double>(pts)) / GST_MSECOND, carried});
    return GST_PAD_PROBE_OK;
}

double percentile(std::vector<double> values, double fraction)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<size_t>(fraction * values.size()))];
}

// One table row per window: the latency reported at its end, how late its frames reached the sink,
// and how many of them after the latency in force then.
void printWindows(const std::string &name, const std::vector<Arrival> &lateness,
                  const std::vector<std::pair<double, double>> &reported, int seconds)
{
    // The latency in force at a running time (the first sample's for the first second).
    auto latencyAt = [&](double at) {
        double latency = reported.empty() ? 0 : reported.front().second;
        for (const auto &[from, ms] : reported)
            if (from <= at)
                latency = ms;
        return latency;
    };
    for (int window = 0; window * kWindowSeconds < seconds; ++window) {
        std::vector<double> late;
        long overdue = 0, carried = 0;
        for (const Arrival &arrival : lateness)
            if (arrival.at >= window * kWindowSeconds && arrival.at < (window + 1) * kWindowSeconds) {
                late.push_back(arrival.late);
                overdue += arrival.late > latencyAt(arrival.at);
                carried += arrival.carried;
            }
        std::printf("| %s | %d-%d s | %zu | %.1f | %.1f / %.1f / %.1f | %ld | %ld |\n", name.c_str(),
                    window * kWindowSeconds, (window + 1) * kWindowSeconds, late.size(),
                    latencyAt((window + 1) * kWindowSeconds),
                    percentile(late, 0.5), percentile(late, 0.95), late.empty() ? 0.0 : *std::max_element(late.begin(), late.end()),
                    overdue, carried);
    }
}

void runOne(const DecodedClip &clip, const std::string &model, const LiveConfiguration &configuration, int seconds)
{
    std::optional<ScopedEnvironment> environment;
    if (!configuration.yunetFolder.empty())
        environment.emplace("FEREMOTION_YUNET_MODEL", configuration.yunetFolder);
    const std::string launch = "appsrc name=src is-live=true format=time ! feremotion model=" + model + " " +
                               configuration.properties + " ! queue ! fakesink name=sink sync=true";
    GError *error = nullptr;
    GstElement *pipeline = gst_parse_launch(launch.c_str(), &error);
    if (error) {
        std::printf("| %s | error: %s | | | | | |\n", configuration.name.c_str(), error->message);
        g_clear_error(&error);
        return;
    }
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    GstCaps *caps = gst_caps_copy(clip.caps);
    gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, kFramesPerSecond, 1, nullptr);
    gst_app_src_set_caps(GST_APP_SRC(src), caps);
    gst_caps_unref(caps);
    Arrivals arrivals;
    arrivals.pipeline = pipeline;
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, onArrival, &arrivals, nullptr);
    gst_object_unref(pad);
    gst_object_unref(sink);

    // A live pipeline's sink completes the change to PLAYING with its first frame: pushing starts
    // now, with the base time the pipeline chose when it went to PLAYING.
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstClock *clock = gst_element_get_clock(pipeline);
    const GstClockTime base = gst_element_get_base_time(pipeline);
    const GstClockTime duration = GST_SECOND / kFramesPerSecond;
    const long total = static_cast<long>(seconds) * kFramesPerSecond;
    const long period = 2 * static_cast<long>(clip.frames.size()) - 2; // forwards, then backwards
    GstBus *bus = gst_element_get_bus(pipeline);
    // The latency the pipeline reports, sampled once a second: (from this running time in s, ms).
    std::vector<std::pair<double, double>> reported;
    for (long i = 0; i < total; ++i) {
        const GstClockTime pts = static_cast<GstClockTime>(i) * duration;
        GstClockID at = gst_clock_new_single_shot_id(clock, base + pts);
        gst_clock_id_wait(at, nullptr);
        gst_clock_id_unref(at);
        const long k = i % period;
        GstBuffer *frame = gst_buffer_copy(clip.frames[static_cast<size_t>(k < static_cast<long>(clip.frames.size()) ? k : period - k)]);
        GST_BUFFER_PTS(frame) = pts;
        GST_BUFFER_DTS(frame) = GST_CLOCK_TIME_NONE;
        GST_BUFFER_DURATION(frame) = duration;
        gst_app_src_push_buffer(GST_APP_SRC(src), frame);
        // As an application does (gst-launch-1.0 too): an element that needs more latency says so.
        while (GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_LATENCY)) {
            gst_bin_recalculate_latency(GST_BIN(pipeline));
            gst_message_unref(message);
        }
        if (i % kFramesPerSecond == 0 && i > 0) { // from the second second: every element has answered
            GstQuery *query = gst_query_new_latency();
            GstClockTime latency = 0;
            if (gst_element_query(pipeline, query))
                gst_query_parse_latency(query, nullptr, &latency, nullptr);
            gst_query_unref(query);
            reported.emplace_back(static_cast<double>(pts) / GST_SECOND, static_cast<double>(latency) / GST_MSECOND);
        }
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    GstMessage *end = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                                 static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (end)
        gst_message_unref(end);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(clock);
    gst_object_unref(src);
    gst_object_unref(pipeline);

    printWindows(configuration.name, arrivals.lateness, reported, seconds);
    std::fflush(stdout);
}

} // namespace

void benchmarkLiveSource(const std::string &clip, const std::string &model,
                         const std::vector<LiveConfiguration> &configurations, int seconds)
{
    DecodedClip decoded;
    decode(clip, decoded);
    if (decoded.frames.size() < 2) {
        std::printf("live source: could not decode %s\n", clip.c_str());
        return;
    }
    std::printf("\n## A live source (%s looped as a %d frames/s appsrc, %d s per row)\n\n", clip.c_str(),
                kFramesPerSecond, seconds);
    std::printf("`appsrc is-live=true ! feremotion ! queue ! fakesink sync=true` (the queue lets the element go on "
                "while the sink waits for a frame's time, as in a live pipeline with a display). "
                "How late each frame reaches the sink (clock time minus its running time), against the "
                "latency the pipeline reports (sampled each second; an element that needs more posts a LATENCY message, "
                "which the bench answers as an application does); a frame later than the latency in force would be "
                "late on a real sink.\n\n");
    std::printf("| feremotion | window | frames | reported latency at the window's end (ms) | late by, median / p95 / max (ms) | frames "
                "later than the reported latency | frames with carried faces (catch-up) |\n|---|---|---|---|---|---|---|\n");
    for (const LiveConfiguration &configuration : configurations)
        runOne(decoded, model, configuration, seconds);
}

} // namespace feremotion::bench
