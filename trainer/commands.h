// SPDX-License-Identifier: LGPL-2.1-or-later
// The evaluate, predict and info subcommands.
#pragma once

#include <string>
#include <vector>

namespace feremotion::trainer {

struct EvaluateOptions {
    std::string model;
    std::vector<std::string> data;
    std::string usage = "PublicTest"; // CSV rows to evaluate; empty: all
    bool skipBad = false;
    bool tta = false;      // average with the horizontal mirror image
    bool ttaCrops = false; // also average four 2-pixel shifts
    std::string outJson;   // default: <model>-eval.json
    std::string confusionPng; // default: <model>-eval-confusion.png
    int threads = 0;
    int batchSize = 256;
};
int runEvaluate(const EvaluateOptions &options);

struct PredictOptions {
    std::string model;
    std::vector<std::string> images;
    bool noDetect = false; // the images are face crops
    std::string detector = "haar";
    std::string detectorModel;
    float threshold = 0.9f;
    int minFaceSize = 24;
    bool json = false;
    int threads = 1;
};
int runPredict(const PredictOptions &options);

struct InfoOptions {
    std::string model;
};
int runInfo(const InfoOptions &options);

} // namespace feremotion::trainer
