// SPDX-License-Identifier: LGPL-2.1-or-later
// A non-owning view of one video frame in any pixel format the element accepts.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

namespace feremotion {

enum class PixelFormat { BGR, RGB, BGRx, BGRA, RGBx, RGBA, I420, NV12, GRAY8 };

// Packed formats keep every channel in plane 0; I420 has Y, U, V planes; NV12 has Y and interleaved UV.
struct FrameView {
    PixelFormat format = PixelFormat::BGR;
    int width = 0;
    int height = 0;
    std::array<uint8_t *, 3> planes{};
    std::array<int, 3> strides{};
};

std::string toString(PixelFormat format);
// Bytes per pixel in plane 0 (1 for the planar YUV formats and GRAY8).
int packedChannels(PixelFormat format);
bool isYuv(PixelFormat format);
// True for the packed formats whose first byte is red (RGB, RGBx, RGBA).
bool isRedFirst(PixelFormat format);

// Wraps plane `index` of the frame as a cv::Mat without copying.
cv::Mat planeMat(const FrameView &frame, int index);

// A frame view over an OpenCV image: CV_8UC3 (BGR or RGB), CV_8UC4 or CV_8UC1 (GRAY8).
FrameView frameFromMat(cv::Mat &image, PixelFormat format);

} // namespace feremotion
