/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feremotion element's settings: its properties (names, ranges, defaults, blurbs for
 * gst-inspect), the values they hold, and what the engine is loaded and run with from them. */
#pragma once

#include <string>

#include <gst/gst.h>

#include "engine/model/model_info.h"
#include "engine/vision/analyzer.h"

namespace feremotion {

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
// A quarter of the label flips of no smoothing on our clips, a real change followed within 3 frames
// (bench/label_flips.py, docs/detection.md).
constexpr gfloat kDefaultSmoothing = 0.8f;
// A followed face is classified on every 4th frame: the classifier was a third of the element's time
// on a clip with four faces, and with smoothing per frame the labels agree with classifying every
// frame on 89-94% of face-frames and follow a real change within 5 frames (docs/detection.md).
constexpr guint kDefaultReclassifyInterval = 4;
constexpr guint kDefaultTrackConfirmation = kDetectorsDefaultConfirmation;
constexpr gboolean kDefaultHaarVerification = TRUE;
constexpr gboolean kDefaultWindowDetection = FALSE;
// Where full-frame detection runs: on a worker thread for live sources (auto), always, or never.
enum class BackgroundDetection { Auto, On, Off };
constexpr BackgroundDetection kDefaultBackgroundDetection = BackgroundDetection::Auto;
constexpr gboolean kDefaultCatchUp = TRUE;
constexpr guint kMaxTrackConfirmation = 100;
constexpr guint kDefaultBatchTimeoutMs = 5;
constexpr guint kMaxBatchTimeoutMs = 10000;
constexpr gboolean kDefaultTrustModel = FALSE;
constexpr guint kMinInputSide = 8;
constexpr guint kMaxForwardTimeoutMs = 3600000;

#ifndef FEREMOTION_INSTALLED_MODEL
#define FEREMOTION_INSTALLED_MODEL "/usr/share/feremotion/models/feremotion-default.pt"
#endif
#ifndef FEREMOTION_INSTALLED_MODELS_DIR
#define FEREMOTION_INSTALLED_MODELS_DIR "/usr/share/feremotion/models"
#endif

enum Property {
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
    PROP_BACKGROUND_DETECTION,
    PROP_CATCH_UP,
    PROP_INFERENCE_INTERVAL,
    PROP_RECLASSIFY_INTERVAL,
    PROP_SMOOTHING,
    PROP_TRACK_CONFIRMATION,
    PROP_MODEL_INSTANCE_ID,
    PROP_BATCH_TIMEOUT,
    PROP_TRUST_MODEL,
    PROP_MAX_INPUT_SIZE,
    PROP_FORWARD_TIMEOUT,
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
    BackgroundDetection backgroundDetection = kDefaultBackgroundDetection;
    gboolean catchUp = kDefaultCatchUp;
    guint inferenceInterval = 1;
    guint reclassifyInterval = kDefaultReclassifyInterval;
    gfloat smoothing = kDefaultSmoothing;
    guint trackConfirmation = kDefaultTrackConfirmation;
    std::string modelInstanceId; // empty: a model of its own
    guint batchTimeoutMs = kDefaultBatchTimeoutMs;
    gboolean trustModel = kDefaultTrustModel;
    guint maxInputSide = kDefaultMaxInputSide;
    guint forwardTimeoutMs = kDefaultForwardTimeoutMs;
};

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
    bool backgroundDetector = false; // a second detector for background detection
    bool trustModel = false;
    guint maxInputSide = 0, forwardTimeoutMs = 0;

    bool operator==(const LoadKey &o) const
    {
        return modelPath == o.modelPath && modelMtime == o.modelMtime && device == o.device &&
               precision == o.precision && labels == o.labels && inputMean == o.inputMean && inputStd == o.inputStd &&
               inputWidth == o.inputWidth && inputHeight == o.inputHeight && inputColor == o.inputColor &&
               detector == o.detector && detectorModel == o.detectorModel && modelInstanceId == o.modelInstanceId &&
               backgroundDetector == o.backgroundDetector && trustModel == o.trustModel &&
               maxInputSide == o.maxInputSide && forwardTimeoutMs == o.forwardTimeoutMs;
    }

    // What elements sharing a model must agree on, in words for the error when they do not.
    std::string describeModel() const;
};

// The bundle the settings name: the model property, else $FEREMOTION_DEFAULT_MODEL, else the
// installed default. Throws ModelError when there is none.
std::string resolveModelPath(const Settings &settings);
// Nanoseconds since the epoch of the file's last change (0 when it cannot be read).
long long modificationTime(const std::string &path);
// The settings' key for the model at `modelPath` (its modification time included).
LoadKey loadKeyOf(const Settings &settings, const std::string &modelPath);
// Labels and input description from the labels/input-* properties, for a bundle without feremotion.json.
ModelInfo bareModelInfo(const Settings &settings);
// Full-frame detection runs on a worker thread: background-detection=on, or auto with a live
// upstream (it answered the latency query as live), for a detector that searches whole frames.
bool detectsInBackground(const Settings &settings, bool liveSource);
AnalyzerSettings analyzerSettingsOf(const Settings &settings, bool liveSource);

// Installs every property on the element class, documented for gst-inspect.
void installProperties(GObjectClass *gobjectClass);
// The property `id` from/to the settings; false for an id that is not one of the element's.
bool setProperty(Settings &settings, guint id, const GValue *value);
bool getProperty(const Settings &settings, guint id, GValue *value);

} // namespace feremotion
