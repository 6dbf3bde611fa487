// SPDX-License-Identifier: LGPL-2.1-or-later
// A teacher's outputs for every face of a dataset, kept in a file, so that a student can learn them
// later and elsewhere (offline distillation): a GPU machine runs the large teacher once, the CPU
// trains the student for as long as it takes. Faces are found by their pixels, not their position,
// so a student may use any split, limit or holdout of the same rows.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "dataset.h"

namespace feremotion::trainer {

// 64-bit FNV-1a of one face's pixels (uint8 C×H×W).
uint64_t faceFingerprint(const torch::Tensor &image);

struct SoftLabels {
    std::vector<std::string> labels;
    std::string teacher;     // the bundle that wrote them
    std::string data;        // the rows' description
    bool flip = false;       // averaged with each face's mirror image
    std::vector<uint64_t> fingerprints;
    torch::Tensor logits;    // float32 N×K, row i for fingerprints[i]
};

// One JSON header line, then the fingerprints (uint64) and logits (float32), little-endian.
void writeSoftLabels(const SoftLabels &soft, const std::string &path);
SoftLabels readSoftLabels(const std::string &path);

// The logits (float32 N×K) for each face of `rows`, in its order; throws DataError naming `path`
// when a face has none or the labels differ.
torch::Tensor softLabelsFor(const Dataset &rows, const std::string &path);

} // namespace feremotion::trainer
