// SPDX-License-Identifier: LGPL-2.1-or-later
#include "schedules.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace feremotion::trainer {

double learningRateFor(const TrainOptions &o, const RunState &state, int epoch)
{
    if (o.scheduler == Scheduler::Cosine) {
        const double minimum = o.learningRate * 0.01;
        return minimum + 0.5 * (o.learningRate - minimum) * (1.0 + std::cos(M_PI * epoch / std::max(1, o.epochs)));
    }
    if (o.scheduler == Scheduler::Plateau)
        return state.plateauLearningRate > 0 ? state.plateauLearningRate : o.learningRate;
    return o.learningRate;
}

double warmupFactor(const TrainOptions &o, int epoch, int64_t step, int64_t steps)
{
    if (epoch >= o.warmupEpochs)
        return 1.0;
    return (static_cast<double>(epoch) * steps + step + 1) / (static_cast<double>(o.warmupEpochs) * steps);
}

void setLearningRate(torch::optim::Optimizer &optimizer, double rate)
{
    for (auto &group : optimizer.param_groups()) {
        if (auto *adam = dynamic_cast<torch::optim::AdamOptions *>(&group.options()))
            adam->lr(rate);
        else if (auto *sgd = dynamic_cast<torch::optim::SGDOptions *>(&group.options()))
            sgd->lr(rate);
    }
}

std::vector<int64_t> epochOrder(const Dataset &train, const TrainOptions &o, int epoch)
{
    std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<uint64_t>(epoch));
    const int64_t n = train.size();
    std::vector<int64_t> order(static_cast<size_t>(n));
    if (o.balance == Balance::Oversample) {
        const auto counts = train.classCounts();
        std::vector<double> weights(static_cast<size_t>(n));
        const auto *labels = train.labels.data_ptr<int64_t>();
        for (int64_t i = 0; i < n; ++i)
            weights[static_cast<size_t>(i)] = 1.0 / static_cast<double>(counts[static_cast<size_t>(labels[i])]);
        std::discrete_distribution<int64_t> draw(weights.begin(), weights.end());
        for (auto &index : order)
            index = draw(rng);
        return order;
    }
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    return order;
}

void updatePlateau(const TrainOptions &o, RunState &state, double validationLoss)
{
    if (o.scheduler != Scheduler::Plateau)
        return;
    if (state.plateauLearningRate <= 0)
        state.plateauLearningRate = o.learningRate;
    if (validationLoss < state.plateauBestLoss - 1e-4) {
        state.plateauBestLoss = validationLoss;
        state.plateauBadEpochs = 0;
    } else if (++state.plateauBadEpochs > 2) {
        state.plateauLearningRate *= 0.5;
        state.plateauBadEpochs = 0;
    }
}

} // namespace feremotion::trainer
