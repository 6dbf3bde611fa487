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

#include "gstferemotion-private.h"
#include "gstferemotion.h"

#include <chrono>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include <gst/video/gstvideometa.h>
#include <sys/resource.h>

#include "engine/vision/overlay.h"
#include "engine/vision/preprocess.h"
#include "engine/vision/shared_classifier.h"
#include "face-record.h"
#include "gstferemotion-utils.h"

GST_DEBUG_CATEGORY(gst_fer_emotion_debug);
#define GST_CAT_DEFAULT gst_fer_emotion_debug

using namespace feremotion;

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
    self->priv->liveLatency.reset();
    if (settings.modelInstanceId.empty()) {
        std::lock_guard<std::mutex> lock(self->priv->loaderLock);
        self->priv->loader = std::make_unique<BackgroundModelLoader>();
    }
    return TRUE;
}

static gboolean gst_fer_emotion_stop(GstBaseTransform *trans)
{
    return without_exceptions(GST_ELEMENT(trans), "stopping", FALSE, [&]() -> gboolean {
        // Other streams sharing the model must not wait for this one any more, and a stopped element
        // must not keep the instance alive: the group may restart with another model.
        release_shared_model(GST_FER_EMOTION(trans)->priv);
        stop_model_loader(GST_FER_EMOTION(trans)->priv);
        return TRUE;
    });
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
    return without_exceptions(GST_ELEMENT(trans), "handling an event", FALSE, [&]() -> gboolean {
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
    });
}

static GstStateChangeReturn gst_fer_emotion_change_state(GstElement *element, GstStateChange transition)
{
    return without_exceptions(element, "changing state", GST_STATE_CHANGE_FAILURE, [&]() -> GstStateChangeReturn {
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
    });
}

// For background-detection=auto: a live upstream (a camera) gets full-frame detection on a worker thread.
static void ask_whether_live(GstFerEmotion *self)
{
    GstQuery *query = gst_query_new_latency();
    gboolean live = FALSE;
    GstClockTime upstream = 0;
    if (gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(self), query))
        gst_query_parse_latency(query, &live, &upstream, nullptr);
    gst_query_unref(query);
    self->priv->upstreamLatency = upstream;
    self->priv->liveSourceAsked = true;
    if (live != self->priv->liveSource.exchange(live))
        GST_INFO_OBJECT(self, "upstream is %slive", live ? "" : "not ");
}

static std::chrono::nanoseconds nanoseconds(GstClockTime time)
{
    return std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(time));
}

// One frame's duration at a frame rate (0 without one).
static GstClockTime duration_at(gint numerator, gint denominator)
{
    return numerator > 0 ? gst_util_uint64_scale_int(GST_SECOND, denominator, numerator) : 0;
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
    return duration_at(numerator, denominator);
}

// With a shared model a frame may wait up to batch-timeout for other streams' faces; with background
// detection a frame takes up to 100 ms or two frame times (in whole frames), or what the element
// learnt its frames need (LiveLatency): the promise a live pipeline can plan with.
static gboolean gst_fer_emotion_query(GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
    return without_exceptions(GST_ELEMENT(trans), "answering a query", FALSE, [&]() -> gboolean {
        if (!GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query))
            return FALSE;
        if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY || direction != GST_PAD_SRC)
            return TRUE;
        GstFerEmotion *self = GST_FER_EMOTION(trans);
        gboolean live;
        GstClockTime min, max;
        gst_query_parse_latency(query, &live, &min, &max);
        self->priv->liveSource = live;
        self->priv->upstreamLatency = min;
        GstClockTime wait = 0;
        {
            ObjectLocker lock(self);
            const Settings &s = self->priv->settings;
            if (!s.modelInstanceId.empty())
                wait = s.batchTimeoutMs * GST_MSECOND;
            if (detectsInBackground(s, live))
                wait += static_cast<GstClockTime>(
                    self->priv->liveLatency.latency(nanoseconds(frame_duration(trans))).count());
        }
        if (wait > 0) {
            GST_DEBUG_OBJECT(self, "adding %" GST_TIME_FORMAT " to the latency", GST_TIME_ARGS(wait));
            gst_query_set_latency(query, live, min + wait, GST_CLOCK_TIME_IS_VALID(max) ? max + wait : max);
        }
        return TRUE;
    });
}

static void post_frame_message(GstFerEmotion *self, GstBuffer *buffer, const std::vector<TrackedFace> &faces,
                               const ModelInfo &info, const FrameView &view, bool carried)
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
                                        "duration", G_TYPE_UINT64, GST_BUFFER_DURATION(buffer), "carried",
                                        G_TYPE_BOOLEAN, carried, nullptr);
    gst_structure_take_value(s, "faces", &list);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// `carry`: pass the frame on with the last analysed frame's faces (a live stream catching up).
static void process_frame(GstFerEmotion *self, GstVideoFrame *frame, const Settings &settings, bool carry)
{
    GstFerEmotionPrivate *priv = self->priv;
    FrameInput input;
    input.view = frameViewOf(frame);
    input.stills = GST_VIDEO_INFO_FPS_N(&frame->info) == 0;
    std::vector<GstVideoRegionOfInterestMeta *> upstream;
    // The detector loaded at start, not the property: a detector set while playing waits for the next start.
    if (priv->analyzer->detectorKind() == DetectorKind::Roi)
        input.upstreamFaces = readUpstreamFaces(frame->buffer, upstream);
    const std::vector<TrackedFace> faces = carry ? priv->analyzer->carriedFaces()
                                                 : priv->analyzer->analyze(input, analyzerSettingsOf(settings, priv->liveSource));
    if (const auto &joined = priv->analyzer->lastJoinedDetection(); joined && !carry)
        GST_LOG_OBJECT(self, "a background detection of %lld frames ago joined with %zu faces; it took %.1f ms",
                       joined->framesAgo, joined->faces, std::chrono::duration<double, std::milli>(joined->took).count());
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
        post_frame_message(self, frame->buffer, faces, info, view, carry);
}

// The running time now, from the element's clock (none without a clock).
static GstClockTime running_time_now(GstElement *element)
{
    GstClock *clock = gst_element_get_clock(element);
    if (!clock)
        return GST_CLOCK_TIME_NONE;
    const GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(element);
    gst_object_unref(clock);
    return now;
}

// The streaming thread's CPU time and involuntary context switches so far: a frame that took much
// longer than its CPU time waited for a core (the debug log says which).
struct ThreadUsage {
    GstClockTime cpu = 0;
    long preempted = 0;
};

// Frame times are worth reading only at LOG level; reading the thread's usage costs a system call.
static bool logs_frame_times()
{
    return gst_debug_category_get_threshold(GST_CAT_DEFAULT) >= GST_LEVEL_LOG;
}

static ThreadUsage thread_usage()
{
#ifdef RUSAGE_THREAD
    struct rusage usage {};
    if (getrusage(RUSAGE_THREAD, &usage) != 0)
        return {};
    const auto microseconds = [](const timeval &t) { return static_cast<GstClockTime>(t.tv_sec) * 1000000 + t.tv_usec; };
    return {(microseconds(usage.ru_utime) + microseconds(usage.ru_stime)) * GST_USECOND, usage.ru_nivcsw};
#else
    return {}; // Linux's: elsewhere the log gives the frame's time alone
#endif
}

// Live with background detection: the time this frame took since `began`, which raises the latency
// the element reports when the frames need more (LiveLatency).
static void follow_live_latency(GstFerEmotion *self, GstVideoFrame *frame, GstClockTime began, const ThreadUsage &usageBefore)
{
    GstClockTime streamTime, runningTime;
    frame_times(GST_BASE_TRANSFORM(self), frame->buffer, streamTime, runningTime);
    const GstClockTime now = running_time_now(GST_ELEMENT(self));
    if (!GST_CLOCK_TIME_IS_VALID(runningTime) || !GST_CLOCK_TIME_IS_VALID(now) || now < began)
        return;
    GstFerEmotionPrivate *priv = self->priv;
    const GstClockTime duration = duration_at(GST_VIDEO_INFO_FPS_N(&frame->info), GST_VIDEO_INFO_FPS_D(&frame->info));
    if (logs_frame_times()) {
        const ThreadUsage usage = thread_usage();
        GST_LOG_OBJECT(self, "frame at %" GST_TIME_FORMAT " took %" GST_TIME_FORMAT " (%" GST_TIME_FORMAT
                             " on this thread's CPU, preempted %ld times)",
                       GST_TIME_ARGS(runningTime), GST_TIME_ARGS(now - began), GST_TIME_ARGS(usage.cpu - usageBefore.cpu),
                       usage.preempted - usageBefore.preempted);
    }
    const LiveLatency::Change change = priv->liveLatency.observe(
        nanoseconds(runningTime + priv->upstreamLatency), nanoseconds(now - began), nanoseconds(duration));
    if (change == LiveLatency::Change::None)
        return;
    const GstClockTime latency = static_cast<GstClockTime>(priv->liveLatency.latency(nanoseconds(duration)).count());
    if (change == LiveLatency::Change::Raised)
        GST_INFO_OBJECT(self, "a frame took %" GST_TIME_FORMAT ": the element now adds %" GST_TIME_FORMAT
                              " to the latency",
                        GST_TIME_ARGS(now - began), GST_TIME_ARGS(latency));
    else
        GST_ELEMENT_WARNING(self, STREAM, FAILED, ("Falling behind the live source: its frames take longer than it sends them"),
                            ("frames leave more than the maximum latency, %" GST_TIME_FORMAT ", after their time; a "
                             "higher detection-interval or reclassify-interval, a smaller picture or detector=yunet "
                             "make frames cheaper",
                             GST_TIME_ARGS(latency)));
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
}

// Live with background detection and catch-up: whether this frame starts more than a frame duration
// after its time, behind the frames before it.
static bool is_behind(GstFerEmotion *self, GstVideoFrame *frame)
{
    GstClockTime streamTime, runningTime;
    frame_times(GST_BASE_TRANSFORM(self), frame->buffer, streamTime, runningTime);
    const GstClockTime duration = duration_at(GST_VIDEO_INFO_FPS_N(&frame->info), GST_VIDEO_INFO_FPS_D(&frame->info));
    if (!GST_CLOCK_TIME_IS_VALID(runningTime) || duration == 0)
        return false;
    const std::chrono::nanoseconds behind = self->priv->liveLatency.behind(nanoseconds(runningTime + self->priv->upstreamLatency));
    if (behind <= nanoseconds(duration))
        return false;
    GST_LOG_OBJECT(self, "frame at %" GST_TIME_FORMAT " carried: it starts %" GST_TIME_FORMAT " after its time",
                   GST_TIME_ARGS(runningTime), GST_TIME_ARGS(static_cast<GstClockTime>(behind.count())));
    return true;
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
    const bool followsLatency = self->priv->liveSource && detectsInBackground(settings, true);
    const GstClockTime began = followsLatency ? running_time_now(GST_ELEMENT(self)) : GST_CLOCK_TIME_NONE;
    const ThreadUsage usageBefore = followsLatency && logs_frame_times() ? thread_usage() : ThreadUsage{};
    try {
        swap_in_loaded_model(self, frame->buffer);
        process_frame(self, frame, settings, GST_CLOCK_TIME_IS_VALID(began) && settings.catchUp && is_behind(self, frame));
        if (GST_CLOCK_TIME_IS_VALID(began))
            follow_live_latency(self, frame, began, usageBefore);
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
    without_exceptions(GST_ELEMENT(object), "setting a property", [&] {
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
    });
}

static void gst_fer_emotion_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    without_exceptions(GST_ELEMENT(object), "reading a property", [&] {
        GstFerEmotion *self = GST_FER_EMOTION(object);
        ObjectLocker lock(self);
        if (!getProperty(self->priv->settings, id, value))
            G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    });
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
