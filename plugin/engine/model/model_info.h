// SPDX-License-Identifier: LGPL-2.1-or-later
// The metadata of a model bundle (feremotion.json, ../shared/docs/design.md) without LibTorch.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace feremotion {

enum class ColorMode { Gray, Rgb };

struct InputSpec {
    int width = 48;
    int height = 48;
    ColorMode color = ColorMode::Gray;
    std::vector<float> mean{0.5f}; // one value per channel, applied to pixels scaled to [0,1]
    std::vector<float> std{0.5f};

    int channels() const { return color == ColorMode::Gray ? 1 : 3; }
};

struct ModelInfo {
    std::vector<std::string> labels;
    InputSpec input;
    float faceMargin = 0.0f; // fraction of the box size added on every side before cropping
    bool keepAspect = true;  // widen or heighten the box to the input's aspect ratio before cropping
    std::string architecture;
    long long parameters = 0;
    std::string jsonText; // the bundle's feremotion.json as read; empty for a bare TorchScript file
};

// The FER-2013 label order.
const std::vector<std::string> &fer2013Labels();

// Every bundle problem is a ModelError whose message names the file and the cause.
class ModelError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Gives a one-value mean/std to every channel and checks the counts and that std > 0;
// throws std::invalid_argument saying what is wrong.
void completeNormalisation(InputSpec &input);

// Parses feremotion.json; `source` names the file in error messages.
ModelInfo parseModelInfo(const std::string &jsonText, const std::string &source);
// feremotion.json's fields for `info` (format, version, labels, input, output, architecture,
// parameters, face_crop): the one writer of what parseModelInfo reads. Producers add their own
// record to it (training, created, producer).
nlohmann::json modelInfoJson(const ModelInfo &info);

// What keeps one input from serving both models: "labels", "input size", "input colour", "input
// normalisation" or "face-crop margin" (the first that differs); nullptr when they agree.
const char *interfaceDifference(const ModelInfo &a, const ModelInfo &b);

// Splits "angry,disgust, fear" into labels; throws std::invalid_argument on an empty label.
std::vector<std::string> parseLabelList(const std::string &text);
// Parses "0.5" or "0.485,0.456,0.406".
std::vector<float> parseFloatList(const std::string &text);

std::string toString(ColorMode color);
ColorMode colorModeFromString(const std::string &text);

// The number format of the forward pass. bfloat16 keeps float32's range with 8 bits of mantissa:
// the default model's probabilities move by at most 0.03 and 0.14% of PublicTest's faces change
// label. On a CPU with AMX (cpuHasAmxBf16) oneDNN runs it, channels-last, on the tile units: 1.5-2x
// the faces/s of float32 at batches of 8 to 32, about 0.96x for single faces; without AMX it is
// emulated and slow. Auto, the default, is bfloat16 on the CPU where it has AMX and float32
// everywhere else, as OpenVINO's CPU plugin chooses (see resolvePrecision).
enum class Precision { Auto, Float32, BFloat16 };

// Whether a bundle's code is checked before it runs (the default: code_checks.h) or trusted as it is.
enum class ModelTrust { Checked, Trusted };
// The largest input width or height a classifier takes from a bundle by default (ViT's 384 fits; a
// bundle asking for 4096x4096 would need gigabytes a batch).
constexpr int kDefaultMaxInputSide = 512;
// How long a forward pass may run by default before the classifier gives up on the model.
constexpr int kDefaultForwardTimeoutMs = 10000;

// "auto", "fp32", "bf16".
std::string toString(Precision precision);
// The names above; throws std::invalid_argument for others.
Precision precisionFromString(const std::string &name);

} // namespace feremotion
