// SPDX-License-Identifier: LGPL-2.1-or-later
// The ensemble subcommand: bundles joined into one whose forward averages their outputs.
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

namespace {

// TorchScript source of the ensemble's forward: the mean of the members' log-probabilities, so the
// output is still logits (their softmax is the normalised geometric mean of the members' outputs).
std::string ensembleForward(size_t members, bool flip)
{
    std::string terms;
    for (size_t i = 0; i < members; ++i) {
        const std::string member = "self.member" + std::to_string(i);
        terms += (i ? " + " : "") + ("torch.log_softmax(" + member + ".forward(x), 1)");
        if (flip)
            terms += " + torch.log_softmax(" + member + ".forward(torch.flip(x, [3])), 1)";
    }
    return "def forward(self, x):\n    return (" + terms + ") / " + std::to_string(members * (flip ? 2 : 1)) + ".0\n";
}

} // namespace

int runEnsemble(const EnsembleOptions &o)
{
    if (o.models.size() < 2 && !o.flip)
        throw std::invalid_argument("an ensemble needs two or more --models (or --flip for one)");
    checkWritable(o.out, "--out");
    setThreads(o.threads);
    std::vector<Bundle> members;
    for (const std::string &path : o.models) {
        members.push_back(openBundle(path));
        if (const char *differs = interfaceDifference(members.front().info, members.back().info))
            throw ModelError("model '" + path + "' cannot join an ensemble with '" + o.models.front() + "': its " +
                             differs + " differ");
    }
    std::unique_ptr<Dataset> test;
    if (!o.test.empty())
        test = std::make_unique<Dataset>(loadRowsFor(members.front(), o.models.front(), o.test, o.testUsage, o.skipBad));

    torch::jit::Module ensemble("FeremotionEnsemble");
    json memberInfo = json::array();
    std::string architectures;
    long long parameters = 0, work = 0;
    for (size_t i = 0; i < members.size(); ++i) {
        ensemble.register_module("member" + std::to_string(i), members[i].module);
        const json meta = json::parse(members[i].info.jsonText);
        memberInfo.push_back({{"file", fs::path(o.models[i]).filename().string()},
                              {"architecture", meta.value("architecture", "")},
                              {"parameters", members[i].info.parameters},
                              {"training", meta.value("training", json::object())}});
        architectures += (i ? ", " : "") + meta.value("architecture", std::string("?"));
        parameters += members[i].info.parameters;
        work += meta.value("multiply_accumulates", 0LL);
    }
    ensemble.define(ensembleForward(members.size(), o.flip));
    ensemble.eval();

    json metrics = json::object();
    if (test) {
        const Metrics m = computeMetrics(
            predictLogits([&](const torch::Tensor &x) {
                return checkedForward([&](const torch::Tensor &t) { return ensemble.forward({t}).toTensor(); }, x,
                                      "the ensemble of " + joined(o.models), static_cast<int64_t>(test->labelNames.size()));
            }, *test,
                          members.front().info.input, false, 256, torch::kCPU),
            test->labels, test->labelNames);
        metrics[testSplitName(o.test, o.testUsage)] = m.summaryJson();
        std::printf("test: %lld faces from %s: accuracy %.2f%%, macro-F1 %.3f\n", static_cast<long long>(m.count),
                    test->description.c_str(), 100 * m.accuracy, m.macroF1);
    }

    // absent in bundles written elsewhere
    const json firstTraining = json::parse(members.front().info.jsonText).value("training", json::object());
    ModelInfo info = members.front().info; // the members agree on labels, input and face crop
    info.architecture = "ensemble of " + std::to_string(members.size()) + " (mean log-probabilities" +
                        (o.flip ? " of each face and its mirror image" : "") + "): " + architectures;
    info.parameters = parameters;
    json meta = modelInfoJson(info);
    if (work > 0)
        meta["multiply_accumulates"] = work * (o.flip ? 2 : 1);
    json training = {{"dataset", firstTraining.value("dataset", json())},
                     {"epochs", firstTraining.value("epochs", 0)},
                     {"seed", firstTraining.value("seed", 0)},
                     {"metrics", metrics},
                     {"ensemble", {{"flip", o.flip}, {"members", memberInfo}}}};
    meta["training"] = training;
    meta["created"] = utcNow();
    meta["producer"] = "feremotion-trainer " FEREMOTION_VERSION;
    saveBundle(ensemble, jsonText(meta, 2), o.out);
    std::printf("wrote %s: %s, %lld parameters\n", o.out.c_str(), meta["architecture"].get<std::string>().c_str(),
                parameters);
    return 0;
}

} // namespace feremotion::trainer
