// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification: face crops from every pixel format equal a whole-frame reference conversion.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "engine/vision/preprocess.h"
#include "frames.h"

using namespace feremotion;
using namespace feremotion::test;

namespace {

double maxDifference(const cv::Mat &a, const cv::Mat &b)
{
    double result = 0;
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    cv::minMaxLoc(diff.reshape(1), nullptr, &result);
    return result;
}

// A 200x200 black BGR frame with a filled white circle.
OwnedFrame whiteCircle(cv::Point centre, int radius)
{
    cv::Mat bgr(200, 200, CV_8UC3, cv::Scalar::all(0));
    cv::circle(bgr, centre, radius, cv::Scalar::all(255), cv::FILLED);
    return makeFrame(bgr, PixelFormat::BGR);
}

cv::Mat referenceCrop(const cv::Mat &full, const cv::Rect &rect, cv::Size size)
{
    cv::Mat out;
    cv::resize(full(rect), out, size, 0, 0, cv::INTER_AREA);
    return out;
}

class PerFormat : public ::testing::TestWithParam<PixelFormat> {};

} // namespace

TEST_P(PerFormat, GrayCropEqualsReferenceConversion)
{
    const cv::Mat bgr = syntheticImage(320, 240);
    OwnedFrame frame = makeFrame(bgr, GetParam());
    const cv::Rect rect(37, 21, 151, 133);
    const cv::Mat crop = extractCrop(frame.view, rect, ColorMode::Gray, {48, 48});
    ASSERT_EQ(crop.type(), CV_8UC1);
    const cv::Mat reference = referenceCrop(referenceGray(bgr, GetParam()), rect, {48, 48});
    EXPECT_LE(maxDifference(crop, reference), 0.0);
}

TEST_P(PerFormat, RgbCropEqualsReferenceConversion)
{
    const cv::Mat bgr = syntheticImage(320, 240);
    OwnedFrame frame = makeFrame(bgr, GetParam());
    const cv::Rect rect(37, 21, 151, 133);
    const cv::Mat crop = extractCrop(frame.view, rect, ColorMode::Rgb, {64, 56});
    ASSERT_EQ(crop.type(), CV_8UC3);
    const cv::Mat reference = referenceCrop(referenceRgb(bgr, GetParam()), rect, {64, 56});
    // YUV crops are converted pixel by pixel with OpenCV's own fixed-point coefficients.
    EXPECT_LE(maxDifference(crop, reference), 1.0) << toString(GetParam());
}

TEST_P(PerFormat, CropAtTheFrameCornerWorks)
{
    const cv::Mat bgr = syntheticImage(64, 48);
    OwnedFrame frame = makeFrame(bgr, GetParam());
    const cv::Rect rect = cropRect({50, 40, 30, 30}, 0.2f, 64, 48);
    EXPECT_EQ(rect, cv::Rect(44, 34, 20, 14));
    const cv::Mat crop = extractCrop(frame.view, rect, ColorMode::Rgb, {48, 48});
    EXPECT_EQ(crop.size(), cv::Size(48, 48));
}

TEST_P(PerFormat, DetectionImageIsDownscaledAndKeepsTheScale)
{
    // Smooth colours, as in photos: 4:2:0 chroma of pixel-level colour noise cannot survive a downscale.
    cv::Mat bgr;
    cv::resize(syntheticImage(40, 24), bgr, {1280, 720}, 0, 0, cv::INTER_CUBIC);
    OwnedFrame frame = makeFrame(bgr, GetParam());
    const DetectionImage gray = makeDetectionImage(frame.view, DetectorColor::Gray, 640);
    EXPECT_EQ(gray.image.size(), cv::Size(640, 360));
    EXPECT_EQ(gray.image.type(), CV_8UC1);
    EXPECT_DOUBLE_EQ(gray.scaleX, 0.5);
    const DetectionImage colour = makeDetectionImage(frame.view, DetectorColor::Bgr, 640);
    EXPECT_EQ(colour.image.type(), CV_8UC3);
    cv::Mat expected;
    cv::cvtColor(referenceRgb(bgr, GetParam()), expected, cv::COLOR_RGB2BGR);
    cv::resize(expected, expected, {640, 360}, 0, 0, cv::INTER_AREA);
    // Downscaling before the colour conversion differs from converting first by a few levels.
    cv::Mat diff;
    cv::absdiff(colour.image, expected, diff);
    EXPECT_LT(cv::mean(diff.reshape(1))[0], 3.0) << toString(GetParam());
}

INSTANTIATE_TEST_SUITE_P(AllFormats, PerFormat, ::testing::ValuesIn(allFormats()),
                         [](const auto &info) { return toString(info.param); });

TEST(Preprocess, OddSizedYuvFramesCropToTheirLastColumn)
{
    // A 33x21 I420 frame shares its planes' layout with the 34x22 frame it is cut from.
    const cv::Mat bgr = syntheticImage(34, 22);
    OwnedFrame frame = makeFrame(bgr, PixelFormat::I420);
    FrameView odd = frame.view;
    odd.width = 33;
    odd.height = 21;
    const cv::Rect rect(20, 9, 13, 12);
    const cv::Mat crop = extractCrop(odd, rect, ColorMode::Rgb, rect.size());
    const cv::Mat reference = referenceRgb(bgr, PixelFormat::I420)(rect);
    EXPECT_LE(maxDifference(crop, reference), 1.0);
}

TEST(Preprocess, CropRectOutsideTheFrameIsEmpty)
{
    EXPECT_TRUE(cropRect({700, 10, 50, 50}, 0, 640, 480).empty());
    EXPECT_TRUE(cropRect({10, 10, 0, 50}, 0, 640, 480).empty());
}

TEST(Preprocess, FitAspectKeepsTheCentreAndOnlyGrows)
{
    const Box tall = fitAspect({100, 50, 40, 60}, 1.0f);
    EXPECT_FLOAT_EQ(tall.x, 90);
    EXPECT_FLOAT_EQ(tall.y, 50);
    EXPECT_FLOAT_EQ(tall.width, 60);
    EXPECT_FLOAT_EQ(tall.height, 60);
    const Box wide = fitAspect({100, 50, 60, 40}, 1.0f);
    EXPECT_FLOAT_EQ(wide.x, 100);
    EXPECT_FLOAT_EQ(wide.y, 40);
    EXPECT_FLOAT_EQ(wide.height, 60);
    const Box landscape = fitAspect({100, 50, 60, 60}, 2.0f);
    EXPECT_FLOAT_EQ(landscape.x, 70);
    EXPECT_FLOAT_EQ(landscape.y, 50);
    EXPECT_FLOAT_EQ(landscape.width, 120);
    EXPECT_FLOAT_EQ(landscape.height, 60);
}

// A tall box around a circle: the fitted crop keeps the circle round, the stretched crop widens it.
TEST(Preprocess, FaceCropsFollowTheModelsCropShape)
{
    OwnedFrame frame = whiteCircle({100, 100}, 30);
    const std::vector<Detection> faces{{{70, 60, 60, 80}, 1.0f}};
    ModelInfo model;
    model.input.width = model.input.height = 80;
    const auto widthOfCircle = [&](const cv::Mat &crop) { return cv::countNonZero(crop.row(40) > 127); };
    const cv::Mat fitted = cropFaces(frame.view, faces, model).at(0);
    model.keepAspect = false;
    const cv::Mat stretched = cropFaces(frame.view, faces, model).at(0);
    EXPECT_NEAR(widthOfCircle(fitted), 60, 2);
    EXPECT_NEAR(widthOfCircle(stretched), 80, 2);
}

// A tall box at the left edge: its square reaches 10 px beyond the frame. Padding keeps the circle
// round; clamping the crop to the frame would widen it by 80/70.
TEST(Preprocess, CropsBeyondTheFrameRepeatTheBorderInsteadOfStretching)
{
    OwnedFrame frame = whiteCircle({35, 100}, 25);
    ModelInfo model;
    const cv::Mat crop = cropFaces(frame.view, {{{0, 60, 60, 80}, 1.0f}}, model).at(0);
    ASSERT_EQ(crop.size(), cv::Size(48, 48));
    // The circle's centre lands at (45, 40) of the 80 px square, 0.6 crop pixels per frame pixel.
    const int across = cv::countNonZero(crop.row(24) > 127), down = cv::countNonZero(crop.col(27) > 127);
    EXPECT_NEAR(across, 30, 1.5);
    EXPECT_NEAR(down, 30, 1.5);
    EXPECT_EQ(crop.at<uint8_t>(24, 0), 0); // the repeated border column
}

TEST(Preprocess, NormalisationScalesToUnitRangeThenAppliesMeanAndStd)
{
    InputSpec input;
    input.width = 2;
    input.height = 1;
    input.color = ColorMode::Rgb;
    input.mean = {0.5f, 0.0f, 1.0f};
    input.std = {0.5f, 1.0f, 2.0f};
    cv::Mat crop(1, 2, CV_8UC3);
    crop.at<cv::Vec3b>(0, 0) = {255, 0, 51};
    crop.at<cv::Vec3b>(0, 1) = {0, 255, 255};
    float out[6];
    normalizeInto(crop, input, out);
    // Planar: R of both pixels, then G, then B.
    EXPECT_FLOAT_EQ(out[0], 1.0f);
    EXPECT_FLOAT_EQ(out[1], -1.0f);
    EXPECT_FLOAT_EQ(out[2], 0.0f);
    EXPECT_FLOAT_EQ(out[3], 1.0f);
    EXPECT_NEAR(out[4], (0.2f - 1.0f) / 2.0f, 1e-6);
    EXPECT_FLOAT_EQ(out[5], 0.0f);
}
