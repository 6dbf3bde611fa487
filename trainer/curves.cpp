// SPDX-License-Identifier: LGPL-2.1-or-later
// The curves subcommand: a run's learning curves drawn again from its metrics JSON.
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "plots.h"
#include "train.h"

using nlohmann::json;

namespace feremotion::trainer {

int runCurves(const CurvesOptions &o)
{
    checkPngOutput(o.out, "--out");
    std::ifstream file(o.metrics);
    if (!file)
        throw std::invalid_argument("metrics file '" + o.metrics + "' cannot be opened");
    std::vector<EpochRecord> history;
    try {
        const json metrics = json::parse(file);
        for (const auto &r : metrics.at("history"))
            history.push_back({r.at(0), r.at(1), r.at(2), r.at(3), r.at(4), r.at(5), r.at(6), r.at(7)});
    } catch (const json::exception &e) {
        throw std::invalid_argument("metrics file '" + o.metrics +
                                    "' is not a training run's metrics JSON (an epoch history): " + e.what());
    }
    if (history.empty())
        throw std::invalid_argument("metrics file '" + o.metrics + "' records no epochs");
    if (!writeLearningCurves(history, o.out))
        throw std::invalid_argument("this feremotion-trainer was built without OpenCV and draws no pictures");
    std::printf("wrote %s: %zu epochs\n", o.out.c_str(), history.size());
    return 0;
}

} // namespace feremotion::trainer
