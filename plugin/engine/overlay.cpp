// SPDX-License-Identifier: LGPL-2.1-or-later
// Overlay drawing on packed and planar frames without converting them.
#include "overlay.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <opencv2/imgproc.hpp>

#include "preprocess.h"

namespace feremotion {

Rgb emotionColor(const std::string &label, int labelId)
{
    static const std::map<std::string, Rgb> known{
        {"angry", {230, 40, 40}},   {"disgust", {60, 170, 60}}, {"fear", {160, 70, 210}},
        {"happy", {255, 205, 0}},   {"sad", {40, 110, 230}},    {"surprise", {255, 130, 0}},
        {"neutral", {190, 190, 190}}};
    static const Rgb palette[] = {{0, 200, 200}, {200, 0, 200}, {120, 200, 0}, {255, 100, 150},
                                  {100, 150, 255}, {200, 160, 100}};
    const auto it = known.find(label);
    if (it != known.end())
        return it->second;
    return palette[static_cast<size_t>(std::max(0, labelId)) % (sizeof palette / sizeof palette[0])];
}

namespace {

struct Yuv {
    uint8_t y, u, v;
};

Yuv toYuv(Rgb c)
{
    // BT.601 limited range, the matrix GStreamer and OpenCV assume for SD/HD 4:2:0 here.
    const double y = 16 + (65.481 * c.r + 128.553 * c.g + 24.966 * c.b) / 255.0;
    const double u = 128 + (-37.797 * c.r - 74.203 * c.g + 112.0 * c.b) / 255.0;
    const double v = 128 + (112.0 * c.r - 93.786 * c.g - 18.214 * c.b) / 255.0;
    auto clamp8 = [](double x) { return static_cast<uint8_t>(std::clamp(std::lround(x), 0L, 255L)); };
    return {clamp8(y), clamp8(u), clamp8(v)};
}

bool isLight(Rgb c)
{
    return 0.299 * c.r + 0.587 * c.g + 0.114 * c.b > 140;
}

// Sizes for a frame, so lines and text look alike at every resolution.
struct Style {
    int thickness;
    double fontScale;
};

Style styleFor(int frameWidth, int frameHeight)
{
    const int base = std::min(frameWidth, frameHeight);
    return {std::max(1, static_cast<int>(std::lround(base / 300.0))), std::max(0.35, base / 600.0)};
}

// The caption laid out in box coordinates: background rectangle and text origin.
struct Caption {
    cv::Rect background;
    cv::Point origin;
    double fontScale = 0;
    int thickness = 1;
};

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

Caption layoutCaption(const std::string &text, cv::Size box, const Style &style)
{
    Caption caption;
    caption.thickness = std::max(1, style.thickness / 2);
    caption.fontScale = style.fontScale;
    int baseline = 0;
    cv::Size size = cv::getTextSize(text, kFont, caption.fontScale, caption.thickness, &baseline);
    const int pad = std::max(2, style.thickness);
    // Shrink the caption to the box width, down to a floor where it is still legible.
    if (size.width + 2 * pad > box.width) {
        const double fit = caption.fontScale * (box.width - 2 * pad) / std::max(1, size.width);
        caption.fontScale = std::max(0.3, fit);
        size = cv::getTextSize(text, kFont, caption.fontScale, caption.thickness, &baseline);
    }
    caption.background = cv::Rect(0, 0, std::min(box.width, size.width + 2 * pad),
                                  std::min(box.height, size.height + baseline + 2 * pad));
    caption.origin = {pad, pad + size.height};
    return caption;
}

// Draws frame, caption background and caption text on one plane region; `chromaScale` < 1 for
// subsampled chroma planes, where only frame and background are drawn.
void drawOnRegion(cv::Mat region, const OverlayItem &item, const Style &style, const cv::Scalar &color,
                  const cv::Scalar &textColor, bool drawText, double chromaScale, const Caption &caption)
{
    if (region.empty())
        return;
    const int thickness = std::max(1, static_cast<int>(std::lround(style.thickness * chromaScale)));
    // A rectangle's line is centred on its edge; inset it so the whole line stays inside the box.
    const int inset = thickness / 2;
    cv::rectangle(region, cv::Point(inset, inset),
                  cv::Point(region.cols - 1 - inset, region.rows - 1 - inset), color, thickness, cv::LINE_8);
    const cv::Rect background(static_cast<int>(caption.background.x * chromaScale),
                              static_cast<int>(caption.background.y * chromaScale),
                              static_cast<int>(caption.background.width * chromaScale),
                              static_cast<int>(caption.background.height * chromaScale));
    cv::rectangle(region, background & cv::Rect(0, 0, region.cols, region.rows), color, cv::FILLED);
    if (drawText)
        cv::putText(region, item.text, caption.origin, kFont, caption.fontScale, textColor, caption.thickness,
                    cv::LINE_AA);
}

cv::Scalar packedScalar(Rgb c, PixelFormat format)
{
    if (isRedFirst(format))
        return {static_cast<double>(c.r), static_cast<double>(c.g), static_cast<double>(c.b), 255};
    return {static_cast<double>(c.b), static_cast<double>(c.g), static_cast<double>(c.r), 255};
}

} // namespace

void drawOverlay(FrameView &frame, const std::vector<OverlayItem> &items)
{
    const Style style = styleFor(frame.width, frame.height);
    for (const OverlayItem &item : items) {
        const cv::Rect rect = cropRect(item.box, 0, frame.width, frame.height);
        if (rect.empty())
            continue;
        const Caption caption = layoutCaption(item.text, rect.size(), style);
        const Rgb textRgb = isLight(item.color) ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
        if (!isYuv(frame.format) && frame.format != PixelFormat::GRAY8) {
            drawOnRegion(planeMat(frame, 0)(rect), item, style, packedScalar(item.color, frame.format),
                         packedScalar(textRgb, frame.format), true, 1.0, caption);
            continue;
        }
        const Yuv color = toYuv(item.color);
        const Yuv text = toYuv(textRgb);
        drawOnRegion(planeMat(frame, 0)(rect), item, style, cv::Scalar(color.y), cv::Scalar(text.y), true, 1.0,
                     caption);
        if (frame.format == PixelFormat::GRAY8)
            continue;
        // Only chroma samples whose 2x2 luma block lies wholly inside the box are touched.
        const int cx0 = (rect.x + 1) / 2, cy0 = (rect.y + 1) / 2;
        const int cx1 = (rect.x + rect.width) / 2, cy1 = (rect.y + rect.height) / 2;
        if (cx1 <= cx0 || cy1 <= cy0)
            continue;
        const cv::Rect chroma(cx0, cy0, cx1 - cx0, cy1 - cy0);
        if (frame.format == PixelFormat::I420) {
            drawOnRegion(planeMat(frame, 1)(chroma), item, style, cv::Scalar(color.u), {}, false, 0.5, caption);
            drawOnRegion(planeMat(frame, 2)(chroma), item, style, cv::Scalar(color.v), {}, false, 0.5, caption);
        } else {
            drawOnRegion(planeMat(frame, 1)(chroma), item, style, cv::Scalar(color.u, color.v), {}, false, 0.5,
                         caption);
        }
    }
}

} // namespace feremotion
