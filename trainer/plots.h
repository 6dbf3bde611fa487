// SPDX-License-Identifier: LGPL-2.1-or-later
// The trainer's pictures: learning curves, confusion matrix, a grid of sample predictions (PNG).
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "metrics.h"

namespace feremotion::trainer {

struct EpochRecord {
    int epoch = 0;
    double trainLoss = 0, trainAccuracy = 0;
    double valLoss = 0, valAccuracy = 0;
    double learningRate = 0;
    double seconds = 0;          // training and validation
    double imagesPerSecond = 0;  // training steps only
};

// Each returns false (and writes nothing) when the trainer was built without OpenCV, and throws
// std::runtime_error naming the file when it cannot be written.
bool writeLearningCurves(const std::vector<EpochRecord> &history, const std::string &path);
bool writeConfusionMatrix(const Metrics &metrics, const std::string &path);
// `images` uint8 N×C×H×W; `probabilities` N×K.
bool writeSampleGrid(const torch::Tensor &images, const torch::Tensor &labels, const torch::Tensor &probabilities,
                     const std::vector<std::string> &labelNames, const std::string &path);

} // namespace feremotion::trainer
