// SPDX-License-Identifier: LGPL-2.1-or-later
// Draws face boxes with label and confidence in place, in any supported format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/vision/frame.h"
#include "engine/vision/types.h"

namespace feremotion {

struct Rgb {
    uint8_t r = 0, g = 0, b = 0;
};

// A distinct colour per FER-2013 emotion name; other labels get one from a palette by label id.
Rgb emotionColor(const std::string &label, int labelId);

struct OverlayItem {
    Box box;
    std::string text; // e.g. "happy 87%"
    Rgb color;
};

// Draws every item's frame and caption. The caption sits inside the top of its box, so nothing
// outside the box changes, unless the box is too narrow for it at a legible size: then it goes
// above the box (below at the frame's top edge), whole.
// Line width and font scale follow the frame size, so captions stay legible from 320x240 to 4K.
// Packed RGB-family formats are drawn in place; I420/NV12 on their planes; GRAY8 in luma.
void drawOverlay(FrameView &frame, const std::vector<OverlayItem> &items);

// `utf8` as OpenCV's Hershey fonts can draw it (they draw ASCII only): Latin-1 letters without
// their accents ("fröhlich" -> "frohlich", "ß" -> "ss"), any other non-ASCII character one "?".
std::string drawableText(const std::string &utf8);

} // namespace feremotion
