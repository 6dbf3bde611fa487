// SPDX-License-Identifier: LGPL-2.1-or-later
// The rows a training run learns from, chooses its best epoch on and reports on: CSVs, compact
// folders or image folders, with --holdout drawn from the training rows.
#pragma once

#include "dataset.h"
#include "engine/model/model_info.h"
#include "train.h"

namespace feremotion::trainer {

struct TrainingData {
    Dataset train;
    Dataset val;
    Dataset test; // reported only; empty without --test
};

// The network's input: --input-size and --color, normalised to [-1, 1].
InputSpec inputSpecFor(const TrainOptions &o);
// Everything is read before training starts, so a bad --test file fails at once, not hours later.
TrainingData loadTrainingData(const TrainOptions &o);

} // namespace feremotion::trainer
