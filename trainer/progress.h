// SPDX-License-Identifier: LGPL-2.1-or-later
// Training progress: a live line per batch on a terminal, plain lines otherwise.
#pragma once

#include <cstdint>

#include "plots.h"

namespace feremotion::trainer {

class Progress {
public:
    Progress();
    void batch(int epoch, int epochs, int64_t batch, int64_t batches, double loss, double imagesPerSecond,
               double etaSeconds);
    void epoch(const EpochRecord &record, bool best);

private:
    bool terminal_;
    int lastPercent_ = -1;
};

} // namespace feremotion::trainer
