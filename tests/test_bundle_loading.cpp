// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification: every way a model file can be unusable gives its own error naming the file.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/model/atomic_file.h"
#include "engine/model/device.h"
#include "engine/vision/classifier.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string loadError(const std::string &path, const ClassifierOptions &options = {})
{
    return classifierLoadError(path, options);
}

// A bundle written from `spec` fails to load with an error naming its file and holding `cause`.
void expectRefusedNamingTheFile(const TestBundle &spec, const std::string &cause)
{
    TempDir dir;
    const std::string path = writeTestBundle(dir.file("bad.pt"), spec);
    EXPECT_THAT(loadError(path), AllOf(HasSubstr(path), HasSubstr(cause)));
}

void writeText(const std::string &path, const std::string &text)
{
    std::ofstream(path, std::ios::binary) << text;
}

} // namespace

TEST(BundleLoading, AValidBundleLoadsWithItsMetadata)
{
    TempDir dir;
    TestBundle spec;
    spec.width = 40;
    spec.height = 32;
    EmotionClassifier classifier(writeTestBundle(dir.file("ok.pt"), spec), {});
    EXPECT_TRUE(classifier.hasBundleMetadata());
    EXPECT_EQ(classifier.info().labels, fer2013Labels());
    EXPECT_EQ(classifier.info().input.width, 40);
    EXPECT_EQ(classifier.info().input.height, 32);
    EXPECT_FLOAT_EQ(classifier.info().faceMargin, 0.1f);
    EXPECT_EQ(classifier.deviceName(), "cpu");
}

TEST(BundleLoading, MissingFileIsNamed)
{
    EXPECT_THAT(loadError("/nonexistent/model.pt"), AllOf(HasSubstr("/nonexistent/model.pt"), HasSubstr("does not exist")));
}

TEST(BundleLoading, DirectoryIsRejected)
{
    TempDir dir;
    EXPECT_THAT(loadError(dir.path()), AllOf(HasSubstr(dir.path()), HasSubstr("is a directory")));
}

TEST(BundleLoading, UnreadableFileIsNamed)
{
    if (geteuid() == 0)
        GTEST_SKIP() << "running as root: file permissions do not stop reads";
    TempDir dir;
    const std::string path = writeTestBundle(dir.file("locked.pt"));
    chmod(path.c_str(), 0);
    EXPECT_THAT(loadError(path), AllOf(HasSubstr(path), HasSubstr("cannot be read")));
}

TEST(BundleLoading, NonZipFileIsNotATorchScriptArchive)
{
    TempDir dir;
    writeText(dir.file("text.pt"), "this is not a model\n");
    EXPECT_THAT(loadError(dir.file("text.pt")),
                AllOf(HasSubstr(dir.file("text.pt")), HasSubstr("not a TorchScript archive")));
}

TEST(BundleLoading, CorruptArchiveIsNotLoadable)
{
    TempDir dir;
    writeText(dir.file("corrupt.pt"), std::string("PK\x03\x04", 4) + std::string(200, 'x'));
    EXPECT_THAT(loadError(dir.file("corrupt.pt")),
                AllOf(HasSubstr(dir.file("corrupt.pt")), HasSubstr("not a loadable TorchScript archive")));
}

TEST(BundleLoading, TruncatedBundleIsNotLoadable)
{
    TempDir dir;
    const std::string good = writeTestBundle(dir.file("good.pt"));
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    writeText(dir.file("half.pt"), bytes.substr(0, bytes.size() / 2));
    EXPECT_THAT(loadError(dir.file("half.pt")),
                AllOf(HasSubstr(dir.file("half.pt")), HasSubstr("not a loadable TorchScript archive")));
}

TEST(BundleLoading, ModuleWithoutForwardIsRejected)
{
    TempDir dir;
    const std::string path = writeModuleWithoutForward(dir.file("weights.pt"));
    EXPECT_THAT(loadError(path), AllOf(HasSubstr(path), HasSubstr("no forward method")));
}

TEST(BundleLoading, InvalidMetadataJsonIsReported)
{
    TestBundle spec;
    spec.metadataOverride = "{\"format\": \"feremotion-model\", ";
    expectRefusedNamingTheFile(spec, "feremotion.json is not valid JSON");
}

TEST(BundleLoading, IncompleteMetadataNamesTheMissingField)
{
    TestBundle spec;
    spec.metadataOverride = R"({"format": "feremotion-model", "version": 1, "labels": ["a"], "output": "logits",
                                "input": {"width": 48, "height": 48, "color": "gray", "std": [0.5]}})";
    expectRefusedNamingTheFile(spec, "\"input.mean\"");
}

TEST(BundleLoading, OutputWidthMustEqualLabelCount)
{
    TestBundle spec;
    spec.outputs = 5;
    expectRefusedNamingTheFile(spec, "returns 5 outputs per face but has 7 labels");
}

TEST(BundleLoading, NonFiniteOutputsAreRejected)
{
    TestBundle spec;
    spec.nanOutput = true;
    expectRefusedNamingTheFile(spec, "non-finite");
}

TEST(BundleLoading, IntegerOutputsAreRejected)
{
    TestBundle spec;
    spec.outputCast = ".long()";
    expectRefusedNamingTheFile(spec, "returns Long values, not floating-point logits");
}

// LibTorch reads a missing extra file as empty: only the archive says which it is.
TEST(BundleLoading, AnEmptyMetadataFileIsAnErrorNotABareModel)
{
    TestBundle spec;
    spec.emptyMetadata = true;
    expectRefusedNamingTheFile(spec, "has an empty feremotion.json");
}

// A std so small that faces become infinite once normalised fails at load, not at the first face.
TEST(BundleLoading, NormalisationThatMakesFacesInfiniteIsRefusedAtLoad)
{
    TestBundle spec;
    spec.std = "1e-45";
    expectRefusedNamingTheFile(spec, "infinite");
}

TEST(BundleLoading, InputSizeThatDoesNotFitTheNetworkIsReported)
{
    TempDir dir;
    TestBundle spec;
    spec.metadataOverride = metadataJson([] {
        TestBundle other;
        other.width = 64;
        return other;
    }());
    const std::string path = writeTestBundle(dir.file("mismatch.pt"), spec);
    EXPECT_THAT(loadError(path), AllOf(HasSubstr(path), HasSubstr("fails on a 1x1x48x64 input"),
                                       HasSubstr("mat1 and mat2 shapes cannot be multiplied"),
                                       Not(HasSubstr("TorchScript interpreter"))));
}

TEST(BundleLoading, AnOutputWithoutItsBatchDimensionForOneFaceIsRefused)
{
    TestBundle spec;
    spec.squeezeOutput = true;
    expectRefusedNamingTheFile(spec, "expected 1x7"), HasSubstr("test forward pass");
}

TEST(BundleLoading, BareTorchScriptTakesLabelsAndInputFromOptions)
{
    TempDir dir;
    TestBundle spec;
    spec.writeMetadata = false;
    spec.outputs = 3;
    spec.color = "rgb";
    spec.width = spec.height = 32;
    const std::string path = writeTestBundle(dir.file("bare.pt"), spec);
    ClassifierOptions options;
    options.bareModelInfo.labels = {"calm", "excited", "other"};
    options.bareModelInfo.input.width = options.bareModelInfo.input.height = 32;
    options.bareModelInfo.input.color = ColorMode::Rgb;
    options.bareModelInfo.input.mean = {0.5f, 0.5f, 0.5f};
    options.bareModelInfo.input.std = {0.5f, 0.5f, 0.5f};
    EmotionClassifier classifier(path, options);
    EXPECT_FALSE(classifier.hasBundleMetadata());
    EXPECT_EQ(classifier.info().labels.size(), 3u);
    const auto results = classifier.classify({cv::Mat(32, 32, CV_8UC3, cv::Scalar(10, 200, 90))});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].probabilities.size(), 3u);
}

TEST(BundleLoading, BareTorchScriptWithTheWrongLabelCountIsRejected)
{
    TempDir dir;
    TestBundle spec;
    spec.writeMetadata = false;
    const std::string path = writeTestBundle(dir.file("bare7.pt"), spec);
    ClassifierOptions options;
    options.bareModelInfo.labels = {"yes", "no"};
    EXPECT_THAT(loadError(path, options), HasSubstr("returns 7 outputs per face but has 2 labels"));
}

TEST(BundleLoading, CudaDeviceFailsClearlyWithoutAGpu)
{
    if (cudaAvailable())
        GTEST_SKIP() << "a CUDA device is present";
    TempDir dir;
    ClassifierOptions options;
    options.device = "cuda";
    EXPECT_THAT(loadError(writeTestBundle(dir.file("m.pt")), options), HasSubstr("sees no CUDA device"));
    options.device = "cuda:1";
    EXPECT_THAT(loadError(writeTestBundle(dir.file("m.pt")), options), HasSubstr("sees no CUDA device"));
}

TEST(BundleLoading, UnknownDeviceNameIsRejected)
{
    TempDir dir;
    ClassifierOptions options;
    options.device = "tpu";
    EXPECT_THAT(loadError(writeTestBundle(dir.file("m.pt")), options), HasSubstr("is not one of auto, cpu, cuda"));
}

// A save killed half-way leaves ".NAME.tmp-PID"; the next save to that name removes it once its
// process is gone, and leaves a live process's alone.
TEST(BundleSaving, RemovesTheTemporaryFilesOfKilledSavesOnly)
{
    TempDir dir;
    const std::string dead = dir.file(".m.pt.tmp-999999999");
    const std::string live = dir.file(".m.pt.tmp-" + std::to_string(::getppid()));
    std::ofstream(dead) << "half a bundle";
    std::ofstream(live) << "a save in progress";
    writeTestBundle(dir.file("m.pt"));
    EXPECT_FALSE(std::ifstream(dead).good());
    EXPECT_TRUE(std::ifstream(live).good());
    EXPECT_TRUE(std::ifstream(dir.file("m.pt")).good());
}

TEST(AtomicFile, AFailedWriteLeavesTheEarlierFileWholeAndNoTemporaryFile)
{
    TempDir dir;
    const std::string path = dir.file("metrics.json");
    writeAtomically(path, std::string("{\"earlier\": true}\n"));
    EXPECT_THROW(writeAtomically(path,
                                 [](const std::string &temporary) {
                                     std::ofstream(temporary) << "{\"half";
                                     throw std::runtime_error("disk full");
                                 }),
                 std::runtime_error);
    std::ifstream in(path);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "{\"earlier\": true}\n");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(AtomicFile, TheErrorNamesTheFileAndTheCause)
{
    TempDir dir;
    try {
        writeAtomically(dir.file("no-such-folder/out.png"), std::string("png"));
        ADD_FAILURE() << "wrote into a folder that does not exist";
    } catch (const std::runtime_error &e) {
        EXPECT_THAT(e.what(), AllOf(HasSubstr(dir.file("no-such-folder/out.png")), HasSubstr("does not exist")));
    }
}

// The probe's malformed bundles, generated: every field of a valid feremotion.json (and every
// object holding fields) removed or replaced by a value of another type or out of any range.
TEST(BundleLoading, EveryMutationOfTheMetadataLoadsOrIsRefusedNamingTheFile)
{
    TempDir dir;
    const nlohmann::json valid = nlohmann::json::parse(metadataJson(TestBundle{}));
    const std::vector<nlohmann::json> replacements{nullptr, "text", "", -1, 0, 1, 4294967344.0, 1e39, -1e39, 0.5,
                                                   true, nlohmann::json::array(), nlohmann::json::object()};
    std::vector<std::string> paths;
    const nlohmann::json leaves = valid.flatten();
    for (const auto &[path, value] : leaves.items()) {
        paths.push_back(path);
        const size_t parent = path.rfind('/');
        if (parent > 0)
            paths.push_back(path.substr(0, parent));
    }
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    int variants = 0, refused = 0;
    for (const std::string &path : paths) {
        const nlohmann::json::json_pointer pointer(path);
        std::vector<nlohmann::json> mutants;
        nlohmann::json removed = valid;
        nlohmann::json &parent = removed[pointer.parent_pointer()];
        if (parent.is_array())
            parent.erase(std::stoul(pointer.back()));
        else
            parent.erase(pointer.back());
        mutants.push_back(removed);
        for (const auto &value : replacements) {
            nlohmann::json mutant = valid;
            mutant[pointer] = value;
            mutants.push_back(mutant);
        }
        for (const auto &mutant : mutants) {
            TestBundle spec;
            spec.metadataOverride = mutant.dump();
            const std::string file = writeTestBundle(dir.file("variant-" + std::to_string(variants++) + ".pt"), spec);
            try {
                EmotionClassifier classifier(file, {});
            } catch (const ModelError &e) {
                ++refused;
                EXPECT_THAT(e.what(), HasSubstr(file)) << path << " = " << mutant.dump();
            } catch (const std::exception &e) {
                ADD_FAILURE() << path << " in " << mutant.dump() << ": not a ModelError: " << e.what();
            }
        }
    }
    EXPECT_GE(variants, 78);
    EXPECT_GT(refused, variants / 2);
}
