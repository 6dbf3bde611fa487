// SPDX-License-Identifier: LGPL-2.1-or-later
// Classification metrics: accuracy, macro-F1, per-class precision/recall/F1, confusion matrix.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "dataset.h"
#include "engine/model/model_info.h"

namespace feremotion::trainer {

struct Metrics {
    std::vector<std::string> labels;
    int64_t count = 0;
    double loss = 0;
    double accuracy = 0;
    double macroF1 = 0;
    std::vector<double> precision, recall, f1;
    std::vector<int64_t> support;
    std::vector<std::vector<int64_t>> confusion; // [true][predicted]

    nlohmann::json toJson() const;
    // The bundle's record of a split: accuracy, macro_f1, loss.
    nlohmann::json summaryJson() const;
};

// The key a bundle's metrics give the rows of `files`: their Usage (e.g. "PublicTest"), or "test"
// for an image folder or when no Usage picked them.
std::string testSplitName(const std::vector<std::string> &files, const std::string &usage);

// `logits` N×K, `labels` N.
Metrics computeMetrics(const torch::Tensor &logits, const torch::Tensor &labels,
                       const std::vector<std::string> &labelNames);

using ForwardFunction = std::function<torch::Tensor(const torch::Tensor &)>;

// `forward(x)` of a bundle, which is code, as float: its failure, outputs of another shape than
// batch x `labels`, or scores that are not finite end the run as a DataError naming `path` (exit 2).
torch::Tensor checkedForward(const ForwardFunction &forward, const torch::Tensor &x, const std::string &path,
                             int64_t labels);

// Logits for every face of `data` in eval mode; with `flipTta` the logits of each face and its
// mirror image are averaged.
torch::Tensor predictLogits(const ForwardFunction &forward, const Dataset &data, const InputSpec &input,
                            bool flipTta, int batchSize, const torch::Device &device);

} // namespace feremotion::trainer
