// SPDX-License-Identifier: LGPL-2.1-or-later
// An epoch's batches, augmented on a background thread ahead of the training steps.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "dataset.h"
#include "engine/model/model_info.h"
#include "train.h"

namespace feremotion::trainer {

struct Batch {
    torch::Tensor inputs;
    torch::Tensor labels;
    torch::Tensor softLabels; // the teacher's logits for these faces, with --soft-labels
};

// Prepares an epoch's batches on a background thread, at most `depth` ahead of training. For a
// GPU they are put in page-locked memory: copying from there does not make the CPU wait for the
// GPU to finish the previous step, so the next step's kernels are queued while it runs.
class BatchProducer {
public:
    BatchProducer(const Dataset &train, const torch::Tensor &softLabels, const std::vector<int64_t> &order,
                  const TrainOptions &o, const InputSpec &input, int epoch, bool pinned, size_t depth = 4)
        : worker_([this, &train, &softLabels, order, &o, input, epoch, pinned, depth] {
              produce(train, softLabels, order, o, input, epoch, pinned, depth);
          })
    {
    }
    ~BatchProducer();
    BatchProducer(const BatchProducer &) = delete;
    BatchProducer &operator=(const BatchProducer &) = delete;
    // The next batch in order; false when the epoch has none left.
    bool next(Batch &batch);

private:
    void produce(const Dataset &train, const torch::Tensor &softLabels, const std::vector<int64_t> &order,
                 const TrainOptions &o, const InputSpec &input, int epoch, bool pinned, size_t depth);

    std::mutex mutex_;
    std::condition_variable ready_, space_;
    std::queue<Batch> queue_;
    bool done_ = false;
    std::atomic<bool> stop_{false};
    std::thread worker_;
};

} // namespace feremotion::trainer
