// SPDX-License-Identifier: LGPL-2.1-or-later
// Progress output.
#include "progress.h"

#include <cstdio>

#include <unistd.h>

namespace feremotion::trainer {

Progress::Progress() : terminal_(isatty(fileno(stdout)) != 0) {}

void Progress::batch(int epoch, int epochs, int64_t batch, int64_t batches, double loss, double imagesPerSecond,
                     double etaSeconds)
{
    if (terminal_) {
        std::printf("\r\033[Kepoch %d/%d  batch %lld/%lld  loss %.4f  %.0f img/s  ETA %.0f s", epoch, epochs,
                    static_cast<long long>(batch), static_cast<long long>(batches), loss, imagesPerSecond, etaSeconds);
        std::fflush(stdout);
        return;
    }
    // Plain lines at each quarter of an epoch keep logs short but show a run is alive.
    const int percent = static_cast<int>(100 * batch / batches);
    if (percent / 25 != lastPercent_ / 25 && percent < 100) {
        std::printf("epoch %d/%d batch %lld/%lld loss %.4f %.0f img/s ETA %.0f s\n", epoch, epochs,
                    static_cast<long long>(batch), static_cast<long long>(batches), loss, imagesPerSecond, etaSeconds);
        std::fflush(stdout);
    }
    lastPercent_ = percent;
}

void Progress::epoch(const EpochRecord &r, bool best)
{
    if (terminal_)
        std::printf("\r\033[K");
    std::printf("epoch %d: train loss %.4f acc %.2f%% | val loss %.4f acc %.2f%%%s | lr %.2e | %.0f s, %.0f img/s\n",
                r.epoch, r.trainLoss, 100 * r.trainAccuracy, r.valLoss, 100 * r.valAccuracy, best ? " (best)" : "",
                r.learningRate, r.seconds, r.imagesPerSecond);
    std::fflush(stdout);
    lastPercent_ = -1;
}

} // namespace feremotion::trainer
