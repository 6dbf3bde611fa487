/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The export's formats as pure functions of the data: a frame's faces (as face-record.h reads them
 * from the metadata) to JSON Lines, CSV or WebVTT text. No GStreamer here, so each is tested alone.
 * Adding a format is an ExportFormat value with its entry in exportFormats() and the function
 * that writes it. */
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace feremotion {

enum class ExportFormat { JsonLines, Csv, WebVtt };

struct ExportFormatName {
    ExportFormat format;
    const char *nick;        // the `format` property's value
    const char *description; // gst-inspect's words for it
};

// Every format, in the order of the enum.
const std::vector<ExportFormatName> &exportFormats();

// One face as a buffer's region-of-interest metadata holds it: feremotion's own, or another
// element's in DL Streamer's style ("detection" and a classification result param).
struct FaceRecord {
    int x = 0, y = 0, w = 0, h = 0, id = -1;
    std::string roiType;
    double xMin = 0, yMin = 0, xMax = 0, yMax = 0, detectionConfidence = 0;
    bool hasEmotion = false;
    std::string label;
    int labelId = -1;
    double confidence = 0;
    std::vector<double> probabilities;
    std::vector<double> rawProbabilities; // feremotion with smoothing: the classifier's own output
    std::vector<std::string> labels;      // the names of the probabilities' classes, when given
    bool tracked = false, reused = false;  // box followed, emotion carried over from an earlier frame
    bool carried = false;                  // the frame was not analysed: box and emotion of an earlier one
};

// One frame as the export writes it.
struct FrameRecord {
    std::optional<uint64_t> timestamp; // nanoseconds (the buffer's PTS), when it has one
    uint64_t frame = 0;                // frames counted by the export from 0
    int width = 0, height = 0;
    std::string source;
    std::vector<FaceRecord> faces;
};

// The names of a face's probabilities: the labels its classifier gave, else (an upstream element
// that gave none, not as many as it has probabilities, or names that are empty or repeated and so
// cannot be JSON keys) their indices.
std::vector<std::string> probabilityNames(const FaceRecord &face);

// format=jsonl: one JSON object and a line break, gvametaconvert's keys plus the probabilities.
std::string jsonLine(const FrameRecord &frame);

// format=csv: one row per face. A face whose probabilities have other names than `columns` (the
// last header's; nullopt before the first) is preceded by a new header and they become the columns.
std::string csvRows(const FrameRecord &frame, std::optional<std::vector<std::string>> &columns);
// The probability columns of the last header in a CSV file's text (nullopt when it has none): an
// appended run writes a header only when its labels differ.
std::optional<std::vector<std::string>> lastCsvHeaderColumns(const std::string &text);

// format=webvtt: the text a new file starts with.
constexpr const char *kWebVttFileHeader = "WEBVTT\n\n";
// The faces of one WebVTT cue's time window: per track, the summed probabilities (or label
// counts when an upstream element gave no probabilities) of the frames it was seen in.
struct CueWindow {
    struct Track {
        std::vector<std::string> labels; // by label id, as far as seen
        std::vector<double> scores;
    };
    uint64_t index = 0;
    uint64_t start = 0; // nanoseconds: the first frame with faces in the window
    uint64_t end = 0;   // nanoseconds: end of the last frame with faces in the window
    std::map<int, Track> tracks;
    bool empty() const { return tracks.empty(); }
};
void addToCue(CueWindow &cue, const std::vector<FaceRecord> &faces);
// One cue: a line per track, "face <id>: <label> (<share of the window's score>%)".
std::string cueText(const CueWindow &cue);
// The end a cue is written with: at least a millisecond after its start.
uint64_t cueEnd(const CueWindow &cue);

} // namespace feremotion
