// SPDX-License-Identifier: LGPL-2.1-or-later
// Batched emotion classification with a TorchScript model bundle (LibTorch stays inside the .cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "engine/model/model_info.h"
#include "engine/vision/frame.h"
#include "engine/vision/types.h"

namespace feremotion {

struct ClassifierOptions {
    std::string device = "auto"; // auto, cpu, cuda, cuda:N
    int batchSize = 8;            // most faces in one forward pass
    int threads = 1;              // CPU inference threads; 0 = all cores
    bool optimize = true;         // on the CPU: freeze the model and fuse its layers (see optimized())
    Precision precision = Precision::Auto; // see resolvePrecision
    // Checked: the bundle's code is checked before it runs (code_checks.h); Trusted: run as it is.
    ModelTrust trust = ModelTrust::Checked;
    int maxInputSide = kDefaultMaxInputSide;         // a bundle asking for a larger width or height is refused
    int forwardTimeoutMs = kDefaultForwardTimeoutMs; // a forward pass running longer is an error (0 = no limit)
    // Used only for a bare TorchScript file without feremotion.json.
    ModelInfo bareModelInfo = defaultBareModelInfo();

    static ModelInfo defaultBareModelInfo();
};

// Seconds spent per stage since the last reset; the benchmark reports them.
struct ClassifierStats {
    double cropSeconds = 0;    // crop + colour conversion + resize (classifyFaces only)
    double prepareSeconds = 0; // normalisation and copy into the input tensor
    double forwardSeconds = 0;
    double finishSeconds = 0; // softmax and copy out
    long long faces = 0;
    long long forwardPasses = 0;
};

// One forward pass, as a ForwardObserver hears of it.
struct ForwardPass {
    int faces = 0;
    int streams = 1; // whose faces it held (several with a shared model)
    double milliseconds = 0;
};
using ForwardObserver = std::function<void(const ForwardPass &)>;

class EmotionClassifier {
public:
    // Loads and validates the bundle: every failure throws ModelError naming the file and cause.
    // A forward pass (at load or later) that runs past options.forwardTimeoutMs throws ModelError and
    // is left running on a thread of its own; the classifier refuses every later pass.
    EmotionClassifier(const std::string &modelPath, const ClassifierOptions &options);
    ~EmotionClassifier();
    EmotionClassifier(const EmotionClassifier &) = delete;
    EmotionClassifier &operator=(const EmotionClassifier &) = delete;

    const ModelInfo &info() const;
    const std::string &modelPath() const;
    // False for a bare TorchScript file, whose labels and input came from the options.
    bool hasBundleMetadata() const;
    // "cpu" or "cuda:N": where the model runs.
    std::string deviceName() const;
    // True when the model runs frozen and fused for inference (batch norm folded into the convolutions,
    // oneDNN kernels): the CPU default. A model that cannot be frozen runs as loaded.
    bool optimized() const;
    // The precision it runs in: Float32 or BFloat16, never Auto.
    Precision precision() const;

    void setBatchSize(int batchSize);
    void setThreads(int threads);

    // Called after every forward pass, in the thread that ran it (the element logs them).
    void setForwardObserver(ForwardObserver observer);

    // Crops already at the input size and colour (see extractCrop); one result per crop. `streams`:
    // how many streams the crops came from, for the observer.
    std::vector<Emotion> classify(const std::vector<cv::Mat> &crops, int streams = 1);
    // cropFaces with this model's input (timed in stats), then classify.
    std::vector<Emotion> classifyFaces(const FrameView &frame, const std::vector<Detection> &faces);

    const ClassifierStats &stats() const;
    void resetStats();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace feremotion
