// SPDX-License-Identifier: LGPL-2.1-or-later
// What the trainer's test files share: the FER-2013 data from ../shared, a quick training run,
// and reading bundles back.
#pragma once

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/script.h>

#include "engine/model/bundle_io.h"
#include "engine/model/device.h"
#include "engine/vision/classifier.h"
#include "python_support.h"
#include "support.h"
#include "trainer/dataset.h"
#include "trainer_support.h"

namespace feremotion::test {

struct Fer {
    std::string train, publicTest;
};

inline std::optional<Fer> ferData()
{
    const auto train = sharedFile("data/fer2013/fer2013-train-00.csv.gz");
    const auto publicTest = sharedFile("data/fer2013/fer2013-publictest.csv.gz");
    if (!train || !publicTest)
        return std::nullopt;
    return Fer{*train, *publicTest};
}

#define REQUIRE_FER(fer)                                                                                            \
    const auto fer = ferData();                                                                                     \
    if (!fer)                                                                                                       \
        GTEST_SKIP() << "../shared/data/fer2013 is absent (set FEREMOTION_SHARED to the shared folder)";

// A small, quick run: a narrow net on a few hundred faces.
inline std::string tinyRun(const Fer &fer, const std::string &out, const std::string &extra = "", int epochs = 2)
{
    return "train --data " + fer.train + " --val " + fer.publicTest +
           " --limit 320 --val-limit 128 --arch mini-xception --width 4 --batch-size 32 --threads 1 --seed 7 --epochs " +
           std::to_string(epochs) + " --out " + out + " " + extra;
}

inline std::map<std::string, torch::Tensor> weightsOf(const std::string &bundle)
{
    std::map<std::string, torch::Tensor> weights;
    torch::jit::Module module = torch::jit::load(bundle);
    for (const auto &p : module.named_parameters())
        weights[p.name] = p.value.clone();
    for (const auto &b : module.named_buffers())
        weights[b.name] = b.value.clone();
    return weights;
}

inline void expectIdenticalWeights(const std::string &a, const std::string &b)
{
    const auto wa = weightsOf(a), wb = weightsOf(b);
    ASSERT_EQ(wa.size(), wb.size());
    ASSERT_GT(wa.size(), 0u);
    for (const auto &[name, tensor] : wa) {
        ASSERT_TRUE(wb.count(name)) << name;
        EXPECT_TRUE(torch::equal(tensor, wb.at(name))) << name << " differs";
    }
}

inline nlohmann::json metadataOf(const std::string &bundle)
{
    return nlohmann::json::parse(loadBundle(bundle).metadataJson);
}

// The logits C++ computes for interop.py's fixed input (three gray 48x48 faces) match Python's.
inline void expectPythonLogits(const std::string &bundlePath, const nlohmann::json &python)
{
    c10::InferenceMode guard;
    LoadedBundle bundle = loadBundle(bundlePath);
    const int64_t count = 3 * 48 * 48;
    auto input = ((torch::arange(count, torch::kInt64) * 37 % 251).to(torch::kFloat32) / 250.0 - 0.5) / 0.5;
    const torch::Tensor logits = bundle.module.forward({input.reshape({3, 1, 48, 48})}).toTensor();
    for (int64_t i = 0; i < 3; ++i)
        for (int64_t k = 0; k < 7; ++k)
            EXPECT_NEAR(logits[i][k].item<float>(), python["logits"][i][k].get<float>(), 1e-5);
}

inline void writeText(const std::string &path, const std::string &text)
{
    std::ofstream(path) << text;
}

// `bundle` again at `out` with its feremotion.json changed by `edit`.
inline void rewriteMetadata(const std::string &bundle, const std::string &out, const std::function<void(nlohmann::json &)> &edit)
{
    LoadedBundle loaded = loadBundle(bundle);
    nlohmann::json meta = nlohmann::json::parse(loaded.metadataJson);
    edit(meta);
    saveBundle(loaded.module, meta.dump(), out);
}

// An image folder of random faces, 12 per class (happy, sad) of varied sizes, PNG and JPEG.
inline std::string randomFaceFolder(const TempDir &dir)
{
    cv::RNG rng(4);
    for (const char *label : {"happy", "sad"})
        for (int i = 0; i < 12; ++i) {
            std::filesystem::create_directories(dir.file(std::string("faces/") + label));
            cv::Mat image(64 + i, 50 + 2 * i, CV_8UC3);
            rng.fill(image, cv::RNG::UNIFORM, 0, 256);
            cv::imwrite(dir.file(std::string("faces/") + label + "/" + std::to_string(i) + (i % 2 ? ".png" : ".jpg")),
                        image);
        }
    return dir.file("faces");
}

inline std::string csvRow(int emotion, int pixels, const char *usage = "Training")
{
    std::string row = std::to_string(emotion) + ",";
    for (int i = 0; i < pixels; ++i)
        row += (i ? " " : "") + std::to_string((i * 7 + emotion * 31) % 256);
    return row + "," + usage + "\n";
}

// The holdout's size per class, which differs between differently drawn holdouts.
inline std::vector<int> holdoutSupports(const Fer &fer, const TempDir &dir, const std::string &name, const std::string &seeds)
{
    const auto result = runTrainer("train --data " + fer.train +
                                   " --limit 400 --holdout 0.2 --arch mini-xception --width 4 --batch-size 32 "
                                   "--threads 1 --epochs 1 " + seeds + " --out " + dir.file(name));
    EXPECT_EQ(result.status, 0) << result.output;
    const auto meta = metadataOf(dir.file(name));
    std::vector<int> supports;
    for (const auto &[label, metrics] : meta["training"]["per_class"].items())
        supports.push_back(metrics["support"].get<int>());
    return supports;
}

// `command` (with {model}, {data} and {out} standing for a test bundle, a CSV of four training rows and a
// file to write) ends with exit 2, one line naming the file and `cause`, and no C++ backtrace.
inline void expectCommandToNameTheBundle(const std::string &command, const TestBundle &spec, const std::string &cause)
{
    TempDir dir;
    const std::string csv = dir.file("four.csv");
    writeText(csv, "emotion,pixels,Usage\n" + csvRow(3, 2304) + csvRow(4, 2304) + csvRow(0, 2304) + csvRow(1, 2304));
    const std::string model = writeTestBundle(dir.file("odd.pt"), spec);
    std::string arguments = command;
    arguments.replace(arguments.find("{model}"), 7, model);
    arguments.replace(arguments.find("{data}"), 6, csv);
    arguments.replace(arguments.find("{out}"), 5, dir.file("out"));
    const auto result = runTrainer(arguments);
    EXPECT_EQ(result.status, 2) << result.output;
    using ::testing::AllOf, ::testing::HasSubstr, ::testing::Not;
    EXPECT_THAT(result.output, AllOf(HasSubstr(model), HasSubstr(cause), Not(HasSubstr("frame #")),
                                     Not(HasSubstr("loss nan"))));
}

// Fine for the load-time passes' one and two faces; four do not add to two rows.
inline TestBundle raisingOnFourFaces()
{
    TestBundle spec;
    spec.outputCast = " + torch.zeros(2, 7)[:x.size(0)]";
    return spec;
}

} // namespace feremotion::test
