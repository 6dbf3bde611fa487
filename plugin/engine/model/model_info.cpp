// SPDX-License-Identifier: LGPL-2.1-or-later
// Validation of feremotion.json: every missing or ill-typed field is reported by name.
#include "engine/model/model_info.h"

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

namespace feremotion {

using nlohmann::json;

const std::vector<std::string> &fer2013Labels()
{
    static const std::vector<std::string> labels{"angry", "disgust", "fear", "happy",
                                                 "sad", "surprise", "neutral"};
    return labels;
}

std::string toString(ColorMode color)
{
    return color == ColorMode::Gray ? "gray" : "rgb";
}

ColorMode colorModeFromString(const std::string &text)
{
    if (text == "gray" || text == "grey")
        return ColorMode::Gray;
    if (text == "rgb")
        return ColorMode::Rgb;
    throw std::invalid_argument("colour must be \"gray\" or \"rgb\", not \"" + text + "\"");
}

std::string toString(Precision precision)
{
    switch (precision) {
    case Precision::Auto: return "auto";
    case Precision::BFloat16: return "bf16";
    case Precision::Float32: break;
    }
    return "fp32";
}

Precision precisionFromString(const std::string &name)
{
    for (Precision p : {Precision::Auto, Precision::Float32, Precision::BFloat16})
        if (name == toString(p))
            return p;
    throw std::invalid_argument("precision '" + name + "' is not one of auto, fp32, bf16");
}

namespace {

std::string trim(const std::string &s)
{
    const auto begin = s.find_first_not_of(" \t\n");
    if (begin == std::string::npos)
        return "";
    return s.substr(begin, s.find_last_not_of(" \t\n") - begin + 1);
}

[[noreturn]] void fail(const std::string &source, const std::string &cause)
{
    throw ModelError("model '" + source + "': feremotion.json " + cause);
}

const json &field(const json &object, const char *key, const std::string &path, const std::string &source)
{
    if (!object.is_object() || !object.contains(key))
        fail(source, "lacks the field \"" + path + key + "\"");
    return object.at(key);
}

// Pixels are scaled to [0,1] before normalisation: means and stds far outside that are mistakes.
constexpr double kLargestNormalisation = 1e6;

std::vector<float> floatArray(const json &value, const std::string &name, const std::string &source)
{
    if (!value.is_array() || value.empty())
        fail(source, "field \"" + name + "\" must be a non-empty array of numbers");
    std::vector<float> out;
    for (const auto &v : value) {
        if (!v.is_number())
            fail(source, "field \"" + name + "\" must be a non-empty array of numbers");
        // Checked before narrowing: 1e39 would become an infinite float.
        const double number = v.get<double>();
        if (!std::isfinite(number) || std::fabs(number) > kLargestNormalisation)
            fail(source, "field \"" + name + "\" holds " + v.dump() + ", outside -1e6 to 1e6");
        out.push_back(static_cast<float>(number));
    }
    return out;
}

} // namespace

std::vector<std::string> parseLabelList(const std::string &text)
{
    std::vector<std::string> labels;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        item = trim(item);
        if (item.empty())
            throw std::invalid_argument("label list \"" + text + "\" has an empty label");
        labels.push_back(item);
    }
    if (labels.empty())
        throw std::invalid_argument("label list is empty");
    return labels;
}

std::vector<float> parseFloatList(const std::string &text)
{
    std::vector<float> values;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        std::size_t used = 0;
        float value = 0;
        try {
            value = std::stof(trim(item), &used);
        } catch (const std::exception &) {
            used = 0;
        }
        if (used == 0 || used != trim(item).size() || !std::isfinite(value))
            throw std::invalid_argument("\"" + text + "\" is not a comma-separated list of numbers");
        values.push_back(value);
    }
    if (values.empty())
        throw std::invalid_argument("number list is empty");
    return values;
}

void completeNormalisation(InputSpec &input)
{
    const std::size_t channels = static_cast<std::size_t>(input.channels());
    for (auto *values : {&input.mean, &input.std}) {
        if (values->size() == 1)
            values->resize(channels, values->front());
        if (values->size() != channels)
            throw std::invalid_argument(channels == 1 ? "mean and std need 1 value for colour gray"
                                                      : "mean and std need 1 or " + std::to_string(channels) +
                                                            " values for colour " + toString(input.color));
    }
    for (float s : input.std)
        if (!(s > 0))
            throw std::invalid_argument("std must hold positive numbers");
}

const char *interfaceDifference(const ModelInfo &a, const ModelInfo &b)
{
    if (a.labels != b.labels)
        return "labels";
    if (a.input.width != b.input.width || a.input.height != b.input.height)
        return "input size";
    if (a.input.color != b.input.color)
        return "input colour";
    if (a.input.mean != b.input.mean || a.input.std != b.input.std)
        return "input normalisation";
    if (a.faceMargin != b.faceMargin)
        return "face-crop margin";
    if (a.keepAspect != b.keepAspect)
        return "face-crop aspect rule";
    return nullptr;
}

ModelInfo parseModelInfo(const std::string &jsonText, const std::string &source)
{
    json doc;
    try {
        doc = json::parse(jsonText);
    } catch (const json::parse_error &e) {
        fail(source, std::string("is not valid JSON: ") + e.what());
    }
    if (!doc.is_object())
        fail(source, "is not a JSON object");
    const json &format = field(doc, "format", "", source);
    if (format != "feremotion-model")
        fail(source, "has \"format\" " + format.dump() + ", expected \"feremotion-model\"");
    const json &version = field(doc, "version", "", source);
    if (!version.is_number_integer() || version.get<int>() != 1)
        fail(source, "has \"version\" " + version.dump() + "; this build reads version 1");

    ModelInfo info;
    const json &labels = field(doc, "labels", "", source);
    if (!labels.is_array() || labels.empty())
        fail(source, "field \"labels\" must be a non-empty array of strings");
    for (const auto &label : labels) {
        if (!label.is_string() || label.get<std::string>().empty())
            fail(source, "field \"labels\" must be a non-empty array of non-empty strings");
        info.labels.push_back(label.get<std::string>());
    }

    const json &input = field(doc, "input", "", source);
    const json &width = field(input, "width", "input.", source);
    const json &height = field(input, "height", "input.", source);
    // Compared before narrowing to int: 4294967344 would become 48.
    const auto inRange = [](const json &side) {
        // (an unsigned number beyond long long's range reads as negative)
        return side.is_number_integer() && side.get<long long>() >= 1 && side.get<long long>() <= 4096;
    };
    if (!inRange(width) || !inRange(height))
        fail(source, "fields \"input.width\" and \"input.height\" must be integers from 1 to 4096, not " +
                         width.dump() + " and " + height.dump());
    info.input.width = static_cast<int>(width.get<long long>());
    info.input.height = static_cast<int>(height.get<long long>());
    const json &color = field(input, "color", "input.", source);
    if (!color.is_string())
        fail(source, "field \"input.color\" must be \"gray\" or \"rgb\"");
    try {
        info.input.color = colorModeFromString(color.get<std::string>());
    } catch (const std::invalid_argument &) {
        fail(source, "field \"input.color\" must be \"gray\" or \"rgb\", not " + color.dump());
    }
    info.input.mean = floatArray(field(input, "mean", "input.", source), "input.mean", source);
    info.input.std = floatArray(field(input, "std", "input.", source), "input.std", source);
    try {
        completeNormalisation(info.input);
    } catch (const std::invalid_argument &e) {
        fail(source, std::string("fields \"input.mean\"/\"input.std\": ") + e.what());
    }

    const json &output = field(doc, "output", "", source);
    if (output != "logits")
        fail(source, "has \"output\" " + output.dump() + "; only \"logits\" is supported");

    if (doc.contains("architecture") && doc["architecture"].is_string())
        info.architecture = doc["architecture"].get<std::string>();
    if (doc.contains("parameters") && doc["parameters"].is_number_integer())
        info.parameters = doc["parameters"].get<long long>();
    if (doc.contains("face_crop")) {
        const json &margin = field(doc["face_crop"], "margin", "face_crop.", source);
        if (!margin.is_number() || margin.get<float>() < 0 || margin.get<float>() > 1)
            fail(source, "field \"face_crop.margin\" must be a number from 0 to 1");
        info.faceMargin = margin.get<float>();
        if (doc["face_crop"].contains("keep_aspect")) {
            const json &keepAspect = doc["face_crop"]["keep_aspect"];
            if (!keepAspect.is_boolean())
                fail(source, "field \"face_crop.keep_aspect\" must be true or false");
            info.keepAspect = keepAspect.get<bool>();
        }
    }
    info.jsonText = jsonText;
    return info;
}

json modelInfoJson(const ModelInfo &info)
{
    const InputSpec &input = info.input;
    return {
        {"format", "feremotion-model"},
        {"version", 1},
        {"labels", info.labels},
        {"input",
         {{"width", input.width}, {"height", input.height}, {"color", toString(input.color)}, {"mean", input.mean},
          {"std", input.std}}},
        {"output", "logits"},
        {"architecture", info.architecture},
        {"parameters", info.parameters},
        {"face_crop", {{"margin", info.faceMargin}, {"keep_aspect", info.keepAspect}}},
    };
}

} // namespace feremotion
