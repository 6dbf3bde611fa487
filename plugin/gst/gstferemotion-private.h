/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the feremotion element's source files share: its private state and the engine functions. */
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <gst/video/gstvideofilter.h>

#include "engine/vision/analyzer.h"
#include "engine/vision/live_latency.h"
#include "engine/vision/model_loader.h"
#include "gstferemotion-settings.h"
#include "gstferemotion.h"

GST_DEBUG_CATEGORY_EXTERN(gst_fer_emotion_debug);

namespace feremotion {
class SharedClassifier;
}

// C++ state; created in _init, deleted in _finalize. `settings` is guarded by the object lock;
// `shared` and `sharedStream` change under `sharedLock` (a seeking thread's FLUSH_START reads them
// while another thread may stop the element); the rest belongs to the streaming thread between
// start and stop.
struct GstFerEmotionPrivate {
    feremotion::Settings settings;
    // Detector, tracks and model, from start on. With a model of its own it stays loaded across
    // stop and start while the settings name the same files; with a model shared by
    // model-instance-id it goes at stop with this element's stream of the model.
    std::unique_ptr<feremotion::Analyzer> analyzer;
    std::shared_ptr<feremotion::SharedClassifier> shared; // set while started with a shared model
    int sharedStream = -1; // this element's stream in `shared`
    std::mutex sharedLock;
    feremotion::LoadKey loaded;
    std::string modelName;
    // With a model of its own, from start to stop: loads a model set while playing. Guarded by
    // loaderLock (set_property runs in the application's thread).
    std::unique_ptr<feremotion::BackgroundModelLoader> loader;
    std::mutex loaderLock;
    // Upstream answered the latency query as live (the streaming thread asks at the first frame).
    std::atomic<bool> liveSource{false};
    bool liveSourceAsked = false;
    // Live with background detection: the latency the element adds, learnt from its own time per
    // frame (streaming thread), read by the latency query; and upstream's own latency.
    feremotion::LiveLatency liveLatency;
    std::atomic<GstClockTime> upstreamLatency{0};
};

struct _GstFerEmotion {
    GstVideoFilter parent;
    GstFerEmotionPrivate *priv;
};

namespace feremotion {

// The buffer's stream and running time (GST_CLOCK_TIME_NONE without a timestamp or time segment).
void frame_times(GstBaseTransform *trans, GstBuffer *buffer, GstClockTime &streamTime, GstClockTime &runningTime);
Settings snapshot_settings(GstFerEmotion *self);
// Loads the model and detector the settings name, unless the loaded ones already match.
void load_engine(GstFerEmotion *self, const Settings &settings);
// Leaves the shared model's group (if in one) and lets go of it, with the analyzer that uses it.
void release_shared_model(GstFerEmotionPrivate *priv);
// A model set while started with a model of its own: loaded in the background, swapped in later.
void request_model(GstFerEmotion *self);
// Between two frames: swaps in a model loaded in the background, or warns that it failed.
void swap_in_loaded_model(GstFerEmotion *self, GstBuffer *buffer);
// Ends the model loader, after a load in progress.
void stop_model_loader(GstFerEmotionPrivate *priv);

} // namespace feremotion
