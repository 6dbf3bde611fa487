/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feremotion element: GStreamer glue around the engine's detectors, classifier and overlay. */

/**
 * SECTION:element-feremotion
 * @title: feremotion
 *
 * Finds faces in raw video, classifies each face's emotion with a LibTorch model bundle in
 * batches, and attaches one #GstVideoRegionOfInterestMeta per face (roi_type "face") with a
 * "detection" and an "emotion" parameter structure, as DL Streamer's gvametaconvert reads them.
 * Optionally draws boxes and labels onto the frame and posts a "feremotion" element message
 * per frame.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! feremotion ! videoconvert ! autovideosink
 * ]| Shows a clip with a box, the emotion and its confidence on every face.
 * |[
 * gst-launch-1.0 -m filesrc location=clip.mp4 ! decodebin ! videoconvert ! feremotion overlay=false post-messages=true ! fakesink
 * ]| Prints one "feremotion" message per frame with every face's box, label and probabilities.
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! feremotion detector=yunet detector-model=face_detection_yunet_2023mar.onnx ! videoconvert ! autovideosink
 * ]| Uses OpenCV's YuNet face detector instead of the default Haar cascade (the 2023mar release needs
 * OpenCV 4.8 or newer, as on Debian 13; take face_detection_yunet_2022mar.onnx below 4.8, as on Debian 12).
 */

#include "gstferemotion.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <gst/video/gstvideometa.h>

#include "analyzer.h"
#include "classifier.h"
#include "detector.h"
#include "gstferemotion-utils.h"
#include "overlay.h"
#include "preprocess.h"
#include "shared_classifier.h"

GST_DEBUG_CATEGORY_STATIC(gst_fer_emotion_debug);
#define GST_CAT_DEFAULT gst_fer_emotion_debug

using namespace feremotion;

namespace {

constexpr const char *kDefaultDevice = "auto";
constexpr Precision kDefaultPrecision = Precision::Auto;
constexpr guint kDefaultBatchSize = 8;
constexpr guint kMaxBatchSize = 1024;
constexpr DetectorKind kDefaultDetector = DetectorKind::Auto;
constexpr gfloat kDefaultThreshold = kDetectorsDefaultThreshold;
constexpr guint kDefaultMinFaceSize = 24;
constexpr guint kMaxFaceSize = 16384;
constexpr guint kDefaultDetectionMaxSide = 640;
constexpr gboolean kDefaultOverlay = TRUE;
constexpr gboolean kDefaultPostMessages = FALSE;
constexpr guint kDefaultThreads = 1;
constexpr guint kMaxThreads = 256;
constexpr guint kDefaultInputSize = 48;
constexpr guint kMaxInputSize = 4096;
constexpr ColorMode kDefaultInputColor = ColorMode::Gray;
constexpr const char *kDefaultInputMean = "0.5";
constexpr const char *kDefaultInputStd = "0.5";
constexpr guint kMaxInterval = 100000;
constexpr gfloat kMaxSmoothing = 0.99f;
constexpr guint kDefaultTrackConfirmation = kDetectorsDefaultConfirmation;
constexpr gboolean kDefaultHaarVerification = TRUE;
constexpr gboolean kDefaultWindowDetection = FALSE;
constexpr guint kMaxTrackConfirmation = 100;
constexpr guint kDefaultBatchTimeoutMs = 5;
constexpr guint kMaxBatchTimeoutMs = 10000;

#ifndef FEREMOTION_INSTALLED_MODEL
#define FEREMOTION_INSTALLED_MODEL "/usr/share/feremotion/models/feremotion-default.pt"
#endif
#ifndef FEREMOTION_INSTALLED_MODELS_DIR
#define FEREMOTION_INSTALLED_MODELS_DIR "/usr/share/feremotion/models"
#endif

enum {
    PROP_0,
    PROP_MODEL,
    PROP_DEVICE,
    PROP_PRECISION,
    PROP_BATCH_SIZE,
    PROP_DETECTOR,
    PROP_DETECTOR_MODEL,
    PROP_THRESHOLD,
    PROP_MIN_FACE_SIZE,
    PROP_HAAR_VERIFICATION,
    PROP_DETECTION_MAX_SIZE,
    PROP_OVERLAY,
    PROP_POST_MESSAGES,
    PROP_THREADS,
    PROP_LABELS,
    PROP_INPUT_WIDTH,
    PROP_INPUT_HEIGHT,
    PROP_INPUT_COLOR,
    PROP_INPUT_MEAN,
    PROP_INPUT_STD,
    PROP_DETECTION_INTERVAL,
    PROP_WINDOW_DETECTION,
    PROP_INFERENCE_INTERVAL,
    PROP_RECLASSIFY_INTERVAL,
    PROP_SMOOTHING,
    PROP_TRACK_CONFIRMATION,
    PROP_MODEL_INSTANCE_ID,
    PROP_BATCH_TIMEOUT,
};

// Everything the properties set; copied under the object lock at the start of each frame.
struct Settings {
    std::string model; // empty: the default bundle
    std::string device = kDefaultDevice;
    Precision precision = kDefaultPrecision;
    guint batchSize = kDefaultBatchSize;
    DetectorKind detector = kDefaultDetector;
    std::string detectorModel;
    gfloat threshold = kDefaultThreshold;
    guint minFaceSize = kDefaultMinFaceSize;
    gboolean haarVerification = kDefaultHaarVerification;
    guint detectionMaxSide = kDefaultDetectionMaxSide;
    gboolean overlay = kDefaultOverlay;
    gboolean postMessages = kDefaultPostMessages;
    guint threads = kDefaultThreads;
    std::string labels; // empty: FER-2013's
    guint inputWidth = kDefaultInputSize;
    guint inputHeight = kDefaultInputSize;
    ColorMode inputColor = kDefaultInputColor;
    std::string inputMean = kDefaultInputMean;
    std::string inputStd = kDefaultInputStd;
    guint detectionInterval = kDetectorsDefaultInterval;
    gboolean windowDetection = kDefaultWindowDetection;
    guint inferenceInterval = 1;
    guint reclassifyInterval = 1;
    gfloat smoothing = 0.0f;
    guint trackConfirmation = kDefaultTrackConfirmation;
    std::string modelInstanceId; // empty: a model of its own
    guint batchTimeoutMs = kDefaultBatchTimeoutMs;
};

// "2026-12-01 09:57:03.186 UTC" for nanoseconds since the epoch.
std::string utcTimeOf(long long nanoseconds)
{
    const std::time_t seconds = static_cast<std::time_t>(nanoseconds / 1000000000LL);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    const size_t length = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc);
    std::snprintf(text + length, sizeof text - length, ".%03lld UTC", (nanoseconds / 1000000LL) % 1000);
    return text;
}

// What a loaded model and detector were made from; a new start reuses them when it matches.
struct LoadKey {
    std::string modelPath;
    long long modelMtime = 0;
    std::string device, labels, inputMean, inputStd;
    Precision precision = kDefaultPrecision;
    guint inputWidth = 0, inputHeight = 0;
    ColorMode inputColor = ColorMode::Gray;
    DetectorKind detector = DetectorKind::Haar;
    std::string detectorModel;
    std::string modelInstanceId;

    bool operator==(const LoadKey &o) const
    {
        return modelPath == o.modelPath && modelMtime == o.modelMtime && device == o.device &&
               precision == o.precision && labels == o.labels && inputMean == o.inputMean && inputStd == o.inputStd &&
               inputWidth == o.inputWidth && inputHeight == o.inputHeight && inputColor == o.inputColor &&
               detector == o.detector && detectorModel == o.detectorModel && modelInstanceId == o.modelInstanceId;
    }

    // What elements sharing a model must agree on, in words for the error when they do not.
    std::string describeModel() const
    {
        std::string text = "model '" + modelPath + "' (modified " + utcTimeOf(modelMtime) + ") on device '" + device +
                           "' in " + toString(precision);
        if (!labels.empty())
            text += " with labels '" + labels + "'";
        return text + " (input " + std::to_string(inputWidth) + "x" + std::to_string(inputHeight) + " " +
               toString(inputColor) + ", mean " + inputMean + ", std " + inputStd + ")";
    }
};

} // namespace

// C++ state; created in _init, deleted in _finalize. `settings` is guarded by the object lock;
// `shared` and `sharedStream` change under `sharedLock` (a seeking thread's FLUSH_START reads them
// while another thread may stop the element); the rest belongs to the streaming thread between
// start and stop.
struct GstFerEmotionPrivate {
    Settings settings;
    // Detector, tracks and model, from start on. With a model of its own it stays loaded across
    // stop and start while the settings name the same files; with a model shared by
    // model-instance-id it goes at stop with this element's stream of the model.
    std::unique_ptr<Analyzer> analyzer;
    std::shared_ptr<SharedClassifier> shared; // set while started with a shared model
    int sharedStream = -1;                    // this element's stream in `shared`
    std::mutex sharedLock;
    LoadKey loaded;
    std::string modelName;
};

struct _GstFerEmotion {
    GstVideoFilter parent;
    GstFerEmotionPrivate *priv;
};

#define gst_fer_emotion_parent_class parent_class
G_DEFINE_TYPE(GstFerEmotion, gst_fer_emotion, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(feremotion, "feremotion", GST_RANK_NONE, GST_TYPE_FER_EMOTION,
                                      GST_DEBUG_CATEGORY_INIT(gst_fer_emotion_debug, "feremotion", 0,
                                                              "facial emotion analytics"));

#define FEREMOTION_FORMATS "{ BGR, RGB, BGRx, BGRA, RGBx, RGBA, I420, NV12, GRAY8 }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(FEREMOTION_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(FEREMOTION_FORMATS)));

#define GST_TYPE_FER_EMOTION_DETECTOR (gst_fer_emotion_detector_get_type())
static GType gst_fer_emotion_detector_get_type()
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {static_cast<gint>(DetectorKind::Auto),
         "yunet when a YuNet file for this OpenCV is found (detector-model, $FEREMOTION_YUNET_MODEL, or installed "
         "by the yunet_model build option), else haar",
         "auto"},
        {static_cast<gint>(DetectorKind::Haar), "OpenCV Haar cascade (opencv-data's frontal face)", "haar"},
        {static_cast<gint>(DetectorKind::YuNet), "OpenCV YuNet (FaceDetectorYN); needs detector-model", "yunet"},
        {static_cast<gint>(DetectorKind::Roi), "Faces from upstream GstVideoRegionOfInterestMeta (roi_type face)",
         "roi"},
        {static_cast<gint>(DetectorKind::FullFrame), "The whole frame is one face", "full-frame"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstFerEmotionDetector", values));
    return type;
}

#define GST_TYPE_FER_EMOTION_PRECISION (gst_fer_emotion_precision_get_type())
static GType gst_fer_emotion_precision_get_type()
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {static_cast<gint>(Precision::Auto), "bf16 on a CPU with AMX, fp32 elsewhere (CUDA included)", "auto"},
        {static_cast<gint>(Precision::Float32), "32-bit floating point, as the model was trained", "fp32"},
        {static_cast<gint>(Precision::BFloat16),
         "bfloat16 weights and activations: on CPUs with AMX 1.5-2x the faces/s at batches of 8 to 32, "
         "probabilities within about 0.03 of fp32",
         "bf16"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstFerEmotionPrecision", values));
    return type;
}

#define GST_TYPE_FER_EMOTION_INPUT_COLOR (gst_fer_emotion_input_color_get_type())
static GType gst_fer_emotion_input_color_get_type()
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {static_cast<gint>(ColorMode::Gray), "One gray channel", "gray"},
        {static_cast<gint>(ColorMode::Rgb), "Three channels, red first", "rgb"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstFerEmotionInputColor", values));
    return type;
}

static Settings snapshot_settings(GstFerEmotion *self)
{
    ObjectLocker lock(self);
    return self->priv->settings;
}

static std::string resolve_model_path(const Settings &settings)
{
    if (!settings.model.empty())
        return settings.model;
    // Running from the build tree, the devenv points at the source tree's bundle.
    const char *fromEnvironment = g_getenv("FEREMOTION_DEFAULT_MODEL");
    if (fromEnvironment && *fromEnvironment) {
        if (!g_file_test(fromEnvironment, G_FILE_TEST_EXISTS))
            throw ModelError(std::string("no model given and FEREMOTION_DEFAULT_MODEL names '") + fromEnvironment +
                             "', which does not exist; set the model property or fix the variable");
        return fromEnvironment;
    }
    if (g_file_test(FEREMOTION_INSTALLED_MODEL, G_FILE_TEST_EXISTS))
        return FEREMOTION_INSTALLED_MODEL;
    throw ModelError(std::string("no model given and no default model installed at '") +
                     FEREMOTION_INSTALLED_MODEL + "'; set the model property to a bundle (.pt)");
}

static long long modification_time(const std::string &path)
{
    struct stat info {};
    if (stat(path.c_str(), &info) != 0)
        return 0;
    return static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
}

static ModelInfo bare_model_info(const Settings &settings)
{
    ModelInfo info;
    try {
        info.labels = settings.labels.empty() ? fer2013Labels() : parseLabelList(settings.labels);
        info.input.width = static_cast<int>(settings.inputWidth);
        info.input.height = static_cast<int>(settings.inputHeight);
        info.input.color = settings.inputColor;
        info.input.mean = parseFloatList(settings.inputMean);
        info.input.std = parseFloatList(settings.inputStd);
        completeNormalisation(info.input);
    } catch (const std::invalid_argument &e) {
        throw ModelError(std::string("invalid labels/input-* property: ") + e.what());
    }
    return info;
}

// Leaves the shared model's group (if in one) and lets go of it, with the analyzer that uses it.
// The last holder unloads the model (GPU memory, a while), which happens after the lock is released.
static void release_shared_model(GstFerEmotionPrivate *priv)
{
    std::shared_ptr<SharedClassifier> released;
    std::unique_ptr<Analyzer> analyzer;
    std::lock_guard<std::mutex> lock(priv->sharedLock);
    if (!priv->shared)
        return;
    priv->shared->removeStream(priv->sharedStream);
    released = std::move(priv->shared);
    analyzer = std::move(priv->analyzer);
    priv->sharedStream = -1;
}

// Loads the model and detector the settings name, unless the loaded ones already match.
static void load_engine(GstFerEmotion *self, const Settings &settings)
{
    GstFerEmotionPrivate *priv = self->priv;
    LoadKey key;
    key.modelPath = resolve_model_path(settings);
    key.modelMtime = modification_time(key.modelPath);
    key.device = settings.device;
    key.precision = settings.precision;
    key.labels = settings.labels;
    key.inputMean = settings.inputMean;
    key.inputStd = settings.inputStd;
    key.inputWidth = settings.inputWidth;
    key.inputHeight = settings.inputHeight;
    key.inputColor = settings.inputColor;
    key.detector = settings.detector;
    key.detectorModel = settings.detectorModel;
    key.modelInstanceId = settings.modelInstanceId;
    if (priv->analyzer && key == priv->loaded)
        return;

    release_shared_model(priv);
    priv->analyzer.reset();
    const auto loadClassifier = [&] {
        ClassifierOptions options;
        options.device = settings.device;
        options.precision = settings.precision;
        options.batchSize = static_cast<int>(settings.batchSize);
        options.threads = static_cast<int>(settings.threads);
        options.bareModelInfo = bare_model_info(settings);
        auto classifier = std::make_unique<EmotionClassifier>(key.modelPath, options);
        // Category-wide: with a shared model any of its elements' threads may run the pass.
        classifier->setForwardObserver([](const ForwardPass &pass) {
            GST_CAT_LOG(GST_CAT_DEFAULT, "forward pass: %d face%s of %d stream%s in %.2f ms", pass.faces,
                        pass.faces == 1 ? "" : "s", pass.streams, pass.streams == 1 ? "" : "s", pass.milliseconds);
        });
        if (!classifier->hasBundleMetadata())
            GST_WARNING_OBJECT(self,
                               "model '%s' has no feremotion.json: using labels, input-width/height, input-color "
                               "and input-mean/std from the element's properties",
                               key.modelPath.c_str());
        return classifier;
    };
    DetectorChoice detector{settings.detector, settings.detectorModel, "", false};
    if (settings.detector == DetectorKind::Auto) {
        const char *fromEnvironment = g_getenv("FEREMOTION_YUNET_MODEL");
        detector = chooseAutoDetector(settings.detectorModel, fromEnvironment ? fromEnvironment : "",
                                      FEREMOTION_INSTALLED_MODELS_DIR);
        GST_INFO_OBJECT(self, "detector=auto: using %s%s%s: %s", toString(detector.kind).c_str(),
                        detector.modelPath.empty() ? "" : " with ", detector.modelPath.c_str(), detector.reason.c_str());
        if (detector.warn)
            GST_ELEMENT_WARNING(self, RESOURCE, NOT_FOUND,
                                ("detector=auto: using %s: %s", toString(detector.kind).c_str(), detector.reason.c_str()),
                                (nullptr));
    }
    if (detector.kind == DetectorKind::YuNet && detector.modelPath.empty())
        throw std::runtime_error("detector=yunet needs detector-model, the path of a YuNet ONNX file: " +
                                 yunetReleaseForThisOpenCV() + " for this OpenCV");
    auto faceDetector = createDetector(detector.kind, detector.modelPath);
    std::string device, precision;
    bool optimized = false;
    std::unique_ptr<FaceClassifier> classifier;
    if (settings.modelInstanceId.empty()) {
        auto own = loadClassifier();
        device = own->deviceName(), precision = toString(own->precision()), optimized = own->optimized();
        classifier = ownModel(std::move(own));
    } else {
        auto shared = acquireSharedClassifier(settings.modelInstanceId, key.describeModel(), loadClassifier);
        device = shared->deviceName(), precision = toString(shared->precision()), optimized = shared->optimized();
        std::lock_guard<std::mutex> lock(priv->sharedLock);
        priv->shared = std::move(shared);
        priv->sharedStream = priv->shared->addStream();
        classifier = sharedModelStream(priv->shared, priv->sharedStream);
    }
    priv->analyzer = std::make_unique<Analyzer>(std::move(faceDetector), detector.kind, std::move(classifier));
    priv->loaded = key;
    priv->modelName = std::filesystem::path(key.modelPath).stem().string();
    const ModelInfo &info = priv->analyzer->modelInfo();
    GST_INFO_OBJECT(self, "loaded model '%s' (%zu labels, %dx%d %s) on %s in %s%s%s%s, detector %s",
                    key.modelPath.c_str(), info.labels.size(), info.input.width, info.input.height,
                    toString(info.input.color).c_str(), device.c_str(), precision.c_str(),
                    optimized ? " (frozen for inference)" : "",
                    settings.modelInstanceId.empty() ? "" : ", shared as model-instance-id ",
                    settings.modelInstanceId.c_str(), toString(detector.kind).c_str());
}

static gboolean gst_fer_emotion_start(GstBaseTransform *trans)
{
    GstFerEmotion *self = GST_FER_EMOTION(trans);
    const Settings settings = snapshot_settings(self);
    try {
        load_engine(self, settings);
    } catch (const ModelError &e) {
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Could not load the emotion model: %s", e.what()),
                          ("model property: '%s', device: '%s'", settings.model.c_str(), settings.device.c_str()));
        return FALSE;
    } catch (const std::exception &e) {
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Could not set up face detection: %s", e.what()),
                          ("detector: %s, detector-model: '%s'", toString(settings.detector).c_str(),
                           settings.detectorModel.c_str()));
        return FALSE;
    }
    self->priv->analyzer->reset();
    return TRUE;
}

static gboolean gst_fer_emotion_stop(GstBaseTransform *trans)
{
    // Other streams sharing the model must not wait for this one any more, and a stopped element
    // must not keep the instance alive: the group may restart with another model.
    release_shared_model(GST_FER_EMOTION(trans)->priv);
    return TRUE;
}

static void set_shared_stream_flushing(GstFerEmotionPrivate *priv, bool flushing)
{
    std::lock_guard<std::mutex> lock(priv->sharedLock);
    if (priv->shared && priv->sharedStream >= 0)
        priv->shared->setStreamFlushing(priv->sharedStream, flushing);
}

// Serialized events only (the streaming thread's), so the analyzer is not in use meanwhile.
static void forget_tracks(GstFerEmotionPrivate *priv)
{
    if (priv->analyzer)
        priv->analyzer->reset();
}

static gboolean gst_fer_emotion_sink_event(GstBaseTransform *trans, GstEvent *event)
{
    GstFerEmotionPrivate *priv = GST_FER_EMOTION(trans)->priv;
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
        if (priv->shared && priv->sharedStream >= 0)
            priv->shared->setStreamIdle(priv->sharedStream);
        break;
    case GST_EVENT_FLUSH_START:
        // Sent from the seeking thread while the streaming thread may wait for other streams'
        // faces: the wait ends now, so that the flush does not last up to batch-timeout.
        set_shared_stream_flushing(priv, true);
        break;
    case GST_EVENT_FLUSH_STOP:
        set_shared_stream_flushing(priv, false);
        forget_tracks(priv); // after a seek, earlier tracks say nothing about the next frame
        break;
    case GST_EVENT_SEGMENT: {
        // A different segment without a flush: a non-flushing or segment seek (a loop). Sources
        // that repeat the same segment continue the picture.
        const GstSegment *segment = nullptr;
        gst_event_parse_segment(event, &segment);
        if (!gst_segment_is_equal(segment, &trans->segment))
            forget_tracks(priv);
        // Serialized, so this is the streaming thread, before the first frame.
        if (priv->shared && priv->sharedStream >= 0)
            priv->shared->setStreamThread(priv->sharedStream);
        break;
    }
    case GST_EVENT_STREAM_START: forget_tracks(priv); break;
    default: break;
    }
    return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static GstStateChangeReturn gst_fer_emotion_change_state(GstElement *element, GstStateChange transition)
{
    GstFerEmotionPrivate *priv = GST_FER_EMOTION(element)->priv;
    // Stopping waits for the streaming thread, which may wait for other streams' faces: end that wait.
    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
        set_shared_stream_flushing(priv, true);
    const GstStateChangeReturn result = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
    // READY keeps the model for a quick restart; NULL holds no resources (GPU memory, open files).
    if (transition == GST_STATE_CHANGE_READY_TO_NULL) {
        priv->analyzer.reset();
        priv->loaded = LoadKey();
    }
    return result;
}

// With a shared model a frame may wait up to batch-timeout for other streams' faces.
static gboolean gst_fer_emotion_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
    if (!GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query))
        return FALSE;
    if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY || direction != GST_PAD_SRC)
        return TRUE;
    GstFerEmotion *self = GST_FER_EMOTION(trans);
    GstClockTime wait = 0;
    {
        ObjectLocker lock(self);
        const Settings &s = self->priv->settings;
        if (!s.modelInstanceId.empty())
            wait = s.batchTimeoutMs * GST_MSECOND;
    }
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    if (wait > 0) {
        GST_DEBUG_OBJECT(self, "adding %" GST_TIME_FORMAT " of batch-timeout to the latency", GST_TIME_ARGS(wait));
        gst_query_set_latency(query, live, min + wait, GST_CLOCK_TIME_IS_VALID(max) ? max + wait : max);
    }
    return TRUE;
}

// The buffer's face regions, each with its meta in `metas` (same index).
static std::vector<UpstreamFace> upstream_faces(GstBuffer *buffer, std::vector<GstVideoRegionOfInterestMeta *> &metas)
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

static GValue double_array(const std::vector<float> &values)
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

static GstStructure *emotion_structure(const ModelInfo &info, const TrackedFace &face, const std::string &modelName)
{
    const Emotion &emotion = face.emotion;
    GstStructure *s = gst_structure_new(
        "emotion", "label", G_TYPE_STRING, info.labels[emotion.labelId].c_str(), "label_id", G_TYPE_INT,
        emotion.labelId, "confidence", G_TYPE_DOUBLE, static_cast<gdouble>(emotion.confidence), "model_name",
        G_TYPE_STRING, modelName.c_str(), "attribute_name", G_TYPE_STRING, "emotion", "type", G_TYPE_STRING,
        "classification_result", "reused", G_TYPE_BOOLEAN, !face.classifiedNow, "raw_label", G_TYPE_STRING,
        info.labels[face.raw.labelId].c_str(), "raw_label_id", G_TYPE_INT, face.raw.labelId, "raw_confidence",
        G_TYPE_DOUBLE, static_cast<gdouble>(face.raw.confidence), nullptr);
    GValue probabilities = double_array(emotion.probabilities);
    gst_structure_take_value(s, "probabilities", &probabilities);
    GValue raw = double_array(face.raw.probabilities);
    gst_structure_take_value(s, "raw_probabilities", &raw);
    return s;
}

static GstStructure *detection_structure(const TrackedFace &face, const FrameView &view)
{
    const Detection &d = face.detection;
    return gst_structure_new("detection", "x_min", G_TYPE_DOUBLE, static_cast<gdouble>(d.box.x) / view.width, "y_min",
                             G_TYPE_DOUBLE, static_cast<gdouble>(d.box.y) / view.height, "x_max", G_TYPE_DOUBLE,
                             static_cast<gdouble>(d.box.x + d.box.width) / view.width, "y_max", G_TYPE_DOUBLE,
                             static_cast<gdouble>(d.box.y + d.box.height) / view.height, "confidence",
                             G_TYPE_DOUBLE, static_cast<gdouble>(d.confidence), "label_id", G_TYPE_INT, 0, "label",
                             G_TYPE_STRING, "face", "tracked", G_TYPE_BOOLEAN, !face.detectedNow, nullptr);
}
static void replace_param(GstVideoRegionOfInterestMeta *meta, GstStructure *param)
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

static void post_frame_message(GstFerEmotion *self, GstBuffer *buffer, const std::vector<TrackedFace> &faces,
                               const ModelInfo &info, const FrameView &view)
{
    GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
    const GstClockTime timestamp = GST_BUFFER_PTS(buffer);
    GstClockTime streamTime = GST_CLOCK_TIME_NONE, runningTime = GST_CLOCK_TIME_NONE;
    if (GST_CLOCK_TIME_IS_VALID(timestamp) && trans->segment.format == GST_FORMAT_TIME) {
        streamTime = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, timestamp);
        runningTime = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, timestamp);
    }
    GValue list = G_VALUE_INIT;
    g_value_init(&list, GST_TYPE_LIST);
    for (const TrackedFace &f : faces) {
        // The pixels the region-of-interest meta gives too: those the box covers, inside the frame.
        const cv::Rect b = cropRect(f.detection.box, 0.0f, view.width, view.height);
        const Emotion &e = f.emotion;
        GstStructure *face = gst_structure_new(
            "face", "x", G_TYPE_INT, b.x, "y", G_TYPE_INT, b.y, "width", G_TYPE_INT, b.width, "height", G_TYPE_INT,
            b.height, "id", G_TYPE_INT, f.id,
            "detection-confidence", G_TYPE_DOUBLE, static_cast<gdouble>(f.detection.confidence), "tracked",
            G_TYPE_BOOLEAN, !f.detectedNow, "label", G_TYPE_STRING, info.labels[e.labelId].c_str(), "label-id",
            G_TYPE_INT, e.labelId, "confidence", G_TYPE_DOUBLE, static_cast<gdouble>(e.confidence), "reused",
            G_TYPE_BOOLEAN, !f.classifiedNow, nullptr);
        GValue probabilities = double_array(e.probabilities);
        gst_structure_take_value(face, "probabilities", &probabilities);
        GValue raw = double_array(f.raw.probabilities);
        gst_structure_take_value(face, "raw-probabilities", &raw);
        GValue item = G_VALUE_INIT;
        g_value_init(&item, GST_TYPE_STRUCTURE);
        g_value_take_boxed(&item, face);
        gst_value_list_append_and_take_value(&list, &item);
    }
    GstStructure *s = gst_structure_new("feremotion", "timestamp", G_TYPE_UINT64, timestamp, "stream-time",
                                        G_TYPE_UINT64, streamTime, "running-time", G_TYPE_UINT64, runningTime,
                                        "duration", G_TYPE_UINT64, GST_BUFFER_DURATION(buffer), nullptr);
    gst_structure_take_value(s, "faces", &list);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static AnalyzerSettings analyzer_settings(const Settings &settings)
{
    AnalyzerSettings analysis;
    analysis.detection.threshold = settings.threshold;
    analysis.detection.minFaceSize = static_cast<int>(settings.minFaceSize);
    analysis.detection.maxDetectionSide = static_cast<int>(settings.detectionMaxSide);
    analysis.detection.verifyHaarFaces = settings.haarVerification;
    analysis.tracking.detectionInterval = static_cast<int>(settings.detectionInterval);
    analysis.windowDetection = settings.windowDetection;
    analysis.tracking.inferenceInterval = static_cast<int>(settings.inferenceInterval);
    analysis.tracking.reclassifyInterval = static_cast<int>(settings.reclassifyInterval);
    analysis.tracking.smoothing = settings.smoothing;
    analysis.tracking.confirmDetections = static_cast<int>(settings.trackConfirmation);
    analysis.classification.batchSize = static_cast<int>(settings.batchSize);
    analysis.classification.threads = static_cast<int>(settings.threads);
    analysis.classification.batchTimeout = std::chrono::milliseconds(settings.batchTimeoutMs);
    return analysis;
}

static void process_frame(GstFerEmotion *self, GstVideoFrame *frame, const Settings &settings)
{
    GstFerEmotionPrivate *priv = self->priv;
    FrameInput input;
    input.view = frameViewOf(frame);
    input.stills = GST_VIDEO_INFO_FPS_N(&frame->info) == 0;
    std::vector<GstVideoRegionOfInterestMeta *> upstream;
    // The detector loaded at start, not the property: a detector set while playing waits for the next start.
    if (priv->analyzer->detectorKind() == DetectorKind::Roi)
        input.upstreamFaces = upstream_faces(frame->buffer, upstream);
    const std::vector<TrackedFace> faces = priv->analyzer->analyze(input, analyzer_settings(settings));
    FrameView &view = input.view; // the overlay draws into it
    const ModelInfo &info = priv->analyzer->modelInfo();

    std::vector<OverlayItem> overlay;
    for (const TrackedFace &face : faces) {
        const Detection &d = face.detection;
        GstVideoRegionOfInterestMeta *meta;
        if (d.regionIndex >= 0) {
            meta = upstream[static_cast<size_t>(d.regionIndex)];
        } else {
            const cv::Rect r = cropRect(d.box, 0.0f, view.width, view.height);
            meta = gst_buffer_add_video_region_of_interest_meta(frame->buffer, "face", r.x, r.y, r.width, r.height);
            meta->id = face.id;
        }
        replace_param(meta, detection_structure(face, view));
        replace_param(meta, emotion_structure(info, face, priv->modelName));
        if (settings.overlay) {
            const std::string &label = info.labels[face.emotion.labelId];
            overlay.push_back({d.box, label + " " + std::to_string(std::lround(face.emotion.confidence * 100)) + "%",
                               emotionColor(label, face.emotion.labelId)});
        }
    }
    if (settings.overlay)
        drawOverlay(view, overlay);
    if (settings.postMessages)
        post_frame_message(self, frame->buffer, faces, info, view);
}

static GstFlowReturn gst_fer_emotion_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame)
{
    GstFerEmotion *self = GST_FER_EMOTION(filter);
    const Settings settings = snapshot_settings(self);
    if (!self->priv->analyzer) {
        GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE, ("No emotion model is loaded."),
                          ("transform_frame_ip called before start"));
        return GST_FLOW_ERROR;
    }
    try {
        process_frame(self, frame, settings);
    } catch (const std::exception &e) {
        // This stream stops here; streams sharing its model must not wait for it.
        if (self->priv->shared)
            self->priv->shared->setStreamIdle(self->priv->sharedStream);
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Emotion analysis failed on a frame: %s", e.what()),
                          ("model '%s', frame %dx%d %s", self->priv->loaded.modelPath.c_str(),
                           GST_VIDEO_FRAME_WIDTH(frame), GST_VIDEO_FRAME_HEIGHT(frame),
                           gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(frame))));
        return GST_FLOW_ERROR;
    }
    return GST_FLOW_OK;
}

static void set_string(std::string &target, const GValue *value)
{
    const gchar *s = g_value_get_string(value);
    target = s ? s : "";
}

static void set_property_locked(GstFerEmotion *self, guint id, const GValue *value, GParamSpec *pspec);

static void gst_fer_emotion_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
    GstFerEmotion *self = GST_FER_EMOTION(object);
    bool shared;
    {
        ObjectLocker lock(self);
        set_property_locked(self, id, value, pspec);
        shared = !self->priv->settings.modelInstanceId.empty();
    }
    // The wait for other streams is part of the latency the element reports.
    if (id == PROP_BATCH_TIMEOUT && shared)
        gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

static void set_property_locked(GstFerEmotion *self, guint id, const GValue *value, GParamSpec *pspec)
{
    GObject *object = G_OBJECT(self);
    if ((pspec->flags & GST_PARAM_MUTABLE_READY) && GST_STATE(self) > GST_STATE_READY)
        GST_WARNING_OBJECT(self, "'%s' set while %s: it takes effect at the next start (READY to PAUSED)",
                           pspec->name, gst_element_state_get_name(GST_STATE(self)));
    Settings &s = self->priv->settings;
    switch (id) {
    case PROP_MODEL: set_string(s.model, value); break;
    case PROP_DEVICE:
        set_string(s.device, value);
        if (s.device.empty())
            s.device = kDefaultDevice;
        break;
    case PROP_PRECISION: s.precision = static_cast<Precision>(g_value_get_enum(value)); break;
    case PROP_BATCH_SIZE: s.batchSize = g_value_get_uint(value); break;
    case PROP_DETECTOR: s.detector = static_cast<DetectorKind>(g_value_get_enum(value)); break;
    case PROP_DETECTOR_MODEL: set_string(s.detectorModel, value); break;
    case PROP_THRESHOLD: s.threshold = g_value_get_float(value); break;
    case PROP_MIN_FACE_SIZE: s.minFaceSize = g_value_get_uint(value); break;
    case PROP_HAAR_VERIFICATION: s.haarVerification = g_value_get_boolean(value); break;
    case PROP_DETECTION_MAX_SIZE: s.detectionMaxSide = g_value_get_uint(value); break;
    case PROP_OVERLAY: s.overlay = g_value_get_boolean(value); break;
    case PROP_POST_MESSAGES: s.postMessages = g_value_get_boolean(value); break;
    case PROP_THREADS: s.threads = g_value_get_uint(value); break;
    case PROP_LABELS: set_string(s.labels, value); break;
    case PROP_INPUT_WIDTH: s.inputWidth = g_value_get_uint(value); break;
    case PROP_INPUT_HEIGHT: s.inputHeight = g_value_get_uint(value); break;
    case PROP_INPUT_COLOR: s.inputColor = static_cast<ColorMode>(g_value_get_enum(value)); break;
    case PROP_INPUT_MEAN:
        set_string(s.inputMean, value);
        if (s.inputMean.empty())
            s.inputMean = kDefaultInputMean;
        break;
    case PROP_INPUT_STD:
        set_string(s.inputStd, value);
        if (s.inputStd.empty())
            s.inputStd = kDefaultInputStd;
        break;
    case PROP_DETECTION_INTERVAL: s.detectionInterval = g_value_get_uint(value); break;
    case PROP_WINDOW_DETECTION: s.windowDetection = g_value_get_boolean(value); break;
    case PROP_INFERENCE_INTERVAL: s.inferenceInterval = g_value_get_uint(value); break;
    case PROP_RECLASSIFY_INTERVAL: s.reclassifyInterval = g_value_get_uint(value); break;
    case PROP_SMOOTHING: s.smoothing = g_value_get_float(value); break;
    case PROP_TRACK_CONFIRMATION: s.trackConfirmation = g_value_get_uint(value); break;
    case PROP_MODEL_INSTANCE_ID: set_string(s.modelInstanceId, value); break;
    case PROP_BATCH_TIMEOUT: s.batchTimeoutMs = g_value_get_uint(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
}

static void set_string_value(GValue *value, const std::string &s)
{
    g_value_set_string(value, s.empty() ? nullptr : s.c_str());
}

static void gst_fer_emotion_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    GstFerEmotion *self = GST_FER_EMOTION(object);
    ObjectLocker lock(self);
    const Settings &s = self->priv->settings;
    switch (id) {
    case PROP_MODEL: set_string_value(value, s.model); break;
    case PROP_DEVICE: g_value_set_string(value, s.device.c_str()); break;
    case PROP_PRECISION: g_value_set_enum(value, static_cast<gint>(s.precision)); break;
    case PROP_BATCH_SIZE: g_value_set_uint(value, s.batchSize); break;
    case PROP_DETECTOR: g_value_set_enum(value, static_cast<gint>(s.detector)); break;
    case PROP_DETECTOR_MODEL: set_string_value(value, s.detectorModel); break;
    case PROP_THRESHOLD: g_value_set_float(value, s.threshold); break;
    case PROP_MIN_FACE_SIZE: g_value_set_uint(value, s.minFaceSize); break;
    case PROP_HAAR_VERIFICATION: g_value_set_boolean(value, s.haarVerification); break;
    case PROP_DETECTION_MAX_SIZE: g_value_set_uint(value, s.detectionMaxSide); break;
    case PROP_OVERLAY: g_value_set_boolean(value, s.overlay); break;
    case PROP_POST_MESSAGES: g_value_set_boolean(value, s.postMessages); break;
    case PROP_THREADS: g_value_set_uint(value, s.threads); break;
    case PROP_LABELS: set_string_value(value, s.labels); break;
    case PROP_INPUT_WIDTH: g_value_set_uint(value, s.inputWidth); break;
    case PROP_INPUT_HEIGHT: g_value_set_uint(value, s.inputHeight); break;
    case PROP_INPUT_COLOR: g_value_set_enum(value, static_cast<gint>(s.inputColor)); break;
    case PROP_INPUT_MEAN: g_value_set_string(value, s.inputMean.c_str()); break;
    case PROP_INPUT_STD: g_value_set_string(value, s.inputStd.c_str()); break;
    case PROP_DETECTION_INTERVAL: g_value_set_uint(value, s.detectionInterval); break;
    case PROP_WINDOW_DETECTION: g_value_set_boolean(value, s.windowDetection); break;
    case PROP_INFERENCE_INTERVAL: g_value_set_uint(value, s.inferenceInterval); break;
    case PROP_RECLASSIFY_INTERVAL: g_value_set_uint(value, s.reclassifyInterval); break;
    case PROP_SMOOTHING: g_value_set_float(value, s.smoothing); break;
    case PROP_TRACK_CONFIRMATION: g_value_set_uint(value, s.trackConfirmation); break;
    case PROP_MODEL_INSTANCE_ID: set_string_value(value, s.modelInstanceId); break;
    case PROP_BATCH_TIMEOUT: g_value_set_uint(value, s.batchTimeoutMs); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
    }
}

static void gst_fer_emotion_init(GstFerEmotion *self)
{
    self->priv = new GstFerEmotionPrivate();
    // QoS would drop late frames unanalysed; analytics downstream needs every frame's results.
    gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}

static void gst_fer_emotion_finalize(GObject *object)
{
    GstFerEmotion *self = GST_FER_EMOTION(object);
    delete self->priv;
    self->priv = nullptr;
    G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_fer_emotion_class_init(GstFerEmotionClass *klass)
{
    GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
    GstBaseTransformClass *transform_class = GST_BASE_TRANSFORM_CLASS(klass);
    GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);

    gobject_class->set_property = gst_fer_emotion_set_property;
    gobject_class->get_property = gst_fer_emotion_get_property;
    gobject_class->finalize = gst_fer_emotion_finalize;

    const auto readyFlags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
    const auto playingFlags =
        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

    /**
     * GstFerEmotion:model:
     *
     * Path of the model bundle: a TorchScript archive (.pt) with feremotion.json.
     */
    g_object_class_install_property(
        gobject_class, PROP_MODEL,
        g_param_spec_string("model", "Model bundle",
                            "Path of the emotion model bundle (TorchScript .pt with feremotion.json, or a bare "
                            "TorchScript file described by labels/input-* properties). Default (null): the file "
                            "$FEREMOTION_DEFAULT_MODEL names when it exists (meson devenv sets it), else the "
                            "installed default bundle " FEREMOTION_INSTALLED_MODEL,
                            nullptr, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_DEVICE,
        g_param_spec_string("device", "Inference device",
                            "Where the classifier runs: auto (CUDA when LibTorch sees a GPU, else CPU), cpu, cuda, "
                            "or cuda:N",
                            kDefaultDevice, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_PRECISION,
        g_param_spec_enum("precision", "Inference precision",
                          "Number format of the classifier's forward pass. bf16 pays on CPUs with AMX (Intel Xeon "
                          "since Sapphire Rapids) for batches of 8 or more faces, e.g. many streams sharing a "
                          "model, and costs about 5% for single faces; CPUs without AMX emulate it slowly. "
                          "The element's debug log (GST_DEBUG=feremotion:4) says which one auto chose",
                          GST_TYPE_FER_EMOTION_PRECISION, static_cast<gint>(kDefaultPrecision), readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_BATCH_SIZE,
        g_param_spec_uint("batch-size", "Batch size",
                          "Most faces classified in one forward pass (faces, 1-1024); a frame's faces go through in "
                          "chunks of this size",
                          1, kMaxBatchSize, kDefaultBatchSize, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_DETECTOR,
        g_param_spec_enum("detector", "Face detector",
                          "How faces are found. auto: yunet when a YuNet ONNX file that this OpenCV runs is found "
                          "(detector-model if it names an .onnx file; else $FEREMOTION_YUNET_MODEL, a file or a folder "
                          "holding face_detection_yunet_2022mar.onnx below OpenCV 4.8, _2023mar from 4.8; else the one "
                          "the yunet_model build option installed in " FEREMOTION_INSTALLED_MODELS_DIR "), else haar; "
                          "the debug log (GST_DEBUG=feremotion:4) says which and why",
                          GST_TYPE_FER_EMOTION_DETECTOR, static_cast<gint>(kDefaultDetector), readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_DETECTOR_MODEL,
        g_param_spec_string("detector-model", "Detector model",
                            "Model file of the detector: the YuNet ONNX file for detector=yunet (required; "
                            "face_detection_yunet_2022mar.onnx on OpenCV below 4.8, _2023mar on 4.8 and newer), or "
                            "another Haar/LBP cascade XML for detector=haar (default: opencv-data's "
                            "haarcascade_frontalface_default.xml)",
                            nullptr, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_THRESHOLD,
        g_param_spec_float("threshold", "Detection threshold",
                           "Lowest face confidence kept (0-1), or -1 for the detector's default. yunet: its face "
                           "score (default 0.9 on OpenCV below 4.8 with the 2022mar release, 0.8 from 4.8 with "
                           "2023mar, which scores lower); haar: 1 - 1/(2n) for a face seen by n overlapping raw "
                           "detections; OpenCV's minNeighbors is ceil(0.5/(1-threshold)) and it keeps faces seen more "
                           "often (default 0.9: minNeighbors 5, OpenCV's usual value, so n >= 6); roi: the upstream "
                           "detection confidence (default 0.9)",
                           -1.0f, 1.0f, kDefaultThreshold, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_MIN_FACE_SIZE,
        g_param_spec_uint("min-face-size", "Minimum face size",
                          "Smallest face side detected, in frame pixels (haar, yunet)", 1, kMaxFaceSize,
                          kDefaultMinFaceSize, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_HAAR_VERIFICATION,
        g_param_spec_boolean("haar-verification", "Haar verification",
                             "detector=haar with its default cascade: keep only faces that a second cascade "
                             "(opencv-data's haarcascade_frontalface_alt2.xml) also finds in the box. Drops most false "
                             "hits on hands, clothes and furniture and a few faces (feremotion's docs/detection.md); "
                             "false: every face the cascade finds. A cascade given in detector-model is not verified",
                             kDefaultHaarVerification, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_DETECTION_MAX_SIZE,
        g_param_spec_uint("detection-max-size", "Detection image size",
                          "Frames whose longer side exceeds this many pixels are detected on a downscaled copy "
                          "(boxes are mapped back; pixels, 0-16384, 0 = always full size). Faster, but haar then "
                          "misses faces under 24 px of the copy: at the default and 1920x1080, faces under 72 px",
                          0, 16384, kDefaultDetectionMaxSide, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_OVERLAY,
        g_param_spec_boolean("overlay", "Draw overlay",
                             "Draw each face's box, emotion and confidence into the frame, the caption inside the "
                             "box (above it when the box is too narrow); when false the frame's pixels are left "
                             "untouched",
                             kDefaultOverlay, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_POST_MESSAGES,
        g_param_spec_boolean("post-messages", "Post messages",
                             "Post a \"feremotion\" element message per frame with timestamp, stream-time, "
                             "running-time, duration and the faces (box, id, label, confidence, probabilities)",
                             kDefaultPostMessages, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_THREADS,
        g_param_spec_uint("threads", "Inference threads",
                          "CPU threads for the classifier's forward pass (0 = all cores); 1 avoids OpenMP stalls on "
                          "small shared machines",
                          0, kMaxThreads, kDefaultThreads, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_LABELS,
        g_param_spec_string("labels", "Labels (bare TorchScript)",
                            "Comma-separated class labels in output order, for a model without feremotion.json. "
                            "Default (null): FER-2013's angry,disgust,fear,happy,sad,surprise,neutral",
                            nullptr, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_INPUT_WIDTH,
        g_param_spec_uint("input-width", "Input width (bare TorchScript)",
                          "Face crop width in pixels fed to a model without feremotion.json", 1, kMaxInputSize,
                          kDefaultInputSize, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_INPUT_HEIGHT,
        g_param_spec_uint("input-height", "Input height (bare TorchScript)",
                          "Face crop height in pixels fed to a model without feremotion.json", 1, kMaxInputSize,
                          kDefaultInputSize, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_INPUT_COLOR,
        g_param_spec_enum("input-color", "Input colour (bare TorchScript)",
                          "Channels fed to a model without feremotion.json", GST_TYPE_FER_EMOTION_INPUT_COLOR,
                          static_cast<gint>(kDefaultInputColor), readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_INPUT_MEAN,
        g_param_spec_string("input-mean", "Input mean (bare TorchScript)",
                            "Mean subtracted from pixels scaled to [0,1]: one value or one per channel, "
                            "comma-separated",
                            kDefaultInputMean, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_INPUT_STD,
        g_param_spec_string("input-std", "Input std (bare TorchScript)",
                            "Divisor applied after the mean: one value or one per channel, comma-separated",
                            kDefaultInputStd, readyFlags));

    g_object_class_install_property(
        gobject_class, PROP_DETECTION_INTERVAL,
        g_param_spec_uint("detection-interval", "Detection interval",
                          "Run the full-frame face detector on every Nth frame (frames, 0-100000; 0 = the detector's "
                          "own: 4 for haar, 2 for yunet, 1 for full-frame). In between, faces are followed with "
                          "optical flow and new faces are confirmed in windows around them; faces that appear in "
                          "between wait for the next detection (detector=roi: boxes come from upstream on every frame)",
                          0, kMaxInterval, kDetectorsDefaultInterval, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_WINDOW_DETECTION,
        g_param_spec_boolean("window-detection", "Window detection",
                             "With detection-interval above 1: on the frames between full-frame detections, look "
                             "for each reported face again in a window around its followed box (twice its side), at "
                             "its own scale only; a face found there takes the detector's box, one not found keeps "
                             "the optical flow's. New faces still wait for the next full-frame detection",
                             kDefaultWindowDetection, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_INFERENCE_INTERVAL,
        g_param_spec_uint("inference-interval", "Inference interval",
                          "Classify faces on every Nth frame only (frames, 1-100000); other frames reuse each "
                          "track's last result (emotion \"reused\" = true). A new face is classified on the frame "
                          "it is first reported",
                          1, kMaxInterval, 1, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_RECLASSIFY_INTERVAL,
        g_param_spec_uint("reclassify-interval", "Reclassify interval",
                          "Classify a tracked face again once its last result is this many frames old "
                          "(frames, 0-100000; 0 = classify each track once); checked on inference frames",
                          0, kMaxInterval, 1, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_SMOOTHING,
        g_param_spec_float("smoothing", "Temporal smoothing",
                           "Per-track exponential smoothing of the emotion probabilities: weight of the previous "
                           "value against a new classification (0-0.99; 0 = off). label/confidence/probabilities "
                           "are smoothed, raw_* hold the classifier's last output (detector=roi: not applied)",
                           0.0f, kMaxSmoothing, 0.0f, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_TRACK_CONFIRMATION,
        g_param_spec_uint("track-confirmation", "Track confirmation",
                          "A new face is reported (and classified) once the detector has found it on this many "
                          "frames in a row (a full-frame detection, then full-frame or window detections), so that "
                          "its one-off false hits (a hand, a lamp) never show (frames, 0-100; 0 = the detector's "
                          "own: 2 for haar, 1 for yunet, which has few false hits; 1 = at once). Faces on the first "
                          "frame after a start, seek, new segment or stream, or size change are reported at once (a "
                          "still image has no second frame), and so is every face at frame rate 0/1 (multifilesrc, "
                          "snapshots: unrelated images) (detector=roi: not applied)",
                          0, kMaxTrackConfirmation, kDefaultTrackConfirmation, playingFlags));
    g_object_class_install_property(
        gobject_class, PROP_MODEL_INSTANCE_ID,
        g_param_spec_string("model-instance-id", "Model instance id",
                            "Elements of one process with the same id share one loaded model (they must name the "
                            "same model file, device, precision, labels and input-* values) and classify faces "
                            "that arrive together in one forward pass. Default (null): a model of its own",
                            nullptr, readyFlags));
    g_object_class_install_property(
        gobject_class, PROP_BATCH_TIMEOUT,
        g_param_spec_uint("batch-timeout", "Batch timeout",
                          "With model-instance-id: longest wait for other streams' faces before the forward pass "
                          "(milliseconds, 0-10000); the wait ends early when every other active stream has "
                          "submitted faces or passed a frame without any, or batch-size faces are queued. A "
                          "stream that let the wait run out is not waited for until it submits again. Added to "
                          "the latency the element reports. Elements in one streaming thread (one after the other) "
                          "do not wait for each other",
                          0, kMaxBatchTimeoutMs, kDefaultBatchTimeoutMs, playingFlags));

    gst_element_class_set_static_metadata(
        element_class, "Facial emotion analyzer", "Filter/Analyzer/Video",
        "Finds faces, classifies their emotion with a LibTorch model in batches, and attaches ROI metadata "
        "and overlays",
        "feremotion developers");
    gst_element_class_add_static_pad_template(element_class, &sink_template);
    gst_element_class_add_static_pad_template(element_class, &src_template);

    element_class->change_state = GST_DEBUG_FUNCPTR(gst_fer_emotion_change_state);
    transform_class->start = GST_DEBUG_FUNCPTR(gst_fer_emotion_start);
    transform_class->stop = GST_DEBUG_FUNCPTR(gst_fer_emotion_stop);
    transform_class->sink_event = GST_DEBUG_FUNCPTR(gst_fer_emotion_sink_event);
    transform_class->query = GST_DEBUG_FUNCPTR(gst_fer_emotion_query);
    filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_fer_emotion_transform_frame_ip);

    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_DETECTOR, static_cast<GstPluginAPIFlags>(0));
    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_INPUT_COLOR, static_cast<GstPluginAPIFlags>(0));
    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_PRECISION, static_cast<GstPluginAPIFlags>(0));
}
