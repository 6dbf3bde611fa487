/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feremotion element's engine: loading the Analyzer the settings name, the model shared with
 * other elements, and a model set while playing, loaded in the background and swapped in. */
#include "gstferemotion-private.h"

#include <filesystem>

#include "engine/vision/classifier.h"
#include "engine/vision/shared_classifier.h"
#include "gstferemotion-utils.h"

#define GST_CAT_DEFAULT gst_fer_emotion_debug

namespace feremotion {

namespace {

// A model of the element's own, loaded as the settings say; also run on the model loader's thread.
std::unique_ptr<EmotionClassifier> load_classifier(GstFerEmotion *self, const Settings &settings,
                                                   const std::string &path)
{
    ClassifierOptions options;
    options.device = settings.device;
    options.precision = settings.precision;
    options.batchSize = static_cast<int>(settings.batchSize);
    options.threads = static_cast<int>(settings.threads);
    options.bareModelInfo = bareModelInfo(settings);
    options.trust = settings.trustModel ? ModelTrust::Trusted : ModelTrust::Checked;
    options.maxInputSide = static_cast<int>(settings.maxInputSide);
    options.forwardTimeoutMs = static_cast<int>(settings.forwardTimeoutMs);
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

// What detector=auto would take: detector-model, $FEREMOTION_YUNET_MODEL, the installed file.
DetectorChoice find_detector(const std::string &detectorModel)
{
    const char *fromEnvironment = g_getenv("FEREMOTION_YUNET_MODEL");
    return chooseAutoDetector(detectorModel, fromEnvironment ? fromEnvironment : "", FEREMOTION_INSTALLED_MODELS_DIR);
}

// The detector the settings name; for detector=auto the one found, said in the log (and as a
// warning when a YuNet file was named that cannot be used). detector=yunet without detector-model
// looks for its file as auto does.
DetectorChoice choose_detector(GstFerEmotion *self, const Settings &settings)
{
    DetectorChoice detector{settings.detector, settings.detectorModel, "", false};
    if (settings.detector == DetectorKind::YuNet && settings.detectorModel.empty()) {
        const DetectorChoice found = find_detector("");
        if (found.kind != DetectorKind::YuNet)
            throw std::runtime_error("detector=yunet found no YuNet ONNX file (" + yunetReleaseForThisOpenCV() +
                                     " for this OpenCV; set detector-model or FEREMOTION_YUNET_MODEL): " +
                                     found.reason);
        detector.modelPath = found.modelPath;
        GST_INFO_OBJECT(self, "detector=yunet: using %s: %s", found.modelPath.c_str(), found.reason.c_str());
    }
    if (settings.detector == DetectorKind::Auto) {
        detector = find_detector(settings.detectorModel);
        GST_INFO_OBJECT(self, "detector=auto: using %s%s%s: %s", toString(detector.kind).c_str(),
                        detector.modelPath.empty() ? "" : " with ", detector.modelPath.c_str(), detector.reason.c_str());
        if (detector.warn)
            GST_ELEMENT_WARNING(self, RESOURCE, NOT_FOUND,
                                ("detector=auto: using %s: %s", toString(detector.kind).c_str(), detector.reason.c_str()),
                                (nullptr));
    }
    return detector;
}

} // namespace

// The buffer's stream and running time (GST_CLOCK_TIME_NONE without a timestamp or time segment).
void frame_times(GstBaseTransform *trans, GstBuffer *buffer, GstClockTime &streamTime, GstClockTime &runningTime)
{
    const GstClockTime timestamp = GST_BUFFER_PTS(buffer);
    streamTime = runningTime = GST_CLOCK_TIME_NONE;
    if (GST_CLOCK_TIME_IS_VALID(timestamp) && trans->segment.format == GST_FORMAT_TIME) {
        streamTime = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, timestamp);
        runningTime = gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, timestamp);
    }
}

Settings snapshot_settings(GstFerEmotion *self)
{
    ObjectLocker lock(self);
    return self->priv->settings;
}



// Leaves the shared model's group (if in one) and lets go of it, with the analyzer that uses it.
// The last holder unloads the model (GPU memory, a while), which happens after the lock is released.
void release_shared_model(GstFerEmotionPrivate *priv)
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
void load_engine(GstFerEmotion *self, const Settings &settings)
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
    auto backgroundDetector = key.backgroundDetector && detectsFullFrames(detector.kind)
                                  ? createDetector(detector.kind, detector.modelPath)
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

// Ends the model loader, after a load in progress (outside the lock: set_property must not wait).
void stop_model_loader(GstFerEmotionPrivate *priv)
{
    std::unique_ptr<BackgroundModelLoader> loader;
    {
        std::lock_guard<std::mutex> lock(priv->loaderLock);
        loader = std::move(priv->loader);
    }
}

// model set while started with a model of its own: loaded in the background, swapped in later.
void request_model(GstFerEmotion *self)
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
void swap_in_loaded_model(GstFerEmotion *self, GstBuffer *buffer)
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

} // namespace feremotion
