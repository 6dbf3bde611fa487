// SPDX-License-Identifier: LGPL-2.1-or-later
// From frame pixels to detector images and classifier inputs, without converting whole frames.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "engine/model/model_info.h"
#include "engine/vision/frame.h"
#include "engine/vision/types.h"

namespace feremotion {

// The box grown by `margin` of its size on every side, rounded outwards and clamped to the frame.
// Empty when the box lies outside the frame.
cv::Rect cropRect(const Box &box, float margin, int frameWidth, int frameHeight);

// The smallest box on the same centre that holds `box` and has the aspect ratio `aspect` (width /
// height). Face detectors' boxes seldom have the model input's shape (YuNet's are ~13% taller
// than wide); stretching one to the input distorts the face that the model learned undistorted.
Box fitAspect(const Box &box, float aspect);

// The pixels of `rect` as gray (CV_8UC1) or RGB (CV_8UC3), resized to `size`.
// Only the crop is colour-converted; YUV uses BT.601 limited range as OpenCV does.
cv::Mat extractCrop(const FrameView &frame, const cv::Rect &rect, ColorMode color, cv::Size size);

// The faces cropped as the model's face_crop says, at its input size and colour, ready for
// classify: fitted to the input's aspect ratio when `keepAspect`, then grown by the margin; a crop
// reaching beyond the frame then repeats the frame's border pixels (without `keepAspect` it is
// clamped to the frame and stretched).
// Throws std::invalid_argument for a box outside the frame.
std::vector<cv::Mat> cropFaces(const FrameView &frame, const std::vector<Detection> &faces, const ModelInfo &model);

// Scales 8-bit crops to [0,1], applies mean/std and writes them as consecutive N×C×H×W floats.
void normalizeInto(const cv::Mat &crop, const InputSpec &input, float *destination);

enum class DetectorColor { Gray, Bgr };

// A detector's view of the whole frame, gray or BGR, scaled by `scaleX`/`scaleY`; it may point
// into the frame when no conversion was needed, so it lives only while the frame is mapped.
struct DetectionImage {
    cv::Mat image;
    double scaleX = 1.0; // image pixels per frame pixel
    double scaleY = 1.0;
};

// Downscales frames whose longer side exceeds `maxSide` (0 = never) before converting them.
DetectionImage makeDetectionImage(const FrameView &frame, DetectorColor color, int maxSide);

} // namespace feremotion
