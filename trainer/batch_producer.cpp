// SPDX-License-Identifier: LGPL-2.1-or-later
#include "batch_producer.h"

#include <algorithm>
#include <random>

#include <ATen/Parallel.h>

#include "augment.h"

namespace feremotion::trainer {

void BatchProducer::produce(const Dataset &train, const torch::Tensor &softLabels, const std::vector<int64_t> &order,
                            const TrainOptions &o, const InputSpec &input, int epoch, bool pinned, size_t depth)
{
    at::set_num_threads(1);
    for (size_t start = 0; start < order.size() && !stop_; start += static_cast<size_t>(o.batchSize)) {
        const size_t end = std::min(order.size(), start + static_cast<size_t>(o.batchSize));
        const auto index = torch::tensor(std::vector<int64_t>(order.begin() + static_cast<long>(start),
                                                              order.begin() + static_cast<long>(end)),
                                         torch::kInt64);
        // Each batch has its own seed, so results do not depend on thread timing.
        std::mt19937 rng(static_cast<uint32_t>(o.seed * 7919ULL + static_cast<uint64_t>(epoch) * 104729ULL +
                                               start));
        Batch batch{prepareBatch(train.images.index_select(0, index), input, o.augment, rng),
                    train.labels.index_select(0, index),
                    softLabels.defined() ? softLabels.index_select(0, index) : torch::Tensor()};
        if (pinned) {
            batch.inputs = batch.inputs.pin_memory();
            batch.labels = batch.labels.pin_memory();
            if (batch.softLabels.defined())
                batch.softLabels = batch.softLabels.pin_memory();
        }
        std::unique_lock<std::mutex> lock(mutex_);
        space_.wait(lock, [&] { return queue_.size() < depth || stop_; });
        queue_.push(std::move(batch));
        ready_.notify_one();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    ready_.notify_one();
}

BatchProducer::~BatchProducer()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        space_.notify_all();
    }
    worker_.join();
}

bool BatchProducer::next(Batch &batch)
{
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty())
        return false;
    batch = std::move(queue_.front());
    queue_.pop();
    space_.notify_one();
    return true;
}

} // namespace feremotion::trainer
