// SPDX-License-Identifier: LGPL-2.1-or-later
// Face datasets decoded once into memory: FER-2013 CSV (plain or gzip) and image folders.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace feremotion::trainer {

// Bad input data; the message names the file (and line) and the cause.
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Dataset {
    torch::Tensor images; // uint8 N×C×H×W
    torch::Tensor labels; // int64 N
    std::vector<std::string> labelNames;
    std::string description; // e.g. "fer2013-train-00.csv.gz (Training)"

    int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
    std::vector<int64_t> classCounts() const;
    // The rows at `indices`, in that order.
    Dataset subset(const std::vector<int64_t> &indices) const;
};

// The first `limit` rows of `data` (all of them when limit <= 0), as the commands' --limit.
Dataset firstRows(const Dataset &data, long long limit);

// `data`'s faces as a network of width x height x channels input takes them: resized (bilinear)
// and, for 3 channels, gray repeated into each (FER-2013's faces are 48x48 gray).
Dataset fittedTo(Dataset data, int64_t width, int64_t height, int64_t channels);

// The rows `train --holdout fraction` holds out of n training rows when it draws with `seed`,
// in ascending order. Throws std::invalid_argument when that leaves no rows on either side.
std::vector<int64_t> holdoutRows(int64_t n, double fraction, uint64_t seed);

struct CsvOptions {
    std::string usage;     // keep rows whose Usage equals this; empty: every row
    bool skipBad = false;  // skip malformed rows (counted) instead of failing
    long long limit = 0;   // keep at most this many rows (0 = all), taken in file order
    int size = 48;         // rows must hold size*size pixels
};

struct LoadReport {
    long long rows = 0;
    long long skipped = 0;
    // A file without a Usage column, whose rows count as rows of every usage (empty: none).
    std::string withoutUsage;
};

// Reads FER-2013 CSVs (`emotion,pixels[,Usage]`, .csv or .csv.gz). Labels are FER-2013's.
Dataset loadFerCsv(const std::vector<std::string> &paths, const CsvOptions &options, LoadReport *report = nullptr);

// Reads root/<label>/**/*.png|jpg|jpeg (any size), converted to gray or RGB at width×height.
// Every folder under root must be one of `labels`. An image that cannot be decoded stops the load,
// naming it, unless `skipBad`: then it is left out and counted in report->skipped.
Dataset loadImageFolder(const std::string &root, const std::vector<std::string> &labels, int width, int height,
                        bool rgb, bool skipBad = false, LoadReport *report = nullptr);

// True when `path` is a folder (an image-folder dataset) rather than a CSV file.
bool isImageFolder(const std::string &path);

// True when `path` is a folder in ../shared/data/fer2013/compact's layout: <split>-images.u8[.xz]
// (raw uint8 N×48×48) and <split>-labels.u8 (one FER-2013 label per image).
bool isCompactFolder(const std::string &path);
// Reads one split of a compact folder; `usage` is the CSV Usage name (Training → train-*,
// PublicTest → publictest-*). `limit` keeps the first N images (0 = all).
Dataset loadCompact(const std::string &folder, const std::string &usage, long long limit = 0);

} // namespace feremotion::trainer
