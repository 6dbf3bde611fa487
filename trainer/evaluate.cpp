// SPDX-License-Identifier: LGPL-2.1-or-later
// The evaluate subcommand: accuracy, macro-F1, per-class metrics and the confusion matrix of a bundle.
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

// The rows train --holdout drew with the seed given, with a note when the bundle's own holdout was
// another draw (which may hold faces it was trained on).
Dataset holdoutOf(Dataset data, const Bundle &bundle, const EvaluateOptions &o)
{
    const json recipe = json::parse(bundle.info.jsonText).value("training", json::object()).value("recipe", json());
    if (recipe.is_object() && recipe.value("holdout", 0.0) > 0) {
        // holdout_seed is recorded only when it was given; the run's seed drew the holdout otherwise.
        const uint64_t seed = recipe.value("holdout_seed", recipe.value("seed", uint64_t{0}));
        const long long limit = recipe.value("limit", 0LL);
        if (recipe.value("holdout", 0.0) != o.holdout || seed != o.holdoutSeed || limit != o.limit)
            std::printf("note: '%s' held out --holdout %g --holdout-seed %llu --limit %lld of its training rows; "
                        "these rows (--holdout %g --holdout-seed %llu --limit %lld) are another draw, which may "
                        "hold faces it trained on\n",
                        o.model.c_str(), recipe.value("holdout", 0.0), static_cast<unsigned long long>(seed),
                        limit, o.holdout, static_cast<unsigned long long>(o.holdoutSeed), o.limit);
    }
    const std::string description = "holdout " + std::to_string(std::lround(o.holdout * 100)) + "% (seed " +
                                    std::to_string(o.holdoutSeed) + ") of " + data.description;
    data = data.subset(holdoutRows(data.size(), o.holdout, o.holdoutSeed));
    data.description = description;
    return data;
}

void printMetrics(const Metrics &metrics, const EvaluateOptions &o, const std::string &dataDescription)
{
    std::printf("%s%s on %s: %lld faces%s\naccuracy %.2f%%  macro-F1 %.4f  loss %.4f\n\n", o.model.c_str(),
                o.precision == Precision::BFloat16 ? " in bf16" : "", dataDescription.c_str(),
                static_cast<long long>(metrics.count),
                o.ttaCrops ? " (TTA: flip + 4 shifts)" : o.tta ? " (TTA: flip)" : "", 100 * metrics.accuracy,
                metrics.macroF1, metrics.loss);
    std::printf("%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support");
    for (size_t k = 0; k < metrics.labels.size(); ++k)
        std::printf("%-10s %9.3f %9.3f %9.3f %8lld\n", metrics.labels[k].c_str(), metrics.precision[k],
                    metrics.recall[k], metrics.f1[k], static_cast<long long>(metrics.support[k]));
    std::printf("\nconfusion matrix (rows: true, columns: predicted)\n%-10s", "");
    for (const auto &label : metrics.labels)
        std::printf(" %8.8s", label.c_str());
    std::printf("\n");
    for (size_t r = 0; r < metrics.labels.size(); ++r) {
        std::printf("%-10s", metrics.labels[r].c_str());
        for (int64_t count : metrics.confusion[r])
            std::printf(" %8lld", static_cast<long long>(count));
        std::printf("\n");
    }
}

} // namespace

int runEvaluate(const EvaluateOptions &o)
{
    const std::string stem = fs::path(o.model).replace_extension().string();
    const std::string jsonPath = o.outJson.empty() ? stem + "-eval.json" : o.outJson;
    const std::string pngPath = o.confusionPng.empty() ? stem + "-eval-confusion.png" : o.confusionPng;
    checkWritable(jsonPath, "--out-json");
    checkPngOutput(pngPath, "--confusion-png");
    setThreads(o.threads);
    Bundle bundle = openBundle(o.model);
    const Precision precision = o.precision;
    convertWeights(bundle.module, precision);
    optimizeForCpuInference(bundle.module, bundle.info.input, scalarTypeOf(precision));
    Dataset data = firstRows(loadRowsFor(bundle, o.model, o.data, o.usage, o.skipBad), o.limit);
    if (o.holdout > 0)
        data = holdoutOf(std::move(data), bundle, o);
    const auto labelCount = static_cast<int64_t>(bundle.info.labels.size());
    // The bundle is code: what it returns, or why it failed, is said naming the file (exit 2).
    const auto run = [&](const torch::Tensor &x) {
        return checkedForward([&](const torch::Tensor &t) { return bundle.module.forward({inputFor(t, precision)}).toTensor(); },
                              x, o.model, labelCount);
    };
    auto forward = [&](const torch::Tensor &x) {
        torch::Tensor logits = run(x);
        if (o.ttaCrops) {
            // Four 2-pixel shifts, edges repeated, averaged with the unshifted face.
            const torch::Tensor padded = torch::nn::functional::pad(
                x, torch::nn::functional::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate));
            const int64_t h = x.size(2), w = x.size(3);
            for (auto [dy, dx] : {std::pair{0, 0}, {0, 4}, {4, 0}, {4, 4}})
                logits = logits + run(padded.slice(2, dy, dy + h).slice(3, dx, dx + w).contiguous());
            logits = logits / 5.0;
        }
        return logits;
    };
    const torch::Tensor logits =
        predictLogits(forward, data, bundle.info.input, o.tta || o.ttaCrops, o.batchSize, torch::kCPU);
    const Metrics metrics = computeMetrics(logits, data.labels, bundle.info.labels);

    printMetrics(metrics, o, data.description);

    json out = metrics.toJson();
    out["model"] = o.model;
    out["data"] = data.description;
    out["tta"] = o.ttaCrops ? "flip+shifts" : o.tta ? "flip" : "none";
    out["precision"] = toString(o.precision);
    writeAtomically(jsonPath, jsonText(out, 2) + "\n");
    std::printf("\nwrote %s\n", jsonPath.c_str());
    if (writeConfusionMatrix(metrics, pngPath))
        std::printf("wrote %s\n", pngPath.c_str());
    return 0;
}

} // namespace feremotion::trainer
