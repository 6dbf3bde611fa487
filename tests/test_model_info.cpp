// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion.json parsing (design.md's bundle metadata).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/model/model_info.h"
#include "support.h"

using namespace feremotion;
using ::testing::HasSubstr;

namespace {

std::string parseError(const std::string &json)
{
    try {
        parseModelInfo(json, "m.pt");
    } catch (const ModelError &e) {
        return e.what();
    }
    return "(parsed)";
}

std::string withFaceCrop(const nlohmann::json &faceCrop)
{
    nlohmann::json doc = nlohmann::json::parse(test::metadataJson({}));
    doc["face_crop"] = faceCrop;
    return doc.dump();
}

// The test metadata with its "input" replaced by the given fields.
std::string withInput(const std::string &fields)
{
    nlohmann::json doc = nlohmann::json::parse(test::metadataJson({}));
    doc["input"] = nlohmann::json::parse("{" + fields + "}");
    return doc.dump();
}

} // namespace

TEST(ModelInfo, ParsesTheDesignExample)
{
    const ModelInfo info = parseModelInfo(test::metadataJson({}), "m.pt");
    EXPECT_EQ(info.labels, fer2013Labels());
    EXPECT_EQ(info.input.width, 48);
    EXPECT_EQ(info.input.color, ColorMode::Gray);
    ASSERT_EQ(info.input.mean.size(), 1u);
    EXPECT_FLOAT_EQ(info.input.mean[0], 0.5f);
    EXPECT_EQ(info.architecture, "test-linear");
}

TEST(ModelInfo, OneMeanValueServesEveryRgbChannel)
{
    test::TestBundle spec;
    spec.color = "rgb";
    const ModelInfo info = parseModelInfo(test::metadataJson(spec), "m.pt");
    EXPECT_EQ(info.input.mean, (std::vector<float>{0.5f, 0.5f, 0.5f}));
}

TEST(ModelInfo, WrongFormatIsRejected)
{
    EXPECT_THAT(parseError(R"({"format": "onnx"})"), HasSubstr("expected \"feremotion-model\""));
}

TEST(ModelInfo, UnknownColourIsRejected)
{
    test::TestBundle spec;
    spec.color = "cmyk";
    EXPECT_THAT(parseError(test::metadataJson(spec)), HasSubstr("\"input.color\""));
}

TEST(ModelInfo, ErrorsNameTheModelFile)
{
    EXPECT_THAT(parseError("[]"), HasSubstr("model 'm.pt'"));
}

// Numbers are checked before they are narrowed: 4294967344 as an int is 48, 1e39 as a float infinite.
TEST(ModelInfo, AnInputSizeBeyondIntIsRejectedNotWrapped)
{
    EXPECT_THAT(parseError(withInput(R"("width": 4294967344, "height": 48, "color": "gray", "mean": [0.5], "std": [0.5])")),
                HasSubstr("must be integers from 1 to 4096, not 4294967344 and 48"));
}

TEST(ModelInfo, AMeanBeyondFloatRangeIsRejected)
{
    EXPECT_THAT(parseError(withInput(R"("width": 48, "height": 48, "color": "gray", "mean": [1e39], "std": [0.5])")),
                HasSubstr("\"input.mean\" holds 1e+39"));
}

TEST(ModelInfo, AGrayModelNeedsOneMeanValue)
{
    EXPECT_THAT(parseError(withInput(R"("width": 48, "height": 48, "color": "gray", "mean": [0.5, 0.5], "std": [0.5])")),
                HasSubstr("need 1 value for colour gray"));
}

TEST(ModelInfo, LabelListsAreTrimmed)
{
    EXPECT_EQ(parseLabelList(" a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_THROW(parseLabelList("a,,b"), std::invalid_argument);
}

TEST(ModelInfo, NumberListsRejectGarbage)
{
    EXPECT_EQ(parseFloatList("0.485, 0.456,0.406").size(), 3u);
    EXPECT_THROW(parseFloatList("0.5x"), std::invalid_argument);
    EXPECT_THROW(parseFloatList(""), std::invalid_argument);
}

TEST(ModelInfo, FaceCropsKeepTheInputsAspectUnlessTheBundleSaysOtherwise)
{
    EXPECT_TRUE(parseModelInfo(withFaceCrop({{"margin", 0.1}}), "m.pt").keepAspect);
    EXPECT_TRUE(parseModelInfo(withFaceCrop({{"margin", 0.1}, {"keep_aspect", true}}), "m.pt").keepAspect);
    EXPECT_FALSE(parseModelInfo(withFaceCrop({{"margin", 0.1}, {"keep_aspect", false}}), "m.pt").keepAspect);
}

TEST(ModelInfo, NonBooleanKeepAspectIsRejected)
{
    EXPECT_THAT(parseError(withFaceCrop({{"margin", 0.0}, {"keep_aspect", "yes"}})),
                HasSubstr("\"face_crop.keep_aspect\""));
}

TEST(ModelInfo, CropAspectRuleIsPartOfTheInterface)
{
    ModelInfo fitted, stretched;
    stretched.keepAspect = false;
    EXPECT_STREQ(interfaceDifference(fitted, stretched), "face-crop aspect rule");
}

TEST(ModelInfo, WhatTheWriterWritesTheParserReadsBack)
{
    ModelInfo info;
    info.labels = {"calm, really", "tense", "ünknown"};
    info.input.width = 64;
    info.input.height = 40;
    info.input.color = ColorMode::Rgb;
    info.input.mean = {0.485f, 0.456f, 0.406f};
    info.input.std = {0.229f, 0.224f, 0.225f};
    info.faceMargin = 0.25f;
    info.keepAspect = false;
    info.architecture = "resnet width 16";
    info.parameters = 123456;
    const ModelInfo back = parseModelInfo(modelInfoJson(info).dump(), "round-trip");
    EXPECT_EQ(back.labels, info.labels);
    EXPECT_EQ(back.input.width, 64);
    EXPECT_EQ(back.input.height, 40);
    EXPECT_EQ(back.input.color, ColorMode::Rgb);
    EXPECT_EQ(back.input.mean, info.input.mean);
    EXPECT_EQ(back.input.std, info.input.std);
    EXPECT_FLOAT_EQ(back.faceMargin, 0.25f);
    EXPECT_FALSE(back.keepAspect);
    EXPECT_EQ(back.architecture, info.architecture);
    EXPECT_EQ(back.parameters, 123456);
}
