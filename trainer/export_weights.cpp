// SPDX-License-Identifier: LGPL-2.1-or-later
// The export-weights subcommand: a bundle's tensors and metadata in a file any LibTorch reads.
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
#include "weights_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

int runExportWeights(const ExportWeightsOptions &o)
{
    checkWritable(o.out, "--out");
    LoadedBundle loaded = loadBundle(o.model, c10::kCPU, modelTrust());
    if (loaded.metadataJson.empty())
        throw ModelError("model '" + o.model + "' has no feremotion.json; only bundles can be exported");
    const json training = json::parse(loaded.metadataJson).value("training", json::object());
    if (training.contains("ensemble"))
        throw ModelError("model '" + o.model + "' is an ensemble of " +
                         std::to_string(training["ensemble"].value("members", json::array()).size()) +
                         " networks, which import-weights cannot rebuild: export each member's bundle");
    json tensors = json::array();
    std::string data;
    const auto add = [&](const std::string &name, torch::Tensor t) {
        t = t.detach().to(torch::kCPU).contiguous();
        if (t.scalar_type() != torch::kLong)
            t = t.to(torch::kFloat32);
        tensors.push_back({{"name", name},
                           {"dtype", t.scalar_type() == torch::kLong ? "int64" : "float32"},
                           {"shape", t.sizes().vec()},
                           {"offset", data.size()},
                           {"bytes", t.nbytes()}});
        data.append(static_cast<const char *>(t.data_ptr()), t.nbytes());
    };
    for (const auto &p : loaded.module.named_parameters())
        add(p.name, p.value);
    for (const auto &b : loaded.module.named_buffers())
        add(b.name, b.value);
    const json header = {{"format", kWeightsFormat},
                         {"version", 1},
                         {"metadata", loaded.metadataJson},
                         {"tensors", tensors},
                         {"fnv1a64", checksumOf(data)}};
    writeAtomically(o.out, jsonText(header) + '\n' + data);
    std::printf("wrote %s: %zu tensors, %zu bytes\n", o.out.c_str(), tensors.size(), data.size());
    return 0;
}

} // namespace feremotion::trainer
