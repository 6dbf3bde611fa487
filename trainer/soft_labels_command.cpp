// SPDX-License-Identifier: LGPL-2.1-or-later
// The soft-labels subcommand: a teacher bundle's outputs on every face of some data.
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

int runSoftLabels(const SoftLabelsOptions &o)
{
    checkWritable(o.out, "--out");
    setThreads(o.threads);
    const torch::Device device = resolveDevice(o.device);
    Bundle bundle = openBundle(o.model);
    const Dataset data = firstRows(loadRowsFor(bundle, o.model, o.data, o.usage, o.skipBad), o.limit);
    if (data.images.scalar_type() != torch::kByte)
        throw ModelError("model '" + o.model + "' takes other faces than the data's " +
                         std::to_string(data.images.size(3)) + "x" + std::to_string(data.images.size(2)) +
                         " ones; soft labels must be computed on the faces the student trains on");
    bundle.module.to(device);
    if (device.is_cpu())
        optimizeForCpuInference(bundle.module, bundle.info.input);
    SoftLabels soft;
    soft.labels = bundle.info.labels;
    soft.teacher = fs::path(o.model).filename().string();
    soft.data = data.description;
    soft.flip = o.flip;
    const auto labelCount = static_cast<int64_t>(bundle.info.labels.size());
    soft.logits = predictLogits([&](const torch::Tensor &x) {
        return checkedForward([&](const torch::Tensor &t) { return bundle.module.forward({t}).toTensor(); }, x, o.model,
                              labelCount);
    }, data,
                                bundle.info.input, o.flip, 256, device);
    soft.fingerprints.reserve(static_cast<size_t>(data.size()));
    for (int64_t i = 0; i < data.size(); ++i)
        soft.fingerprints.push_back(faceFingerprint(data.images[i]));
    writeSoftLabels(soft, o.out);
    std::printf("wrote %s: %s's outputs%s on %lld faces of %s\n", o.out.c_str(), soft.teacher.c_str(),
                o.flip ? " (with mirror images)" : "", static_cast<long long>(data.size()), data.description.c_str());
    return 0;
}

} // namespace feremotion::trainer
