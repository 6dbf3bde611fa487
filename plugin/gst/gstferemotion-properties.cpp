/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feremotion element's properties: GObject specs with nick, blurb, range and default. */
#include "gstferemotion-settings.h"

namespace feremotion {

namespace {

#define GST_TYPE_FER_EMOTION_DETECTOR (gst_fer_emotion_detector_get_type())
GType gst_fer_emotion_detector_get_type()
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {static_cast<gint>(DetectorKind::Auto),
         "yunet when a YuNet file for this OpenCV is found (detector-model, $FEREMOTION_YUNET_MODEL, or installed "
         "by the yunet_model build option), else haar",
         "auto"},
        {static_cast<gint>(DetectorKind::Haar), "OpenCV Haar cascade (opencv-data's frontal face)", "haar"},
        {static_cast<gint>(DetectorKind::YuNet), "OpenCV YuNet (FaceDetectorYN); its file: detector-model, else found as for auto", "yunet"},
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
GType gst_fer_emotion_precision_get_type()
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
GType gst_fer_emotion_input_color_get_type()
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

#define GST_TYPE_FER_EMOTION_BACKGROUND_DETECTION (gst_fer_emotion_background_detection_get_type())
GType gst_fer_emotion_background_detection_get_type()
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {static_cast<gint>(BackgroundDetection::Auto), "On a worker thread when the source is live", "auto"},
        {static_cast<gint>(BackgroundDetection::On), "Always on a worker thread", "on"},
        {static_cast<gint>(BackgroundDetection::Off), "In the streaming thread, on the detection frames", "off"},
        {0, nullptr, nullptr},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type, g_enum_register_static("GstFerEmotionBackgroundDetection", values));
    return type;
}

void set_string(std::string &target, const GValue *value)
{
    const gchar *s = g_value_get_string(value);
    target = s ? s : "";
}

void set_string_value(GValue *value, const std::string &s)
{
    g_value_set_string(value, s.empty() ? nullptr : s.c_str());
}

// Static storage: the blurb is installed with G_PARAM_STATIC_STRINGS.
const std::string &labelsBlurb()
{
    static const std::string blurb = [] {
        std::string text = "Comma-separated class labels in output order, for a model without feremotion.json. "
                           "Default (null): FER-2013's ";
        for (const std::string &label : fer2013Labels())
            text += (&label == &fer2013Labels().front() ? "" : ",") + label;
        return text;
    }();
    return blurb;
}

} // namespace

void installProperties(GObjectClass *gobjectClass)
{
    const auto readyFlags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
    const auto playingFlags =
        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

    /**
     * GstFerEmotion:model:
     *
     * Path of the model bundle: a TorchScript archive (.pt) with feremotion.json.
     */
    g_object_class_install_property(
        gobjectClass, PROP_MODEL,
        g_param_spec_string("model", "Model bundle",
                            "Path of the emotion model bundle (TorchScript .pt with feremotion.json, or a bare "
                            "TorchScript file described by labels/input-* properties). Default (null): the file "
                            "$FEREMOTION_DEFAULT_MODEL names when it exists (meson devenv sets it), else the "
                            "installed default bundle " FEREMOTION_INSTALLED_MODEL ". Set while playing, the new "
                            "model loads in the background and takes over between two frames, announced by a "
                            "\"feremotion-model\" element message (model, model-name, timestamp, stream-time, "
                            "running-time of its first frame); one that fails to load leaves the old one running "
                            "and posts a warning. With model-instance-id it waits for the next start",
                            nullptr, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_DEVICE,
        g_param_spec_string("device", "Inference device",
                            "Where the classifier runs: auto (CUDA when LibTorch sees a GPU, else CPU), cpu, cuda, "
                            "or cuda:N",
                            kDefaultDevice, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_PRECISION,
        g_param_spec_enum("precision", "Inference precision",
                          "Number format of the classifier's forward pass. bf16 pays on CPUs with AMX (Intel Xeon "
                          "since Sapphire Rapids) for batches of 8 or more faces, e.g. many streams sharing a "
                          "model, and costs about 5% for single faces; CPUs without AMX emulate it slowly. "
                          "The element's debug log (GST_DEBUG=feremotion:4) says which one auto chose",
                          GST_TYPE_FER_EMOTION_PRECISION, static_cast<gint>(kDefaultPrecision), readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_BATCH_SIZE,
        g_param_spec_uint("batch-size", "Batch size",
                          "Most faces classified in one forward pass (faces, 1-1024); a frame's faces go through in "
                          "chunks of this size",
                          1, kMaxBatchSize, kDefaultBatchSize, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_DETECTOR,
        g_param_spec_enum("detector", "Face detector",
                          "How faces are found. auto: yunet when a YuNet ONNX file that this OpenCV runs is found "
                          "(detector-model if it names an .onnx file; else $FEREMOTION_YUNET_MODEL, a file or a folder "
                          "holding face_detection_yunet_2022mar.onnx below OpenCV 4.8, _2023mar from 4.8; else the one "
                          "the yunet_model build option installed in " FEREMOTION_INSTALLED_MODELS_DIR "), else haar; "
                          "the debug log (GST_DEBUG=feremotion:4) says which and why",
                          GST_TYPE_FER_EMOTION_DETECTOR, static_cast<gint>(kDefaultDetector), readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_DETECTOR_MODEL,
        g_param_spec_string("detector-model", "Detector model",
                            "Model file of the detector: the YuNet ONNX file for detector=yunet (required; "
                            "face_detection_yunet_2022mar.onnx on OpenCV below 4.8, _2023mar on 4.8 and newer), or "
                            "another Haar/LBP cascade XML for detector=haar (default: opencv-data's "
                            "haarcascade_frontalface_default.xml)",
                            nullptr, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_THRESHOLD,
        g_param_spec_float("threshold", "Detection threshold",
                           "Lowest face confidence kept (0-1), or -1 for the detector's default. yunet: its face "
                           "score (default 0.9 on OpenCV below 4.8 with the 2022mar release, 0.8 from 4.8 with "
                           "2023mar, which scores lower); haar: 1 - 1/(2n) for a face seen by n overlapping raw "
                           "detections; OpenCV's minNeighbors is ceil(0.5/(1-threshold)) and it keeps faces seen more "
                           "often (default 0.9: minNeighbors 5, OpenCV's usual value, so n >= 6); roi: the upstream "
                           "detection confidence (default 0.9)",
                           -1.0f, 1.0f, kDefaultThreshold, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_MIN_FACE_SIZE,
        g_param_spec_uint("min-face-size", "Minimum face size",
                          "Smallest face side detected, in frame pixels (haar, yunet)", 1, kMaxFaceSize,
                          kDefaultMinFaceSize, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_HAAR_VERIFICATION,
        g_param_spec_boolean("haar-verification", "Haar verification",
                             "detector=haar with its default cascade: keep only faces that a second cascade "
                             "(opencv-data's haarcascade_frontalface_alt2.xml) also finds in the box. Drops most false "
                             "hits on hands, clothes and furniture and a few faces (feremotion's docs/detection.md); "
                             "false: every face the cascade finds. A cascade given in detector-model is not verified",
                             kDefaultHaarVerification, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_DETECTION_MAX_SIZE,
        g_param_spec_uint("detection-max-size", "Detection image size",
                          "Frames whose longer side exceeds this many pixels are detected on a downscaled copy "
                          "(boxes are mapped back; pixels, 0-16384, 0 = always full size). Faster, but haar then "
                          "misses faces under 24 px of the copy: at the default and 1920x1080, faces under 72 px",
                          0, 16384, kDefaultDetectionMaxSide, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_OVERLAY,
        g_param_spec_boolean("overlay", "Draw overlay",
                             "Draw each face's box, emotion and confidence into the frame, the caption inside the "
                             "box (above it when the box is too narrow); when false the frame's pixels are left "
                             "untouched",
                             kDefaultOverlay, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_POST_MESSAGES,
        g_param_spec_boolean("post-messages", "Post messages",
                             "Post a \"feremotion\" element message per frame with timestamp, stream-time, "
                             "running-time, duration and the faces (box, id, label, confidence, probabilities)",
                             kDefaultPostMessages, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_THREADS,
        g_param_spec_uint("threads", "Inference threads",
                          "CPU threads for the classifier's forward pass (0 = all cores); 1 avoids OpenMP stalls on "
                          "small shared machines",
                          0, kMaxThreads, kDefaultThreads, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_LABELS,
        g_param_spec_string("labels", "Labels (bare TorchScript)", labelsBlurb().c_str(), nullptr, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_INPUT_WIDTH,
        g_param_spec_uint("input-width", "Input width (bare TorchScript)",
                          "Face crop width in pixels fed to a model without feremotion.json", 1, kMaxInputSize,
                          kDefaultInputSize, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_INPUT_HEIGHT,
        g_param_spec_uint("input-height", "Input height (bare TorchScript)",
                          "Face crop height in pixels fed to a model without feremotion.json", 1, kMaxInputSize,
                          kDefaultInputSize, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_INPUT_COLOR,
        g_param_spec_enum("input-color", "Input colour (bare TorchScript)",
                          "Channels fed to a model without feremotion.json", GST_TYPE_FER_EMOTION_INPUT_COLOR,
                          static_cast<gint>(kDefaultInputColor), readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_INPUT_MEAN,
        g_param_spec_string("input-mean", "Input mean (bare TorchScript)",
                            "Mean subtracted from pixels scaled to [0,1]: one value or one per channel, "
                            "comma-separated",
                            kDefaultInputMean, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_INPUT_STD,
        g_param_spec_string("input-std", "Input std (bare TorchScript)",
                            "Divisor applied after the mean: one value or one per channel, comma-separated",
                            kDefaultInputStd, readyFlags));

    g_object_class_install_property(
        gobjectClass, PROP_DETECTION_INTERVAL,
        g_param_spec_uint("detection-interval", "Detection interval",
                          "Run the full-frame face detector on every Nth frame (frames, 0-100000; 0 = the detector's "
                          "own: 4 for haar, 2 for yunet, 1 for full-frame, twice as far apart while the scene is "
                          "still: after two detections that found exactly the faces followed). In between, faces "
                          "are followed with optical flow and new faces are confirmed in windows around them; "
                          "faces that appear in between wait for the next detection, except after a scene cut, "
                          "which is detected at once and counted from (detector=roi: boxes come from upstream on "
                          "every frame)",
                          0, kMaxInterval, kDetectorsDefaultInterval, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_WINDOW_DETECTION,
        g_param_spec_boolean("window-detection", "Window detection",
                             "With detection-interval above 1: on the frames between full-frame detections, look "
                             "for each reported face again in a window around its followed box (twice its side), at "
                             "its own scale only; a face found there takes the detector's box, one not found keeps "
                             "the optical flow's. New faces still wait for the next full-frame detection",
                             kDefaultWindowDetection, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_BACKGROUND_DETECTION,
        g_param_spec_enum("background-detection", "Background detection",
                          "Where full-frame detection (haar, yunet) runs. On a worker thread (on one core) no "
                          "frame waits for it: a detection starts when the last one has finished and "
                          "detection-interval frames have passed, faces are followed by optical flow meanwhile, and "
                          "its faces join on the frame it finishes; the worker runs at a lower priority than the "
                          "streaming threads. The element then adds 100 ms or two frame durations, in whole frames, "
                          "to the latency it reports, or more once its frames are seen to leave later (LATENCY message). "
                          "auto: on a worker thread when upstream is live (a camera, an RTSP stream), else in the "
                          "streaming thread on every detection-interval-th frame, which gives the same faces on "
                          "every run",
                          GST_TYPE_FER_EMOTION_BACKGROUND_DETECTION, static_cast<gint>(kDefaultBackgroundDetection),
                          readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_CATCH_UP,
        g_param_spec_boolean("catch-up", "Catch up",
                             "With detection on a worker thread (a live source): a frame that starts more than one "
                             "frame duration after its time, behind the frames before it (the machine stalled), is "
                             "passed on unanalysed with the faces of the last analysed frame, flagged \"carried\" "
                             "(boxes not moved), so the stream is back on time within the latency reported instead "
                             "of raising it. false: every frame is analysed, and a stall raises the latency",
                             kDefaultCatchUp, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_INFERENCE_INTERVAL,
        g_param_spec_uint("inference-interval", "Inference interval",
                          "Classify faces on every Nth frame only (frames, 1-100000); other frames reuse each "
                          "track's last result (emotion \"reused\" = true). A new face is classified on the frame "
                          "it is first reported",
                          1, kMaxInterval, 1, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_RECLASSIFY_INTERVAL,
        g_param_spec_uint("reclassify-interval", "Reclassify interval",
                          "Classify a tracked face again once its last result is this many frames old "
                          "(frames, 0-100000; 0 = classify each track once; 1 = every frame); checked on inference "
                          "frames. With background detection, faces due together are spread over the interval's "
                          "frames. Results in between are reused (emotion \"reused\" = true) and smoothing counts "
                          "the frames they stood for",
                          0, kMaxInterval, kDefaultReclassifyInterval, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_SMOOTHING,
        g_param_spec_float("smoothing", "Temporal smoothing",
                           "Per-track exponential smoothing of the emotion probabilities: weight of the previous "
                           "value against a classification of the next frame, per frame (0-0.99; 0 = off; a "
                           "classification k frames later weighs it by smoothing^k). label/confidence/probabilities "
                           "are smoothed, raw_* hold the classifier's last output. The default 0.8 leaves about a "
                           "quarter of the label flips of 0 and follows a lasting change of expression within 3 "
                           "frames (detector=roi with upstream ids of its own: not applied)",
                           0.0f, kMaxSmoothing, kDefaultSmoothing, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_TRACK_CONFIRMATION,
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
        gobjectClass, PROP_MODEL_INSTANCE_ID,
        g_param_spec_string("model-instance-id", "Model instance id",
                            "Elements of one process with the same id share one loaded model (they must name the "
                            "same model file, device, precision, labels and input-* values) and classify faces "
                            "that arrive together in one forward pass. Default (null): a model of its own",
                            nullptr, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_BATCH_TIMEOUT,
        g_param_spec_uint("batch-timeout", "Batch timeout",
                          "With model-instance-id: longest wait for other streams' faces before the forward pass "
                          "(milliseconds, 0-10000); the wait ends early when every other active stream has "
                          "submitted faces or passed a frame without any, or batch-size faces are queued. A "
                          "stream that let the wait run out is not waited for until it submits again. Added to "
                          "the latency the element reports. Elements in one streaming thread (one after the other) "
                          "do not wait for each other",
                          0, kMaxBatchTimeoutMs, kDefaultBatchTimeoutMs, playingFlags));
    g_object_class_install_property(
        gobjectClass, PROP_TRUST_MODEL,
        g_param_spec_boolean("trust-model", "Trust the model's code",
                             "Run the model bundle's TorchScript code without checking it first. By default a "
                             "bundle whose code would run while it is loaded (__setstate__), or that calls an "
                             "operator a classifier does not need (files, processes, network: e.g. "
                             "aten::from_file, aten::save), is refused before any of its code runs. Set it only "
                             "for a file you trust as you would a program",
                             kDefaultTrustModel, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_MAX_INPUT_SIZE,
        g_param_spec_uint("max-input-size", "Largest model input",
                          "A model bundle asking for faces wider or taller than this is refused (pixels, "
                          "8-4096): a batch of large inputs can take gigabytes",
                          kMinInputSide, kMaxInputSize, kDefaultMaxInputSide, readyFlags));
    g_object_class_install_property(
        gobjectClass, PROP_FORWARD_TIMEOUT,
        g_param_spec_uint("forward-timeout", "Forward pass time limit",
                          "Longest a forward pass of the model may run, at load or on a frame (milliseconds, "
                          "0-3600000, 0 = no limit). A pass that runs longer stops the stream with an error "
                          "naming the model; the pass is left running on a thread of its own until it ends or "
                          "the process does",
                          0, kMaxForwardTimeoutMs, kDefaultForwardTimeoutMs, readyFlags));

    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_DETECTOR, static_cast<GstPluginAPIFlags>(0));
    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_INPUT_COLOR, static_cast<GstPluginAPIFlags>(0));
    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_PRECISION, static_cast<GstPluginAPIFlags>(0));
    gst_type_mark_as_plugin_api(GST_TYPE_FER_EMOTION_BACKGROUND_DETECTION, static_cast<GstPluginAPIFlags>(0));
}

bool setProperty(Settings &s, guint id, const GValue *value)
{
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
    case PROP_BACKGROUND_DETECTION: s.backgroundDetection = static_cast<BackgroundDetection>(g_value_get_enum(value)); break;
    case PROP_CATCH_UP: s.catchUp = g_value_get_boolean(value); break;
    case PROP_INFERENCE_INTERVAL: s.inferenceInterval = g_value_get_uint(value); break;
    case PROP_RECLASSIFY_INTERVAL: s.reclassifyInterval = g_value_get_uint(value); break;
    case PROP_SMOOTHING: s.smoothing = g_value_get_float(value); break;
    case PROP_TRACK_CONFIRMATION: s.trackConfirmation = g_value_get_uint(value); break;
    case PROP_MODEL_INSTANCE_ID: set_string(s.modelInstanceId, value); break;
    case PROP_BATCH_TIMEOUT: s.batchTimeoutMs = g_value_get_uint(value); break;
    case PROP_TRUST_MODEL: s.trustModel = g_value_get_boolean(value); break;
    case PROP_MAX_INPUT_SIZE: s.maxInputSide = g_value_get_uint(value); break;
    case PROP_FORWARD_TIMEOUT: s.forwardTimeoutMs = g_value_get_uint(value); break;
    default: return false;
    }
    return true;
}

bool getProperty(const Settings &s, guint id, GValue *value)
{
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
    case PROP_BACKGROUND_DETECTION: g_value_set_enum(value, static_cast<gint>(s.backgroundDetection)); break;
    case PROP_CATCH_UP: g_value_set_boolean(value, s.catchUp); break;
    case PROP_INFERENCE_INTERVAL: g_value_set_uint(value, s.inferenceInterval); break;
    case PROP_RECLASSIFY_INTERVAL: g_value_set_uint(value, s.reclassifyInterval); break;
    case PROP_SMOOTHING: g_value_set_float(value, s.smoothing); break;
    case PROP_TRACK_CONFIRMATION: g_value_set_uint(value, s.trackConfirmation); break;
    case PROP_MODEL_INSTANCE_ID: set_string_value(value, s.modelInstanceId); break;
    case PROP_BATCH_TIMEOUT: g_value_set_uint(value, s.batchTimeoutMs); break;
    case PROP_TRUST_MODEL: g_value_set_boolean(value, s.trustModel); break;
    case PROP_MAX_INPUT_SIZE: g_value_set_uint(value, s.maxInputSide); break;
    case PROP_FORWARD_TIMEOUT: g_value_set_uint(value, s.forwardTimeoutMs); break;
    default: return false;
    }
    return true;
}

} // namespace feremotion
