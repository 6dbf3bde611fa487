// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of the batched classifier.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/model/device.h"
#include "engine/vision/classifier.h"
#include "frames.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

std::vector<cv::Mat> randomCrops(int count, int channels)
{
    std::vector<cv::Mat> crops;
    cv::RNG rng(3);
    for (int i = 0; i < count; ++i) {
        cv::Mat crop(48, 48, CV_8UC(channels));
        rng.fill(crop, cv::RNG::UNIFORM, 0, 256);
        crops.push_back(crop);
    }
    return crops;
}

} // namespace

TEST(Classifier, ABatchOfNEqualsNSingleForwards)
{
    TempDir dir;
    TestBundle spec;
    spec.convolutional = true;
    ClassifierOptions options;
    options.batchSize = 32;
    EmotionClassifier classifier(writeTestBundle(dir.file("conv.pt"), spec), options);
    const auto crops = randomCrops(13, 1);
    const auto batched = classifier.classify(crops);
    EXPECT_EQ(classifier.stats().forwardPasses, 1);
    classifier.setBatchSize(1);
    ASSERT_EQ(batched.size(), crops.size());
    for (size_t i = 0; i < crops.size(); ++i) {
        const auto single = classifier.classify({crops[i]});
        ASSERT_EQ(single[0].probabilities.size(), 7u);
        EXPECT_EQ(single[0].labelId, batched[i].labelId);
        for (size_t k = 0; k < 7; ++k)
            EXPECT_NEAR(single[0].probabilities[k], batched[i].probabilities[k], 1e-5);
    }
}

TEST(Classifier, FacesGoThroughInChunksOfTheBatchSize)
{
    TempDir dir;
    ClassifierOptions options;
    options.batchSize = 4;
    EmotionClassifier classifier(writeTestBundle(dir.file("m.pt")), options);
    classifier.resetStats();
    EXPECT_EQ(classifier.classify(randomCrops(10, 1)).size(), 10u);
    EXPECT_EQ(classifier.stats().forwardPasses, 3);
    EXPECT_EQ(classifier.stats().faces, 10);
}

TEST(Classifier, ProbabilitiesAreASoftmaxAndTheLabelIsTheirArgmax)
{
    TempDir dir;
    EmotionClassifier classifier(writeTestBundle(dir.file("m.pt")), {});
    for (const Emotion &e : classifier.classify(randomCrops(5, 1))) {
        EXPECT_NEAR(std::accumulate(e.probabilities.begin(), e.probabilities.end(), 0.0), 1.0, 1e-5);
        const auto best = std::max_element(e.probabilities.begin(), e.probabilities.end());
        EXPECT_EQ(e.labelId, best - e.probabilities.begin());
        EXPECT_FLOAT_EQ(e.confidence, *best);
    }
}

TEST(Classifier, NoFacesMeansNoForwardPass)
{
    TempDir dir;
    EmotionClassifier classifier(writeTestBundle(dir.file("m.pt")), {});
    classifier.resetStats();
    EXPECT_TRUE(classifier.classify({}).empty());
    EXPECT_EQ(classifier.stats().forwardPasses, 0);
}

TEST(Classifier, ClassifiesFacesStraightFromAYuvFrame)
{
    TempDir dir;
    TestBundle spec;
    spec.color = "rgb";
    EmotionClassifier classifier(writeTestBundle(dir.file("rgb.pt"), spec), {});
    OwnedFrame frame = makeFrame(syntheticImage(320, 240), PixelFormat::NV12);
    const std::vector<Detection> faces{{{10, 10, 100, 80}, 0.9f}, {{250, 200, 100, 100}, 0.8f}};
    const auto results = classifier.classifyFaces(frame.view, faces);
    EXPECT_EQ(results.size(), 2u);
}

TEST(Classifier, MoreThreadsGiveTheSameResults)
{
    TempDir dir;
    TestBundle spec;
    spec.convolutional = true;
    ClassifierOptions options;
    EmotionClassifier classifier(writeTestBundle(dir.file("conv.pt"), spec), options);
    const auto crops = randomCrops(8, 1);
    const auto one = classifier.classify(crops);
    classifier.setThreads(2);
    const auto two = classifier.classify(crops);
    for (size_t i = 0; i < crops.size(); ++i)
        for (size_t k = 0; k < 7; ++k)
            EXPECT_NEAR(one[i].probabilities[k], two[i].probabilities[k], 1e-5);
}

TEST(Classifier, OnTheCpuTheModelRunsOptimizedAndGivesTheLoadedModelsResults)
{
    TempDir dir;
    TestBundle spec;
    spec.convolutional = true;
    const std::string path = writeTestBundle(dir.file("conv.pt"), spec);
    ClassifierOptions options;
    options.device = "cpu";
    options.precision = Precision::Float32; // bfloat16 rounds each path differently
    EmotionClassifier optimized(path, options);
    options.optimize = false;
    EmotionClassifier asLoaded(path, options);
    EXPECT_TRUE(optimized.optimized());
    EXPECT_FALSE(asLoaded.optimized());
    const auto crops = randomCrops(8, 1);
    const auto fast = optimized.classify(crops), reference = asLoaded.classify(crops);
    for (size_t i = 0; i < crops.size(); ++i)
        for (size_t k = 0; k < 7; ++k)
            EXPECT_NEAR(fast[i].probabilities[k], reference[i].probabilities[k], 1e-5);
}

TEST(Classifier, Bf16RunsTheModelInBfloat16WithinItsRoundingOfFp32)
{
    TempDir dir;
    TestBundle spec;
    spec.convolutional = true;
    const std::string path = writeTestBundle(dir.file("conv.pt"), spec);
    ClassifierOptions options;
    options.device = "cpu";
    options.precision = Precision::Float32;
    EmotionClassifier fp32(path, options);
    options.precision = Precision::BFloat16;
    EmotionClassifier bf16(path, options);
    EXPECT_EQ(fp32.precision(), Precision::Float32);
    EXPECT_EQ(bf16.precision(), Precision::BFloat16);
    EXPECT_TRUE(bf16.optimized());
    const auto crops = randomCrops(8, 1);
    const auto exact = fp32.classify(crops), rounded = bf16.classify(crops);
    double largest = 0;
    for (size_t i = 0; i < crops.size(); ++i)
        for (size_t k = 0; k < 7; ++k)
            largest = std::max(largest, std::abs(double(exact[i].probabilities[k]) - rounded[i].probabilities[k]));
    // 8 mantissa bits: about 0.4% per number. With AMX or AVX512-BF16 sums add up in float32 and
    // the largest difference here is below 0.03; without them (an AMD EPYC without AVX-512)
    // LibTorch's kernels round partial sums to bfloat16 too, and it reaches 0.06.
    EXPECT_LT(largest, 0.1);
    EXPECT_GT(largest, 0.0);  // and it did run in bfloat16
}

TEST(Classifier, AModelThatFailsInBfloat16IsAnErrorNamingTheFileWithBf16)
{
    TempDir dir;
    TestBundle spec;
    spec.float32Only = true;
    const std::string path = writeTestBundle(dir.file("float32-only.pt"), spec);
    ClassifierOptions options;
    options.device = "cpu";
    options.precision = Precision::BFloat16;
    EXPECT_THAT([&] { EmotionClassifier classifier(path, options); },
                ThrowsMessage<ModelError>(AllOf(HasSubstr(path), HasSubstr("bfloat16"), HasSubstr("use fp32"))));
    options.precision = Precision::Float32;
    EmotionClassifier classifier(path, options);
    EXPECT_EQ(classifier.classify(randomCrops(2, 1)).size(), 2u);
}

TEST(Classifier, AModelThatFailsInBfloat16RunsInFp32UnderAuto)
{
    TempDir dir;
    TestBundle spec;
    spec.float32Only = true;
    ClassifierOptions options;
    options.device = "cpu";
    options.precision = Precision::Auto;
    EmotionClassifier classifier(writeTestBundle(dir.file("float32-only.pt"), spec), options);
    EXPECT_EQ(classifier.precision(), Precision::Float32);
    EXPECT_EQ(classifier.classify(randomCrops(2, 1)).size(), 2u);
}

TEST(Classifier, AutoRunsInBf16OnACpuWithAmxAndInFp32Elsewhere)
{
    const Precision onThisCpu = cpuHasAmxBf16() ? Precision::BFloat16 : Precision::Float32;
    EXPECT_EQ(resolvePrecision(Precision::Auto, c10::Device(c10::kCPU)), onThisCpu);
    EXPECT_EQ(resolvePrecision(Precision::Auto, c10::Device(c10::kCUDA, 0)), Precision::Float32);
    for (Precision explicitly : {Precision::Float32, Precision::BFloat16})
        EXPECT_EQ(resolvePrecision(explicitly, c10::Device(c10::kCUDA, 0)), explicitly);

    TempDir dir;
    TestBundle spec;
    spec.convolutional = true;
    ClassifierOptions options;
    options.device = "cpu";
    EmotionClassifier classifier(writeTestBundle(dir.file("conv.pt"), spec), options);
    EXPECT_EQ(classifier.precision(), onThisCpu);
}

TEST(Classifier, PrecisionNamesAreAutoFp32AndBf16AndAutoIsTheDefault)
{
    for (Precision p : {Precision::Auto, Precision::Float32, Precision::BFloat16})
        EXPECT_EQ(precisionFromString(toString(p)), p);
    EXPECT_THAT([] { precisionFromString("fp16"); },
                ThrowsMessage<std::invalid_argument>(HasSubstr("'fp16' is not one of auto, fp32, bf16")));
    EXPECT_EQ(ClassifierOptions().precision, Precision::Auto);
}

// Linux lists amx_bf16 among a processor's flags only where the kernel has enabled the tiles too.
TEST(Device, AmxBf16IsReportedExactlyWhenLinuxListsIt)
{
    std::ifstream cpuinfo("/proc/cpuinfo");
    if (!cpuinfo)
        GTEST_SKIP() << "/proc/cpuinfo is not readable";
    bool listed = false;
    for (std::string line; std::getline(cpuinfo, line);)
        if (line.rfind("flags", 0) == 0) {
            listed = (line + " ").find(" amx_bf16 ") != std::string::npos;
            break;
        }
    EXPECT_EQ(cpuHasAmxBf16(), listed);
}

TEST(Classifier, TheObserverHearsOfEveryForwardPassWithItsFaces)
{
    TempDir dir;
    ClassifierOptions options;
    options.batchSize = 2;
    EmotionClassifier classifier(writeTestBundle(dir.file("m.pt")), options);
    std::vector<int> faces;
    classifier.setForwardObserver([&](const ForwardPass &pass) {
        faces.push_back(pass.faces);
        EXPECT_EQ(pass.streams, 1);
    });
    classifier.classify(std::vector<cv::Mat>(5, cv::Mat(48, 48, CV_8UC1, cv::Scalar(128))));
    EXPECT_EQ(faces, (std::vector<int>{2, 2, 1}));
}
