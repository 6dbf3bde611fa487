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

#include "gstferemotion-utils.h"

using feremotion::without_exceptions;

GST_DEBUG_CATEGORY_STATIC(gst_fer_emotion_export_debug);
#define GST_CAT_DEFAULT gst_fer_emotion_export_debug

namespace {

enum class ExportFormat { JsonLines, Csv, WebVtt };

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

// The faces of one WebVTT cue's time window: per track, the summed probabilities (or label
// counts when an upstream element gave no probabilities) of the frames it was seen in.
struct CueWindow {
    struct Track {
        std::vector<std::string> labels; // by label id, as far as seen
        std::vector<double> scores;
    };
    guint64 index = 0;
    GstClockTime start = 0; // the first frame with faces in the window
    GstClockTime end = 0;   // end of the last frame with faces in the window
    std::map<int, Track> tracks;
    bool empty() const { return tracks.empty(); }
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
    static const GEnumValue values[] = {
        {static_cast<gint>(ExportFormat::JsonLines), "One JSON object per frame (gvametaconvert keys)", "jsonl"},
        {static_cast<gint>(ExportFormat::Csv), "One CSV row per face per frame", "csv"},
        {static_cast<gint>(ExportFormat::WebVtt), "WebVTT subtitles: each track's dominant emotion per cue", "webvtt"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstFerEmotionExportFormat", values));
    return type;
}

namespace {

struct Face {
    int x = 0, y = 0, w = 0, h = 0, id = -1;
    std::string roiType;
    double xMin = 0, yMin = 0, xMax = 0, yMax = 0, detectionConfidence = 0;
    bool hasEmotion = false;
    std::string label;
    int labelId = -1;
    double confidence = 0;
    std::vector<double> probabilities;
    std::vector<double> rawProbabilities; // feremotion with smoothing: the classifier's own output
    std::vector<std::string> labels;      // the names of the probabilities' classes, when given
    bool tracked = false, reused = false;  // box followed, emotion carried over from an earlier frame
};

// An upstream element's array of numbers; other values in it (strings, ints) read as 0.
std::vector<double> doubleArray(const GstStructure *s, const char *field)
{
    std::vector<double> values;
    if (const GValue *array = gst_structure_get_value(s, field); array && GST_VALUE_HOLDS_ARRAY(array))
        for (guint i = 0; i < gst_value_array_get_size(array); ++i) {
            const GValue *item = gst_value_array_get_value(array, i);
            values.push_back(G_VALUE_HOLDS_DOUBLE(item) ? g_value_get_double(item) : 0.0);
        }
    return values;
}

// An upstream element's array of strings; {} when anything in it is not one.
std::vector<std::string> stringArray(const GstStructure *s, const char *field)
{
    std::vector<std::string> values;
    if (const GValue *array = gst_structure_get_value(s, field); array && GST_VALUE_HOLDS_ARRAY(array))
        for (guint i = 0; i < gst_value_array_get_size(array); ++i) {
            const GValue *item = gst_value_array_get_value(array, i);
            if (!G_VALUE_HOLDS_STRING(item) || !g_value_get_string(item))
                return {};
            values.push_back(g_value_get_string(item));
        }
    return values;
}

bool booleanField(const GstStructure *s, const char *field)
{
    gboolean value = FALSE;
    return gst_structure_get_boolean(s, field, &value) && value;
}

// Text from the application or from upstream metadata as valid UTF-8, which every format is (and
// without which nlohmann::json throws): bytes that are not become U+FFFD, and `replaced` is set.
std::string validUtf8(const char *text, bool &replaced)
{
    if (g_utf8_validate(text, -1, nullptr))
        return text;
    replaced = true;
    g_autofree gchar *valid = g_utf8_make_valid(text, -1);
    return valid;
}

std::vector<Face> facesOf(GstBuffer *buffer, int width, int height, bool &replacedText)
{
    std::vector<Face> faces;
    gpointer state = nullptr;
    while (GstMeta *meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
        auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta);
        Face f;
        f.x = static_cast<int>(roi->x);
        f.y = static_cast<int>(roi->y);
        f.w = static_cast<int>(roi->w);
        f.h = static_cast<int>(roi->h);
        f.id = roi->id;
        f.roiType = roi->roi_type ? validUtf8(g_quark_to_string(roi->roi_type), replacedText) : "";
        f.xMin = width ? static_cast<double>(roi->x) / width : 0;
        f.yMin = height ? static_cast<double>(roi->y) / height : 0;
        f.xMax = width ? static_cast<double>(roi->x + roi->w) / width : 0;
        f.yMax = height ? static_cast<double>(roi->y + roi->h) / height : 0;
        if (const GstStructure *d = gst_video_region_of_interest_meta_get_param(roi, "detection")) {
            gst_structure_get_double(d, "x_min", &f.xMin);
            gst_structure_get_double(d, "y_min", &f.yMin);
            gst_structure_get_double(d, "x_max", &f.xMax);
            gst_structure_get_double(d, "y_max", &f.yMax);
            gst_structure_get_double(d, "confidence", &f.detectionConfidence);
            f.tracked = booleanField(d, "tracked");
        }
        // feremotion's "emotion" param, or any classification result param of other elements.
        const GstStructure *e = gst_video_region_of_interest_meta_get_param(roi, "emotion");
        for (GList *l = roi->params; !e && l; l = l->next) {
            const auto *s = static_cast<const GstStructure *>(l->data);
            const gchar *type = gst_structure_get_string(s, "type");
            if (type && std::strcmp(type, "classification_result") == 0)
                e = s;
        }
        if (e && gst_structure_get_string(e, "label")) {
            f.hasEmotion = true;
            f.label = gst_structure_get_string(e, "label"); // GStreamer keeps structure strings UTF-8
            gst_structure_get_int(e, "label_id", &f.labelId);
            gst_structure_get_double(e, "confidence", &f.confidence);
            f.probabilities = doubleArray(e, "probabilities");
            f.rawProbabilities = doubleArray(e, "raw_probabilities");
            f.labels = stringArray(e, "labels");
            f.reused = booleanField(e, "reused");
        }
        faces.push_back(std::move(f));
    }
    return faces;
}

// The names of a face's probabilities: the labels its classifier gave, else (an upstream element
// that gave none, not as many as it has probabilities, or names that are empty or repeated and so
// cannot be JSON keys) their indices.
std::vector<std::string> probabilityNames(const Face &f)
{
    std::vector<std::string> sorted = f.labels;
    std::sort(sorted.begin(), sorted.end());
    const bool usable = f.labels.size() == f.probabilities.size() &&
                        std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end() &&
                        std::find(sorted.begin(), sorted.end(), "") == sorted.end();
    if (usable)
        return f.labels;
    std::vector<std::string> names;
    for (size_t i = 0; i < f.probabilities.size(); ++i)
        names.push_back(std::to_string(i));
    return names;
}

nlohmann::json probabilitiesObject(const std::vector<std::string> &names, const std::vector<double> &values)
{
    nlohmann::json object = nlohmann::json::object();
    for (size_t i = 0; i < values.size() && i < names.size(); ++i)
        object[names[i]] = values[i];
    return object;
}

std::string jsonRecord(const std::vector<Face> &faces, GstClockTime pts, guint64 frame, int width, int height,
                       const std::string &source)
{
    nlohmann::json objects = nlohmann::json::array();
    for (const Face &f : faces) {
        nlohmann::json object = {
            {"x", f.x}, {"y", f.y}, {"w", f.w}, {"h", f.h}, {"id", f.id}, {"roi_type", f.roiType},
            {"detection",
             {{"bounding_box", {{"x_min", f.xMin}, {"y_min", f.yMin}, {"x_max", f.xMax}, {"y_max", f.yMax}}},
              {"confidence", f.detectionConfidence},
              {"tracked", f.tracked}}}};
        if (f.hasEmotion) {
            const std::vector<std::string> names = probabilityNames(f);
            object["emotion"] = {{"label", f.label},
                                 {"label_id", f.labelId},
                                 {"confidence", f.confidence},
                                 {"probabilities", probabilitiesObject(names, f.probabilities)},
                                 {"reused", f.reused}};
            if (!f.rawProbabilities.empty())
                object["emotion"]["raw_probabilities"] = probabilitiesObject(names, f.rawProbabilities);
        }
        objects.push_back(object);
    }
    nlohmann::json record = {{"timestamp", GST_CLOCK_TIME_IS_VALID(pts) ? nlohmann::json(pts) : nlohmann::json(nullptr)},
                             {"frame", frame},
                             {"resolution", {{"width", width}, {"height", height}}},
                             {"source", source},
                             {"objects", objects}};
    return record.dump() + "\n";
}

// A CSV field as RFC 4180 has it: quoted, with quotes doubled, when it holds a comma, a quote or a
// line break (a label "calm, really" must not shift the columns, nor a newline split the row).
std::string csvField(const std::string &text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text)
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

constexpr const char *kCsvFixedColumns = "timestamp,frame,track_id,x,y,w,h,label,confidence";

// The header for rows with these probability columns.
std::string csvHeader(const std::vector<std::string> &probabilityColumns)
{
    std::string header = kCsvFixedColumns;
    for (const std::string &name : probabilityColumns)
        header += "," + csvField(name);
    return header + "\n";
}

// The probability columns of the last header in a CSV file's text (nullopt when it has none): an
// appended run writes a header only when its labels differ.
std::optional<std::vector<std::string>> lastCsvHeaderColumns(const std::string &text)
{
    const std::string fixed = std::string(kCsvFixedColumns);
    size_t at = std::string::npos;
    for (size_t from = 0; (from = text.find(fixed, from)) != std::string::npos; from += fixed.size())
        if (from == 0 || text[from - 1] == '\n')
            at = from;
    if (at == std::string::npos)
        return std::nullopt;
    // Fields after the fixed ones, RFC 4180-quoted, up to the record's end.
    std::vector<std::string> columns;
    size_t i = at + fixed.size();
    while (i < text.size() && text[i] == ',') {
        std::string field;
        ++i;
        if (i < text.size() && text[i] == '"') {
            for (++i; i < text.size(); ++i) {
                if (text[i] == '"' && i + 1 < text.size() && text[i + 1] == '"')
                    field += '"', ++i;
                else if (text[i] == '"')
                    break;
                else
                    field += text[i];
            }
            ++i;
        } else {
            for (; i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r'; ++i)
                field += text[i];
        }
        columns.push_back(field);
    }
    return columns;
}

// One frame's rows. A face whose probabilities have other names than `columns` (the last header's)
// starts with a new header and becomes the columns; a face without an emotion keeps them.
std::string csvRows(const std::vector<Face> &faces, GstClockTime pts, guint64 frame,
                    std::optional<std::vector<std::string>> &columns)
{
    std::string rows;
    char buffer[128];
    for (const Face &f : faces) {
        const std::vector<std::string> names = f.hasEmotion ? probabilityNames(f) : columns.value_or(std::vector<std::string>{});
        if (!columns || *columns != names) {
            columns = names;
            rows += csvHeader(names);
        }
        if (GST_CLOCK_TIME_IS_VALID(pts))
            std::snprintf(buffer, sizeof buffer, "%.6f", static_cast<double>(pts) / GST_SECOND);
        rows += std::string(GST_CLOCK_TIME_IS_VALID(pts) ? buffer : "") + "," + std::to_string(frame) + "," +
                std::to_string(f.id) + "," + std::to_string(f.x) + "," + std::to_string(f.y) + "," +
                std::to_string(f.w) + "," + std::to_string(f.h) + "," + csvField(f.label) + ",";
        std::snprintf(buffer, sizeof buffer, "%.6f", f.confidence);
        rows += f.hasEmotion ? buffer : "";
        for (size_t i = 0; i < names.size(); ++i) {
            std::snprintf(buffer, sizeof buffer, ",%.6f", i < f.probabilities.size() ? f.probabilities[i] : 0.0);
            rows += f.hasEmotion ? buffer : ",";
        }
        rows += "\n";
    }
    return rows;
}

// WebVTT's HH:MM:SS.mmm.
std::string cueTime(GstClockTime t)
{
    const guint64 ms = t / GST_MSECOND;
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(ms / 3600000),
                  static_cast<unsigned long long>(ms / 60000 % 60), static_cast<unsigned long long>(ms / 1000 % 60),
                  static_cast<unsigned long long>(ms % 1000));
    return buffer;
}

// Cue text is markup: a label such as "<b>" or "a & b" must not become a tag or an entity, and a
// line break in one would end the cue (an empty line) or start a line of its own.
std::string escapeCueText(const std::string &text)
{
    std::string escaped;
    for (char c : text) {
        switch (c) {
        case '&': escaped += "&amp;"; break;
        case '<': escaped += "&lt;"; break;
        case '>': escaped += "&gt;"; break;
        case '\n':
        case '\r': escaped += ' '; break;
        default: escaped += c;
        }
    }
    return escaped;
}

void addToCue(CueWindow &cue, const std::vector<Face> &faces)
{
    constexpr int kMostLabels = 4096; // a label id beyond this is not a classifier's
    for (const Face &f : faces) {
        if (!f.hasEmotion || f.labelId < 0 || f.labelId >= kMostLabels ||
            f.probabilities.size() > static_cast<size_t>(kMostLabels))
            continue;
        CueWindow::Track &track = cue.tracks[f.id];
        const size_t classes = std::max({track.scores.size(), f.probabilities.size(), static_cast<size_t>(f.labelId) + 1});
        track.scores.resize(classes, 0.0);
        track.labels.resize(classes);
        track.labels[static_cast<size_t>(f.labelId)] = f.label;
        if (f.labels.size() == f.probabilities.size())
            for (size_t i = 0; i < f.labels.size(); ++i)
                track.labels[i] = f.labels[i];
        if (f.probabilities.empty())
            track.scores[static_cast<size_t>(f.labelId)] += 1.0;
        else
            for (size_t i = 0; i < f.probabilities.size(); ++i)
                track.scores[i] += f.probabilities[i];
    }
}

// One cue: a line per track, "face <id>: <label> (<share of the window's score>%)".
std::string cueText(const CueWindow &cue)
{
    std::string text = cueTime(cue.start) + " --> " + cueTime(std::max(cue.end, cue.start + GST_MSECOND)) + "\n";
    for (const auto &[id, track] : cue.tracks) {
        const auto best = std::max_element(track.scores.begin(), track.scores.end());
        const size_t label = static_cast<size_t>(best - track.scores.begin());
        double total = 0;
        for (double v : track.scores)
            total += v;
        const std::string name = track.labels[label].empty() ? std::to_string(label) : track.labels[label];
        text += "face " + std::to_string(id) + ": " + escapeCueText(name) + " (" +
                std::to_string(static_cast<int>(std::lround(total > 0 ? 100.0 * *best / total : 0.0))) + "%)\n";
    }
    return text + "\n";
}

} // namespace

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
    const bool written = write_text(self, cueText(cue));
    priv->lastCueEnd = std::max(cue.end, cue.start + GST_MSECOND);
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
        priv->active.source = validUtf8(priv->active.source.c_str(), replaced);
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
            priv->csvColumns = lastCsvHeaderColumns(std::string(std::istreambuf_iterator<char>(existing), {}));
        }
        if (fresh && priv->active.format == ExportFormat::WebVtt)
            std::fputs("WEBVTT\n\n", priv->file);
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
                                     const std::vector<Face> &faces)
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
        addToCue(priv->cue, faces);
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
    const auto faces = facesOf(buffer, width, height, replacedText);
    if (replacedText)
        warn_invalid_text(self, "a region's roi_type");
    const guint64 frame = priv->frame++;
    if (priv->active.format == ExportFormat::WebVtt)
        return write_cue_frame(self, buffer, frame, faces);
    GST_OBJECT_LOCK(self);
    const gboolean allFrames = priv->settings.allFrames;
    GST_OBJECT_UNLOCK(self);
    if (faces.empty() && !allFrames)
        return GST_FLOW_OK;
    const std::string text = priv->active.format == ExportFormat::JsonLines
                                 ? jsonRecord(faces, GST_BUFFER_PTS(buffer), frame, width, height, priv->active.source)
                                 : csvRows(faces, GST_BUFFER_PTS(buffer), frame, priv->csvColumns);
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
