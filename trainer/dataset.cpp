// SPDX-License-Identifier: LGPL-2.1-or-later
// Dataset loading with row-precise errors.
#include "dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <random>
#include <optional>
#include <set>

#ifdef FEREMOTION_TRAINER_ZLIB
#include <zlib.h>
#endif

#ifdef FEREMOTION_TRAINER_LZMA
#include <lzma.h>
#endif

#ifdef FEREMOTION_TRAINER_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "engine/model/model_info.h"

namespace fs = std::filesystem;

namespace feremotion::trainer {

std::vector<int64_t> Dataset::classCounts() const
{
    std::vector<int64_t> counts(labelNames.size(), 0);
    const auto *l = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < size(); ++i)
        ++counts[static_cast<size_t>(l[i])];
    return counts;
}

Dataset Dataset::subset(const std::vector<int64_t> &indices) const
{
    Dataset out;
    const auto index = torch::tensor(indices, torch::kInt64);
    out.images = images.index_select(0, index);
    out.labels = labels.index_select(0, index);
    out.labelNames = labelNames;
    out.description = description;
    return out;
}

Dataset fittedTo(Dataset data, int64_t width, int64_t height, int64_t channels)
{
    torch::Tensor images = data.images;
    if (images.size(2) != height || images.size(3) != width)
        images = torch::nn::functional::interpolate(images.to(torch::kFloat32),
                                                    torch::nn::functional::InterpolateFuncOptions()
                                                        .size(std::vector<int64_t>{height, width})
                                                        .mode(torch::kBilinear)
                                                        .align_corners(false))
                     .round()
                     .clamp(0, 255)
                     .to(torch::kUInt8);
    if (images.size(1) == 1 && channels == 3)
        images = images.expand({-1, 3, -1, -1}).contiguous();
    data.images = images;
    return data;
}

Dataset firstRows(const Dataset &data, long long limit)
{
    if (limit <= 0 || data.size() <= limit)
        return data;
    std::vector<int64_t> first(static_cast<size_t>(limit));
    std::iota(first.begin(), first.end(), 0);
    return data.subset(first);
}

std::vector<int64_t> holdoutRows(int64_t n, double fraction, uint64_t seed)
{
    const auto kept = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
    if (kept < 1 || kept >= n)
        throw std::invalid_argument("--holdout " + std::to_string(fraction) + " of " + std::to_string(n) +
                                    " training faces leaves no validation or no training faces");
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 random(seed);
    std::shuffle(order.begin(), order.end(), random);
    order.resize(static_cast<size_t>(kept));
    std::sort(order.begin(), order.end());
    return order;
}

bool isImageFolder(const std::string &path)
{
    std::error_code ec;
    return fs::is_directory(path, ec);
}

bool isCompactFolder(const std::string &path)
{
    std::error_code ec;
    if (!fs::is_directory(path, ec))
        return false;
    for (const auto &entry : fs::directory_iterator(path, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 10 && name.compare(name.size() - 10, 10, "-labels.u8") == 0)
            return true;
    }
    return false;
}

namespace {

// The whole file, gunzipped when it is gzip (zlib reads plain files unchanged).
std::string readAll(const std::string &path)
{
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw DataError("data file '" + path + "' does not exist");
    if (fs::is_directory(path, ec))
        throw DataError("data file '" + path + "' is a folder");
#ifndef FEREMOTION_TRAINER_ZLIB
    // A build without zlib (a GPU machine without its dev files) reads plain files only.
    std::ifstream plain(path, std::ios::binary);
    if (!plain)
        throw DataError("data file '" + path + "' cannot be opened: " + std::strerror(errno));
    std::string bytes((std::istreambuf_iterator<char>(plain)), std::istreambuf_iterator<char>());
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b)
        throw DataError("data file '" + path + "' is gzip, but this feremotion-trainer was built without zlib; "
                        "run gunzip -k on it");
    return bytes;
#else
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file)
        throw DataError("data file '" + path + "' cannot be opened: " + std::strerror(errno));
    gzbuffer(file, 1 << 20);
    std::string text;
    std::vector<char> chunk(1 << 20);
    int n;
    while ((n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0)
        text.append(chunk.data(), static_cast<size_t>(n));
    int errorCode = 0;
    const char *message = gzerror(file, &errorCode);
    const std::string error = (n < 0 || errorCode != Z_OK) ? (message ? message : "read error") : "";
    gzclose(file);
    if (!error.empty())
        throw DataError("data file '" + path + "' is damaged: " + error);
    return text;
#endif
}

std::string readXz(const std::string &path)
{
#ifdef FEREMOTION_TRAINER_LZMA
    const std::string packed = readAll(path);
    lzma_stream stream = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&stream, UINT64_MAX, 0) != LZMA_OK)
        throw DataError("data file '" + path + "': cannot start the xz decoder");
    std::string out;
    std::vector<uint8_t> chunk(1 << 20);
    stream.next_in = reinterpret_cast<const uint8_t *>(packed.data());
    stream.avail_in = packed.size();
    lzma_ret result = LZMA_OK;
    while (result == LZMA_OK) {
        stream.next_out = chunk.data();
        stream.avail_out = chunk.size();
        result = lzma_code(&stream, LZMA_FINISH);
        out.append(reinterpret_cast<const char *>(chunk.data()), chunk.size() - stream.avail_out);
    }
    lzma_end(&stream);
    if (result != LZMA_STREAM_END)
        throw DataError("data file '" + path + "' is not a complete xz file");
    return out;
#else
    throw DataError("data file '" + path + "': this feremotion-trainer was built without liblzma; run xz -dk on it");
#endif
}

} // namespace

Dataset loadCompact(const std::string &folder, const std::string &usage, long long limit)
{
    std::string split = usage;
    std::transform(split.begin(), split.end(), split.begin(), ::tolower);
    if (split == "training")
        split = "train";
    const fs::path labelsPath = fs::path(folder) / (split + "-labels.u8");
    const fs::path imagesPath = fs::path(folder) / (split + "-images.u8");
    std::error_code ec;
    if (!fs::exists(labelsPath, ec))
        throw DataError("compact data folder '" + folder + "' has no " + labelsPath.filename().string() +
                        " for Usage \"" + usage + "\"");
    const std::string labels = readAll(labelsPath.string());
    std::string images;
    if (fs::exists(imagesPath, ec))
        images = readAll(imagesPath.string());
    else if (fs::exists(imagesPath.string() + ".xz", ec))
        images = readXz(imagesPath.string() + ".xz");
    else
        throw DataError("compact data folder '" + folder + "' has no " + imagesPath.filename().string() + "[.xz]");
    constexpr size_t kPixels = 48 * 48;
    if (labels.empty() || images.size() != labels.size() * kPixels)
        throw DataError("compact data folder '" + folder + "': " + std::to_string(images.size()) + " image bytes for " +
                        std::to_string(labels.size()) + " labels (expected 2304 per label)");
    int64_t n = static_cast<int64_t>(labels.size());
    if (limit > 0 && limit < n)
        n = limit;
    std::vector<int64_t> labelIds(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const auto label = static_cast<uint8_t>(labels[static_cast<size_t>(i)]);
        if (label >= fer2013Labels().size())
            throw DataError(labelsPath.string() + ": label " + std::to_string(label) + " of image " +
                            std::to_string(i) + " is outside 0-6");
        labelIds[static_cast<size_t>(i)] = label;
    }
    Dataset data;
    data.images = torch::from_blob(images.data(), {n, 1, 48, 48}, torch::kUInt8).clone();
    data.labels = torch::tensor(labelIds, torch::kInt64);
    data.labelNames = fer2013Labels();
    data.description = "compact folder " + folder + " (" + usage + ")";
    return data;
}

namespace {

std::vector<std::string> splitCsvFields(const std::string &line)
{
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
        const size_t comma = line.find(',', start);
        std::string field = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        field.erase(std::remove(field.begin(), field.end(), '\r'), field.end());
        if (field.size() >= 2 && field.front() == '"' && field.back() == '"') // FER-2013's fields hold no commas
            field = field.substr(1, field.size() - 2);
        fields.push_back(field);
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return fields;
}

} // namespace

namespace {

// Control characters other than tabs and line ends do not occur in CSV text: say so instead of
// echoing the bytes of an image or an archive given by mistake.
void checkCsvText(const std::string &path, const std::string &text)
{
    const std::string start = text.substr(0, 4096);
    if (std::any_of(start.begin(), start.end(), [](char c) {
            const auto byte = static_cast<unsigned char>(c);
            return byte < 0x20 && byte != '\t' && byte != '\n' && byte != '\r';
        }))
        throw DataError(path + ": not a CSV text file (it holds binary data); give FER-2013's CSV");
}

// The emotion field at `p` (CSV writers may quote any field), up to its comma; nullopt when it is
// not a number of at most 9 digits followed by a comma. Leaves `p` on the comma.
std::optional<long> readEmotionField(const char *&p, const char *stop)
{
    long emotion = 0;
    const bool quoted = *p == '"';
    p += quoted;
    const char *digits = p;
    while (p < stop && *p >= '0' && *p <= '9' && p - digits < 9)
        emotion = emotion * 10 + (*p++ - '0');
    const bool closed = !quoted || (p < stop && *p++ == '"');
    if (p == digits || !closed || p >= stop || *p != ',')
        return std::nullopt;
    return emotion;
}

// The pixels field at `p` (maybe quoted): space-separated integers 0-255, the first `pixels` of
// them written to `out`. Returns how many there are, or nullopt when the field holds anything else.
// Leaves `p` after the field.
std::optional<int> readPixelsField(const char *&p, const char *stop, int pixels, uint8_t *out)
{
    const bool quoted = p < stop && *p == '"';
    p += quoted;
    const char fieldEnd = quoted ? '"' : ',';
    int count = 0;
    while (p < stop && *p != fieldEnd) {
        while (p < stop && *p == ' ')
            ++p;
        if (p >= stop || *p == fieldEnd)
            break;
        int value = 0;
        const char *start = p;
        while (p < stop && *p >= '0' && *p <= '9' && p - start < 4)
            value = value * 10 + (*p++ - '0');
        if (p == start || (p < stop && *p != ' ' && *p != fieldEnd) || value > 255 || p - start > 3)
            return std::nullopt;
        if (count < pixels)
            out[count] = static_cast<uint8_t>(value);
        ++count;
    }
    if (quoted) {
        if (p >= stop || *p != '"')
            return std::nullopt;
        ++p;
    }
    if (p < stop && *p != ',')
        return std::nullopt;
    return count;
}

// Reads FER-2013 CSV files, one after the other, into one buffer of faces and labels.
class FerCsvReader {
public:
    explicit FerCsvReader(const CsvOptions &options) : options_(options), pixels_(options.size * options.size) {}

    void readFile(const std::string &path)
    {
        const std::string text = readAll(path);
        checkCsvText(path, text);
        // A byte-order mark, as spreadsheet programs write UTF-8, is not part of the header.
        size_t position = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
        File file{path};
        while (position < text.size() && !limitReached()) {
            size_t end = text.find('\n', position);
            if (end == std::string::npos)
                end = text.size();
            const char *begin = text.data() + position;
            const char *stop = text.data() + end;
            position = end + 1;
            ++file.lineNumber;
            if (stop > begin && stop[-1] == '\r')
                --stop;
            if (stop == begin)
                continue;
            if (!file.headerRead) // the first line that is not blank
                readHeader(file, begin, stop);
            else
                readRow(file, begin, stop);
        }
        if (file.lineNumber == 0 && !limitReached()) // a file after the limit is not read at all
            throw DataError("data file '" + path + "' is empty");
    }

    Dataset finish(const std::vector<std::string> &paths, LoadReport *report)
    {
        if (report)
            *report = report_;
        if (labels_.empty()) {
            std::string seen;
            for (const auto &usage : otherUsages_)
                seen += (seen.empty() ? " (its rows have Usage " : ", ") + ("\"" + usage + "\"");
            throw DataError("no rows" +
                            (options_.usage.empty() ? std::string() : " with Usage \"" + options_.usage + "\"") + " in " +
                            paths.front() + (paths.size() > 1 ? " and the other data files" : "") +
                            (seen.empty() ? "" : seen + ")"));
        }
        Dataset data;
        const auto n = static_cast<int64_t>(labels_.size());
        data.images = torch::from_blob(images_.data(), {n, 1, options_.size, options_.size}, torch::kUInt8).clone();
        data.labels = torch::tensor(labels_, torch::kInt64);
        data.labelNames = fer2013Labels();
        std::string names;
        for (const auto &path : paths)
            names += (names.empty() ? "" : ", ") + fs::path(path).filename().string();
        // A file without a Usage column gave all its rows, whatever the usage asked.
        const bool byUsage = !options_.usage.empty() && report_.withoutUsage.empty();
        data.description = names + (byUsage ? " (" + options_.usage + ")" : "");
        return data;
    }

private:
    struct File {
        std::string path;
        long long lineNumber = 0;
        bool headerRead = false;
        int usageColumn = -1;
        size_t columns = 0;
    };

    bool limitReached() const
    {
        return options_.limit > 0 && static_cast<long long>(labels_.size()) >= options_.limit;
    }

    // A row that is not FER-2013's: an error naming its file and line, or with --skip-bad counted.
    void bad(const File &file, const std::string &cause)
    {
        if (!options_.skipBad)
            throw DataError(file.path + ":" + std::to_string(file.lineNumber) + ": " + cause +
                            " (use --skip-bad to skip such rows)");
        ++report_.skipped;
    }

    void readHeader(File &file, const char *begin, const char *stop)
    {
        file.headerRead = true;
        const auto header = splitCsvFields(std::string(begin, stop));
        file.columns = header.size();
        int emotionColumn = -1, pixelsColumn = -1;
        for (size_t i = 0; i < header.size(); ++i) {
            if (header[i] == "emotion") emotionColumn = static_cast<int>(i);
            if (header[i] == "pixels") pixelsColumn = static_cast<int>(i);
            if (header[i] == "Usage") file.usageColumn = static_cast<int>(i);
        }
        if (emotionColumn != 0 || pixelsColumn != 1)
            throw DataError(file.path + ":" + std::to_string(file.lineNumber) +
                            ": header must start with \"emotion,pixels\" (FER-2013 CSV), found \"" +
                            std::string(begin, std::min(stop, begin + 60)) + "\"");
        if (file.usageColumn < 0 && report_.withoutUsage.empty())
            report_.withoutUsage = file.path;
    }

    void readRow(const File &file, const char *begin, const char *stop)
    {
        const auto classes = static_cast<long>(fer2013Labels().size());
        const char *p = begin;
        const std::optional<long> emotion = readEmotionField(p, stop);
        if (!emotion) {
            const char *comma = std::find(begin, stop, ',');
            bad(file, "the emotion field \"" + std::string(begin, std::min(comma, begin + 20)) +
                          "\" is not a label id 0-" + std::to_string(classes - 1));
            return;
        }
        if (*emotion >= classes) {
            bad(file, "emotion " + std::to_string(*emotion) + " is outside 0-" + std::to_string(classes - 1));
            return;
        }
        ++p; // the comma
        const size_t offset = images_.size();
        images_.resize(offset + static_cast<size_t>(pixels_));
        const std::optional<int> count = readPixelsField(p, stop, pixels_, images_.data() + offset);
        if (!count || *count != pixels_) {
            images_.resize(offset);
            bad(file, !count ? "the pixels field holds something other than integers 0-255"
                             : "the pixels field has " + std::to_string(*count) + " values, expected " +
                                   std::to_string(pixels_));
            return;
        }
        // The fields after the pixels (Usage, in FER-2013), as many as the header names.
        const std::vector<std::string> rest =
            p < stop ? splitCsvFields(std::string(p + 1, stop)) : std::vector<std::string>{};
        if (rest.size() + 2 != file.columns) {
            images_.resize(offset);
            bad(file, "the row has " + std::to_string(rest.size() + 2) + " fields, the header " +
                          std::to_string(file.columns));
            return;
        }
        if (!options_.usage.empty() && file.usageColumn >= 0) {
            const std::string &usage = rest[static_cast<size_t>(file.usageColumn) - 2];
            if (usage != options_.usage) {
                images_.resize(offset);
                if (otherUsages_.size() < 8)
                    otherUsages_.insert(usage);
                return;
            }
        }
        labels_.push_back(*emotion);
        ++report_.rows;
    }

    const CsvOptions &options_;
    const int pixels_;
    std::vector<uint8_t> images_;
    std::vector<int64_t> labels_;
    LoadReport report_;
    std::set<std::string> otherUsages_; // named when no row has the Usage asked for
};

} // namespace

Dataset loadFerCsv(const std::vector<std::string> &paths, const CsvOptions &options, LoadReport *report)
{
    if (paths.empty())
        throw DataError("no data files given");
    FerCsvReader reader(options);
    for (const std::string &path : paths)
        reader.readFile(path);
    return reader.finish(paths, report);
}

Dataset loadImageFolder(const std::string &root, const std::vector<std::string> &labels, int width, int height,
                        bool rgb, bool skipBad, LoadReport *report)
{
#ifdef FEREMOTION_TRAINER_OPENCV
    std::error_code ec;
    if (!fs::is_directory(root, ec))
        throw DataError("image folder '" + root + "' does not exist");
    std::vector<std::pair<std::string, int64_t>> files;
    for (const auto &entry : fs::directory_iterator(root)) {
        if (!entry.is_directory())
            continue;
        const std::string name = entry.path().filename().string();
        const auto it = std::find(labels.begin(), labels.end(), name);
        if (it == labels.end())
            throw DataError("image folder '" + entry.path().string() + "' is not a known label (known: " + [&] {
                std::string known;
                for (const auto &l : labels)
                    known += (known.empty() ? "" : ", ") + l;
                return known;
            }() + ")");
        // Recursively, as torchvision's ImageFolder reads its class folders.
        for (const auto &file :
             fs::recursive_directory_iterator(entry.path(), fs::directory_options::follow_directory_symlink)) {
            if (!file.is_regular_file())
                continue;
            std::string ext = file.path().extension().string();
            std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
            if (ext == ".png" || ext == ".jpg" || ext == ".jpeg")
                files.push_back({file.path().string(), it - labels.begin()});
        }
    }
    std::sort(files.begin(), files.end());
    if (files.empty())
        throw DataError("image folder '" + root + "' holds no .png/.jpg images in label folders");
    const int channels = rgb ? 3 : 1;
    auto images = torch::empty({static_cast<int64_t>(files.size()), channels, height, width}, torch::kUInt8);
    std::vector<int64_t> labelIds;
    LoadReport local;
    for (size_t i = 0; i < files.size(); ++i) {
        cv::Mat image = cv::imread(files[i].first, rgb ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
        if (image.empty()) {
            if (!skipBad)
                throw DataError("image '" + files[i].first + "' cannot be decoded (use --skip-bad to skip such files)");
            ++local.skipped;
            continue;
        }
        if (rgb)
            cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
        cv::resize(image, image, {width, height}, 0, 0, cv::INTER_AREA);
        auto hwc = torch::from_blob(image.data, {height, width, channels}, torch::kUInt8);
        images[static_cast<int64_t>(labelIds.size())].copy_(hwc.permute({2, 0, 1}));
        labelIds.push_back(files[i].second);
        ++local.rows;
    }
    if (labelIds.empty())
        throw DataError("image folder '" + root + "' holds no image that can be decoded");
    if (report)
        *report = local;
    Dataset data;
    data.images = images.slice(0, 0, static_cast<int64_t>(labelIds.size()));
    data.labels = torch::tensor(labelIds, torch::kInt64);
    data.labelNames = labels;
    data.description = "image folder " + root;
    return data;
#else
    (void)labels;
    (void)width;
    (void)height;
    (void)rgb;
    (void)skipBad;
    (void)report;
    throw DataError("image folder '" + root + "': this feremotion-trainer was built without OpenCV");
#endif
}

} // namespace feremotion::trainer
