/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The face record in GStreamer's terms, written and read here only: ROI meta params, the element
 * message's faces, upstream's faces, and the records the export reads back. */
#include "face-record.h"

#include <cstring>

#include "engine/vision/preprocess.h"
#include "gstferemotion-utils.h"

namespace feremotion {

namespace {

GValue doubleArray(const std::vector<float> &values)
{
    GValue array = G_VALUE_INIT;
    gst_value_array_init(&array, values.size());
    for (float v : values) {
        GValue item = G_VALUE_INIT;
        g_value_init(&item, G_TYPE_DOUBLE);
        g_value_set_double(&item, v);
        gst_value_array_append_and_take_value(&array, &item);
    }
    return array;
}

GValue stringArray(const std::vector<std::string> &values)
{
    GValue array = G_VALUE_INIT;
    gst_value_array_init(&array, values.size());
    for (const std::string &v : values) {
        GValue item = G_VALUE_INIT;
        g_value_init(&item, G_TYPE_STRING);
        g_value_set_string(&item, v.c_str());
        gst_value_array_append_and_take_value(&array, &item);
    }
    return array;
}

GstStructure *emotionStructure(const ModelInfo &info, const TrackedFace &face, const std::string &modelName)
{
    const Emotion &emotion = face.emotion;
    GstStructure *s = gst_structure_new(
        "emotion", "label", G_TYPE_STRING, info.labels[emotion.labelId].c_str(), "label_id", G_TYPE_INT,
        emotion.labelId, "confidence", G_TYPE_DOUBLE, static_cast<gdouble>(emotion.confidence), "model_name",
        G_TYPE_STRING, modelName.c_str(), "attribute_name", G_TYPE_STRING, "emotion", "type", G_TYPE_STRING,
        "classification_result", "reused", G_TYPE_BOOLEAN, !face.classifiedNow, "raw_label", G_TYPE_STRING,
        info.labels[face.raw.labelId].c_str(), "raw_label_id", G_TYPE_INT, face.raw.labelId, "raw_confidence",
        G_TYPE_DOUBLE, static_cast<gdouble>(face.raw.confidence), nullptr);
    GValue probabilities = doubleArray(emotion.probabilities);
    gst_structure_take_value(s, "probabilities", &probabilities);
    GValue raw = doubleArray(face.raw.probabilities);
    gst_structure_take_value(s, "raw_probabilities", &raw);
    // The names behind the probabilities, so that readers (the export) need not assume FER-2013's.
    GValue labels = stringArray(info.labels);
    gst_structure_take_value(s, "labels", &labels);
    return s;
}

GstStructure *detectionStructure(const TrackedFace &face, const FrameView &view)
{
    const Detection &d = face.detection;
    return gst_structure_new("detection", "x_min", G_TYPE_DOUBLE, static_cast<gdouble>(d.box.x) / view.width, "y_min",
                             G_TYPE_DOUBLE, static_cast<gdouble>(d.box.y) / view.height, "x_max", G_TYPE_DOUBLE,
                             static_cast<gdouble>(d.box.x + d.box.width) / view.width, "y_max", G_TYPE_DOUBLE,
                             static_cast<gdouble>(d.box.y + d.box.height) / view.height, "confidence",
                             G_TYPE_DOUBLE, static_cast<gdouble>(d.confidence), "label_id", G_TYPE_INT, 0, "label",
                             G_TYPE_STRING, "face", "tracked", G_TYPE_BOOLEAN, !face.detectedNow, "carried",
                             G_TYPE_BOOLEAN, face.carried, nullptr);
}
void replaceParam(GstVideoRegionOfInterestMeta *meta, GstStructure *param)
{
    // Upstream may already have set a param of this name; the list must not hold it twice.
    for (GList *l = meta->params; l; l = l->next) {
        auto *existing = static_cast<GstStructure *>(l->data);
        if (gst_structure_has_name(existing, gst_structure_get_name(param))) {
            gst_structure_free(existing);
            meta->params = g_list_delete_link(meta->params, l);
            break;
        }
    }
    gst_video_region_of_interest_meta_add_param(meta, param);
}

// An upstream element's array of numbers; other values in it (strings, ints) read as 0.
std::vector<double> readDoubles(const GstStructure *s, const char *field)
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
std::vector<std::string> readStrings(const GstStructure *s, const char *field)
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

bool readBoolean(const GstStructure *s, const char *field)
{
    gboolean value = FALSE;
    return gst_structure_get_boolean(s, field, &value) && value;
}

} // namespace

// The buffer's face regions, each with its meta in `metas` (same index).
std::vector<UpstreamFace> readUpstreamFaces(GstBuffer *buffer, std::vector<GstVideoRegionOfInterestMeta *> &metas)
{
    std::vector<UpstreamFace> regions;
    gpointer state = nullptr;
    GstMeta *meta;
    const GQuark face = g_quark_from_static_string("face");
    while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
        auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta);
        if (roi->roi_type != face)
            continue;
        Detection d;
        d.box = {static_cast<float>(roi->x), static_cast<float>(roi->y), static_cast<float>(roi->w),
                 static_cast<float>(roi->h)};
        d.confidence = 1.0f;
        if (const GstStructure *detection = gst_video_region_of_interest_meta_get_param(roi, "detection")) {
            gdouble confidence;
            if (gst_structure_get_double(detection, "confidence", &confidence))
                d.confidence = static_cast<float>(confidence);
        }
        regions.push_back({d, roi->id});
        metas.push_back(roi);
    }
    return regions;
}

void writeFaceParams(GstVideoRegionOfInterestMeta *meta, const TrackedFace &face, const FrameView &view,
                     const ModelInfo &info, const std::string &modelName)
{
    replaceParam(meta, detectionStructure(face, view));
    replaceParam(meta, emotionStructure(info, face, modelName));
}

GstStructure *faceMessageStructure(const TrackedFace &f, const FrameView &view, const ModelInfo &info)
{
    // The pixels the region-of-interest meta gives too: those the box covers, inside the frame.
    const cv::Rect b = cropRect(f.detection.box, 0.0f, view.width, view.height);
    const Emotion &e = f.emotion;
    GstStructure *face = gst_structure_new(
        "face", "x", G_TYPE_INT, b.x, "y", G_TYPE_INT, b.y, "width", G_TYPE_INT, b.width, "height", G_TYPE_INT,
        b.height, "id", G_TYPE_INT, f.id,
        "detection-confidence", G_TYPE_DOUBLE, static_cast<gdouble>(f.detection.confidence), "tracked",
        G_TYPE_BOOLEAN, !f.detectedNow, "label", G_TYPE_STRING, info.labels[e.labelId].c_str(), "label-id",
        G_TYPE_INT, e.labelId, "confidence", G_TYPE_DOUBLE, static_cast<gdouble>(e.confidence), "reused",
        G_TYPE_BOOLEAN, !f.classifiedNow, "carried", G_TYPE_BOOLEAN, f.carried, nullptr);
    GValue probabilities = doubleArray(e.probabilities);
    gst_structure_take_value(face, "probabilities", &probabilities);
    GValue raw = doubleArray(f.raw.probabilities);
    gst_structure_take_value(face, "raw-probabilities", &raw);
    return face;
}

std::vector<FaceRecord> readFaceRecords(GstBuffer *buffer, int width, int height, bool &replacedText)
{
    std::vector<FaceRecord> faces;
    gpointer state = nullptr;
    while (GstMeta *meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
        auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta);
        FaceRecord f;
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
            f.tracked = readBoolean(d, "tracked");
            f.carried = readBoolean(d, "carried");
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
            f.probabilities = readDoubles(e, "probabilities");
            f.rawProbabilities = readDoubles(e, "raw_probabilities");
            f.labels = readStrings(e, "labels");
            f.reused = readBoolean(e, "reused");
        }
        faces.push_back(std::move(f));
    }
    return faces;
}

} // namespace feremotion
