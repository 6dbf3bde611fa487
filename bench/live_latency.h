// SPDX-License-Identifier: LGPL-2.1-or-later
// A live 30 frames/s source through feremotion for minutes: how late each frame leaves.
#pragma once

#include <string>
#include <vector>

namespace feremotion::bench {

struct LiveConfiguration {
    std::string name;       // for the table
    std::string properties; // feremotion's
    std::string yunetFolder; // FEREMOTION_YUNET_MODEL for this run ("" = as it is)
};

// Loops the clip's frames (forwards, then backwards) as a live appsrc at 30 frames/s for `seconds`
// per configuration into `feremotion ! fakesink sync=true`, and prints per 20-second window how
// late frames reach the sink (clock time minus the frame's running time) against the latency the
// pipeline reports.
void benchmarkLiveSource(const std::string &clip, const std::string &model,
                         const std::vector<LiveConfiguration> &configurations, int seconds);

} // namespace feremotion::bench
