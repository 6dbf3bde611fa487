// SPDX-License-Identifier: LGPL-2.1-or-later
// What a training run keeps between epochs: its state, the best epoch's tensors, and checkpoints
// that resume to identical weights, refused when the options (the recipe) differ.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "architectures.h"
#include "plots.h"
#include "train.h"

namespace feremotion::trainer {

// Everything a resumed run needs besides the tensors.
struct RunState {
    int nextEpoch = 0;
    double bestAccuracy = -1;
    int bestEpoch = 0;
    int epochsWithoutImprovement = 0;
    double plateauBestLoss = 1e30;
    int plateauBadEpochs = 0;
    double plateauLearningRate = 0;
    std::vector<EpochRecord> history;
    nlohmann::json bestMetrics;
};

nlohmann::json toJson(const RunState &state);

// The options that must match for --resume to continue the same run.
nlohmann::json recipe(const TrainOptions &o);

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;
// A copy of the network's parameters and buffers (the best epoch's, kept while training goes on).
NamedTensors snapshot(EmotionNet &net);
void restore(EmotionNet &net, const NamedTensors &tensors);

// <--checkpoint-dir>/checkpoint.pt
std::string checkpointPath(const TrainOptions &o);
void saveCheckpoint(const TrainOptions &o, EmotionNet &net, torch::optim::Optimizer &optimizer, const RunState &state,
                    const NamedTensors &best);
// Throws std::invalid_argument when the checkpoint cannot be read or its recipe differs from o's.
RunState loadCheckpoint(const TrainOptions &o, EmotionNet &net, torch::optim::Optimizer &optimizer, NamedTensors &best);
// The epoch count a checkpointed run chose (--time-limit), or `otherwise`.
int checkpointedEpochs(const TrainOptions &o, int otherwise);

} // namespace feremotion::trainer
