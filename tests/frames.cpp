// SPDX-License-Identifier: LGPL-2.1-or-later
// Builds test frames and their reference conversions with OpenCV.
#include "frames.h"

#include <cstring>
#include <stdexcept>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace feremotion::test {

const std::vector<PixelFormat> &allFormats()
{
    static const std::vector<PixelFormat> formats{PixelFormat::BGR,  PixelFormat::RGB,  PixelFormat::BGRx,
                                                  PixelFormat::BGRA, PixelFormat::RGBx, PixelFormat::RGBA,
                                                  PixelFormat::I420, PixelFormat::NV12, PixelFormat::GRAY8};
    return formats;
}

cv::Mat syntheticImage(int width, int height, int seed)
{
    cv::Mat noise(std::max(2, height / 8), std::max(2, width / 8), CV_8UC3);
    cv::RNG rng(static_cast<uint64_t>(seed));
    rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
    cv::Mat image;
    cv::resize(noise, image, {width, height}, 0, 0, cv::INTER_CUBIC);
    return image;
}

namespace {

cv::Mat i420Of(const cv::Mat &bgr)
{
    if (bgr.cols % 2 || bgr.rows % 2)
        throw std::invalid_argument("YUV test frames need an even size");
    cv::Mat i420;
    cv::cvtColor(bgr, i420, cv::COLOR_BGR2YUV_I420);
    return i420;
}

// Copies `rows` rows of `rowBytes` into a plane with `stride` bytes per row.
void copyPlane(const uint8_t *source, int rowBytes, int rows, uint8_t *destination, int stride)
{
    for (int r = 0; r < rows; ++r)
        std::memcpy(destination + static_cast<size_t>(r) * stride, source + static_cast<size_t>(r) * rowBytes,
                    static_cast<size_t>(rowBytes));
}

} // namespace

OwnedFrame makeFrame(const cv::Mat &bgr, PixelFormat format)
{
    OwnedFrame frame;
    FrameView &v = frame.view;
    v.format = format;
    v.width = bgr.cols;
    v.height = bgr.rows;
    constexpr int kPadding = 16; // strides wider than the rows, as GStreamer buffers often have
    if (isYuv(format)) {
        const cv::Mat i420 = i420Of(bgr);
        const int w = bgr.cols, h = bgr.rows, cw = w / 2, ch = h / 2;
        const int yStride = w + kPadding;
        const int cStride = (format == PixelFormat::I420 ? cw : w) + kPadding;
        const size_t ySize = static_cast<size_t>(yStride) * h;
        const size_t cSize = static_cast<size_t>(cStride) * ch;
        frame.bytes.assign(ySize + 2 * cSize, 0);
        const uint8_t *y = i420.data, *u = y + w * h, *vv = u + cw * ch;
        copyPlane(y, w, h, frame.bytes.data(), yStride);
        if (format == PixelFormat::I420) {
            copyPlane(u, cw, ch, frame.bytes.data() + ySize, cStride);
            copyPlane(vv, cw, ch, frame.bytes.data() + ySize + cSize, cStride);
        } else {
            for (int r = 0; r < ch; ++r)
                for (int c = 0; c < cw; ++c) {
                    frame.bytes[ySize + static_cast<size_t>(r) * cStride + 2 * c] = u[r * cw + c];
                    frame.bytes[ySize + static_cast<size_t>(r) * cStride + 2 * c + 1] = vv[r * cw + c];
                }
        }
        v.planes = {frame.bytes.data(), frame.bytes.data() + ySize,
                    format == PixelFormat::I420 ? frame.bytes.data() + ySize + cSize : nullptr};
        v.strides = {yStride, cStride, format == PixelFormat::I420 ? cStride : 0};
        return frame;
    }
    cv::Mat packed;
    switch (format) {
    case PixelFormat::BGR: packed = bgr; break;
    case PixelFormat::RGB: cv::cvtColor(bgr, packed, cv::COLOR_BGR2RGB); break;
    case PixelFormat::BGRx:
    case PixelFormat::BGRA: cv::cvtColor(bgr, packed, cv::COLOR_BGR2BGRA); break;
    case PixelFormat::RGBx:
    case PixelFormat::RGBA: cv::cvtColor(bgr, packed, cv::COLOR_BGR2RGBA); break;
    case PixelFormat::GRAY8: cv::cvtColor(bgr, packed, cv::COLOR_BGR2GRAY); break;
    default: throw std::logic_error("unhandled format");
    }
    const int rowBytes = packed.cols * static_cast<int>(packed.elemSize());
    const int stride = rowBytes + kPadding;
    frame.bytes.assign(static_cast<size_t>(stride) * packed.rows, 0);
    for (int r = 0; r < packed.rows; ++r)
        std::memcpy(frame.bytes.data() + static_cast<size_t>(r) * stride, packed.ptr(r), static_cast<size_t>(rowBytes));
    v.planes = {frame.bytes.data(), nullptr, nullptr};
    v.strides = {stride, 0, 0};
    return frame;
}

cv::Mat referenceRgb(const cv::Mat &bgr, PixelFormat format)
{
    cv::Mat rgb;
    if (format == PixelFormat::I420 || format == PixelFormat::NV12) {
        // NV12 and I420 carry the same samples here, so one reference serves both.
        cv::cvtColor(i420Of(bgr), rgb, cv::COLOR_YUV2RGB_I420);
    } else if (format == PixelFormat::GRAY8) {
        cv::Mat gray;
        cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
        cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
    } else {
        cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    }
    return rgb;
}

cv::Mat referenceGray(const cv::Mat &bgr, PixelFormat format)
{
    cv::Mat gray;
    if (format == PixelFormat::I420 || format == PixelFormat::NV12) {
        cv::cvtColor(i420Of(bgr), gray, cv::COLOR_YUV2GRAY_I420);
        return gray;
    }
    // Packed formats convert through their own channel order; for BGR-family and RGB-family
    // the result equals BGR2GRAY of the source.
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
    return gray;
}

cv::Mat videoFrame(const std::string &path, int index)
{
    cv::VideoCapture capture(path);
    cv::Mat frame;
    for (int i = 0; i <= index; ++i)
        if (!capture.read(frame))
            return {};
    return frame;
}

} // namespace feremotion::test
