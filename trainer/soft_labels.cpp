// SPDX-License-Identifier: LGPL-2.1-or-later
// Soft-label files: a teacher's logits per face, found again by the face's pixels.
#include "soft_labels.h"

#include <cstring>
#include <fstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "engine/model/atomic_file.h"
#include "json_text.h"

namespace feremotion::trainer {

using nlohmann::json;

namespace {

constexpr const char *kFormat = "feremotion-soft-labels";

} // namespace

uint64_t faceFingerprint(const torch::Tensor &image)
{
    const torch::Tensor bytes = image.contiguous();
    const auto *data = bytes.data_ptr<uint8_t>();
    uint64_t hash = 1469598103934665603ULL;
    for (int64_t i = 0; i < bytes.numel(); ++i) {
        hash ^= data[i];
        hash *= 1099511628211ULL;
    }
    return hash;
}

void writeSoftLabels(const SoftLabels &soft, const std::string &path)
{
    const torch::Tensor logits = soft.logits.to(torch::kFloat32).contiguous();
    const json header = {{"format", kFormat},
                         {"version", 1},
                         {"labels", soft.labels},
                         {"rows", soft.fingerprints.size()},
                         {"teacher", soft.teacher},
                         {"data", soft.data},
                         {"flip", soft.flip}};
    writeAtomically(path, [&](const std::string &temporary) {
        std::ofstream out(temporary, std::ios::binary);
        out << jsonText(header) << '\n';
        out.write(reinterpret_cast<const char *>(soft.fingerprints.data()),
                  static_cast<std::streamsize>(soft.fingerprints.size() * sizeof(uint64_t)));
        out.write(reinterpret_cast<const char *>(logits.data_ptr<float>()),
                  static_cast<std::streamsize>(logits.numel() * sizeof(float)));
        if (!out.flush())
            throw std::runtime_error("soft labels could not be written");
    });
}

SoftLabels readSoftLabels(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw DataError("soft labels '" + path + "' cannot be opened");
    std::string line;
    std::getline(in, line);
    json header;
    try {
        header = json::parse(line);
    } catch (const json::exception &) {
        throw DataError("'" + path + "' is not a soft-labels file (no JSON header line)");
    }
    if (!header.is_object() || header.value("format", "") != kFormat)
        throw DataError("'" + path + "' is not a soft-labels file (format is not " + std::string(kFormat) + ")");
    SoftLabels soft;
    try {
        soft.labels = header.at("labels").get<std::vector<std::string>>();
        soft.teacher = header.value("teacher", "");
        soft.data = header.value("data", "");
        soft.flip = header.value("flip", false);
        const auto rows = header.at("rows").get<int64_t>();
        const auto classes = static_cast<int64_t>(soft.labels.size());
        soft.fingerprints.resize(static_cast<size_t>(rows));
        soft.logits = torch::empty({rows, classes}, torch::kFloat32);
        in.read(reinterpret_cast<char *>(soft.fingerprints.data()),
                static_cast<std::streamsize>(rows * static_cast<int64_t>(sizeof(uint64_t))));
        in.read(reinterpret_cast<char *>(soft.logits.data_ptr<float>()),
                static_cast<std::streamsize>(rows * classes * static_cast<int64_t>(sizeof(float))));
    } catch (const json::exception &e) {
        throw DataError("soft labels '" + path + "' have a malformed header: " + e.what());
    }
    if (!in || in.peek() != std::char_traits<char>::eof())
        throw DataError("soft labels '" + path + "' are truncated or longer than their header says");
    return soft;
}

torch::Tensor softLabelsFor(const Dataset &rows, const std::string &path)
{
    const SoftLabels soft = readSoftLabels(path);
    if (soft.labels != rows.labelNames)
        throw DataError("soft labels '" + path + "' are for other labels than the training data's");
    std::unordered_map<uint64_t, int64_t> rowOf;
    for (size_t i = 0; i < soft.fingerprints.size(); ++i)
        rowOf.emplace(soft.fingerprints[i], static_cast<int64_t>(i));
    std::vector<int64_t> index;
    int64_t missing = 0;
    for (int64_t i = 0; i < rows.size(); ++i) {
        const auto found = rowOf.find(faceFingerprint(rows.images[i]));
        if (found == rowOf.end())
            ++missing;
        else
            index.push_back(found->second);
    }
    if (missing > 0)
        throw DataError("soft labels '" + path + "' hold no outputs for " + std::to_string(missing) + " of the " +
                        std::to_string(rows.size()) + " training faces (written for other data: " + soft.data + ")");
    return soft.logits.index_select(0, torch::tensor(index, torch::kInt64));
}

} // namespace feremotion::trainer
