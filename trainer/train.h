// SPDX-License-Identifier: LGPL-2.1-or-later
// The train subcommand: data, model, optimisation, checkpoints and the exported bundle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "architectures.h"
#include "augment.h"
#include "engine/model/model_info.h"

namespace feremotion::trainer {

// The choices of train's options, converted from their command-line names once, by the CLI;
// toString gives the name back (the recipe records names).
enum class Optimizer { Adam, Sgd };
enum class Scheduler { Cosine, Plateau, None };
enum class Balance { None, WeightedLoss, Oversample };
std::string toString(Optimizer optimizer);
std::string toString(Scheduler scheduler);
std::string toString(Balance balance);

struct TrainOptions {
    std::vector<std::string> data; // FER-2013 CSVs or one image folder
    std::vector<std::string> val;  // the same; empty: the --val-usage rows of --data
    std::string trainUsage = "Training";
    std::string valUsage = "PublicTest";
    bool skipBad = false;
    long long limit = 0;    // training rows kept (0 = all)
    long long valLimit = 0; // validation rows kept (0 = all)
    // Fraction of the training rows kept apart (drawn with --seed) to validate on instead of --val
    // or the --val-usage rows; 0 = off. Keeps the test split out of the choice of the best epoch.
    double holdout = 0;
    // Draws the holdout instead of --seed (0 = --seed): ensemble members, their teacher and its
    // students must share one holdout, or each one's holdout holds rows the others trained on.
    uint64_t holdoutSeed = 0;
    // Reported only: the best epoch's metrics on these rows (CSV rows of --test-usage, a compact
    // folder's --test-usage split, or an image folder), never used to choose anything.
    std::vector<std::string> test;
    std::string testUsage = "PublicTest";
    ColorMode color = ColorMode::Gray; // image folders may be trained in rgb
    int inputSize = 48;
    float faceMargin = 0.0f; // written to the bundle: how much context the element adds around a box

    ArchitectureOptions architecture;
    Optimizer optimizer = Optimizer::Adam; // sgd: Nesterov momentum 0.9
    double learningRate = 1e-3;
    double weightDecay = 1e-4;
    Scheduler scheduler = Scheduler::Cosine;
    // The learning rate rises linearly, step by step, over the first N epochs to the schedule's
    // (Goyal et al. 2017): large batches with a linearly scaled rate stall or diverge without it.
    int warmupEpochs = 0;
    int epochs = 30;
    int batchSize = 64;
    double labelSmoothing = 0.0;
    int patience = 0; // early stopping after this many epochs without a better validation accuracy; 0 = off
    AugmentOptions augment;
    Balance balance = Balance::None;

    // Knowledge distillation: a bundle (e.g. an ensemble) whose outputs the student learns too. The
    // loss is (1 - weight) x cross-entropy with the labels + weight x T^2 x KL(teacher_T || student_T),
    // both softened by the temperature T (Hinton et al. 2015).
    std::string teacher;
    // Or a soft-labels file (feremotion-trainer soft-labels): the teacher's outputs on each
    // unaugmented face, computed once, learnt without running the teacher.
    std::string softLabels;
    double distillWeight = 0.7;
    double distillTemperature = 2.0;

    std::string init; // TorchScript backbone for transfer learning
    bool freezeBackbone = false;

    int threads = 0; // 0 = all cores
    std::string device = "auto";
    // "bf16": the training forward passes run under CPU autocast to bfloat16 with channels-last
    // convolutions (oneDNN's AMX kernels want that layout); master weights stay float32.
    Precision precision = Precision::Float32;
    uint64_t seed = 1;
    // Seconds the whole run may take (0 = no limit): after the first epoch, --epochs is lowered to
    // what fits. The cosine schedule's first epoch does not depend on --epochs, so the run is the
    // one that --epochs set to the chosen count gives.
    double timeLimit = 0;
    std::string checkpointDir;
    bool resume = false;
    std::string out = "feremotion-model.pt";
    bool evaluateTta = false; // report the best epoch's validation metrics with flip averaging too
};

// Throw std::invalid_argument naming the option `what` and `path` when `path` cannot be written as a
// file (it is a folder; its folder is missing or read-only) or, for a picture, does not end in .png:
// checked before the work whose result it would hold.
void checkWritable(const std::string &path, const char *what);
void checkPngOutput(const std::string &path, const char *what);

// Trains and writes the bundle; returns the process exit status. Throws DataError/ModelError/
// std::invalid_argument on bad input (exit status 2 in main).
int runTrain(const TrainOptions &options);

// The bundle's "created" time: ISO 8601, UTC.
std::string utcNow();

} // namespace feremotion::trainer
