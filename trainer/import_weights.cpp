// SPDX-License-Identifier: LGPL-2.1-or-later
// The import-weights subcommand: a bundle rebuilt with this LibTorch from an export-weights file.
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

int runImportWeights(const ImportWeightsOptions &o)
{
    checkWritable(o.out, "--out");
    std::ifstream file(o.weights, std::ios::binary);
    if (!file)
        throw ModelError("weights file '" + o.weights + "' does not exist or cannot be read");
    std::string headerLine;
    std::getline(file, headerLine);
    const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    json header, meta;
    try {
        header = json::parse(headerLine);
        if (header.value("format", "") != kWeightsFormat || header.value("version", 0) != 1)
            throw ModelError("weights file '" + o.weights + "' is not a feremotion-weights file (version 1)");
        meta = json::parse(header.at("metadata").get<std::string>());
    } catch (const json::exception &e) {
        throw ModelError("weights file '" + o.weights + "' has an invalid header: " + std::string(e.what()).substr(0, 160));
    }
    // Files written before the checksum existed have none.
    if (header.contains("fnv1a64") && header["fnv1a64"] != checksumOf(data))
        throw ModelError("weights file '" + o.weights + "' is damaged: its tensor data does not match the checksum in "
                         "its header");
    const ModelInfo info = parseModelInfo(header["metadata"].get<std::string>(), o.weights);
    const json recipe = meta.contains("training") ? meta["training"].value("recipe", json()) : json();
    if (!recipe.is_object() || !recipe.contains("arch"))
        throw ModelError("weights file '" + o.weights + "': its feremotion.json has no training recipe to rebuild the "
                         "network from");
    if (!recipe.value("init", std::string()).empty())
        throw ModelError("weights file '" + o.weights + "': a network trained on an --init backbone cannot be rebuilt");
    ArchitectureOptions arch;
    arch.name = recipe.at("arch").get<std::string>();
    arch.width = recipe.value("width", 0);
    arch.hidden = recipe.value("hidden", 0);
    arch.dropout = recipe.value("dropout", 0.0f);
    arch.inputSize = info.input.width;
    arch.channels = info.input.channels();
    arch.classes = static_cast<int>(info.labels.size());
    EmotionNet net(arch);

    std::map<std::string, torch::Tensor> stored;
    for (const json &t : header.at("tensors")) {
        const auto offset = t.at("offset").get<size_t>(), bytes = t.at("bytes").get<size_t>();
        if (offset > data.size() || bytes > data.size() - offset)
            throw ModelError("weights file '" + o.weights + "' is truncated");
        const auto dtype = t.at("dtype").get<std::string>() == "int64" ? torch::kLong : torch::kFloat32;
        torch::Tensor tensor = torch::empty(t.at("shape").get<std::vector<int64_t>>(), dtype);
        if (static_cast<size_t>(tensor.nbytes()) != bytes)
            throw ModelError("weights file '" + o.weights + "': tensor " + t.at("name").get<std::string>() +
                             " has the wrong size");
        std::memcpy(tensor.data_ptr(), data.data() + offset, bytes);
        stored[t.at("name").get<std::string>()] = tensor;
    }
    torch::NoGradGuard noGrad;
    size_t used = 0;
    const auto assign = [&](const std::string &name, torch::Tensor target) {
        const auto it = stored.find(exportedName(name));
        if (it == stored.end() || !it->second.sizes().equals(target.sizes()))
            throw ModelError("weights file '" + o.weights + "' does not fit " + meta.value("architecture", arch.name) +
                             ": " + (it == stored.end() ? "no " : "wrong shape for ") + exportedName(name));
        target.copy_(it->second);
        ++used;
    };
    for (const auto &p : net->named_parameters(true))
        assign(p.key(), p.value());
    for (const auto &b : net->named_buffers(true))
        assign(b.key(), b.value());
    if (used != stored.size())
        throw ModelError("weights file '" + o.weights + "' holds " + std::to_string(stored.size() - used) +
                         " tensors the network does not have");
    net->eval();
    saveBundle(exportTorchScript(net), header["metadata"].get<std::string>(), o.out);
    std::printf("wrote %s from %s (%s)\n", o.out.c_str(), o.weights.c_str(), meta.value("architecture", arch.name).c_str());
    return 0;
}

} // namespace feremotion::trainer
