// SPDX-License-Identifier: LGPL-2.1-or-later
// Test frames in every supported pixel format, made from one BGR image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "engine/vision/frame.h"

namespace feremotion::test {

// Owns the bytes of a frame; `view` points into them (moves keep the view valid).
struct OwnedFrame {
    std::vector<uint8_t> bytes;
    FrameView view;
    OwnedFrame() = default;
    OwnedFrame(const OwnedFrame &) = delete;
    OwnedFrame(OwnedFrame &&) = default;
};

const std::vector<PixelFormat> &allFormats();

// Converts a BGR image (even size for the YUV formats) into `format`, with padded strides.
OwnedFrame makeFrame(const cv::Mat &bgr, PixelFormat format);

// A smooth random colour image, deterministic for a seed.
cv::Mat syntheticImage(int width, int height, int seed = 7);

// The reference conversion of a whole frame to RGB (CV_8UC3) or gray, with cv::cvtColor.
cv::Mat referenceRgb(const cv::Mat &bgr, PixelFormat format);
cv::Mat referenceGray(const cv::Mat &bgr, PixelFormat format);

// Frame `index` (from 0) of a video file as BGR, read with cv::VideoCapture; empty when the file
// cannot be read that far.
cv::Mat videoFrame(const std::string &path, int index);
// In ../shared/media/video_02.mp4 (hikers), a frame where the default Haar cascade also fires on a
// hiker's legs and pack.
constexpr int kHikersFrameWithFalseHits = 51;

} // namespace feremotion::test
