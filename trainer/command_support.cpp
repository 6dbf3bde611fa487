// SPDX-License-Identifier: LGPL-2.1-or-later
// What the subcommands share: the run's model trust, opening a bundle, threads, and the rows a bundle
// is evaluated on.
#include "command_support.h"

#include <cstdio>

#include <ATen/Parallel.h>

#include "commands.h"
#include "engine/model/bundle_io.h"
#include "engine/model/device.h"

namespace feremotion::trainer {

namespace {

ModelTrust trustOfThisRun = ModelTrust::Checked;

} // namespace

ModelTrust modelTrust() { return trustOfThisRun; }
void setModelTrust(ModelTrust trust) { trustOfThisRun = trust; }

Bundle openBundle(const std::string &path)
{
    LoadedBundle loaded = loadBundle(path, c10::kCPU, modelTrust());
    if (loaded.metadataJson.empty())
        throw ModelError("model '" + path + "' has no feremotion.json; it is a bare TorchScript file, not a bundle");
    Bundle bundle{loaded.module, parseModelInfo(loaded.metadataJson, path)};
    bundle.module.eval();
    checkModelRuns([&](const torch::Tensor &x) { return bundle.module.forward({x}).toTensor(); }, bundle.info, path);
    return bundle;
}

void setThreads(int threads)
{
    at::set_num_threads(effectiveThreads(threads));
}

std::string joined(const std::vector<std::string> &names)
{
    std::string text;
    for (const auto &name : names)
        text += (text.empty() ? "" : ",") + name;
    return text;
}

// The rows of `files` a bundle is evaluated on, fitted to its input: a compact folder's or the
// CSVs' `usage` rows (empty: all CSV rows, a compact folder's PublicTest), or an image folder.
Dataset loadRowsFor(const Bundle &bundle, const std::string &model, const std::vector<std::string> &files,
                    const std::string &usage, bool skipBad)
{
    if (files.empty())
        throw std::invalid_argument("no data to evaluate on");
    const bool compact = files.size() == 1 && isCompactFolder(files.front());
    if (!compact && isImageFolder(files.front())) {
        LoadReport report;
        Dataset data = loadImageFolder(files.front(), bundle.info.labels, bundle.info.input.width,
                                       bundle.info.input.height, bundle.info.input.color == ColorMode::Rgb, skipBad,
                                       &report);
        if (report.skipped)
            std::printf("skipped %lld images that cannot be decoded\n", report.skipped);
        return data;
    }
    Dataset data;
    if (compact) {
        data = loadCompact(files.front(), usage.empty() ? "PublicTest" : usage);
    } else {
        CsvOptions csv;
        csv.usage = usage;
        csv.skipBad = skipBad;
        LoadReport report;
        data = loadFerCsv(files, csv, &report);
        if (report.skipped)
            std::printf("skipped %lld malformed rows\n", report.skipped);
        if (!usage.empty() && !report.withoutUsage.empty())
            std::printf("note: '%s' has no Usage column: all its rows are taken, not only \"%s\" ones\n",
                        report.withoutUsage.c_str(), usage.c_str());
    }
    // FER-2013's label ids mean its labels in its order: a model with other names or another order
    // would be scored against the wrong classes.
    if (bundle.info.labels != data.labelNames)
        throw ModelError("model '" + model + "' has the labels " + joined(bundle.info.labels) + "; FER-2013 data has " +
                         joined(data.labelNames) + " (names and order must match)");
    // CSV faces are 48x48 gray; a model may want another size or RGB.
    const InputSpec &input = bundle.info.input;
    return fittedTo(std::move(data), input.width, input.height, input.channels());
}

} // namespace feremotion::trainer
