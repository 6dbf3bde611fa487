/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "export-formats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace feremotion {

namespace {

constexpr uint64_t kMillisecond = 1000000;
constexpr uint64_t kSecond = 1000 * kMillisecond;

} // namespace

const std::vector<ExportFormatName> &exportFormats()
{
    static const std::vector<ExportFormatName> formats{
        {ExportFormat::JsonLines, "jsonl", "One JSON object per frame (gvametaconvert keys)"},
        {ExportFormat::Csv, "csv", "One CSV row per face per frame"},
        {ExportFormat::WebVtt, "webvtt", "WebVTT subtitles: each track's dominant emotion per cue"},
    };
    return formats;
}

std::vector<std::string> probabilityNames(const FaceRecord &f)
{
    std::vector<std::string> sorted = f.labels;
    std::sort(sorted.begin(), sorted.end());
    const bool usable = f.labels.size() == f.probabilities.size() &&
                        std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end() &&
                        std::find(sorted.begin(), sorted.end(), "") == sorted.end();
    if (usable)
        return f.labels;
    std::vector<std::string> names;
    for (size_t i = 0; i < f.probabilities.size(); ++i)
        names.push_back(std::to_string(i));
    return names;
}

static nlohmann::json probabilitiesObject(const std::vector<std::string> &names, const std::vector<double> &values)
{
    nlohmann::json object = nlohmann::json::object();
    for (size_t i = 0; i < values.size() && i < names.size(); ++i)
        object[names[i]] = values[i];
    return object;
}

std::string jsonLine(const FrameRecord &frame)
{
    nlohmann::json objects = nlohmann::json::array();
    for (const FaceRecord &f : frame.faces) {
        nlohmann::json object = {
            {"x", f.x}, {"y", f.y}, {"w", f.w}, {"h", f.h}, {"id", f.id}, {"roi_type", f.roiType},
            {"detection",
             {{"bounding_box", {{"x_min", f.xMin}, {"y_min", f.yMin}, {"x_max", f.xMax}, {"y_max", f.yMax}}},
              {"confidence", f.detectionConfidence},
              {"tracked", f.tracked},
              {"carried", f.carried}}}};
        if (f.hasEmotion) {
            const std::vector<std::string> names = probabilityNames(f);
            object["emotion"] = {{"label", f.label},
                                 {"label_id", f.labelId},
                                 {"confidence", f.confidence},
                                 {"probabilities", probabilitiesObject(names, f.probabilities)},
                                 {"reused", f.reused}};
            if (!f.rawProbabilities.empty())
                object["emotion"]["raw_probabilities"] = probabilitiesObject(names, f.rawProbabilities);
        }
        objects.push_back(object);
    }
    nlohmann::json record = {{"timestamp", frame.timestamp ? nlohmann::json(*frame.timestamp) : nlohmann::json(nullptr)},
                             {"frame", frame.frame},
                             {"resolution", {{"width", frame.width}, {"height", frame.height}}},
                             {"source", frame.source},
                             {"objects", objects}};
    return record.dump() + "\n";
}

// A CSV field as RFC 4180 has it: quoted, with quotes doubled, when it holds a comma, a quote or a
// line break (a label "calm, really" must not shift the columns, nor a newline split the row).
static std::string csvField(const std::string &text)
{
    if (text.find_first_of(",\"\r\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text)
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

constexpr const char *kCsvFixedColumns = "timestamp,frame,track_id,x,y,w,h,label,confidence";

// The header for rows with these probability columns.
static std::string csvHeader(const std::vector<std::string> &probabilityColumns)
{
    std::string header = kCsvFixedColumns;
    for (const std::string &name : probabilityColumns)
        header += "," + csvField(name);
    return header + "\n";
}

std::optional<std::vector<std::string>> lastCsvHeaderColumns(const std::string &text)
{
    const std::string fixed = std::string(kCsvFixedColumns);
    size_t at = std::string::npos;
    for (size_t from = 0; (from = text.find(fixed, from)) != std::string::npos; from += fixed.size())
        if (from == 0 || text[from - 1] == '\n')
            at = from;
    if (at == std::string::npos)
        return std::nullopt;
    // Fields after the fixed ones, RFC 4180-quoted, up to the record's end.
    std::vector<std::string> columns;
    size_t i = at + fixed.size();
    while (i < text.size() && text[i] == ',') {
        std::string field;
        ++i;
        if (i < text.size() && text[i] == '"') {
            for (++i; i < text.size(); ++i) {
                if (text[i] == '"' && i + 1 < text.size() && text[i + 1] == '"')
                    field += '"', ++i;
                else if (text[i] == '"')
                    break;
                else
                    field += text[i];
            }
            ++i;
        } else {
            for (; i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r'; ++i)
                field += text[i];
        }
        columns.push_back(field);
    }
    return columns;
}

// A face without an emotion keeps the columns.
std::string csvRows(const FrameRecord &frame, std::optional<std::vector<std::string>> &columns)
{
    std::string rows;
    char buffer[128];
    for (const FaceRecord &f : frame.faces) {
        const std::vector<std::string> names = f.hasEmotion ? probabilityNames(f) : columns.value_or(std::vector<std::string>{});
        if (!columns || *columns != names) {
            columns = names;
            rows += csvHeader(names);
        }
        if (frame.timestamp)
            std::snprintf(buffer, sizeof buffer, "%.6f", static_cast<double>(*frame.timestamp) / kSecond);
        rows += std::string(frame.timestamp ? buffer : "") + "," + std::to_string(frame.frame) + "," +
                std::to_string(f.id) + "," + std::to_string(f.x) + "," + std::to_string(f.y) + "," +
                std::to_string(f.w) + "," + std::to_string(f.h) + "," + csvField(f.label) + ",";
        std::snprintf(buffer, sizeof buffer, "%.6f", f.confidence);
        rows += f.hasEmotion ? buffer : "";
        for (size_t i = 0; i < names.size(); ++i) {
            std::snprintf(buffer, sizeof buffer, ",%.6f", i < f.probabilities.size() ? f.probabilities[i] : 0.0);
            rows += f.hasEmotion ? buffer : ",";
        }
        rows += "\n";
    }
    return rows;
}

// WebVTT's HH:MM:SS.mmm.
static std::string cueTime(uint64_t t)
{
    const uint64_t ms = t / kMillisecond;
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%02llu:%02llu:%02llu.%03llu", static_cast<unsigned long long>(ms / 3600000),
                  static_cast<unsigned long long>(ms / 60000 % 60), static_cast<unsigned long long>(ms / 1000 % 60),
                  static_cast<unsigned long long>(ms % 1000));
    return buffer;
}

// Cue text is markup: a label such as "<b>" or "a & b" must not become a tag or an entity, and a
// line break in one would end the cue (an empty line) or start a line of its own.
static std::string escapeCueText(const std::string &text)
{
    std::string escaped;
    for (char c : text) {
        switch (c) {
        case '&': escaped += "&amp;"; break;
        case '<': escaped += "&lt;"; break;
        case '>': escaped += "&gt;"; break;
        case '\n':
        case '\r': escaped += ' '; break;
        default: escaped += c;
        }
    }
    return escaped;
}

void addToCue(CueWindow &cue, const std::vector<FaceRecord> &faces)
{
    constexpr int kMostLabels = 4096; // a label id beyond this is not a classifier's
    for (const FaceRecord &f : faces) {
        if (!f.hasEmotion || f.labelId < 0 || f.labelId >= kMostLabels ||
            f.probabilities.size() > static_cast<size_t>(kMostLabels))
            continue;
        CueWindow::Track &track = cue.tracks[f.id];
        const size_t classes = std::max({track.scores.size(), f.probabilities.size(), static_cast<size_t>(f.labelId) + 1});
        track.scores.resize(classes, 0.0);
        track.labels.resize(classes);
        track.labels[static_cast<size_t>(f.labelId)] = f.label;
        if (f.labels.size() == f.probabilities.size())
            for (size_t i = 0; i < f.labels.size(); ++i)
                track.labels[i] = f.labels[i];
        if (f.probabilities.empty())
            track.scores[static_cast<size_t>(f.labelId)] += 1.0;
        else
            for (size_t i = 0; i < f.probabilities.size(); ++i)
                track.scores[i] += f.probabilities[i];
    }
}

uint64_t cueEnd(const CueWindow &cue)
{
    return std::max(cue.end, cue.start + kMillisecond);
}

std::string cueText(const CueWindow &cue)
{
    std::string text = cueTime(cue.start) + " --> " + cueTime(cueEnd(cue)) + "\n";
    for (const auto &[id, track] : cue.tracks) {
        const auto best = std::max_element(track.scores.begin(), track.scores.end());
        const size_t label = static_cast<size_t>(best - track.scores.begin());
        double total = 0;
        for (double v : track.scores)
            total += v;
        const std::string name = track.labels[label].empty() ? std::to_string(label) : track.labels[label];
        text += "face " + std::to_string(id) + ": " + escapeCueText(name) + " (" +
                std::to_string(static_cast<int>(std::lround(total > 0 ? 100.0 * *best / total : 0.0))) + "%)\n";
    }
    return text + "\n";
}

} // namespace feremotion
