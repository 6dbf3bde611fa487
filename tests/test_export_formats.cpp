// SPDX-License-Identifier: LGPL-2.1-or-later
// The export's formats as functions of a frame record: keys, columns and cues taken from the data.
#include <algorithm>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "export-formats.h"

using namespace feremotion;

namespace {

FaceRecord faceWithEmotion(int id, std::vector<std::string> labels, std::vector<double> probabilities)
{
    FaceRecord face;
    face.x = 10, face.y = 20, face.w = 30, face.h = 40, face.id = id;
    face.roiType = "face";
    face.hasEmotion = true;
    const auto best = std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin();
    face.labelId = static_cast<int>(best);
    face.label = static_cast<size_t>(best) < labels.size() ? labels[static_cast<size_t>(best)] : std::to_string(best);
    face.confidence = probabilities[static_cast<size_t>(best)];
    face.labels = std::move(labels);
    face.probabilities = std::move(probabilities);
    return face;
}

FrameRecord frameOf(std::vector<FaceRecord> faces, std::optional<uint64_t> timestamp = 2'500'000'000ULL)
{
    FrameRecord frame;
    frame.timestamp = timestamp;
    frame.frame = 75;
    frame.width = 640, frame.height = 480;
    frame.source = "clip.mp4";
    frame.faces = std::move(faces);
    return frame;
}

} // namespace

TEST(ExportFormats, JsonLineHoldsGvametaconvertsKeysWithProbabilitiesNamedByTheLabels)
{
    const std::string line = jsonLine(frameOf({faceWithEmotion(3, {"calm", "tense"}, {0.25, 0.75})}));
    ASSERT_EQ(line.back(), '\n');
    const auto record = nlohmann::json::parse(line);
    EXPECT_EQ(record["timestamp"], 2'500'000'000ULL);
    EXPECT_EQ(record["frame"], 75);
    EXPECT_EQ(record["resolution"]["width"], 640);
    EXPECT_EQ(record["source"], "clip.mp4");
    const auto &face = record["objects"][0];
    EXPECT_EQ(face["id"], 3);
    EXPECT_EQ(face["emotion"]["label"], "tense");
    EXPECT_EQ(face["emotion"]["probabilities"], nlohmann::json({{"calm", 0.25}, {"tense", 0.75}}));
    EXPECT_FALSE(face["emotion"].contains("raw_probabilities")) << "only when the element smoothed them";
}

TEST(ExportFormats, JsonLineTimestampIsNullForAFrameWithoutOne)
{
    EXPECT_TRUE(nlohmann::json::parse(jsonLine(frameOf({}, std::nullopt)))["timestamp"].is_null());
}

TEST(ExportFormats, ProbabilitiesAreNamedByIndexWhenLabelsAreMissingTooFewRepeatedOrEmpty)
{
    const std::vector<std::string> indices{"0", "1"};
    EXPECT_EQ(probabilityNames(faceWithEmotion(1, {}, {0.4, 0.6})), indices);
    EXPECT_EQ(probabilityNames(faceWithEmotion(1, {"a"}, {0.4, 0.6})), indices);
    EXPECT_EQ(probabilityNames(faceWithEmotion(1, {"a", "a"}, {0.4, 0.6})), indices);
    EXPECT_EQ(probabilityNames(faceWithEmotion(1, {"a", ""}, {0.4, 0.6})), indices);
    EXPECT_EQ(probabilityNames(faceWithEmotion(1, {"a", "b"}, {0.4, 0.6})), (std::vector<std::string>{"a", "b"}));
}

TEST(ExportFormats, CsvStartsWithAHeaderAndWritesANewOneOnlyWhenTheLabelsChange)
{
    std::optional<std::vector<std::string>> columns;
    const std::string first = csvRows(frameOf({faceWithEmotion(1, {"a", "b"}, {0.5, 0.5})}), columns);
    EXPECT_EQ(first, "timestamp,frame,track_id,x,y,w,h,label,confidence,a,b\n"
                     "2.500000,75,1,10,20,30,40,a,0.500000,0.500000,0.500000\n");
    const std::string same = csvRows(frameOf({faceWithEmotion(1, {"a", "b"}, {0.5, 0.5})}), columns);
    EXPECT_EQ(same.find("timestamp"), std::string::npos);
    const std::string other = csvRows(frameOf({faceWithEmotion(1, {"x", "y", "z"}, {0.2, 0.3, 0.5})}), columns);
    EXPECT_EQ(other.rfind("timestamp,frame,track_id,x,y,w,h,label,confidence,x,y,z\n", 0), 0u);
    EXPECT_EQ(columns, (std::vector<std::string>{"x", "y", "z"}));
}

TEST(ExportFormats, CsvQuotesFieldsWithCommasQuotesAndLineBreaks)
{
    std::optional<std::vector<std::string>> columns;
    const std::string rows = csvRows(frameOf({faceWithEmotion(1, {"calm, really", "say \"hi\"\n"}, {0.9, 0.1})}), columns);
    EXPECT_NE(rows.find(",\"calm, really\",\"say \"\"hi\"\"\n\"\n"), std::string::npos) << rows;
    EXPECT_NE(rows.find(",\"calm, really\",0.900000,"), std::string::npos) << rows;
}

TEST(ExportFormats, TheLastCsvHeaderOfAFileGivesItsProbabilityColumns)
{
    const std::string text = "timestamp,frame,track_id,x,y,w,h,label,confidence,a,b\n1,0,1,0,0,1,1,a,1,1,0\n"
                             "timestamp,frame,track_id,x,y,w,h,label,confidence,\"c, d\",e\n";
    EXPECT_EQ(lastCsvHeaderColumns(text), (std::vector<std::string>{"c, d", "e"}));
    EXPECT_EQ(lastCsvHeaderColumns("no header here\n"), std::nullopt);
}

TEST(ExportFormats, ACueNamesEachTracksDominantEmotionOverItsWindowWithItsShare)
{
    CueWindow cue;
    cue.start = 1'000'000'000ULL;
    cue.end = 1'500'000'000ULL;
    addToCue(cue, {faceWithEmotion(1, {"calm", "tense"}, {0.2, 0.8}), faceWithEmotion(2, {"calm", "tense"}, {0.9, 0.1})});
    addToCue(cue, {faceWithEmotion(1, {"calm", "tense"}, {0.4, 0.6})});
    EXPECT_EQ(cueText(cue), "00:00:01.000 --> 00:00:01.500\nface 1: tense (70%)\nface 2: calm (90%)\n\n");
}

TEST(ExportFormats, CueTextEscapesMarkupAndLineBreaksInLabels)
{
    CueWindow cue;
    addToCue(cue, {faceWithEmotion(1, {"<b>a & b\n", "c"}, {1.0, 0.0})});
    EXPECT_NE(cueText(cue).find("face 1: &lt;b&gt;a &amp; b  (100%)"), std::string::npos) << cueText(cue);
    EXPECT_EQ(cueEnd(cue), 1'000'000ULL) << "at least a millisecond long";
}

TEST(ExportFormats, EveryFormatHasItsOwnNickInTheOrderOfTheEnum)
{
    std::set<std::string> nicks;
    for (size_t i = 0; i < exportFormats().size(); ++i) {
        EXPECT_EQ(static_cast<size_t>(exportFormats()[i].format), i);
        nicks.insert(exportFormats()[i].nick);
    }
    EXPECT_EQ(nicks, (std::set<std::string>{"jsonl", "csv", "webvtt"}));
}
