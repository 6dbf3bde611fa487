// SPDX-License-Identifier: LGPL-2.1-or-later
// Plane geometry of the supported pixel formats.
#include "engine/vision/frame.h"

#include <stdexcept>

namespace feremotion {

std::string toString(PixelFormat format)
{
    switch (format) {
    case PixelFormat::BGR: return "BGR";
    case PixelFormat::RGB: return "RGB";
    case PixelFormat::BGRx: return "BGRx";
    case PixelFormat::BGRA: return "BGRA";
    case PixelFormat::RGBx: return "RGBx";
    case PixelFormat::RGBA: return "RGBA";
    case PixelFormat::I420: return "I420";
    case PixelFormat::NV12: return "NV12";
    case PixelFormat::GRAY8: return "GRAY8";
    }
    return "unknown";
}

int packedChannels(PixelFormat format)
{
    switch (format) {
    case PixelFormat::BGR:
    case PixelFormat::RGB:
        return 3;
    case PixelFormat::BGRx:
    case PixelFormat::BGRA:
    case PixelFormat::RGBx:
    case PixelFormat::RGBA:
        return 4;
    default:
        return 1;
    }
}

bool isYuv(PixelFormat format)
{
    return format == PixelFormat::I420 || format == PixelFormat::NV12;
}

bool isRedFirst(PixelFormat format)
{
    return format == PixelFormat::RGB || format == PixelFormat::RGBx || format == PixelFormat::RGBA;
}

cv::Mat planeMat(const FrameView &frame, int index)
{
    const int chromaWidth = (frame.width + 1) / 2;
    const int chromaHeight = (frame.height + 1) / 2;
    if (index == 0)
        return cv::Mat(frame.height, frame.width, CV_8UC(packedChannels(frame.format)),
                       frame.planes[0], static_cast<size_t>(frame.strides[0]));
    if (frame.format == PixelFormat::I420 && index <= 2)
        return cv::Mat(chromaHeight, chromaWidth, CV_8UC1, frame.planes[index],
                       static_cast<size_t>(frame.strides[index]));
    if (frame.format == PixelFormat::NV12 && index == 1)
        return cv::Mat(chromaHeight, chromaWidth, CV_8UC2, frame.planes[1],
                       static_cast<size_t>(frame.strides[1]));
    throw std::invalid_argument("pixel format " + toString(frame.format) + " has no plane " +
                                std::to_string(index));
}

FrameView frameFromMat(cv::Mat &image, PixelFormat format)
{
    if (isYuv(format) || image.depth() != CV_8U || image.channels() != packedChannels(format))
        throw std::invalid_argument("an image with " + std::to_string(image.channels()) +
                                    " channels cannot be viewed as " + toString(format));
    FrameView frame;
    frame.format = format;
    frame.width = image.cols;
    frame.height = image.rows;
    frame.planes[0] = image.data;
    frame.strides[0] = static_cast<int>(image.step[0]);
    return frame;
}

} // namespace feremotion
