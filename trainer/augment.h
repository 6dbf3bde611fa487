// SPDX-License-Identifier: LGPL-2.1-or-later
// Batch preparation: uint8 faces to normalised float tensors, with optional augmentation.
#pragma once

#include <random>

#include <torch/torch.h>

#include "engine/model/model_info.h"

namespace feremotion::trainer {

struct AugmentOptions {
    bool enabled = true;
    int cropPadding = 4;      // random shift of up to this many pixels (random crop with padding)
    bool flip = true;         // horizontal flip with probability 0.5
    float rotation = 10.0f;   // degrees, uniform in ±rotation
    float scale = 0.1f;       // zoom factor uniform in 1 ± scale
    float brightness = 0.2f;  // added to [0,1] pixels, uniform in ±brightness
    float contrast = 0.2f;    // contrast factor uniform in 1 ± contrast
    float erasing = 0.25f;    // probability of erasing a random rectangle (2-20% of the face)
};

// Turns a uint8 N×C×H×W batch into the normalised float input the bundle describes. With
// augmentation, every random draw comes from `rng`, so a seed fixes the result.
torch::Tensor prepareBatch(const torch::Tensor &images, const InputSpec &input, const AugmentOptions &augment,
                           std::mt19937 &rng);

// Without augmentation.
torch::Tensor normalizeBatch(const torch::Tensor &images, const InputSpec &input);

} // namespace feremotion::trainer
