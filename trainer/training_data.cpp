// SPDX-License-Identifier: LGPL-2.1-or-later
#include "training_data.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace feremotion::trainer {

InputSpec inputSpecFor(const TrainOptions &o)
{
    InputSpec input;
    input.width = input.height = o.inputSize;
    input.color = o.color;
    input.mean.assign(static_cast<size_t>(input.channels()), 0.5f);
    input.std.assign(static_cast<size_t>(input.channels()), 0.5f);
    return input;
}

namespace {

// Splits the training rows: a `fraction` of them, drawn with `seed`, to validate on.
TrainingData holdOut(const Dataset &all, double fraction, uint64_t seed, long long valLimit)
{
    const std::vector<int64_t> val = holdoutRows(all.size(), fraction, seed);
    std::vector<int64_t> train;
    train.reserve(static_cast<size_t>(all.size()) - val.size());
    for (int64_t i = 0, next = 0; i < all.size(); ++i) {
        if (next < static_cast<int64_t>(val.size()) && val[static_cast<size_t>(next)] == i)
            ++next;
        else
            train.push_back(i);
    }
    TrainingData data;
    data.train = all.subset(train);
    data.val = firstRows(all.subset(val), valLimit);
    data.val.description = "holdout " + std::to_string(static_cast<int>(std::lround(fraction * 100))) + "% of " +
                           all.description;
    data.train.description = all.description + " without the holdout";
    return data;
}

uint64_t holdoutSeed(const TrainOptions &o)
{
    return o.holdoutSeed != 0 ? o.holdoutSeed : o.seed;
}

// Rows to evaluate on: a compact folder's `usage` split, an image folder, or the `usage` rows of CSVs,
// as the network takes them (an RGB image-folder run validates on gray CSV faces too).
Dataset loadEvaluationRows(const std::vector<std::string> &files, const std::string &usage, long long limit,
                           const TrainOptions &o, const char *what)
{
    const bool rgb = o.color == ColorMode::Rgb;
    const bool compact = files.size() == 1 && isCompactFolder(files.front());
    if (!compact && !files.empty() && isImageFolder(files.front())) {
        LoadReport report;
        Dataset rows = loadImageFolder(files.front(), fer2013Labels(), o.inputSize, o.inputSize, rgb, o.skipBad, &report);
        if (report.skipped)
            std::printf("skipped %lld images that cannot be decoded in the %s data\n", report.skipped, what);
        return firstRows(rows, limit);
    }
    Dataset rows;
    if (compact) {
        rows = loadCompact(files.front(), usage, limit);
    } else {
        CsvOptions csv;
        csv.usage = usage;
        csv.skipBad = o.skipBad;
        csv.limit = limit;
        LoadReport report;
        rows = loadFerCsv(files, csv, &report);
        if (report.skipped)
            std::printf("skipped %lld malformed rows in the %s data\n", report.skipped, what);
    }
    return fittedTo(std::move(rows), o.inputSize, o.inputSize, rgb ? 3 : 1);
}

TrainingData loadTrainingAndValidation(const TrainOptions &o)
{
    if (o.holdout > 0 && !o.val.empty())
        throw std::invalid_argument("--holdout validates on training rows: leave out --val");
    const bool withVal = o.holdout <= 0;
    TrainingData data;
    if (o.data.size() == 1 && isCompactFolder(o.data.front())) {
        const std::string &valFolder = o.val.empty() ? o.data.front() : o.val.front();
        if (!isCompactFolder(valFolder))
            throw std::invalid_argument("with compact --data, --val must be a compact folder too");
        data.train = loadCompact(o.data.front(), o.trainUsage, o.limit);
        if (!withVal)
            return holdOut(data.train, o.holdout, holdoutSeed(o), o.valLimit);
        data.val = loadEvaluationRows({valFolder}, o.valUsage, o.valLimit, o, "validation");
        return data;
    }
    const bool folders = !o.data.empty() && isImageFolder(o.data.front());
    const bool rgb = o.color == ColorMode::Rgb;
    if (rgb && !folders)
        throw std::invalid_argument("--color rgb needs image-folder data; FER-2013 CSV faces are gray");
    LoadReport report;
    if (folders) {
        if (o.data.size() != 1)
            throw std::invalid_argument("give one image folder with --data");
        data.train = loadImageFolder(o.data.front(), fer2013Labels(), o.inputSize, o.inputSize, rgb, o.skipBad, &report);
        if (report.skipped)
            std::printf("skipped %lld images that cannot be decoded in the training data\n", report.skipped);
    } else {
        CsvOptions csv;
        csv.usage = o.trainUsage;
        csv.skipBad = o.skipBad;
        csv.limit = o.limit;
        data.train = loadFerCsv(o.data, csv, &report);
        if (report.skipped)
            std::printf("skipped %lld malformed rows in the training data\n", report.skipped);
        if (!report.withoutUsage.empty() && withVal && o.val.empty())
            throw std::invalid_argument("'" + report.withoutUsage +
                                        "' has no Usage column, so its rows would be both trained and validated on: "
                                        "give --holdout 0.1 (or --val with other rows)");
    }
    if (!withVal)
        return holdOut(firstRows(data.train, o.limit), o.holdout, holdoutSeed(o), o.valLimit);
    if (folders && o.val.empty())
        throw std::invalid_argument("image-folder training data needs --val (a folder or CSV)");
    data.val = loadEvaluationRows(o.val.empty() ? o.data : o.val, o.valUsage, o.valLimit, o, "validation");
    // CSV reading stops at the limit already; image folders are cut here.
    data.train = firstRows(data.train, o.limit);
    return data;
}

} // namespace

TrainingData loadTrainingData(const TrainOptions &o)
{
    TrainingData data = loadTrainingAndValidation(o);
    if (!o.test.empty())
        data.test = loadEvaluationRows(o.test, o.testUsage, 0, o, "test");
    return data;
}

} // namespace feremotion::trainer
