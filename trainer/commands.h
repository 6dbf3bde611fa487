// SPDX-License-Identifier: LGPL-2.1-or-later
// The subcommands besides train: their options and entry points, each defined in a file of its own
// (evaluate.cpp, predict.cpp, curves.cpp, info.cpp, export_weights.cpp, import_weights.cpp,
// ensemble.cpp, soft_labels_command.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model/model_info.h"

namespace feremotion::trainer {

// Whether the bundles and backbones that any subcommand loads are checked before their code runs
// (the default, code_checks.h) or trusted (--trust-model): one setting for the whole run.
ModelTrust modelTrust();
void setModelTrust(ModelTrust trust);

struct EvaluateOptions {
    std::string model;
    std::vector<std::string> data;
    std::string usage = "PublicTest"; // CSV rows to evaluate; empty: all
    long long limit = 0;              // the first N of those rows (0 = all)
    double holdout = 0;               // then only the rows train --holdout drew with holdoutSeed
    uint64_t holdoutSeed = 0;
    bool skipBad = false;
    bool tta = false;      // average with the horizontal mirror image
    bool ttaCrops = false; // also average four 2-pixel shifts
    Precision precision = Precision::Float32; // or bf16, as the element runs it
    std::string outJson;   // default: <model>-eval.json
    std::string confusionPng; // default: <model>-eval-confusion.png
    int threads = 0;
    int batchSize = 256;
};
int runEvaluate(const EvaluateOptions &options);

// The detectors predict finds faces in a still with (as the element's detector=haar and yunet).
enum class StillDetector { Haar, YuNet };
std::string toString(StillDetector detector);

struct PredictOptions {
    std::string model;
    std::vector<std::string> images;
    bool noDetect = false; // the images are face crops
    StillDetector detector = StillDetector::Haar;
    std::string detectorModel;
    float threshold = -1; // below 0: the detector's default (defaultThreshold in detector.h)
    int minFaceSize = 24;
    bool json = false;
    int threads = 1;
};
int runPredict(const PredictOptions &options);

// Learning curves drawn again from a training run's <out>-metrics.json, e.g. for a run on a
// machine whose trainer was built without OpenCV.
struct CurvesOptions {
    std::string metrics;
    std::string out;
};
int runCurves(const CurvesOptions &options);

struct InfoOptions {
    std::string model;
};
int runInfo(const InfoOptions &options);

// A bundle's tensors and feremotion.json in a file any LibTorch reads (one JSON header line, then
// the tensors' raw little-endian bytes): a bundle traced by another LibTorch version (a GPU
// machine's PyTorch) is rebuilt by this one with import-weights.
struct ExportWeightsOptions {
    std::string model;
    std::string out;
};
int runExportWeights(const ExportWeightsOptions &options);

// Rebuilds the network the weights' recipe names, loads the weights and writes the bundle.
struct ImportWeightsOptions {
    std::string weights;
    std::string out;
};
int runImportWeights(const ImportWeightsOptions &options);

// One bundle from several: its forward averages the members' log-probabilities (and, with
// `flip`, those of each face's mirror image), so the element runs the whole ensemble as one model.
struct EnsembleOptions {
    std::vector<std::string> models;
    bool flip = false;
    std::vector<std::string> test; // rows to report the ensemble's metrics on, as train's --test
    std::string testUsage = "PublicTest";
    bool skipBad = false;
    std::string out;
    int threads = 0;
};
int runEnsemble(const EnsembleOptions &options);

// A bundle's outputs on every face of some data, written for train --soft-labels.
struct SoftLabelsOptions {
    std::string model;
    std::vector<std::string> data;
    std::string usage = "Training";
    bool skipBad = false;
    long long limit = 0; // the first N rows only (0 = all), as train's --limit
    bool flip = false;   // average each face's outputs with its mirror image's
    std::string device = "auto";
    int threads = 0;
    std::string out;
};
int runSoftLabels(const SoftLabelsOptions &options);

} // namespace feremotion::trainer
