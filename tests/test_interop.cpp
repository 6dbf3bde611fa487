// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification: bundles cross between Debian's python3-torch and the C++ engine both ways.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include "engine/model/bundle_io.h"
#include "engine/vision/classifier.h"
#include "python_support.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;

namespace {

// The input interop.py's fixed_input() builds.
torch::Tensor fixedInput(int64_t channels, int64_t height, int64_t width, int64_t batch = 3)
{
    const int64_t count = batch * channels * height * width;
    auto values = (torch::arange(count, torch::kInt64) * 37 % 251).to(torch::kFloat32) / 250.0;
    return ((values - 0.5) / 0.5).reshape({batch, channels, height, width});
}

void expectSameLogits(const torch::Tensor &cpp, const nlohmann::json &python)
{
    ASSERT_EQ(static_cast<size_t>(cpp.size(0)), python.size());
    for (int64_t i = 0; i < cpp.size(0); ++i)
        for (int64_t k = 0; k < cpp.size(1); ++k)
            EXPECT_NEAR(cpp[i][k].item<float>(), python[i][k].get<float>(), 1e-5) << i << "," << k;
}

#define REQUIRE_PYTHON_TORCH()                                                                                      \
    if (!pythonTorchAvailable())                                                                                    \
        GTEST_SKIP() << "/usr/bin/python3 cannot import torch (install python3-torch)";

} // namespace

TEST(Interop, ABundleScriptedInPythonLoadsAndMatchesInCpp)
{
    REQUIRE_PYTHON_TORCH();
    TempDir dir;
    const std::string path = dir.file("python.pt");
    runInterop("make " + path);
    EmotionClassifier classifier(path, {});
    EXPECT_TRUE(classifier.hasBundleMetadata());
    EXPECT_EQ(classifier.info().architecture, "python-small-cnn");
    const auto python = nlohmann::json::parse(runInterop("run " + path));

    c10::InferenceMode guard;
    LoadedBundle bundle = loadBundle(path);
    const torch::Tensor logits = bundle.module.forward({fixedInput(1, 48, 48)}).toTensor();
    expectSameLogits(logits, python["logits"]);
}

TEST(Interop, ABundleWrittenInCppLoadsAndMatchesInPython)
{
    REQUIRE_PYTHON_TORCH();
    TempDir dir;
    TestBundle spec;
    spec.convolutional = true;
    spec.color = "rgb";
    const std::string path = writeTestBundle(dir.file("cpp.pt"), spec);
    const auto python = nlohmann::json::parse(runInterop("run " + path));
    EXPECT_EQ(python["labels"].get<std::vector<std::string>>(), spec.labels);

    c10::InferenceMode guard;
    LoadedBundle bundle = loadBundle(path);
    const torch::Tensor logits = bundle.module.forward({fixedInput(3, 48, 48)}).toTensor();
    expectSameLogits(logits, python["logits"]);
}
