// SPDX-License-Identifier: LGPL-2.1-or-later
// The learning rate over a run (cosine, plateau or constant, with linear warm-up) and each epoch's
// order of training rows.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "checkpoints.h"
#include "dataset.h"
#include "train.h"

namespace feremotion::trainer {

// The scheduled rate of `epoch` (0-based).
double learningRateFor(const TrainOptions &o, const RunState &state, int epoch);
// The fraction of the scheduled rate that warm-up allows for step `step` (0-based) of `steps` in `epoch`.
double warmupFactor(const TrainOptions &o, int epoch, int64_t step, int64_t steps);
void setLearningRate(torch::optim::Optimizer &optimizer, double rate);
// --scheduler plateau: halves the rate after 3 epochs without a lower validation loss.
void updatePlateau(const TrainOptions &o, RunState &state, double validationLoss);
// The order of training rows for an epoch: a seeded shuffle, or a class-balanced draw with replacement.
std::vector<int64_t> epochOrder(const Dataset &train, const TrainOptions &o, int epoch);

} // namespace feremotion::trainer
