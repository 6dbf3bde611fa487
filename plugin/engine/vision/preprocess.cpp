// SPDX-License-Identifier: LGPL-2.1-or-later
// Crop extraction, normalisation and detector images for every supported pixel format.
#include "engine/vision/preprocess.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

namespace feremotion {

namespace {

// The box grown by `margin` of its size on every side, rounded outwards, not clamped.
cv::Rect grownRect(const Box &box, float margin)
{
    const float dx = box.width * margin;
    const float dy = box.height * margin;
    const int x0 = static_cast<int>(std::floor(box.x - dx));
    const int y0 = static_cast<int>(std::floor(box.y - dy));
    const int x1 = static_cast<int>(std::ceil(box.x + box.width + dx));
    const int y1 = static_cast<int>(std::ceil(box.y + box.height + dy));
    return {x0, y0, std::max(0, x1 - x0), std::max(0, y1 - y0)};
}

} // namespace

cv::Rect cropRect(const Box &box, float margin, int frameWidth, int frameHeight)
{
    const cv::Rect rect = grownRect(box, margin) & cv::Rect(0, 0, frameWidth, frameHeight);
    return rect.empty() ? cv::Rect() : rect;
}

Box fitAspect(const Box &box, float aspect)
{
    const float width = std::max(box.width, box.height * aspect);
    const float height = std::max(box.height, box.width / aspect);
    return {box.x + (box.width - width) / 2, box.y + (box.height - height) / 2, width, height};
}

namespace {

// OpenCV's fixed-point BT.601 limited-range coefficients (imgproc color_yuv), so crops match
// cv::cvtColor(COLOR_YUV2RGB_I420/NV12) of the whole frame.
constexpr int kShift = 20;
constexpr int kCY = 1220542, kCUB = 2116026, kCUG = -409993, kCVG = -852492, kCVR = 1673527;

inline uint8_t saturate(int v)
{
    return static_cast<uint8_t>(std::clamp(v, 0, 255));
}

cv::Mat yuvCropToRgb(const FrameView &frame, const cv::Rect &rect)
{
    cv::Mat rgb(rect.height, rect.width, CV_8UC3);
    const bool nv12 = frame.format == PixelFormat::NV12;
    for (int row = 0; row < rect.height; ++row) {
        const int y = rect.y + row;
        const uint8_t *luma = frame.planes[0] + static_cast<size_t>(y) * frame.strides[0];
        const uint8_t *u = frame.planes[1] + static_cast<size_t>(y / 2) * frame.strides[1];
        const uint8_t *v = nv12 ? u + 1 : frame.planes[2] + static_cast<size_t>(y / 2) * frame.strides[2];
        const int chromaStep = nv12 ? 2 : 1;
        uint8_t *out = rgb.ptr<uint8_t>(row);
        for (int col = 0; col < rect.width; ++col) {
            const int x = rect.x + col;
            const int c = (x / 2) * chromaStep;
            const int yy = std::max(0, luma[x] - 16) * kCY;
            const int uu = u[c] - 128;
            const int vv = v[c] - 128;
            const int half = 1 << (kShift - 1);
            out[3 * col + 0] = saturate((yy + half + kCVR * vv) >> kShift);
            out[3 * col + 1] = saturate((yy + half + kCVG * vv + kCUG * uu) >> kShift);
            out[3 * col + 2] = saturate((yy + half + kCUB * uu) >> kShift);
        }
    }
    return rgb;
}

int grayConversion(PixelFormat format)
{
    switch (format) {
    case PixelFormat::BGR: return cv::COLOR_BGR2GRAY;
    case PixelFormat::RGB: return cv::COLOR_RGB2GRAY;
    case PixelFormat::BGRx:
    case PixelFormat::BGRA: return cv::COLOR_BGRA2GRAY;
    case PixelFormat::RGBx:
    case PixelFormat::RGBA: return cv::COLOR_RGBA2GRAY;
    default: throw std::logic_error("no gray conversion for " + toString(format));
    }
}

// Packed pixels to RGB (toRgb) or BGR; -1 when the pixels are already in that order.
int colorConversion(PixelFormat format, bool toRgb)
{
    switch (format) {
    case PixelFormat::BGR: return toRgb ? cv::COLOR_BGR2RGB : -1;
    case PixelFormat::RGB: return toRgb ? -1 : cv::COLOR_RGB2BGR;
    case PixelFormat::BGRx:
    case PixelFormat::BGRA: return toRgb ? cv::COLOR_BGRA2RGB : cv::COLOR_BGRA2BGR;
    case PixelFormat::RGBx:
    case PixelFormat::RGBA: return toRgb ? cv::COLOR_RGBA2RGB : cv::COLOR_RGBA2BGR;
    case PixelFormat::GRAY8: return toRgb ? cv::COLOR_GRAY2RGB : cv::COLOR_GRAY2BGR;
    default: throw std::logic_error("no packed conversion for " + toString(format));
    }
}

cv::Mat convertPacked(const cv::Mat &pixels, PixelFormat format, bool gray, bool toRgb)
{
    cv::Mat out;
    if (gray) {
        if (format == PixelFormat::GRAY8)
            return pixels;
        cv::cvtColor(pixels, out, grayConversion(format));
        return out;
    }
    const int code = colorConversion(format, toRgb);
    if (code < 0)
        return pixels;
    cv::cvtColor(pixels, out, code);
    return out;
}

cv::Mat resizeTo(const cv::Mat &image, cv::Size size)
{
    if (image.size() == size)
        return image;
    cv::Mat out;
    const bool shrinking = size.width <= image.cols && size.height <= image.rows;
    cv::resize(image, out, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
}

} // namespace

cv::Mat extractCrop(const FrameView &frame, const cv::Rect &rect, ColorMode color, cv::Size size)
{
    if (rect.empty() || rect.x < 0 || rect.y < 0 || rect.x + rect.width > frame.width ||
        rect.y + rect.height > frame.height)
        throw std::invalid_argument("crop rectangle lies outside the frame");
    const bool gray = color == ColorMode::Gray;
    cv::Mat pixels;
    if (isYuv(frame.format))
        pixels = gray ? planeMat(frame, 0)(rect) : yuvCropToRgb(frame, rect);
    else
        pixels = convertPacked(planeMat(frame, 0)(rect), frame.format, gray, true);
    // A crop already at the input size may still be a view into the frame, which it must not outlive.
    return pixels.size() == size ? pixels.clone() : resizeTo(pixels, size);
}

void normalizeInto(const cv::Mat &crop, const InputSpec &input, float *destination)
{
    const int channels = input.channels();
    if (crop.rows != input.height || crop.cols != input.width || crop.channels() != channels ||
        crop.depth() != CV_8U)
        throw std::invalid_argument("crop does not match the model input");
    const size_t planeSize = static_cast<size_t>(input.width) * input.height;
    for (int c = 0; c < channels; ++c) {
        const float scale = 1.0f / (255.0f * input.std[c]);
        const float offset = -input.mean[c] / input.std[c];
        float *plane = destination + c * planeSize;
        for (int row = 0; row < crop.rows; ++row) {
            const uint8_t *in = crop.ptr<uint8_t>(row);
            for (int col = 0; col < crop.cols; ++col)
                plane[row * crop.cols + col] = in[col * channels + c] * scale + offset;
        }
    }
}

std::vector<cv::Mat> cropFaces(const FrameView &frame, const std::vector<Detection> &faces, const ModelInfo &model)
{
    std::vector<cv::Mat> crops;
    crops.reserve(faces.size());
    const cv::Size input{model.input.width, model.input.height};
    for (const Detection &face : faces) {
        const Box box =
            model.keepAspect ? fitAspect(face.box, static_cast<float>(input.width) / input.height) : face.box;
        const cv::Rect wanted = grownRect(box, model.faceMargin);
        const cv::Rect inside = wanted & cv::Rect(0, 0, frame.width, frame.height);
        if (inside.empty())
            throw std::invalid_argument("face box lies outside the frame");
        if (inside == wanted || !model.keepAspect) {
            crops.push_back(extractCrop(frame, inside, model.input.color, input));
            continue;
        }
        // Part of the crop lies beyond the frame border: scale the part inside as the whole would
        // be scaled and repeat the border pixels for the rest, so the face keeps its proportions
        // and its place in the crop instead of being stretched.
        const double scaleX = static_cast<double>(input.width) / wanted.width;
        const double scaleY = static_cast<double>(input.height) / wanted.height;
        const int left = std::min(input.width - 1, static_cast<int>(std::lround((inside.x - wanted.x) * scaleX)));
        const int top = std::min(input.height - 1, static_cast<int>(std::lround((inside.y - wanted.y) * scaleY)));
        const int width = std::clamp(static_cast<int>(std::lround(inside.width * scaleX)), 1, input.width - left);
        const int height = std::clamp(static_cast<int>(std::lround(inside.height * scaleY)), 1, input.height - top);
        cv::Mat padded;
        cv::copyMakeBorder(extractCrop(frame, inside, model.input.color, {width, height}), padded, top,
                           input.height - top - height, left, input.width - left - width, cv::BORDER_REPLICATE);
        crops.push_back(padded);
    }
    return crops;
}

DetectionImage makeDetectionImage(const FrameView &frame, DetectorColor color, int maxSide)
{
    DetectionImage result;
    const int longer = std::max(frame.width, frame.height);
    const double scale = (maxSide > 0 && longer > maxSide) ? static_cast<double>(maxSide) / longer : 1.0;
    int width = std::max(1, static_cast<int>(std::lround(frame.width * scale)));
    int height = std::max(1, static_cast<int>(std::lround(frame.height * scale)));
    const bool gray = color == DetectorColor::Gray;

    if (isYuv(frame.format) && !gray) {
        // Even sizes so the shrunken planes form a valid 4:2:0 image for cvtColor.
        width = std::max(2, width & ~1);
        height = std::max(2, height & ~1);
        cv::Mat i420(height * 3 / 2, width, CV_8UC1);
        cv::resize(planeMat(frame, 0), i420.rowRange(0, height), {width, height}, 0, 0, cv::INTER_AREA);
        const cv::Size chroma{width / 2, height / 2};
        int code = cv::COLOR_YUV2BGR_I420;
        if (frame.format == PixelFormat::I420) {
            cv::Mat u(chroma, CV_8UC1, i420.ptr(height));
            cv::Mat v(chroma, CV_8UC1, i420.ptr(height) + chroma.area());
            cv::resize(planeMat(frame, 1), u, chroma, 0, 0, cv::INTER_AREA);
            cv::resize(planeMat(frame, 2), v, chroma, 0, 0, cv::INTER_AREA);
        } else {
            cv::Mat uv(chroma, CV_8UC2, i420.ptr(height));
            cv::resize(planeMat(frame, 1), uv, chroma, 0, 0, cv::INTER_AREA);
            code = cv::COLOR_YUV2BGR_NV12;
        }
        cv::cvtColor(i420, result.image, code);
    } else {
        const cv::Mat pixels = resizeTo(planeMat(frame, 0), {width, height});
        result.image = isYuv(frame.format) ? pixels : convertPacked(pixels, frame.format, gray, false);
    }
    result.scaleX = static_cast<double>(result.image.cols) / frame.width;
    result.scaleY = static_cast<double>(result.image.rows) / frame.height;
    return result;
}

} // namespace feremotion
