// SPDX-License-Identifier: LGPL-2.1-or-later
// Overlay drawing on packed and planar frames without converting them.
#include "engine/vision/overlay.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <opencv2/imgproc.hpp>

#include "engine/model/model_info.h"
#include "engine/vision/preprocess.h"

namespace feremotion {

Rgb emotionColor(const std::string &label, int labelId)
{
    // In fer2013Labels()' order: angry red, disgust green, fear violet, happy yellow, sad blue,
    // surprise orange, neutral grey.
    static const Rgb ferColors[] = {{230, 40, 40},  {60, 170, 60},  {160, 70, 210}, {255, 205, 0},
                                    {40, 110, 230}, {255, 130, 0}, {190, 190, 190}};
    static const Rgb palette[] = {{0, 200, 200}, {200, 0, 200}, {120, 200, 0}, {255, 100, 150},
                                  {100, 150, 255}, {200, 160, 100}};
    const std::vector<std::string> &fer = fer2013Labels();
    const auto known = std::find(fer.begin(), fer.end(), label);
    if (known != fer.end() && static_cast<size_t>(known - fer.begin()) < std::size(ferColors))
        return ferColors[known - fer.begin()];
    return palette[static_cast<size_t>(std::max(0, labelId)) % std::size(palette)];
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

// The caption laid out in frame coordinates: background rectangle, text origin, and the region the
// text is clipped to.
struct Caption {
    cv::Rect background;
    cv::Point origin;
    cv::Rect clip;
    double fontScale = 0;
    int thickness = 1;
};

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

// Inside the top of the box, shrunk to its width down to 60% of the frame's font size (and 0.3,
// where Hershey text stays legible); a caption still wider than its box goes above the box (below
// it at the frame's top edge) at that smallest size, shifted into the frame, so small faces keep
// whole labels.
Caption layoutCaption(const std::string &text, const cv::Rect &box, cv::Size frame, const Style &style)
{
    Caption caption;
    caption.thickness = std::max(1, style.thickness / 2);
    const int pad = std::max(2, style.thickness);
    const double smallest = std::min(style.fontScale, std::max(0.3, 0.6 * style.fontScale));
    int baseline = 0;
    caption.fontScale = style.fontScale;
    cv::Size size = cv::getTextSize(text, kFont, caption.fontScale, caption.thickness, &baseline);
    if (size.width + 2 * pad > box.width) {
        const double fit = caption.fontScale * (box.width - 2 * pad) / std::max(1, size.width);
        caption.fontScale = std::max(smallest, fit);
        size = cv::getTextSize(text, kFont, caption.fontScale, caption.thickness, &baseline);
    }
    const cv::Size extent(size.width + 2 * pad, size.height + baseline + 2 * pad);
    const cv::Rect frameRect(0, 0, frame.width, frame.height);
    if (extent.width <= box.width) {
        caption.background = cv::Rect(box.x, box.y, extent.width, std::min(box.height, extent.height));
        caption.clip = box;
    } else {
        int y = box.y - extent.height;
        if (y < 0)
            y = box.y + box.height + extent.height <= frame.height ? box.y + box.height : std::max(0, box.y);
        const int x = std::clamp(box.x, 0, std::max(0, frame.width - extent.width));
        caption.background = cv::Rect(x, y, extent.width, extent.height) & frameRect;
        caption.clip = caption.background;
    }
    caption.origin = {caption.background.x + pad, caption.background.y + pad + size.height};
    return caption;
}

// Chroma samples whose 2x2 luma block lies wholly inside `r`: the ones a 4:2:0 overlay may change.
cv::Rect chromaInside(const cv::Rect &r)
{
    const int x0 = (r.x + 1) / 2, y0 = (r.y + 1) / 2;
    const int x1 = (r.x + r.width) / 2, y1 = (r.y + r.height) / 2;
    return x1 > x0 && y1 > y0 ? cv::Rect(x0, y0, x1 - x0, y1 - y0) : cv::Rect();
}

// The box's frame, its line wholly inside the box, and the caption's background, on one plane.
void drawBoxAndBackground(cv::Mat plane, const cv::Rect &box, const cv::Rect &background, int thickness,
                          const cv::Scalar &color)
{
    if (!box.empty()) {
        cv::Mat region = plane(box);
        // A rectangle's line is centred on its edge; inset it so the whole line stays inside the box.
        const int inset = thickness / 2;
        cv::rectangle(region, cv::Point(inset, inset), cv::Point(region.cols - 1 - inset, region.rows - 1 - inset),
                      color, thickness, cv::LINE_8);
    }
    if (!background.empty())
        plane(background).setTo(color);
}

void drawText(cv::Mat plane, const std::string &text, const Caption &caption, const cv::Scalar &color)
{
    if (caption.clip.empty())
        return;
    cv::putText(plane(caption.clip), text, caption.origin - caption.clip.tl(), kFont, caption.fontScale, color,
                caption.thickness, cv::LINE_AA);
}

cv::Scalar packedScalar(Rgb c, PixelFormat format)
{
    if (isRedFirst(format))
        return {static_cast<double>(c.r), static_cast<double>(c.g), static_cast<double>(c.b), 255};
    return {static_cast<double>(c.b), static_cast<double>(c.g), static_cast<double>(c.r), 255};
}

} // namespace

std::string drawableText(const std::string &utf8)
{
    // U+00C0-U+00FF (Latin-1 letters) by their letters without accents.
    static const char *const latin1[64] = {
        "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
        "D", "N", "O", "O", "O", "O", "O", "x", "O", "U", "U", "U", "U", "Y", "TH", "ss",
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
        "d", "n", "o", "o", "o", "o", "o", "/", "o", "u", "u", "u", "u", "y", "th", "y"};
    std::string out;
    for (size_t i = 0; i < utf8.size();) {
        const auto byte = static_cast<unsigned char>(utf8[i]);
        if (byte < 0x80) {
            out += static_cast<char>(byte);
            ++i;
            continue;
        }
        // One "?" per character that has no ASCII form, not one per byte of it.
        const size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
        bool valid = length > 1 && i + length <= utf8.size();
        for (size_t k = 1; valid && k < length; ++k)
            valid = (static_cast<unsigned char>(utf8[i + k]) & 0xC0) == 0x80;
        const unsigned codePoint =
            valid && length == 2 ? ((byte & 0x1Fu) << 6) | (static_cast<unsigned char>(utf8[i + 1]) & 0x3Fu) : 0;
        out += codePoint >= 0xC0 && codePoint <= 0xFF ? latin1[codePoint - 0xC0] : "?";
        i += valid ? length : 1;
    }
    return out;
}

void drawOverlay(FrameView &frame, const std::vector<OverlayItem> &items)
{
    const Style style = styleFor(frame.width, frame.height);
    for (const OverlayItem &item : items) {
        const cv::Rect rect = cropRect(item.box, 0, frame.width, frame.height);
        if (rect.empty())
            continue;
        const std::string text = drawableText(item.text);
        const Caption caption = layoutCaption(text, rect, {frame.width, frame.height}, style);
        const Rgb textRgb = isLight(item.color) ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
        cv::Mat first = planeMat(frame, 0);
        if (!isYuv(frame.format) && frame.format != PixelFormat::GRAY8) {
            drawBoxAndBackground(first, rect, caption.background, style.thickness,
                                 packedScalar(item.color, frame.format));
            drawText(first, text, caption, packedScalar(textRgb, frame.format));
            continue;
        }
        const Yuv color = toYuv(item.color);
        if (frame.format == PixelFormat::GRAY8) {
            // Without colour an emotion's luma is often the picture's own grey, and the box vanishes:
            // white on dark pictures, black on light ones, the caption's text says the emotion.
            const bool dark = cv::mean(first(rect))[0] < 128;
            drawBoxAndBackground(first, rect, caption.background, style.thickness, cv::Scalar(dark ? 255 : 0));
            drawText(first, text, caption, cv::Scalar(dark ? 0 : 255));
            continue;
        }
        drawBoxAndBackground(first, rect, caption.background, style.thickness, cv::Scalar(color.y));
        drawText(first, text, caption, cv::Scalar(toYuv(textRgb).y));
        const int chromaThickness = std::max(1, static_cast<int>(std::lround(style.thickness * 0.5)));
        const cv::Rect box = chromaInside(rect), background = chromaInside(caption.background);
        if (frame.format == PixelFormat::I420) {
            drawBoxAndBackground(planeMat(frame, 1), box, background, chromaThickness, cv::Scalar(color.u));
            drawBoxAndBackground(planeMat(frame, 2), box, background, chromaThickness, cv::Scalar(color.v));
        } else {
            drawBoxAndBackground(planeMat(frame, 1), box, background, chromaThickness, cv::Scalar(color.u, color.v));
        }
    }
}

} // namespace feremotion
