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
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <gst/video/gstvideometa.h>

#include "analyzer.h"
#include "classifier.h"
#include "detector.h"
#include "face-record.h"
#include "gstferemotion-settings.h"
#include "gstferemotion-utils.h"
#include "model_loader.h"
#include "overlay.h"
#include "preprocess.h"
#include "shared_classifier.h"

GST_DEBUG_CATEGORY_STATIC(gst_fer_emotion_debug);
#define GST_CAT_DEFAULT gst_fer_emotion_debug

using namespace feremotion;

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
    // With a model of its own, from start to stop: loads a model set while playing. Guarded by
    // loaderLock (set_property runs in the application's thread).
    std::unique_ptr<BackgroundModelLoader> loader;
    std::mutex loaderLock;
    // Upstream answered the latency query as live (the streaming thread asks at the first frame).
    std::atomic<bool> liveSource{false};
    bool liveSourceAsked = false;
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

// The buffer's stream and running time (GST_CLOCK_TIME_NONE without a timestamp or time segment).
static void frame_times(GstBaseTransform *trans, GstBuffer *buffer, GstClockTime &streamTime, GstClockTime &runningTime)
{
    const GstClockTime timestamp = GST_BUFFER_PTS(buffer);
    streamTime = runningTime = GST_CLOCK_TIME_NONE;
    if (GST_CLOCK_TIME_IS_VALID(timestamp) && trans->segment.format == GST_FORMAT_TIME) {
        streamTime = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, timestamp);
        runningTime = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, timestamp);
    }
}

static Settings snapshot_settings(GstFerEmotion *self)
{
    ObjectLocker lock(self);
    return self->priv->settings;
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

// A model of the element's own, loaded as the settings say; also run on the model loader's thread.
static std::unique_ptr<EmotionClassifier> load_classifier(GstFerEmotion *self, const Settings &settings,
                                                          const std::string &path)
{
    ClassifierOptions options;
    options.device = settings.device;
    options.precision = settings.precision;
    options.batchSize = static_cast<int>(settings.batchSize);
    options.threads = static_cast<int>(settings.threads);
    options.bareModelInfo = bareModelInfo(settings);
    auto classifier = std::make_unique<EmotionClassifier>(path, options);
    // Category-wide: with a shared model any of its elements' threads may run the pass.
    classifier->setForwardObserver([](const ForwardPass &pass) {
        GST_CAT_LOG(GST_CAT_DEFAULT, "forward pass: %d face%s of %d stream%s in %.2f ms", pass.faces,
                    pass.faces == 1 ? "" : "s", pass.streams, pass.streams == 1 ? "" : "s", pass.milliseconds);
    });
    if (!classifier->hasBundleMetadata())
        GST_WARNING_OBJECT(self,
                           "model '%s' has no feremotion.json: using labels, input-width/height, input-color "
                           "and input-mean/std from the element's properties",
                           path.c_str());
    return classifier;
}

// The detector the settings name; for detector=auto the one found, said in the log (and as a
// warning when a YuNet file was named that cannot be used).
static DetectorChoice choose_detector(GstFerEmotion *self, const Settings &settings)
{
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
    return detector;
}

// Loads the model and detector the settings name, unless the loaded ones already match.
static void load_engine(GstFerEmotion *self, const Settings &settings)
{
    GstFerEmotionPrivate *priv = self->priv;
    const LoadKey key = loadKeyOf(settings, resolveModelPath(settings));
    if (priv->analyzer && key == priv->loaded)
        return;

    release_shared_model(priv);
    priv->analyzer.reset();
    const auto loadClassifier = [&] { return load_classifier(self, settings, key.modelPath); };
    const DetectorChoice detector = choose_detector(self, settings);
    auto faceDetector = createDetector(detector.kind, detector.modelPath);
    const bool followsFaces = detector.kind == DetectorKind::Haar || detector.kind == DetectorKind::YuNet;
    auto backgroundDetector = key.backgroundDetector && followsFaces ? createDetector(detector.kind, detector.modelPath)
                                                                     : nullptr;
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
    priv->analyzer = std::make_unique<Analyzer>(std::move(faceDetector), detector.kind, std::move(classifier),
                                                std::move(backgroundDetector));
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
    self->priv->liveSourceAsked = false;
    if (settings.modelInstanceId.empty()) {
        std::lock_guard<std::mutex> lock(self->priv->loaderLock);
        self->priv->loader = std::make_unique<BackgroundModelLoader>();
    }
    return TRUE;
}

// Ends the model loader, after a load in progress (outside the lock: set_property must not wait).
static void stop_model_loader(GstFerEmotionPrivate *priv)
{
    std::unique_ptr<BackgroundModelLoader> loader;
    {
        std::lock_guard<std::mutex> lock(priv->loaderLock);
        loader = std::move(priv->loader);
    }
}

// model set while started with a model of its own: loaded in the background, swapped in later.
static void request_model(GstFerEmotion *self)
{
    const Settings settings = snapshot_settings(self);
    std::lock_guard<std::mutex> lock(self->priv->loaderLock);
    if (!self->priv->loader)
        return; // not started: the next start loads it
    std::string path;
    try {
        path = resolveModelPath(settings);
    } catch (const std::exception &e) {
        GST_ELEMENT_WARNING(self, RESOURCE, NOT_FOUND, ("Could not load the emotion model: %s", e.what()),
                            ("keeping model '%s'", self->priv->loaded.modelPath.c_str()));
        return;
    }
    GST_INFO_OBJECT(self, "loading model '%s' in the background", path.c_str());
    self->priv->loader->request(path, [self, settings](const std::string &file) {
        return ownModel(load_classifier(self, settings, file));
    });
}

// Between two frames: a model loaded in the background takes over from this frame on, announced
// by a "feremotion-model" element message; one that failed to load leaves the old one, with a warning.
static void swap_in_loaded_model(GstFerEmotion *self, GstBuffer *buffer)
{
    GstFerEmotionPrivate *priv = self->priv;
    std::optional<BackgroundModelLoader::Result> result;
    {
        std::lock_guard<std::mutex> lock(priv->loaderLock);
        if (priv->loader)
            result = priv->loader->takeResult();
    }
    if (!result)
        return;
    if (!result->model) {
        GST_ELEMENT_WARNING(self, RESOURCE, OPEN_READ,
                            ("Could not load the emotion model: %s", result->error.c_str()),
                            ("model '%s' was set while playing; keeping model '%s'", result->path.c_str(),
                             priv->loaded.modelPath.c_str()));
        return;
    }
    priv->analyzer->replaceClassifier(std::move(result->model));
    priv->loaded.modelPath = result->path;
    priv->loaded.modelMtime = modificationTime(result->path);
    priv->modelName = std::filesystem::path(result->path).stem().string();
    GST_INFO_OBJECT(self, "model '%s' in use from the frame at %" GST_TIME_FORMAT, result->path.c_str(),
                    GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
    GstClockTime streamTime, runningTime;
    frame_times(GST_BASE_TRANSFORM(self), buffer, streamTime, runningTime);
    GstStructure *s = gst_structure_new("feremotion-model", "model", G_TYPE_STRING, result->path.c_str(), "model-name",
                                        G_TYPE_STRING, priv->modelName.c_str(), "timestamp", G_TYPE_UINT64,
                                        GST_BUFFER_PTS(buffer), "stream-time", G_TYPE_UINT64, streamTime,
                                        "running-time", G_TYPE_UINT64, runningTime, nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static gboolean gst_fer_emotion_stop(GstBaseTransform *trans)
{
    // Other streams sharing the model must not wait for this one any more, and a stopped element
    // must not keep the instance alive: the group may restart with another model.
    release_shared_model(GST_FER_EMOTION(trans)->priv);
    stop_model_loader(GST_FER_EMOTION(trans)->priv);
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

// For background-detection=auto: a live upstream (a camera) gets full-frame detection on a worker thread.
static void ask_whether_live(GstFerEmotion *self)
{
    GstQuery *query = gst_query_new_latency();
    gboolean live = FALSE;
    if (gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(self), query))
        gst_query_parse_latency(query, &live, nullptr, nullptr);
    gst_query_unref(query);
    self->priv->liveSourceAsked = true;
    if (live != self->priv->liveSource.exchange(live))
        GST_INFO_OBJECT(self, "upstream is %slive", live ? "" : "not ");
}

// One frame's duration at the negotiated frame rate (0 without one).
static GstClockTime frame_duration(GstBaseTransform *trans)
{
    GstCaps *caps = gst_pad_get_current_caps(GST_BASE_TRANSFORM_SINK_PAD(trans));
    gint numerator = 0, denominator = 1;
    if (caps)
        gst_structure_get_fraction(gst_caps_get_structure(caps, 0), "framerate", &numerator, &denominator);
    if (caps)
        gst_caps_unref(caps);
    return numerator > 0 ? gst_util_uint64_scale_int(GST_SECOND, denominator, numerator) : 0;
}

// With a shared model a frame may wait up to batch-timeout for other streams' faces; with background
// detection a frame takes up to its frame time (the promise a live pipeline can plan with).
static gboolean gst_fer_emotion_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
    if (!GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query))
        return FALSE;
    if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY || direction != GST_PAD_SRC)
        return TRUE;
    GstFerEmotion *self = GST_FER_EMOTION(trans);
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    self->priv->liveSource = live;
    GstClockTime wait = 0;
    {
        ObjectLocker lock(self);
        const Settings &s = self->priv->settings;
        if (!s.modelInstanceId.empty())
            wait = s.batchTimeoutMs * GST_MSECOND;
        const bool followsFaces = s.detector != DetectorKind::Roi && s.detector != DetectorKind::FullFrame;
        if (followsFaces && analyzerSettingsOf(s, live).backgroundDetection)
            wait += frame_duration(trans);
    }
    if (wait > 0) {
        GST_DEBUG_OBJECT(self, "adding %" GST_TIME_FORMAT " to the latency", GST_TIME_ARGS(wait));
        gst_query_set_latency(query, live, min + wait, GST_CLOCK_TIME_IS_VALID(max) ? max + wait : max);
    }
    return TRUE;
}

static void post_frame_message(GstFerEmotion *self, GstBuffer *buffer, const std::vector<TrackedFace> &faces,
                               const ModelInfo &info, const FrameView &view)
{
    const GstClockTime timestamp = GST_BUFFER_PTS(buffer);
    GstClockTime streamTime, runningTime;
    frame_times(GST_BASE_TRANSFORM(self), buffer, streamTime, runningTime);
    GValue list = G_VALUE_INIT;
    g_value_init(&list, GST_TYPE_LIST);
    for (const TrackedFace &f : faces) {
        GstStructure *face = faceMessageStructure(f, view, info);
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



static void process_frame(GstFerEmotion *self, GstVideoFrame *frame, const Settings &settings)
{
    GstFerEmotionPrivate *priv = self->priv;
    FrameInput input;
    input.view = frameViewOf(frame);
    input.stills = GST_VIDEO_INFO_FPS_N(&frame->info) == 0;
    std::vector<GstVideoRegionOfInterestMeta *> upstream;
    // The detector loaded at start, not the property: a detector set while playing waits for the next start.
    if (priv->analyzer->detectorKind() == DetectorKind::Roi)
        input.upstreamFaces = readUpstreamFaces(frame->buffer, upstream);
    const std::vector<TrackedFace> faces = priv->analyzer->analyze(input, analyzerSettingsOf(settings, priv->liveSource));
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
        }
        meta->id = face.id; // upstream's own, or the track's where upstream gave none
        writeFaceParams(meta, face, view, info, priv->modelName);
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
    if (!self->priv->liveSourceAsked)
        ask_whether_live(self);
    try {
        swap_in_loaded_model(self, frame->buffer);
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



static void gst_fer_emotion_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
    GstFerEmotion *self = GST_FER_EMOTION(object);
    bool shared;
    {
        ObjectLocker lock(self);
        const bool swappedWhilePlaying = id == PROP_MODEL && self->priv->settings.modelInstanceId.empty();
        if ((pspec->flags & GST_PARAM_MUTABLE_READY || (id == PROP_MODEL && !swappedWhilePlaying)) &&
            GST_STATE(self) > GST_STATE_READY)
            GST_WARNING_OBJECT(self, "'%s' set while %s: it takes effect at the next start (READY to PAUSED)",
                               pspec->name, gst_element_state_get_name(GST_STATE(self)));
        if (!setProperty(self->priv->settings, id, value))
            G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
        shared = !self->priv->settings.modelInstanceId.empty();
    }
    if (id == PROP_MODEL && !shared)
        request_model(self);
    // The wait for other streams is part of the latency the element reports.
    if (id == PROP_BATCH_TIMEOUT && shared)
        gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}







static void gst_fer_emotion_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    GstFerEmotion *self = GST_FER_EMOTION(object);
    ObjectLocker lock(self);
    if (!getProperty(self->priv->settings, id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
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
    installProperties(gobject_class);

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
}
