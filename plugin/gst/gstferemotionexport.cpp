/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* feremotionexport: results from ROI metadata to JSON Lines, CSV or WebVTT, written as frames pass. */

/**
 * SECTION:element-feremotionexport
 * @title: feremotionexport
 *
 * A passthrough element that writes the faces of each frame, read from
 * #GstVideoRegionOfInterestMeta (feremotion's, or DL Streamer-style metadata with "detection"
 * and classification params from other elements), to `location`. `format=jsonl` writes one JSON
 * object per frame with gvametaconvert's keys plus `probabilities`; `format=csv` one row per face;
 * `format=webvtt` one subtitle cue per `cue-duration` with each track's dominant emotion in it.
 * JSON and CSV records are flushed as their frame passes, so a crash loses at most the frame in
 * flight (WebVTT: the cue in progress).
 *
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! feremotion ! feremotionexport location=faces.jsonl ! fakesink
 * ]|
 */

#include "gstferemotionexport.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include <unistd.h>

#include <gst/video/video.h>
#include <nlohmann/json.hpp>

#include "export-formats.h"
#include "face-record.h"
#include "gstferemotion-utils.h"

using feremotion::without_exceptions;

GST_DEBUG_CATEGORY_STATIC(gst_fer_emotion_export_debug);
#define GST_CAT_DEFAULT gst_fer_emotion_export_debug

namespace {

using feremotion::CueWindow;
using feremotion::ExportFormat;
using feremotion::FaceRecord;
using feremotion::FrameRecord;

constexpr ExportFormat kDefaultFormat = ExportFormat::JsonLines;
constexpr gboolean kDefaultAllFrames = FALSE;
constexpr gboolean kDefaultAppend = FALSE;
constexpr guint kDefaultCueDurationMs = 1000;

enum { PROP_0, PROP_LOCATION, PROP_FORMAT, PROP_ALL_FRAMES, PROP_SOURCE, PROP_APPEND, PROP_CUE_DURATION };

struct Settings {
    std::string location;
    ExportFormat format = kDefaultFormat;
    gboolean allFrames = kDefaultAllFrames;
    std::string source;
    gboolean append = kDefaultAppend;
    guint cueDurationMs = kDefaultCueDurationMs;
};

} // namespace

// `settings` is guarded by the object lock; `file` and `frame` belong to the streaming thread
// between start and stop.
struct GstFerEmotionExportPrivate {
    Settings settings;
    Settings active;
    FILE *file = nullptr;
    guint64 frame = 0;
    GstVideoInfo info;
    bool haveInfo = false;
    CueWindow cue;
    GstClockTime lastCueEnd = 0;
    bool warnedInvalidText = false; // once per start
    // CSV: the probability columns of the last header written (or found in the file appended to).
    std::optional<std::vector<std::string>> csvColumns;
};

struct _GstFerEmotionExport {
    GstBaseTransform parent;
    GstFerEmotionExportPrivate *priv;
};

#define gst_fer_emotion_export_parent_class parent_class
G_DEFINE_TYPE(GstFerEmotionExport, gst_fer_emotion_export, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(feremotionexport, "feremotionexport", GST_RANK_NONE,
                                      GST_TYPE_FER_EMOTION_EXPORT,
                                      GST_DEBUG_CATEGORY_INIT(gst_fer_emotion_export_debug, "feremotionexport", 0,
                                                              "facial emotion results export"));

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));

#define GST_TYPE_FER_EMOTION_EXPORT_FORMAT (gst_fer_emotion_export_format_get_type())
static GType gst_fer_emotion_export_format_get_type()
{
    static GType type = 0;
    if (g_once_init_enter(&type)) {
        // GLib keeps the table for the process's life.
        static std::vector<GEnumValue> values;
        for (const feremotion::ExportFormatName &f : feremotion::exportFormats())
            values.push_back({static_cast<gint>(f.format), f.description, f.nick});
        values.push_back({0, nullptr, nullptr});
        g_once_init_leave(&type, g_enum_register_static("GstFerEmotionExportFormat", values.data()));
    }
    return type;
}

// A frame's records in one write(2), past stdio's buffer: a write to a regular file is not cut
// short by a signal, so a process killed meanwhile (kill -9) leaves whole lines, never half of one.
static bool write_text(GstFerEmotionExport *self, const std::string &text)
{
    GstFerEmotionExportPrivate *priv = self->priv;
    const int fd = fileno(priv->file);
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                              ("Could not write to '%s': %s", priv->active.location.c_str(),
                               n < 0 ? std::strerror(errno) : "nothing written (disk full?)"),
                              (nullptr));
            return false;
        }
        written += static_cast<size_t>(n);
    }
    return true;
}

// Writes the cue being gathered, if it holds any face.
static bool finish_cue(GstFerEmotionExport *self)
{
    GstFerEmotionExportPrivate *priv = self->priv;
    CueWindow &cue = priv->cue;
    if (!priv->file || priv->active.format != ExportFormat::WebVtt || cue.empty())
        return true;
    // After a seek backwards a cue could start before the last one ended; players need cues in order.
    if (cue.start < priv->lastCueEnd) {
        GST_WARNING_OBJECT(self, "dropping a WebVTT cue at %" GST_TIME_FORMAT " before the last one's end",
                           GST_TIME_ARGS(cue.start));
        cue.tracks.clear();
        return true;
    }
    const bool written = write_text(self, feremotion::cueText(cue));
    priv->lastCueEnd = feremotion::cueEnd(cue);
    cue.tracks.clear();
    return written;
}

static void warn_invalid_text(GstFerEmotionExport *self, const char *where)
{
    if (std::exchange(self->priv->warnedInvalidText, true))
        return;
    GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                        ("Text that is not UTF-8 in %s is written with U+FFFD replacement characters to '%s'.", where,
                         self->priv->active.location.c_str()),
                        ("said once per run"));
}

static gboolean gst_fer_emotion_export_start(GstBaseTransform *trans)
{
    return without_exceptions(GST_ELEMENT(trans), "starting", FALSE, [&]() -> gboolean {
        auto *self = GST_FER_EMOTION_EXPORT(trans);
        GstFerEmotionExportPrivate *priv = self->priv;
        {
            GST_OBJECT_LOCK(self);
            priv->active = priv->settings;
            GST_OBJECT_UNLOCK(self);
        }
        priv->warnedInvalidText = false;
        bool replaced = false;
        priv->active.source = feremotion::validUtf8(priv->active.source.c_str(), replaced);
        if (replaced)
            warn_invalid_text(self, "the source property");
        if (priv->active.location.empty()) {
            GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No file name given: set the location property."), (nullptr));
            return FALSE;
        }
        if (priv->active.append && priv->active.format == ExportFormat::WebVtt) {
            GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                              ("append is not supported with format=webvtt: '%s' would get cues whose times restart",
                               priv->active.location.c_str()),
                              (nullptr));
            return FALSE;
        }
        priv->file = std::fopen(priv->active.location.c_str(), priv->active.append ? "a" : "w");
        if (!priv->file) {
            GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                              ("Could not open '%s' for writing: %s", priv->active.location.c_str(), std::strerror(errno)),
                              (nullptr));
            return FALSE;
        }
        // Appending to a file that already has content: its header is there.
        const bool fresh = std::fseek(priv->file, 0, SEEK_END) != 0 || std::ftell(priv->file) == 0;
        priv->csvColumns.reset();
        if (!fresh && priv->active.format == ExportFormat::Csv) {
            std::ifstream existing(priv->active.location, std::ios::binary);
            priv->csvColumns = feremotion::lastCsvHeaderColumns(std::string(std::istreambuf_iterator<char>(existing), {}));
        }
        if (fresh && priv->active.format == ExportFormat::WebVtt)
            std::fputs(feremotion::kWebVttFileHeader, priv->file);
        std::fflush(priv->file);
        priv->frame = 0;
        priv->cue = CueWindow();
        priv->lastCueEnd = 0;
        return TRUE;
    });
}

static gboolean gst_fer_emotion_export_stop(GstBaseTransform *trans)
{
    return without_exceptions(GST_ELEMENT(trans), "stopping", FALSE, [&]() -> gboolean {
        auto *self = GST_FER_EMOTION_EXPORT(trans);
        // Without an EOS (stopped mid-stream) the last cue is still unwritten.
        finish_cue(self);
        if (self->priv->file && std::fclose(self->priv->file) != 0) {
            self->priv->file = nullptr;
            GST_ELEMENT_ERROR(self, RESOURCE, CLOSE, ("Could not close '%s': %s", self->priv->active.location.c_str(),
                                                      std::strerror(errno)),
                              (nullptr));
            return FALSE;
        }
        self->priv->file = nullptr;
        return TRUE;
    });
}

static gboolean gst_fer_emotion_export_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *)
{
    return without_exceptions(GST_ELEMENT(trans), "taking caps", FALSE, [&]() -> gboolean {
        auto *self = GST_FER_EMOTION_EXPORT(trans);
        self->priv->haveInfo = gst_video_info_from_caps(&self->priv->info, incaps);
        return TRUE;
    });
}

static gboolean gst_fer_emotion_export_sink_event(GstBaseTransform *trans, GstEvent *event)
{
    return without_exceptions(GST_ELEMENT(trans), "handling an event", FALSE, [&]() -> gboolean {
        // A seek or a new segment ends the window being gathered: its frames and the next ones need
        // not be neighbours in time.
        const GstEventType type = GST_EVENT_TYPE(event);
        if (type == GST_EVENT_EOS || type == GST_EVENT_FLUSH_STOP || type == GST_EVENT_SEGMENT)
            finish_cue(GST_FER_EMOTION_EXPORT(trans));
        return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
    });
}

// One frame's duration from the caps' frame rate (30 fps when unknown).
static GstClockTime frame_duration(GstFerEmotionExportPrivate *priv)
{
    const bool haveRate = priv->haveInfo && GST_VIDEO_INFO_FPS_N(&priv->info) > 0;
    const gint n = haveRate ? GST_VIDEO_INFO_FPS_N(&priv->info) : 30, d = haveRate ? GST_VIDEO_INFO_FPS_D(&priv->info) : 1;
    return gst_util_uint64_scale(GST_SECOND, static_cast<guint64>(d), static_cast<guint64>(n));
}

// The frame's time for cues: its stream time (what a player shows), else its timestamp, else its
// position from the frame rate.
static GstClockTime frame_time(GstBaseTransform *trans, GstBuffer *buffer, guint64 frame)
{
    auto *priv = GST_FER_EMOTION_EXPORT(trans)->priv;
    if (!GST_BUFFER_PTS_IS_VALID(buffer))
        return frame * frame_duration(priv);
    if (trans->segment.format == GST_FORMAT_TIME) {
        const GstClockTime streamTime = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
        if (GST_CLOCK_TIME_IS_VALID(streamTime))
            return streamTime;
    }
    return GST_BUFFER_PTS(buffer);
}

static GstFlowReturn write_cue_frame(GstFerEmotionExport *self, GstBuffer *buffer, guint64 frame,
                                     const std::vector<FaceRecord> &faces)
{
    GstFerEmotionExportPrivate *priv = self->priv;
    const GstClockTime start = frame_time(GST_BASE_TRANSFORM(self), buffer, frame);
    const GstClockTime duration =
        GST_BUFFER_DURATION_IS_VALID(buffer) ? GST_BUFFER_DURATION(buffer) : frame_duration(priv);
    const guint64 window = start / (std::max(1u, priv->active.cueDurationMs) * GST_MSECOND);
    if (window != priv->cue.index) {
        if (!finish_cue(self))
            return GST_FLOW_ERROR;
        priv->cue.index = window;
    }
    if (!faces.empty()) {
        if (priv->cue.empty())
            priv->cue.start = start;
        feremotion::addToCue(priv->cue, faces);
        priv->cue.end = std::min(start + duration, (window + 1) * priv->active.cueDurationMs * GST_MSECOND);
    }
    return GST_FLOW_OK;
}

static GstFlowReturn export_frame(GstFerEmotionExport *self, GstBuffer *buffer)
{
    GstFerEmotionExportPrivate *priv = self->priv;
    const int width = priv->haveInfo ? GST_VIDEO_INFO_WIDTH(&priv->info) : 0;
    const int height = priv->haveInfo ? GST_VIDEO_INFO_HEIGHT(&priv->info) : 0;
    bool replacedText = false;
    FrameRecord record;
    record.faces = feremotion::readFaceRecords(buffer, width, height, replacedText);
    if (replacedText)
        warn_invalid_text(self, "a region's roi_type");
    record.frame = priv->frame++;
    if (priv->active.format == ExportFormat::WebVtt)
        return write_cue_frame(self, buffer, record.frame, record.faces);
    GST_OBJECT_LOCK(self);
    const gboolean allFrames = priv->settings.allFrames;
    GST_OBJECT_UNLOCK(self);
    if (record.faces.empty() && !allFrames)
        return GST_FLOW_OK;
    if (GST_BUFFER_PTS_IS_VALID(buffer))
        record.timestamp = GST_BUFFER_PTS(buffer);
    record.width = width;
    record.height = height;
    record.source = priv->active.source;
    const std::string text = priv->active.format == ExportFormat::JsonLines ? feremotion::jsonLine(record)
                                                                              : feremotion::csvRows(record, priv->csvColumns);
    return write_text(self, text) ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static GstFlowReturn gst_fer_emotion_export_transform_ip(GstBaseTransform *trans, GstBuffer *buffer)
{
    auto *self = GST_FER_EMOTION_EXPORT(trans);
    try {
        return export_frame(self, buffer);
    } catch (const std::exception &e) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not export frame %" G_GUINT64_FORMAT "'s results to '%s': %s",
                                                 self->priv->frame, self->priv->active.location.c_str(), e.what()),
                          (nullptr));
        return GST_FLOW_ERROR;
    }
}

static void gst_fer_emotion_export_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
    without_exceptions(GST_ELEMENT(object), "setting a property", [&] {
        auto *self = GST_FER_EMOTION_EXPORT(object);
        GST_OBJECT_LOCK(self);
        Settings &s = self->priv->settings;
        switch (id) {
        case PROP_LOCATION: s.location = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
        case PROP_FORMAT: s.format = static_cast<ExportFormat>(g_value_get_enum(value)); break;
        case PROP_ALL_FRAMES: s.allFrames = g_value_get_boolean(value); break;
        case PROP_SOURCE: s.source = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
        case PROP_APPEND: s.append = g_value_get_boolean(value); break;
        case PROP_CUE_DURATION: s.cueDurationMs = g_value_get_uint(value); break;
        default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
        }
        GST_OBJECT_UNLOCK(self);
    });
}

static void gst_fer_emotion_export_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    without_exceptions(GST_ELEMENT(object), "reading a property", [&] {
        auto *self = GST_FER_EMOTION_EXPORT(object);
        GST_OBJECT_LOCK(self);
        const Settings &s = self->priv->settings;
        switch (id) {
        case PROP_LOCATION: g_value_set_string(value, s.location.empty() ? nullptr : s.location.c_str()); break;
        case PROP_FORMAT: g_value_set_enum(value, static_cast<gint>(s.format)); break;
        case PROP_ALL_FRAMES: g_value_set_boolean(value, s.allFrames); break;
        case PROP_SOURCE: g_value_set_string(value, s.source.c_str()); break;
        case PROP_APPEND: g_value_set_boolean(value, s.append); break;
        case PROP_CUE_DURATION: g_value_set_uint(value, s.cueDurationMs); break;
        default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
        }
        GST_OBJECT_UNLOCK(self);
    });
}

static void gst_fer_emotion_export_init(GstFerEmotionExport *self)
{
    self->priv = new GstFerEmotionExportPrivate();
    gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_fer_emotion_export_finalize(GObject *object)
{
    auto *self = GST_FER_EMOTION_EXPORT(object);
    if (self->priv->file)
        std::fclose(self->priv->file);
    delete self->priv;
    G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_fer_emotion_export_class_init(GstFerEmotionExportClass *klass)
{
    GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
    GstBaseTransformClass *transform_class = GST_BASE_TRANSFORM_CLASS(klass);
    gobject_class->set_property = gst_fer_emotion_export_set_property;
    gobject_class->get_property = gst_fer_emotion_export_get_property;
    gobject_class->finalize = gst_fer_emotion_export_finalize;
    const auto readyFlags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
    const auto playingFlags =
        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
    g_object_class_install_property(
        gobject_class, PROP_LOCATION,
        g_param_spec_string("location", "File",
                            "File the results are written to (created, or truncated unless append is set)", nullptr,
                            readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_FORMAT,
        g_param_spec_enum("format", "Format",
                          "jsonl: one JSON object per frame; csv: one row per face; webvtt: subtitle cues with "
                          "each track's dominant emotion",
                          GST_TYPE_FER_EMOTION_EXPORT_FORMAT, static_cast<gint>(kDefaultFormat), readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_ALL_FRAMES,
        g_param_spec_boolean("all-frames", "All frames",
                             "Write a JSON record for frames without faces too (jsonl)", kDefaultAllFrames,
                             playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_SOURCE,
        g_param_spec_string("source", "Source", "The \"source\" value of each JSON record (e.g. the input URI)", "",
                            readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_APPEND,
        g_param_spec_boolean("append", "Append",
                             "Append to an existing file instead of truncating it (no second CSV header); for a "
                             "pipeline rebuilt after a camera reconnects. Refused with format=webvtt, whose cue "
                             "times would restart",
                             kDefaultAppend, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_CUE_DURATION,
        g_param_spec_uint("cue-duration", "Cue duration",
                          "format=webvtt: length of each cue's time window (milliseconds, 40-3600000); a track's "
                          "emotion in a cue is the one with the highest summed probability over the window",
                          40, 3600000, kDefaultCueDurationMs, readyFlags));
    gst_element_class_set_static_metadata(element_class, "Facial emotion results export", "Sink/Analyzer/Video",
                                          "Writes the faces and emotions in ROI metadata to JSON Lines, CSV or WebVTT",
                                          "feremotion developers");
    gst_element_class_add_static_pad_template(element_class, &sink_template);
    gst_element_class_add_static_pad_template(element_class, &src_template);
    transform_class->start = GST_DEBUG_FUNCPTR(gst_fer_emotion_export_start);
    transform_class->stop = GST_DEBUG_FUNCPTR(gst_fer_emotion_export_stop);
    transform_class->set_caps = GST_DEBUG_FUNCPTR(gst_fer_emotion_export_set_caps);
    transform_class->transform_ip = GST_DEBUG_FUNCPTR(gst_fer_emotion_export_transform_ip);
    transform_class->sink_event = GST_DEBUG_FUNCPTR(gst_fer_emotion_export_sink_event);
    transform_class->transform_ip_on_passthrough = TRUE;
    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_EXPORT_FORMAT, static_cast<GstPluginAPIFlags>(0));
}
