// SPDX-License-Identifier: LGPL-2.1-or-later
// The info subcommand: a bundle's metadata and parameter count.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "architectures.h"
#include "command_support.h"
#include "commands.h"
#include "dataset.h"
#include "engine/model/atomic_file.h"
#include "engine/model/bundle_io.h"
#include "engine/model/device.h"
#include "json_text.h"
#include "metrics.h"
#include "plots.h"
#include "soft_labels.h"
#include "train.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

int runInfo(const InfoOptions &o)
{
    LoadedBundle loaded = loadBundle(o.model, c10::kCPU, modelTrust());
    int64_t parameters = 0;
    for (const auto &p : loaded.module.parameters())
        parameters += p.numel();
    std::printf("model: %s\nparameters: %lld (%.2f MB as float32)\n", o.model.c_str(),
                static_cast<long long>(parameters), parameters * 4.0 / 1e6);
    if (loaded.metadataJson.empty()) {
        std::printf("feremotion.json: none (a bare TorchScript file)\n");
        return 0;
    }
    parseModelInfo(loaded.metadataJson, o.model); // validates
    std::printf("feremotion.json:\n%s\n", json::parse(loaded.metadataJson).dump(2).c_str());
    return 0;
}

} // namespace feremotion::trainer
