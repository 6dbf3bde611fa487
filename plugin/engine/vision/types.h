// SPDX-License-Identifier: LGPL-2.1-or-later
// Plain result types shared by detectors, classifier, overlay and the element.
#pragma once

#include <string>
#include <vector>

namespace feremotion {

// A face box in frame pixels.
struct Box {
    float x = 0, y = 0, width = 0, height = 0;
};

struct Detection {
    Box box;
    float confidence = 0; // in [0, 1]
    int regionIndex = -1; // roi detector: index of the caller's region this face came from
};

struct Emotion {
    int labelId = -1;
    float confidence = 0;             // probability of labelId
    std::vector<float> probabilities; // softmax, in label order
};

struct FaceResult {
    Detection detection;
    Emotion emotion;
};

} // namespace feremotion
