// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of the overlay: drawn inside the boxes, in every format, legible at any size; captions
// too wide for small boxes go whole above them.
#include <set>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/model/model_info.h"
#include "engine/vision/overlay.h"
#include "frames.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;

namespace {

class OverlayPerFormat : public ::testing::TestWithParam<PixelFormat> {};

// Byte offsets of a frame's pixels that lie inside `box` (per plane, with chroma subsampling).
bool insideBox(const FrameView &v, size_t offset, const Box &box, const std::vector<uint8_t> &bytes)
{
    const auto *base = bytes.data();
    for (int p = 2; p >= 0; --p) {
        if (!v.planes[p])
            continue;
        const size_t start = static_cast<size_t>(v.planes[p] - base);
        if (offset < start)
            continue;
        const size_t row = (offset - start) / v.strides[p];
        const size_t column = (offset - start) % v.strides[p];
        const int bytesPerPixel = p == 0 ? packedChannels(v.format) : (v.format == PixelFormat::NV12 ? 2 : 1);
        const double scale = p == 0 ? 1.0 : 2.0;
        const double x = (column / bytesPerPixel) * scale, y = row * scale;
        return x >= box.x && x + scale <= box.x + box.width + 1e-9 && y >= box.y &&
               y + scale <= box.y + box.height + 1e-9;
    }
    return false;
}

} // namespace

TEST_P(OverlayPerFormat, ChangesPixelsInsideTheBoxesOnly)
{
    OwnedFrame frame = makeFrame(syntheticImage(320, 240), GetParam());
    const std::vector<uint8_t> before = frame.bytes;
    const Box box{41, 31, 120, 100};
    drawOverlay(frame.view, {{box, "happy 87%", emotionColor("happy", 3)}});
    size_t changedInside = 0;
    for (size_t i = 0; i < before.size(); ++i) {
        if (before[i] == frame.bytes[i])
            continue;
        ASSERT_TRUE(insideBox(frame.view, i, box, frame.bytes)) << "byte " << i << " outside the box changed";
        ++changedInside;
    }
    EXPECT_GT(changedInside, 200u);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, OverlayPerFormat, ::testing::ValuesIn(allFormats()),
                         [](const auto &info) { return toString(info.param); });

TEST(Overlay, EmotionsHaveDistinctColours)
{
    std::set<std::tuple<int, int, int>> colours;
    for (const std::string &label : fer2013Labels()) {
        const Rgb c = emotionColor(label, 0);
        colours.insert({c.r, c.g, c.b});
    }
    EXPECT_EQ(colours.size(), 7u);
}

TEST(Overlay, AnEmotionKeepsItsColourInAModelWithOtherLabels)
{
    const Rgb happyFirst = emotionColor("happy", 0);
    const Rgb happyInFer = emotionColor("happy", 3);
    EXPECT_EQ(std::tie(happyFirst.r, happyFirst.g, happyFirst.b), std::tie(happyInFer.r, happyInFer.g, happyInFer.b));
    const Rgb bored = emotionColor("bored", 0);
    const Rgb tired = emotionColor("tired", 1);
    EXPECT_NE(std::tie(bored.r, bored.g, bored.b), std::tie(tired.r, tired.g, tired.b));
}

TEST(Overlay, CaptionScalesWithTheFrame)
{
    // The caption background is the box colour: count its rows at the box's left edge.
    auto captionRows = [](int width, int height) {
        cv::Mat image(height, width, CV_8UC3, cv::Scalar(0, 0, 0));
        FrameView view = frameFromMat(image, PixelFormat::BGR);
        const Box box{width * 0.25f, height * 0.25f, width * 0.5f, height * 0.5f};
        drawOverlay(view, {{box, "sad 51%", Rgb{40, 110, 230}}});
        int rows = 0;
        const int column = static_cast<int>(box.x + box.width * 0.1f);
        for (int y = static_cast<int>(box.y); y < box.y + box.height; ++y)
            rows += image.at<cv::Vec3b>(y, column) != cv::Vec3b(0, 0, 0);
        return static_cast<double>(rows) / height;
    };
    const double small = captionRows(320, 240);
    const double large = captionRows(3840, 2160);
    // The caption covers a similar share of the frame height at both sizes.
    EXPECT_GT(small, 0.03);
    EXPECT_GT(large, 0.03);
    EXPECT_LT(large / small, 2.0);
    EXPECT_GT(large / small, 0.5);
}

namespace {

// The bounding rectangle of the pixels drawOverlay changes on a black 320x240 frame.
cv::Rect changedByOverlay(const OverlayItem &item)
{
    cv::Mat image(240, 320, CV_8UC3, cv::Scalar(0, 0, 0));
    FrameView view = frameFromMat(image, PixelFormat::BGR);
    drawOverlay(view, {item});
    cv::Mat changed;
    cv::cvtColor(image, changed, cv::COLOR_BGR2GRAY);
    return cv::boundingRect(changed > 0);
}

} // namespace

TEST(Overlay, ACaptionTooWideForItsBoxGoesWholeAboveIt)
{
    const Box box{100, 100, 30, 30};
    const cv::Rect changed = changedByOverlay({box, "surprise 88%", emotionColor("surprise", 5)});
    int baseline = 0;
    const cv::Size text = cv::getTextSize("surprise 88%", cv::FONT_HERSHEY_SIMPLEX, 0.3, 1, &baseline);
    EXPECT_LT(changed.y, 100 - text.height);             // above the box
    EXPECT_EQ(changed.y + changed.height, 130);          // nothing below it
    EXPECT_EQ(changed.x, 100);                           // from its left edge
    EXPECT_GE(changed.width, text.width);                // and wide enough for the whole text
}

TEST(Overlay, AtTheFramesTopEdgeATooWideCaptionGoesBelowTheBox)
{
    const Box box{100, 0, 30, 30};
    const cv::Rect changed = changedByOverlay({box, "surprise 88%", emotionColor("surprise", 5)});
    EXPECT_EQ(changed.y, 0);
    EXPECT_GT(changed.y + changed.height, 30 + 5);
    EXPECT_GT(changed.width, 30);
}

TEST(Overlay, AtTheFramesRightEdgeATooWideCaptionIsShiftedIntoTheFrame)
{
    const Box box{300, 100, 20, 20};
    const cv::Rect changed = changedByOverlay({box, "surprise 88%", emotionColor("surprise", 5)});
    EXPECT_EQ(changed.x + changed.width, 320);
    EXPECT_LT(changed.x, 300);
}

TEST(Overlay, OnGrayFramesTheBoxIsWhiteOnDarkPicturesAndBlackOnLightOnes)
{
    for (const int grey : {40, 215}) {
        cv::Mat image(240, 320, CV_8UC1, cv::Scalar(grey));
        FrameView view = frameFromMat(image, PixelFormat::GRAY8);
        drawOverlay(view, {{{100, 60, 120, 100}, "neutral 50%", emotionColor("neutral", 6)}});
        EXPECT_EQ(image.at<uint8_t>(159, 160), grey < 128 ? 255 : 0) << "box bottom edge on grey " << grey;
    }
}

TEST(Overlay, CaptionsDrawLatin1LettersWithoutAccentsAndOtherCharactersAsOneQuestionMark)
{
    EXPECT_EQ(drawableText("happy 87%"), "happy 87%");
    EXPECT_EQ(drawableText("fr\u00f6hlich 42%"), "frohlich 42%");
    EXPECT_EQ(drawableText("\u00c9tonn\u00e9 Gru\u00df"), "Etonne Gruss");
    EXPECT_EQ(drawableText("\u5f00\u5fc3 \U0001F600"), "?? ?");
    EXPECT_EQ(drawableText(std::string("bad \xff\xc3 end")), "bad ?? end");
}

TEST(Overlay, BoxesOutsideTheFrameDrawNothing)
{
    OwnedFrame frame = makeFrame(syntheticImage(64, 48), PixelFormat::I420);
    const auto before = frame.bytes;
    drawOverlay(frame.view, {{{100, 100, 20, 20}, "fear 40%", emotionColor("fear", 2)}});
    EXPECT_EQ(before, frame.bytes);
}
