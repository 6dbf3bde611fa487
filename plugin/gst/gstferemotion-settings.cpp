/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feremotion element's settings and what the engine is loaded and run with from them. */
#include "gstferemotion-settings.h"

#include <cstdio>
#include <ctime>
#include <sys/stat.h>

namespace feremotion {

namespace {

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

} // namespace

std::string resolveModelPath(const Settings &settings)
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

long long modificationTime(const std::string &path)
{
    struct stat info {};
    if (stat(path.c_str(), &info) != 0)
        return 0;
    return static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
}

ModelInfo bareModelInfo(const Settings &settings)
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

std::string LoadKey::describeModel() const
{
    std::string text = "model '" + modelPath + "' (modified " + utcTimeOf(modelMtime) + ") on device '" + device +
                       "' in " + toString(precision);
    if (!labels.empty())
        text += " with labels '" + labels + "'";
    return text + " (input " + std::to_string(inputWidth) + "x" + std::to_string(inputHeight) + " " +
           toString(inputColor) + ", mean " + inputMean + ", std " + inputStd + "; trust-model " +
           (trustModel ? "true" : "false") + ", max-input-size " + std::to_string(maxInputSide) +
           ", forward-timeout " + std::to_string(forwardTimeoutMs) + ")";
}

LoadKey loadKeyOf(const Settings &settings, const std::string &modelPath)
{
    LoadKey key;
    key.modelPath = modelPath;
    key.modelMtime = modificationTime(modelPath);
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
    key.backgroundDetector = settings.backgroundDetection != BackgroundDetection::Off;
    key.trustModel = settings.trustModel;
    key.maxInputSide = settings.maxInputSide;
    key.forwardTimeoutMs = settings.forwardTimeoutMs;
    return key;
}

bool detectsInBackground(const Settings &settings, bool liveSource)
{
    return detectsFullFrames(settings.detector) &&
           (settings.backgroundDetection == BackgroundDetection::On ||
            (settings.backgroundDetection == BackgroundDetection::Auto && liveSource));
}

AnalyzerSettings analyzerSettingsOf(const Settings &settings, bool liveSource)
{
    AnalyzerSettings analysis;
    analysis.detection.threshold = settings.threshold;
    analysis.detection.minFaceSize = static_cast<int>(settings.minFaceSize);
    analysis.detection.maxDetectionSide = static_cast<int>(settings.detectionMaxSide);
    analysis.detection.verifyHaarFaces = settings.haarVerification;
    analysis.tracking.detectionInterval = static_cast<int>(settings.detectionInterval);
    analysis.windowDetection = settings.windowDetection;
    analysis.backgroundDetection = detectsInBackground(settings, liveSource);
    analysis.tracking.inferenceInterval = static_cast<int>(settings.inferenceInterval);
    analysis.tracking.reclassifyInterval = static_cast<int>(settings.reclassifyInterval);
    analysis.tracking.smoothing = settings.smoothing;
    analysis.tracking.confirmDetections = static_cast<int>(settings.trackConfirmation);
    analysis.classification.batchSize = static_cast<int>(settings.batchSize);
    analysis.classification.threads = static_cast<int>(settings.threads);
    analysis.classification.batchTimeout = std::chrono::milliseconds(settings.batchTimeoutMs);
    return analysis;
}

} // namespace feremotion
