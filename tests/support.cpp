// SPDX-License-Identifier: LGPL-2.1-or-later
// Test helpers; the only test file that includes LibTorch.
#include "support.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include "engine/model/bundle_io.h"
#include "engine/vision/classifier.h"
#include "engine/vision/detector.h"

#ifndef FEREMOTION_TESTS_SOURCE_DIR
#error "FEREMOTION_TESTS_SOURCE_DIR must be defined by the build"
#endif

namespace fs = std::filesystem;

namespace feremotion::test {

std::string testsSourceDir()
{
    return FEREMOTION_TESTS_SOURCE_DIR;
}

std::optional<std::string> sharedDir()
{
    const char *fromEnvironment = std::getenv("FEREMOTION_SHARED");
    const fs::path dir = fromEnvironment && *fromEnvironment
                             ? fs::path(fromEnvironment)
                             : fs::path(FEREMOTION_TESTS_SOURCE_DIR) / ".." / ".." / "shared";
    std::error_code ec;
    if (fs::is_directory(dir, ec))
        return fs::canonical(dir, ec).string();
    return std::nullopt;
}

std::optional<std::string> sharedFile(const std::string &relative)
{
    const auto dir = sharedDir();
    if (!dir)
        return std::nullopt;
    const fs::path file = fs::path(*dir) / relative;
    std::error_code ec;
    if (!fs::exists(file, ec))
        return std::nullopt;
    return file.string();
}

std::optional<std::string> sharedYuNetModel()
{
    return sharedFile("models/" + yunetReleaseForThisOpenCV());
}

std::string missingYuNetModel()
{
    return "../shared/models/" + yunetReleaseForThisOpenCV() + " is absent";
}

TempDir::TempDir()
{
    std::string pattern = (fs::temp_directory_path() / "feremotion-test-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
        throw std::runtime_error("cannot create a temporary folder");
    path_ = pattern;
}

TempDir::~TempDir()
{
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string metadataJson(const TestBundle &spec)
{
    ModelInfo info;
    info.labels = spec.labels;
    info.input.width = spec.width;
    info.input.height = spec.height;
    info.input.mean = {0.5f};
    info.architecture = spec.convolutional ? "test-conv" : "test-linear";
    info.faceMargin = 0.1f;
    nlohmann::json doc = modelInfoJson(info);
    // As the spec says, so that a test can give values the parser refuses ("cmyk", a std of "0").
    doc["input"]["color"] = spec.color;
    doc["input"]["std"] = {nlohmann::json::parse(spec.std)};
    doc["training"] = {{"dataset", "none (test bundle)"}, {"epochs", 0}, {"seed", spec.seed}};
    doc["created"] = "2026-11-28T00:00:00Z";
    doc["producer"] = "feremotion tests";
    return doc.dump(2);
}

namespace {

// TorchScript statements, one per line, as the body of a method.
std::string indented(const std::string &statements)
{
    std::string body;
    size_t begin = 0;
    while (begin < statements.size()) {
        const size_t end = std::min(statements.find('\n', begin), statements.size());
        body += "    " + statements.substr(begin, end - begin) + "\n";
        begin = end + 1;
    }
    return body;
}

} // namespace

std::string writeTestBundle(const std::string &path, const TestBundle &spec)
{
    torch::manual_seed(spec.seed);
    const int channels = spec.color == "rgb" ? 3 : 1;
    torch::jit::Module module("TestEmotionNet");
    if (spec.convolutional) {
        module.register_parameter("conv_weight", torch::randn({8, channels, 3, 3}) * 0.3, false);
        module.register_parameter("conv_bias", torch::randn({8}) * 0.1, false);
        const int pooled = (spec.width / 4) * (spec.height / 4) * 8;
        module.register_parameter("fc_weight", torch::randn({spec.outputs, pooled}) * 0.05, false);
        module.register_parameter("fc_bias", torch::randn({spec.outputs}) * 0.1, false);
        module.define(R"(
def forward(self, x):
    y = torch.relu(torch.conv2d(x, self.conv_weight, self.conv_bias, [1, 1], [1, 1]))
    y = torch.max_pool2d(y, [4, 4])
    return torch.linear(torch.flatten(y, 1), self.fc_weight, self.fc_bias)
)");
    } else {
        const int inputs = channels * spec.width * spec.height;
        auto bias = torch::randn({spec.outputs}) * 0.1;
        if (spec.nanOutput)
            bias[0] = std::numeric_limits<float>::quiet_NaN();
        if (spec.firstLabelWins)
            bias[0] = 20.0f;
        module.register_parameter("weight", torch::randn({spec.outputs, inputs}) * 0.02, false);
        module.register_parameter("bias", bias, false);
        const std::string weights = spec.float32Only ? "self.weight.float(), self.bias.float()" : "self.weight, self.bias";
        module.define("def forward(self, x):\n" + indented(spec.forwardPrelude) +
                      "    return torch.linear(torch.flatten(x, 1), " + weights + ")" +
                      (spec.squeezeOutput ? ".squeeze()" : "") + spec.outputCast + "\n");
        if (!spec.setstateCode.empty())
            module.define("def __getstate__(self):\n    return (self.weight, self.bias)\n"
                          "def __setstate__(self, state: Tuple[Tensor, Tensor]):\n"
                          "    self.weight = state[0]\n    self.bias = state[1]\n" +
                          indented(spec.setstateCode));
    }
    const std::string json = spec.emptyMetadata              ? ""
                             : spec.metadataOverride.empty() ? metadataJson(spec)
                                                             : spec.metadataOverride;
    if (spec.writeMetadata)
        saveBundle(module, json, path);
    else
        module.save(path);
    return path;
}

namespace {
constexpr const char *kVictimsText = "sixteen bytes!!\n";
} // namespace

Victim::Victim(const TempDir &dir) : path(dir.file("victim.txt"))
{
    std::ofstream(path) << kVictimsText;
}

std::string Victim::overwrite(const std::string &used) const
{
    return "victim = torch.from_file(\"" + path + "\", True, 16, dtype=0)  # 0: uint8\nvictim.fill_(65)\n" + used +
           " = " + used + " + victim[0].float() * 0.0";
}

std::string Victim::contents() const
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

bool Victim::untouched() const
{
    return contents() == kVictimsText;
}

std::string slowForwardWhen(const std::string &condition)
{
    return "if " + condition + ":\n    n = 0\n    for i in range(3000000):\n        n = n + i % 3\n    x = x + float(n % 2)";
}

std::string classifierLoadError(const std::string &path, const ClassifierOptions &options)
{
    try {
        EmotionClassifier classifier(path, options);
    } catch (const ModelError &e) {
        return e.what();
    }
    return "(loaded without error)";
}

std::string writeModuleWithoutForward(const std::string &path)
{
    torch::jit::Module module("Weights");
    module.register_parameter("weight", torch::ones({7, 4}), false);
    module.save(path);
    return path;
}

} // namespace feremotion::test
