// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion-trainer, run as users run it.
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

#include "bundle_io.h"
#include "classifier.h"
#include "device.h"
#include "dataset.h"
#include "python_support.h"
#include "support.h"
#include "trainer_support.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

namespace {

struct Fer {
    std::string train, publicTest;
};

std::optional<Fer> ferData()
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
std::string tinyRun(const Fer &fer, const std::string &out, const std::string &extra = "", int epochs = 2)
{
    return "train --data " + fer.train + " --val " + fer.publicTest +
           " --limit 320 --val-limit 128 --arch mini-xception --width 4 --batch-size 32 --threads 1 --seed 7 --epochs " +
           std::to_string(epochs) + " --out " + out + " " + extra;
}

std::map<std::string, torch::Tensor> weightsOf(const std::string &bundle)
{
    std::map<std::string, torch::Tensor> weights;
    torch::jit::Module module = torch::jit::load(bundle);
    for (const auto &p : module.named_parameters())
        weights[p.name] = p.value.clone();
    for (const auto &b : module.named_buffers())
        weights[b.name] = b.value.clone();
    return weights;
}

void expectIdenticalWeights(const std::string &a, const std::string &b)
{
    const auto wa = weightsOf(a), wb = weightsOf(b);
    ASSERT_EQ(wa.size(), wb.size());
    ASSERT_GT(wa.size(), 0u);
    for (const auto &[name, tensor] : wa) {
        ASSERT_TRUE(wb.count(name)) << name;
        EXPECT_TRUE(torch::equal(tensor, wb.at(name))) << name << " differs";
    }
}

nlohmann::json metadataOf(const std::string &bundle)
{
    return nlohmann::json::parse(loadBundle(bundle).metadataJson);
}

// The logits C++ computes for interop.py's fixed input (three gray 48x48 faces) match Python's.
void expectPythonLogits(const std::string &bundlePath, const nlohmann::json &python)
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

void writeText(const std::string &path, const std::string &text)
{
    std::ofstream(path) << text;
}

// `bundle` again at `out` with its feremotion.json changed by `edit`.
void rewriteMetadata(const std::string &bundle, const std::string &out, const std::function<void(nlohmann::json &)> &edit)
{
    LoadedBundle loaded = loadBundle(bundle);
    nlohmann::json meta = nlohmann::json::parse(loaded.metadataJson);
    edit(meta);
    saveBundle(loaded.module, meta.dump(), out);
}

// An image folder of random faces, 12 per class (happy, sad) of varied sizes, PNG and JPEG.
std::string randomFaceFolder(const TempDir &dir)
{
    cv::RNG rng(4);
    for (const char *label : {"happy", "sad"})
        for (int i = 0; i < 12; ++i) {
            fs::create_directories(dir.file(std::string("faces/") + label));
            cv::Mat image(64 + i, 50 + 2 * i, CV_8UC3);
            rng.fill(image, cv::RNG::UNIFORM, 0, 256);
            cv::imwrite(dir.file(std::string("faces/") + label + "/" + std::to_string(i) + (i % 2 ? ".png" : ".jpg")),
                        image);
        }
    return dir.file("faces");
}

std::string csvRow(int emotion, int pixels, const char *usage = "Training")
{
    std::string row = std::to_string(emotion) + ",";
    for (int i = 0; i < pixels; ++i)
        row += (i ? " " : "") + std::to_string((i * 7 + emotion * 31) % 256);
    return row + "," + usage + "\n";
}

} // namespace

TEST(Trainer, EverySubcommandHasHelp)
{
    for (const char *sub : {"train", "evaluate", "predict", "info", "curves", "export-weights", "import-weights", "ensemble",
                            "soft-labels"}) {
        const auto result = runTrainer(std::string(sub) + " --help");
        EXPECT_EQ(result.status, 0) << sub;
        EXPECT_THAT(result.output, HasSubstr("--")) << sub;
    }
    EXPECT_EQ(runTrainer("").status, 2);
}

TEST(Trainer, TwoEpochsOnAFewThousandRowsBeatTheMajorityClass)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string out = dir.file("quick.pt");
    const auto result = runTrainer("train --data " + fer->train + " --val " + fer->publicTest +
                                   " --limit 4000 --arch resnet --width 16 --batch-size 32 --epochs 2 --lr 2e-3 "
                                   "--no-augment --threads 1 --seed 1 --out " + out);
    ASSERT_EQ(result.status, 0) << result.output;
    const auto meta = metadataOf(out);
    const double accuracy = meta["training"]["metrics"]["PublicTest"]["accuracy"];
    // PublicTest's majority class, happy, is 895 of 3589 faces: 24.9%.
    EXPECT_GT(accuracy, 0.249 + 0.08) << result.output;
    EXPECT_TRUE(fs::exists(dir.file("quick-curves.png")));
    EXPECT_TRUE(fs::exists(dir.file("quick-confusion.png")));
    EXPECT_TRUE(fs::exists(dir.file("quick-samples.png")));
    EXPECT_TRUE(fs::exists(dir.file("quick-metrics.json")));
}

TEST(Trainer, Bf16TrainsAsWellAndWritesAFloat32BundleThatRecordsIt)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string out = dir.file("bf16.pt");
    const auto result = runTrainer("train --data " + fer->train + " --val " + fer->publicTest +
                                   " --limit 4000 --arch resnet --width 16 --batch-size 32 --epochs 2 --lr 2e-3 "
                                   "--no-augment --threads 1 --seed 1 --precision bf16 --out " + out);
    ASSERT_EQ(result.status, 0) << result.output;
    const auto meta = metadataOf(out);
    EXPECT_GT(meta["training"]["metrics"]["PublicTest"]["accuracy"].get<double>(), 0.249 + 0.08) << result.output;
    EXPECT_EQ(meta["training"]["recipe"]["precision"], "bf16");
    // The bundle is what a float32 run writes: float32 weights in the default layout.
    for (const auto &[name, tensor] : weightsOf(out)) {
        if (tensor.is_floating_point()) {
            EXPECT_EQ(tensor.scalar_type(), torch::kFloat) << name;
        }
        EXPECT_TRUE(tensor.is_contiguous()) << name;
    }
}

// With --warmup-epochs 2 the rate climbs over the first two epochs' steps: the first ends at half
// the schedule's rate, the second at all of it. Each epoch's history row holds its last step's rate.
TEST(Trainer, WarmupRaisesTheLearningRateOverItsEpochs)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result =
        runTrainer(tinyRun(*fer, dir.file("m.pt"), "--scheduler none --lr 0.01 --warmup-epochs 2", 3));
    ASSERT_EQ(result.status, 0) << result.output;
    const auto metrics = nlohmann::json::parse(std::ifstream(dir.file("m-metrics.json")));
    ASSERT_EQ(metrics["history"].size(), 3u);
    const int learningRateColumn = 5;
    EXPECT_NEAR(metrics["history"][0][learningRateColumn].get<double>(), 0.005, 1e-9);
    EXPECT_NEAR(metrics["history"][1][learningRateColumn].get<double>(), 0.01, 1e-9);
    EXPECT_NEAR(metrics["history"][2][learningRateColumn].get<double>(), 0.01, 1e-9);
    EXPECT_EQ(metadataOf(dir.file("m.pt"))["training"]["recipe"]["warmup_epochs"], 2);
}

TEST(Trainer, AFloat32CheckpointDoesNotResumeInBf16)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "--checkpoint-dir " + dir.file("ck"), 1)).status, 0);
    const auto result =
        runTrainer(tinyRun(*fer, dir.file("m.pt"), "--precision bf16 --resume --checkpoint-dir " + dir.file("ck"), 1));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("belongs to a run with other options"));
}

TEST(Trainer, BundleCarriesTheDesignMetadata)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto meta = metadataOf(dir.file("m.pt"));
    EXPECT_EQ(meta["format"], "feremotion-model");
    EXPECT_EQ(meta["version"], 1);
    EXPECT_EQ(meta["labels"].size(), 7u);
    EXPECT_EQ(meta["input"]["width"], 48);
    EXPECT_EQ(meta["input"]["color"], "gray");
    EXPECT_EQ(meta["output"], "logits");
    EXPECT_EQ(meta["face_crop"], nlohmann::json({{"margin", 0.0}, {"keep_aspect", true}}));
    EXPECT_GT(meta["parameters"].get<long long>(), 0);
    EXPECT_EQ(meta["training"]["epochs"], 2);
    EXPECT_EQ(meta["training"]["seed"], 7);
    EXPECT_TRUE(meta["training"]["metrics"]["PublicTest"].contains("accuracy"));
    EXPECT_EQ(meta["training"]["recipe"]["arch"], "mini-xception");
    EXPECT_THAT(meta["producer"].get<std::string>(), HasSubstr("feremotion-trainer"));
    EmotionClassifier classifier(dir.file("m.pt"), {});
    EXPECT_TRUE(classifier.hasBundleMetadata());
}

TEST(Trainer, SameSeedSameDataAndOneThreadGiveIdenticalWeights)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"))).status, 0);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("b.pt"))).status, 0);
    expectIdenticalWeights(dir.file("a.pt"), dir.file("b.pt"));
}

TEST(Trainer, AKilledRunResumesToTheWeightsOfAnUninterruptedRun)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("whole.pt"), "--checkpoint-dir " + dir.file("whole-ck"), 3))
                  .status,
              0);

    // Start the same run, SIGKILL it once its first epoch's checkpoint exists, then resume.
    const std::string arguments = tinyRun(*fer, dir.file("resumed.pt"), "--checkpoint-dir " + dir.file("ck"), 3);
    std::vector<std::string> words{trainerPath()};
    std::istringstream split(arguments);
    for (std::string word; split >> word;)
        words.push_back(word);
    std::vector<char *> argv;
    for (auto &word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (!fs::exists(dir.file("ck/checkpoint.pt")) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(fs::exists(dir.file("ck/checkpoint.pt")));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before it could be killed";
    ASSERT_FALSE(fs::exists(dir.file("resumed.pt")));

    const auto resumed = runTrainer(arguments + " --resume");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_THAT(resumed.output, HasSubstr("resuming from"));
    expectIdenticalWeights(dir.file("whole.pt"), dir.file("resumed.pt"));
}

TEST(Trainer, ResumeWithOtherOptionsIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "--checkpoint-dir " + dir.file("ck"), 1)).status, 0);
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--lr 0.5 --resume --checkpoint-dir " + dir.file("ck"), 1));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output,
                AllOf(HasSubstr("belongs to a run with other options"), HasSubstr("lr 0.001 there, 0.5 here")));
}

TEST(Trainer, AMalformedCsvRowIsNamedByFileAndLine)
{
    TempDir dir;
    const std::string csv = dir.file("bad.csv");
    writeText(csv, "emotion,pixels,Usage\n" + csvRow(3, 2304) + csvRow(4, 2304) + csvRow(0, 2303) + csvRow(1, 2304));
    const auto result = runTrainer("train --data " + csv + " --val " + csv + " --val-usage Training --epochs 1 --out " +
                                   dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr(csv + ":4"), HasSubstr("2303 values"), HasSubstr("--skip-bad")));
    EXPECT_FALSE(fs::exists(dir.file("m.pt")));
}

TEST(Trainer, ARowWithoutItsUsageOrWithAnExtraFieldIsNamedByFileAndLine)
{
    TempDir dir;
    const std::string withUsage = csvRow(3, 2304);
    const std::string withoutUsage = withUsage.substr(0, withUsage.rfind(',')) + "\n";
    const std::string extraField = csvRow(3, 2304, "Training,x");
    for (const auto &[row, fields] : {std::pair{withoutUsage, "has 2 fields"}, {extraField, "has 4 fields"}}) {
        const std::string csv = dir.file("bad.csv");
        writeText(csv, "emotion,pixels,Usage\n" + csvRow(3, 2304) + csvRow(4, 2304) + row + csvRow(1, 2304));
        const auto result = runTrainer("train --data " + csv + " --val " + csv +
                                       " --val-usage Training --epochs 1 --out " + dir.file("m.pt"));
        EXPECT_EQ(result.status, 2);
        EXPECT_THAT(result.output, AllOf(HasSubstr(csv + ":4"), HasSubstr(fields), HasSubstr("the header 3")));
    }
}

TEST(Trainer, SkipBadSkipsAndCountsMalformedRows)
{
    TempDir dir;
    const std::string csv = dir.file("bad.csv");
    std::string text = "emotion,pixels,Usage\n";
    for (int i = 0; i < 40; ++i)
        text += csvRow(i % 7, 2304);
    text += csvRow(9, 2304) + "3,1 2 x,Training\n";
    writeText(csv, text);
    const auto result = runTrainer("train --data " + csv + " --val " + csv +
                                   " --val-usage Training --skip-bad --arch mini-xception --width 4 --epochs 1 "
                                   "--threads 1 --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("skipped 2 malformed rows in the training data"));
}

TEST(Trainer, BlankLinesBeforeTheCsvHeaderAreSkipped)
{
    TempDir dir;
    const std::string csv = dir.file("blank-first.csv");
    writeText(csv, "\n\r\nemotion,pixels,Usage\n" + csvRow(3, 2304) + csvRow(4, 2304, "PublicTest"));
    const trainer::Dataset all = trainer::loadFerCsv({csv}, trainer::CsvOptions{});
    EXPECT_EQ(all.size(), 2) << "the header was read as a row";
}

TEST(Trainer, ABinaryFileIsReportedAsSuchWithoutItsBytes)
{
    TempDir dir;
    const std::string png = dir.file("face.png");
    writeText(png, std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
    const auto result = runTrainer("train --data " + png + " --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr(png + ": not a CSV text file (it holds binary data)"));
    EXPECT_THAT(result.output, Not(HasSubstr("PNG")));
}

TEST(Trainer, AnEmptyDatasetIsRefused)
{
    TempDir dir;
    writeText(dir.file("empty.csv"), "emotion,pixels,Usage\n");
    const auto result = runTrainer("train --data " + dir.file("empty.csv") + " --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("no rows with Usage \"Training\""));
}

TEST(Trainer, ACsvWithoutTheUsageAskedForNamesTheUsagesItHas)
{
    TempDir dir;
    writeText(dir.file("private.csv"),
              "emotion,pixels,Usage\n" + csvRow(3, 2304, "PrivateTest") + csvRow(4, 2304, "PrivateTest"));
    const auto result = runTrainer("train --data " + dir.file("private.csv") + " --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("no rows with Usage \"Training\" in " + dir.file("private.csv") +
                                         " (its rows have Usage \"PrivateTest\")"));
}

TEST(Trainer, AnUnknownLabelFolderIsRefused)
{
    TempDir dir;
    for (const char *label : {"happy", "bored"}) {
        fs::create_directories(dir.file(std::string("faces/") + label));
        cv::imwrite(dir.file(std::string("faces/") + label + "/1.png"), cv::Mat(60, 50, CV_8UC1, cv::Scalar(90)));
    }
    const auto result = runTrainer("train --data " + dir.file("faces") + " --val " + dir.file("faces") + " --out " +
                                   dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("bored"), HasSubstr("is not a known label")));
}

TEST(Trainer, TrainsFromImageFoldersOfAnySize)
{
    TempDir dir;
    const std::string faces = randomFaceFolder(dir);
    const auto result = runTrainer("train --data " + faces + " --val " + faces +
                                   " --color rgb --val-limit 5 --arch mini-xception --width 4 --epochs 1 --threads 1 "
                                   "--out " + dir.file("rgb.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, AllOf(HasSubstr("training: 24 faces"), HasSubstr("validation: 5 faces")));
    EXPECT_EQ(metadataOf(dir.file("rgb.pt"))["input"]["color"], "rgb");
}

TEST(Trainer, ImageFoldersAreReadWithTheirSubFolders)
{
    TempDir dir;
    const std::string faces = randomFaceFolder(dir);
    fs::create_directories(faces + "/happy/session 2");
    fs::copy_file(faces + "/happy/0.jpg", faces + "/happy/session 2/0.jpg");
    const auto result = runTrainer("train --data " + faces + " --holdout 0.2 --arch mini-xception --width 4 "
                                   "--epochs 1 --threads 1 --out " + dir.file("m.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("training: 20 faces"));
}

TEST(Trainer, AnImageThatCannotBeDecodedIsNamed)
{
    TempDir dir;
    const std::string faces = randomFaceFolder(dir);
    writeText(faces + "/sad/broken.png", "not a picture");
    const auto result = runTrainer("train --data " + faces + " --holdout 0.2 --epochs 1 --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("broken.png' cannot be decoded"), HasSubstr("--skip-bad")));
}

TEST(Trainer, SkipBadSkipsAndCountsImagesThatCannotBeDecoded)
{
    TempDir dir;
    const std::string faces = randomFaceFolder(dir);
    writeText(faces + "/sad/broken.png", "not a picture");
    const auto result = runTrainer("train --data " + faces + " --skip-bad --holdout 0.25 --arch mini-xception "
                                   "--width 4 --epochs 1 --threads 1 --out " + dir.file("m.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, AllOf(HasSubstr("skipped 1 images that cannot be decoded"), HasSubstr("training: 18 faces")));
}

// FER-2013's gray faces are repeated into the three channels the network takes.
TEST(Trainer, AnRgbImageFolderRunIsTestedOnGrayCsvFaces)
{
    TempDir dir;
    const std::string faces = randomFaceFolder(dir), csv = dir.file("test.csv");
    writeText(csv, "emotion,pixels,Usage\n" + csvRow(3, 2304, "PublicTest") + csvRow(4, 2304, "PublicTest"));
    const auto result = runTrainer("train --data " + faces + " --holdout 0.25 --test " + csv +
                                   " --color rgb --arch mini-xception --width 4 --epochs 1 --threads 1 --out " +
                                   dir.file("rgb.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_TRUE(metadataOf(dir.file("rgb.pt"))["training"]["metrics"]["PublicTest"].contains("accuracy"));
}

TEST(Trainer, ACsvWithoutAUsageColumnNeedsAHoldoutOrValidationRows)
{
    TempDir dir;
    const std::string csv = dir.file("mine.csv");
    std::string rows = "emotion,pixels\n";
    for (int i = 0; i < 8; ++i) {
        const std::string row = csvRow(i % 7, 2304);
        rows += row.substr(0, row.rfind(',')) + "\n";
    }
    writeText(csv, rows);
    const auto refused = runTrainer("train --data " + csv + " --epochs 1 --out " + dir.file("m.pt"));
    EXPECT_EQ(refused.status, 2);
    EXPECT_THAT(refused.output, AllOf(HasSubstr("mine.csv' has no Usage column"), HasSubstr("--holdout")));
    const auto heldOut = runTrainer("train --data " + csv + " --holdout 0.25 --arch mini-xception --width 4 "
                                    "--epochs 1 --threads 1 --out " + dir.file("m.pt"));
    EXPECT_EQ(heldOut.status, 0) << heldOut.output;
}

// As spreadsheet programs and Python's csv.QUOTE_ALL write them.
TEST(Trainer, CsvFieldsMayBeQuotedAfterAByteOrderMark)
{
    TempDir dir;
    const std::string csv = dir.file("quoted.csv");
    std::string rows = "\xEF\xBB\xBF\"emotion\",\"pixels\",\"Usage\"\n";
    for (int i = 0; i < 8; ++i) {
        std::string row = csvRow(i % 7, 2304);
        row.pop_back();
        const size_t first = row.find(','), last = row.rfind(',');
        rows += "\"" + row.substr(0, first) + "\",\"" + row.substr(first + 1, last - first - 1) + "\",\"" +
                row.substr(last + 1) + "\"\n";
    }
    writeText(csv, rows);
    const auto result = runTrainer("train --data " + csv + " --holdout 0.25 --arch mini-xception --width 4 --epochs 1 "
                                   "--threads 1 --out " + dir.file("m.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("training: 6 faces"));
}

TEST(Trainer, AnEmotionThatIsNoLabelIdIsNamedAsSuch)
{
    TempDir dir;
    const std::string csv = dir.file("bad.csv");
    writeText(csv, "emotion,pixels,Usage\n" + csvRow(3, 2304) + "-1" + csvRow(4, 2304).substr(1));
    const auto result = runTrainer("train --data " + csv + " --holdout 0.5 --epochs 1 --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr(csv + ":3"), HasSubstr("\"-1\" is not a label id 0-6")));
}

TEST(Trainer, WarmupNotShorterThanTheRunIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--warmup-epochs 2", 2));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("--warmup-epochs 2 is not below --epochs 2"));
}

TEST(Trainer, ACheckpointDirThatIsAFileIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    writeText(dir.file("ck"), "a file\n");
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--checkpoint-dir " + dir.file("ck"), 1));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("is a file, not a folder"));
}

TEST(Trainer, AnUnwritableOutputFailsBeforeTraining)
{
    const auto result = runTrainer("train --data /nonexistent.csv --out /nonexistent-folder/m.pt");
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("/nonexistent-folder"));
}

TEST(Trainer, ANumberOutOfItsRangeIsRefusedInWords)
{
    const auto result = runTrainer("train --data /nonexistent.csv --out /tmp/m.pt --lr -1");
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("--lr: must be above 0, not -1"));
    EXPECT_LT(result.output.size(), 200u) << result.output;
}

TEST(Trainer, AnOutputThatIsAFolderFailsBeforeTraining)
{
    TempDir dir;
    fs::create_directory(dir.file("m.pt"));
    const auto result = runTrainer("train --data /nonexistent.csv --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr(dir.file("m.pt")), HasSubstr("is a folder")));
}

TEST(Trainer, AMissingDataFileIsNamed)
{
    TempDir dir;
    const auto result = runTrainer("train --data /nonexistent/fer.csv.gz --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("'/nonexistent/fer.csv.gz' does not exist"));
}

namespace {

// A TorchScript backbone as a user might bring one: conv + ReLU + pooling to 8 features.
std::string writeBackbone(const std::string &path, int channels)
{
    torch::manual_seed(3);
    torch::jit::Module backbone("Backbone");
    backbone.register_parameter("conv_weight", torch::randn({8, channels, 3, 3}) * 0.2, false);
    backbone.register_parameter("conv_bias", torch::zeros({8}), false);
    backbone.define(R"(
def forward(self, x):
    y = torch.relu(torch.conv2d(x, self.conv_weight, self.conv_bias, [2, 2], [1, 1]))
    return torch.adaptive_avg_pool2d(y, [2, 2])
)");
    backbone.save(path);
    return path;
}

} // namespace

TEST(Trainer, InitTrainsANewHeadOnAFrozenBackbone)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string backbone = writeBackbone(dir.file("backbone.pt"), 1);
    const auto result = runTrainer(tinyRun(*fer, dir.file("transfer.pt"), "--init " + backbone + " --freeze-backbone"));
    ASSERT_EQ(result.status, 0) << result.output;
    const auto trained = weightsOf(dir.file("transfer.pt"));
    const auto original = weightsOf(backbone);
    ASSERT_TRUE(trained.count("scripted_conv_weight"));
    EXPECT_TRUE(torch::equal(trained.at("scripted_conv_weight"), original.at("conv_weight")));
    EmotionClassifier classifier(dir.file("transfer.pt"), {});
    EXPECT_EQ(classifier.info().labels.size(), 7u);
}

TEST(Trainer, InitWithoutFreezingFineTunesTheBackbone)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string backbone = writeBackbone(dir.file("backbone.pt"), 1);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("tuned.pt"), "--init " + backbone)).status, 0);
    EXPECT_FALSE(torch::equal(weightsOf(dir.file("tuned.pt")).at("scripted_conv_weight"),
                              weightsOf(backbone).at("conv_weight")));
}

TEST(Trainer, ABackboneThatDoesNotFitIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string backbone = writeBackbone(dir.file("rgb-backbone.pt"), 3);
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--init " + backbone));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("rgb-backbone.pt"), HasSubstr("does not fit")));
}

TEST(Trainer, EvaluateWritesMetricsAndAConfusionMatrix)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto result = runTrainer("evaluate --model " + dir.file("m.pt") + " --data " + fer->publicTest + " --tta");
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, AllOf(HasSubstr("accuracy"), HasSubstr("macro-F1"), HasSubstr("confusion matrix")));
    const auto metrics = nlohmann::json::parse(std::ifstream(dir.file("m-eval.json")));
    EXPECT_EQ(metrics["count"], 3589);
    EXPECT_EQ(metrics["confusion_matrix"].size(), 7u);
    EXPECT_TRUE(fs::exists(dir.file("m-eval-confusion.png")));
}

TEST(Trainer, EvaluateChecksWhereItWritesBeforeEvaluating)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "", 1)).status, 0);
    const auto result = runTrainer("evaluate --model " + dir.file("m.pt") + " --data " + fer->publicTest +
                                   " --confusion-png " + dir.file("missing/c.png"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("--confusion-png"), HasSubstr("does not exist")));
    EXPECT_THAT(result.output, Not(HasSubstr("accuracy")));
}

// Scored against FER-2013's label ids, such a model's metrics would be silently wrong.
TEST(Trainer, EvaluateRefusesAModelWithTheLabelsInAnotherOrder)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "", 1)).status, 0);
    rewriteMetadata(dir.file("m.pt"), dir.file("swapped.pt"),
                    [](nlohmann::json &meta) { std::swap(meta["labels"][0], meta["labels"][1]); });
    const auto result = runTrainer("evaluate --model " + dir.file("swapped.pt") + " --data " + fer->publicTest);
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("disgust,angry,fear"), HasSubstr("names and order must match")));
}

TEST(Trainer, EvaluateRefusesAModelWithAnotherNumberOfOutputsThanLabels)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "", 1)).status, 0);
    rewriteMetadata(dir.file("m.pt"), dir.file("five.pt"), [](nlohmann::json &meta) {
        meta["labels"] = {"a", "b", "c", "d", "e"};
    });
    const auto result = runTrainer("evaluate --model " + dir.file("five.pt") + " --data " + fer->publicTest);
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("returns 7 outputs per face but has 5 labels"));
}

TEST(TrainerEnsemble, AMemberWithNonFiniteOutputsIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"), "", 1)).status, 0);
    {
        LoadedBundle loaded = loadBundle(dir.file("a.pt"));
        torch::NoGradGuard noGrad;
        for (auto p : loaded.module.parameters())
            p.fill_(std::numeric_limits<float>::quiet_NaN());
        saveBundle(loaded.module, loaded.metadataJson, dir.file("nan.pt"));
    }
    const auto result = runTrainer("ensemble --models " + dir.file("a.pt") + " " + dir.file("nan.pt") + " --out " +
                                   dir.file("e.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("nan.pt"), HasSubstr("non-finite")));
    EXPECT_FALSE(fs::exists(dir.file("e.pt")));
}

TEST(Trainer, ExportWeightsRefusesAnEnsembleNamingWhatToDo)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"), "", 1)).status, 0);
    ASSERT_EQ(runTrainer("ensemble --models " + dir.file("a.pt") + " --flip --out " + dir.file("f.pt")).status, 0);
    const auto result = runTrainer("export-weights --model " + dir.file("f.pt") + " --out " + dir.file("f.weights"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("export each member's bundle"));
    EXPECT_FALSE(fs::exists(dir.file("f.weights")));
}

TEST(Trainer, CurvesNeedsAPngFileName)
{
    TempDir dir;
    writeText(dir.file("m-metrics.json"), "{\"history\": [[1, 1.0, 0.5, 1.0, 0.5, 0.001, 1.0, 100.0]]}");
    const auto result = runTrainer("curves --metrics " + dir.file("m-metrics.json") + " --out " + dir.file("curves"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("must end in .png"));
}

TEST(Trainer, CurvesRedrawsTheRunsLearningCurvesFromItsMetrics)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto result = runTrainer("curves --metrics " + dir.file("m-metrics.json") + " --out " + dir.file("again.png"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("2 epochs"));
    const cv::Mat drawnByTraining = cv::imread(dir.file("m-curves.png")), redrawn = cv::imread(dir.file("again.png"));
    ASSERT_FALSE(redrawn.empty());
    ASSERT_EQ(redrawn.size(), drawnByTraining.size());
    EXPECT_EQ(cv::norm(redrawn, drawnByTraining, cv::NORM_INF), 0.0);
}

TEST(Trainer, CurvesNamesAFileThatIsNotARunsMetrics)
{
    TempDir dir;
    std::ofstream(dir.file("other.json")) << R"({"count": 3})";
    const auto result = runTrainer("curves --metrics " + dir.file("other.json") + " --out " + dir.file("c.png"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("other.json"), HasSubstr("not a training run's metrics")));
    EXPECT_FALSE(fs::exists(dir.file("c.png")));
}

TEST(Trainer, EvaluateCanAverageShiftedAndMirroredFaces)
{
    REQUIRE_FER(fer);
    TempDir dir;
    // A resnet: ten forward passes per face of mini-xception's depthwise convolutions take minutes here.
    ASSERT_EQ(runTrainer("train --data " + fer->train + " --val " + fer->publicTest +
                         " --limit 320 --val-limit 128 --arch resnet --width 4 --threads 1 --epochs 1 --out " +
                         dir.file("m.pt"))
                  .status,
              0);
    const auto result =
        runTrainer("evaluate --model " + dir.file("m.pt") + " --data " + fer->publicTest + " --tta-crops");
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("(TTA: flip + 4 shifts)"));
    const auto metrics = nlohmann::json::parse(std::ifstream(dir.file("m-eval.json")));
    EXPECT_EQ(metrics["tta"], "flip+shifts");
    EXPECT_EQ(metrics["count"], 3589);
}

TEST(Trainer, EvaluateInBf16ScoresAsFp32WithinBfloat16RoundingAndSaysSo)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    double accuracy[2] = {0, 0};
    for (int bf16 = 0; bf16 < 2; ++bf16) {
        const std::string json = dir.file(bf16 ? "bf16.json" : "fp32.json");
        const auto result = runTrainer("evaluate --model " + dir.file("m.pt") + " --data " + fer->publicTest +
                                       (bf16 ? " --precision bf16" : "") + " --out-json " + json);
        ASSERT_EQ(result.status, 0) << result.output;
        const auto metrics = nlohmann::json::parse(std::ifstream(json));
        EXPECT_EQ(metrics["precision"], bf16 ? "bf16" : "fp32");
        EXPECT_EQ(result.output.find(" in bf16 on ") != std::string::npos, bf16 == 1) << result.output;
        accuracy[bf16] = metrics["accuracy"].get<double>();
    }
    EXPECT_NEAR(accuracy[1], accuracy[0], 0.01); // about 36 of PublicTest's faces
}

TEST(Trainer, InfoPrintsMetadataAndParameterCount)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto result = runTrainer("info " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 0);
    EXPECT_THAT(result.output, AllOf(HasSubstr("parameters:"), HasSubstr("feremotion-model")));
}

TEST(Trainer, ABundleWhoseLoadingWouldRunCodeIsRefusedWithExitTwo)
{
    TempDir dir;
    Victim victim(dir);
    TestBundle spec;
    spec.setstateCode = victim.overwrite("self.bias");
    const std::string path = writeTestBundle(dir.file("loads-code.pt"), spec);
    const auto result = runTrainer("info " + path);
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr(path), HasSubstr("__setstate__"), HasSubstr("--trust-model")));
    EXPECT_TRUE(victim.untouched());
}

TEST(Trainer, TrustModelLoadsABundleAsItIs)
{
    TempDir dir;
    Victim victim(dir);
    TestBundle spec;
    spec.setstateCode = victim.overwrite("self.bias");
    const auto result = runTrainer("info --trust-model " + writeTestBundle(dir.file("loads-code.pt"), spec));
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_FALSE(victim.untouched());
}

TEST(Trainer, PredictClassifiesTheFacesInAnImage)
{
    REQUIRE_FER(fer);
    const auto astronaut = sharedFile("media/astronaut.png");
    if (!astronaut)
        GTEST_SKIP() << "../shared/media is absent";
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto result = runTrainer("predict --json --model " + dir.file("m.pt") + " " + *astronaut);
    ASSERT_EQ(result.status, 0) << result.output;
    const auto json = nlohmann::json::parse(result.output.substr(result.output.find('[')));
    ASSERT_EQ(json[0]["faces"].size(), 1u);
    EXPECT_EQ(json[0]["faces"][0]["probabilities"].size(), 7u);
}

TEST(Trainer, PythonOpensATrainedBundleAndMatchesItsOutputs)
{
    REQUIRE_FER(fer);
    if (!pythonTorchAvailable())
        GTEST_SKIP() << "/usr/bin/python3 cannot import torch (install python3-torch)";
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto python = nlohmann::json::parse(runInterop("run " + dir.file("m.pt")));
    EXPECT_EQ(python["labels"].size(), 7u);
    expectPythonLogits(dir.file("m.pt"), python);
}

TEST(Trainer, EveryClassBalancingModeTrainsAndIsRecorded)
{
    REQUIRE_FER(fer);
    for (const char *mode : {"weighted-loss", "oversample"}) {
        TempDir dir;
        const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), std::string("--balance ") + mode, 1));
        ASSERT_EQ(result.status, 0) << mode << "\n" << result.output;
        EXPECT_EQ(metadataOf(dir.file("m.pt"))["training"]["recipe"]["balance"], mode);
    }
    EXPECT_EQ(runTrainer(tinyRun(*fer, "/tmp/unused.pt", "--balance magic", 1)).status, 2);
}

TEST(Trainer, PredictWithoutDetectionClassifiesWholeImages)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "", 1)).status, 0);
    cv::imwrite(dir.file("crop.png"), cv::Mat(48, 48, CV_8UC3, cv::Scalar(120, 120, 120)));
    const auto result = runTrainer("predict --no-detect --model " + dir.file("m.pt") + " " + dir.file("crop.png"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, AllOf(HasSubstr("1 face"), HasSubstr("face 1 at 0,0 48x48")));
    const auto unreadable = runTrainer("predict --no-detect --model " + dir.file("m.pt") + " " + dir.file("nope.png"));
    EXPECT_EQ(unreadable.status, 2);
    EXPECT_THAT(unreadable.output, HasSubstr("nope.png"));
}

TEST(TrainerData, TheCompactFolderHoldsTheCsvRows)
{
    REQUIRE_FER(fer);
    const auto compact = sharedFile("data/fer2013/compact");
    if (!compact)
        GTEST_SKIP() << "../shared/data/fer2013/compact is absent";
    using namespace feremotion::trainer;
    ASSERT_TRUE(isCompactFolder(*compact));
    CsvOptions csv;
    csv.usage = "PublicTest";
    const Dataset fromCsv = loadFerCsv({fer->publicTest}, csv);
    const Dataset fromCompact = loadCompact(*compact, "PublicTest");
    EXPECT_TRUE(torch::equal(fromCsv.images, fromCompact.images));
    EXPECT_TRUE(torch::equal(fromCsv.labels, fromCompact.labels));
}

TEST(Trainer, TrainsFromTheCompactFolder)
{
    const auto compact = sharedFile("data/fer2013/compact");
    if (!compact)
        GTEST_SKIP() << "../shared/data/fer2013/compact is absent";
    TempDir dir;
    const auto result = runTrainer("train --data " + *compact + " --limit 256 --val-limit 128 --arch mini-xception "
                                   "--width 4 --epochs 1 --threads 1 --out " + dir.file("m.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_TRUE(metadataOf(dir.file("m.pt"))["training"]["metrics"].contains("PublicTest"));
}

TEST(Trainer, ACudaDeviceWithoutAGpuIsRefusedClearly)
{
    REQUIRE_FER(fer);
    if (cudaAvailable())
        GTEST_SKIP() << "a CUDA device is present";
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--device cuda", 1));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("sees no CUDA device"));
    // And says which of the two causes it is.
    EXPECT_THAT(result.output, ::testing::AnyOf(HasSubstr("its CUDA library cannot be loaded: libtorch_cuda.so"),
                                                HasSubstr("no GPU is visible to its CUDA runtime")));
}

TEST(Trainer, ExportedWeightsRebuildTheSameBundle)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "--hidden 8 --dropout 0.1")).status, 0);
    const auto exported = runTrainer("export-weights --model " + dir.file("m.pt") + " --out " + dir.file("m.weights"));
    ASSERT_EQ(exported.status, 0) << exported.output;
    const auto imported = runTrainer("import-weights --weights " + dir.file("m.weights") + " --out " + dir.file("r.pt"));
    ASSERT_EQ(imported.status, 0) << imported.output;
    expectIdenticalWeights(dir.file("m.pt"), dir.file("r.pt"));
    EXPECT_EQ(metadataOf(dir.file("m.pt")), metadataOf(dir.file("r.pt")));
    torch::jit::Module original = torch::jit::load(dir.file("m.pt")), rebuilt = torch::jit::load(dir.file("r.pt"));
    original.eval();
    rebuilt.eval();
    const torch::Tensor x = torch::rand({4, 1, 48, 48});
    EXPECT_TRUE(torch::allclose(original.forward({x}).toTensor(), rebuilt.forward({x}).toTensor(), 0, 1e-6));
}

TEST(Trainer, ImportRefusesAFileThatIsNotAWeightsFile)
{
    TempDir dir;
    writeText(dir.file("notes.weights"), "just text\n");
    const auto result = runTrainer("import-weights --weights " + dir.file("notes.weights") + " --out " + dir.file("r.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("notes.weights"), HasSubstr("invalid header")));
    EXPECT_FALSE(fs::exists(dir.file("r.pt")));
}

TEST(Trainer, ImportRefusesWeightsThatDoNotFitTheirRecipe)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    ASSERT_EQ(runTrainer("export-weights --model " + dir.file("m.pt") + " --out " + dir.file("m.weights")).status, 0);
    // The same tensors, but a recipe naming a wider network.
    std::ifstream in(dir.file("m.weights"), std::ios::binary);
    std::string headerLine;
    std::getline(in, headerLine);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto header = nlohmann::json::parse(headerLine);
    auto meta = nlohmann::json::parse(header["metadata"].get<std::string>());
    meta["training"]["recipe"]["width"] = 8;
    header["metadata"] = meta.dump();
    std::ofstream(dir.file("wide.weights"), std::ios::binary) << header.dump() << "\n" << data;
    const auto result = runTrainer("import-weights --weights " + dir.file("wide.weights") + " --out " + dir.file("r.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("wide.weights"), HasSubstr("does not fit")));
}

TEST(Trainer, ImportRefusesWeightsDamagedAfterExport)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "", 1)).status, 0);
    ASSERT_EQ(runTrainer("export-weights --model " + dir.file("m.pt") + " --out " + dir.file("m.weights")).status, 0);
    {
        std::fstream file(dir.file("m.weights"), std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(-100, std::ios::end);
        file.write("\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", 8);
    }
    const auto result = runTrainer("import-weights --weights " + dir.file("m.weights") + " --out " + dir.file("r.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("m.weights' is damaged"), HasSubstr("checksum")));
    EXPECT_FALSE(fs::exists(dir.file("r.pt")));
}

TEST(Trainer, ALimitTheFirstFileFillsLeavesTheOtherFilesUnread)
{
    REQUIRE_FER(fer);
    const auto second = sharedFile("data/fer2013/fer2013-train-01.csv.gz");
    if (!second)
        GTEST_SKIP() << "../shared/data/fer2013/fer2013-train-01.csv.gz is absent";
    TempDir dir;
    const auto result = runTrainer("train --data " + fer->train + " " + *second +
                                   " --limit 320 --holdout 0.2 --arch mini-xception --width 4 --batch-size 32 "
                                   "--threads 1 --epochs 1 --out " + dir.file("l.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("training: 256 faces"));
}

TEST(Trainer, HoldoutValidatesOnTrainingRowsItDidNotTrainOn)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer("train --data " + fer->train +
                                   " --limit 400 --holdout 0.2 --arch mini-xception --width 4 --batch-size 32 "
                                   "--threads 1 --epochs 1 --out " + dir.file("h.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("training: 320 faces"));
    EXPECT_THAT(result.output, HasSubstr("validation: 80 faces from holdout 20%"));
    const auto meta = metadataOf(dir.file("h.pt"));
    EXPECT_TRUE(meta["training"]["metrics"].contains("holdout"));
    EXPECT_FALSE(meta["training"]["metrics"].contains("PublicTest"));
    EXPECT_EQ(meta["training"]["recipe"]["holdout"], 0.2);
}

namespace {

// The holdout's size per class, which differs between differently drawn holdouts.
std::vector<int> holdoutSupports(const Fer &fer, const TempDir &dir, const std::string &name, const std::string &seeds)
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

} // namespace

TEST(Trainer, HoldoutSeedDrawsOneHoldoutForRunsOfAnySeed)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto first = holdoutSupports(*fer, dir, "a.pt", "--seed 1 --holdout-seed 7");
    const auto second = holdoutSupports(*fer, dir, "b.pt", "--seed 2 --holdout-seed 7");
    const auto ownDraw = holdoutSupports(*fer, dir, "c.pt", "--seed 2");
    ASSERT_FALSE(first.empty());
    EXPECT_EQ(first, second);
    EXPECT_NE(first, ownDraw);
    EXPECT_EQ(metadataOf(dir.file("b.pt"))["training"]["recipe"]["holdout_seed"], 7);
}

// Members of an ensemble that share a holdout can be compared, and joined, on it.
TEST(Trainer, EvaluateOnTheHoldoutSeesTheRowsTrainingHeldOut)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto supports = holdoutSupports(*fer, dir, "a.pt", "--seed 1 --holdout-seed 7");
    const auto result = runTrainer("evaluate --model " + dir.file("a.pt") + " --data " + fer->train +
                                   " --usage Training --limit 400 --holdout 0.2 --holdout-seed 7 --threads 1 --out-json " +
                                   dir.file("e.json") + " --confusion-png " + dir.file("e.png"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("holdout 20% (seed 7)"));
    const auto evaluated = nlohmann::json::parse(std::ifstream(dir.file("e.json")));
    std::vector<int> evaluatedSupports;
    for (const auto &[label, metrics] : evaluated["per_class"].items())
        evaluatedSupports.push_back(metrics["support"].get<int>());
    EXPECT_EQ(evaluatedSupports, supports);
    const auto trained = metadataOf(dir.file("a.pt"))["training"]["metrics"]["holdout"];
    EXPECT_NEAR(evaluated["accuracy"].get<double>(), trained["accuracy"].get<double>(), 1.5 / 80);
    EXPECT_THAT(result.output, Not(HasSubstr("another draw")));
}

TEST(Trainer, EvaluateOnAnotherHoldoutThanTheBundlesSaysSo)
{
    REQUIRE_FER(fer);
    TempDir dir;
    holdoutSupports(*fer, dir, "a.pt", "--seed 1 --holdout-seed 7");
    const auto result = runTrainer("evaluate --model " + dir.file("a.pt") + " --data " + fer->train +
                                   " --usage Training --limit 400 --holdout 0.2 --holdout-seed 8 --threads 1 --out-json " +
                                   dir.file("e.json") + " --confusion-png " + dir.file("e.png"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, AllOf(HasSubstr("--holdout-seed 7 --limit 400 of its training rows"),
                                     HasSubstr("another draw, which may hold faces it trained on")));
}

TEST(Trainer, EvaluateHoldoutNeedsItsSeed)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "", 1)).status, 0);
    const auto result = runTrainer("evaluate --model " + dir.file("m.pt") + " --data " + fer->train +
                                   " --usage Training --holdout 0.2");
    EXPECT_NE(result.status, 0);
    EXPECT_THAT(result.output, HasSubstr("--holdout-seed"));
}

TEST(Trainer, TimeLimitLowersTheEpochsToWhatFitsAndRecordsThem)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("t.pt"), "--time-limit 1", 50));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("--time-limit 1 s: an epoch takes"));
    const auto training = metadataOf(dir.file("t.pt"))["training"];
    const int epochs = training["epochs"];
    EXPECT_LT(epochs, 50);
    EXPECT_EQ(training["recipe"]["epochs"], epochs);
}

// The same command line resumes: the checkpoint holds the epoch count the first epoch chose.
TEST(Trainer, ATimeLimitedRunResumesWithTheEpochsItChose)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string run = tinyRun(*fer, dir.file("t.pt"), "--time-limit 1 --checkpoint-dir " + dir.file("ck"), 50);
    ASSERT_EQ(runTrainer(run).status, 0);
    const int chosen = metadataOf(dir.file("t.pt"))["training"]["epochs"];
    ASSERT_LT(chosen, 50);
    const auto resumed = runTrainer(run + " --resume");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_THAT(resumed.output, HasSubstr("resuming with the " + std::to_string(chosen) + " epochs the run chose"));
    EXPECT_EQ(metadataOf(dir.file("t.pt"))["training"]["epochs"], chosen);
}

TEST(Trainer, TestDataIsReportedInTheBundleUnderItsUsage)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer("train --data " + fer->train + " --test " + fer->publicTest +
                                   " --limit 400 --holdout 0.2 --arch mini-xception --width 4 --batch-size 32 "
                                   "--threads 1 --epochs 1 --out " + dir.file("t.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("test: 3589 faces"));
    const auto metrics = metadataOf(dir.file("t.pt"))["training"]["metrics"];
    ASSERT_TRUE(metrics.contains("PublicTest"));
    EXPECT_GT(metrics["PublicTest"]["accuracy"].get<double>(), 0.0);
    EXPECT_TRUE(metrics.contains("holdout"));
}

TEST(Trainer, AMissingTestFileFailsBeforeTraining)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("t.pt"), "--test /nonexistent/publictest.csv"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("/nonexistent/publictest.csv"));
    EXPECT_THAT(result.output, ::testing::Not(HasSubstr("epoch 1")));
}

TEST(Trainer, HoldoutWithValIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("h.pt"), "--holdout 0.1"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("--holdout validates on training rows: leave out --val"));
}

namespace {

torch::Tensor forwardOf(const std::string &bundle, const torch::Tensor &x)
{
    torch::jit::Module module = torch::jit::load(bundle);
    module.eval();
    return module.forward({x}).toTensor();
}

} // namespace

TEST(TrainerEnsemble, ForwardIsTheMeanOfTheMembersLogProbabilities)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"))).status, 0);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("b.pt"), "--dropout 0.1")).status, 0);
    const auto result = runTrainer("ensemble --models " + dir.file("a.pt") + " " + dir.file("b.pt") + " --out " +
                                   dir.file("e.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    c10::InferenceMode guard;
    const torch::Tensor x = torch::rand({5, 1, 48, 48}) * 2 - 1;
    const torch::Tensor expected =
        (torch::log_softmax(forwardOf(dir.file("a.pt"), x), 1) + torch::log_softmax(forwardOf(dir.file("b.pt"), x), 1)) / 2;
    EXPECT_TRUE(torch::allclose(forwardOf(dir.file("e.pt"), x), expected, 1e-5, 1e-6));
}

TEST(TrainerEnsemble, FlipAveragesEachFaceWithItsMirrorImage)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"))).status, 0);
    const auto result = runTrainer("ensemble --models " + dir.file("a.pt") + " --flip --out " + dir.file("f.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    c10::InferenceMode guard;
    const torch::Tensor x = torch::rand({5, 1, 48, 48}) * 2 - 1;
    const torch::Tensor expected = (torch::log_softmax(forwardOf(dir.file("a.pt"), x), 1) +
                                    torch::log_softmax(forwardOf(dir.file("a.pt"), x.flip({3})), 1)) / 2;
    EXPECT_TRUE(torch::allclose(forwardOf(dir.file("f.pt"), x), expected, 1e-5, 1e-6));
}

TEST(TrainerEnsemble, BundleDescribesItsMembersAndTheirTestMetrics)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"))).status, 0);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("b.pt"), "--dropout 0.1")).status, 0);
    const auto result = runTrainer("ensemble --models " + dir.file("a.pt") + " " + dir.file("b.pt") + " --test " +
                                   fer->publicTest + " --out " + dir.file("e.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("test: 3589 faces"));
    const auto meta = metadataOf(dir.file("e.pt")), a = metadataOf(dir.file("a.pt"));
    EXPECT_THAT(meta["architecture"].get<std::string>(), HasSubstr("ensemble of 2"));
    EXPECT_EQ(meta["parameters"].get<long long>(), 2 * a["parameters"].get<long long>());
    EXPECT_EQ(meta["multiply_accumulates"].get<long long>(), 2 * a["multiply_accumulates"].get<long long>());
    EXPECT_EQ(meta["labels"], a["labels"]);
    EXPECT_EQ(meta["input"], a["input"]);
    const auto &members = meta["training"]["ensemble"]["members"];
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0]["file"], "a.pt");
    EXPECT_EQ(members[1]["training"]["recipe"]["dropout"], 0.1f);
    EXPECT_GT(meta["training"]["metrics"]["PublicTest"]["accuracy"].get<double>(), 0.0);
    EmotionClassifier classifier(dir.file("e.pt"), {});
    EXPECT_TRUE(classifier.hasBundleMetadata());
    EXPECT_EQ(classifier.info().architecture, meta["architecture"]);
}

TEST(TrainerEnsemble, PythonOpensTheEnsembleBundle)
{
    REQUIRE_FER(fer);
    if (!pythonTorchAvailable())
        GTEST_SKIP() << "/usr/bin/python3 cannot import torch (install python3-torch)";
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"))).status, 0);
    ASSERT_EQ(runTrainer("ensemble --models " + dir.file("a.pt") + " --flip --out " + dir.file("f.pt")).status, 0);
    const auto python = nlohmann::json::parse(runInterop("run " + dir.file("f.pt")));
    EXPECT_EQ(python["labels"].size(), 7u);
    expectPythonLogits(dir.file("f.pt"), python);
}

TEST(TrainerEnsemble, MembersWithAnotherInputAreRefusedByName)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"))).status, 0);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("small.pt"), "--input-size 40")).status, 0);
    const auto result = runTrainer("ensemble --models " + dir.file("a.pt") + " " + dir.file("small.pt") + " --out " +
                                   dir.file("e.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("small.pt"), HasSubstr("input size")));
    EXPECT_FALSE(fs::exists(dir.file("e.pt")));
}

TEST(TrainerEnsemble, MembersWithoutATrainingRecordJoinToo)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"), "", 1)).status, 0);
    // As a bundle written elsewhere (e.g. from Python) may be: feremotion.json without "training".
    LoadedBundle bundle = loadBundle(dir.file("a.pt"));
    auto meta = nlohmann::json::parse(bundle.metadataJson);
    meta.erase("training");
    saveBundle(bundle.module, meta.dump(), dir.file("bare.pt"));
    const auto result = runTrainer("ensemble --models " + dir.file("bare.pt") + " " + dir.file("a.pt") + " --out " +
                                   dir.file("e.pt"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_EQ(metadataOf(dir.file("e.pt"))["training"]["ensemble"]["members"].size(), 2u);
}

TEST(TrainerEnsemble, OneMemberWithoutFlipIsRefused)
{
    TempDir dir;
    const std::string model = dir.file("a.pt");
    writeText(model, "placeholder"); // the option check comes before the file is opened
    const auto result = runTrainer("ensemble --models " + model + " --out " + dir.file("e.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("two or more --models"));
}

namespace {

// A teacher bundle that calls every face "surprise", with the interface of `like`.
void writeSurpriseTeacher(const std::string &like, const std::string &path)
{
    torch::jit::Module teacher("SurpriseTeacher");
    teacher.define("def forward(self, x):\n"
                   "    return torch.zeros([x.size(0), 7]) + torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 6.0, 0.0])\n");
    saveBundle(teacher, loadBundle(like).metadataJson, path);
}

// The share of PublicTest's first 256 faces a bundle calls `label`.
double shareCalled(const std::string &bundle, const std::string &publicTest, int64_t label)
{
    trainer::CsvOptions csv;
    csv.limit = 256;
    const trainer::Dataset faces = trainer::loadFerCsv({publicTest}, csv);
    const torch::Tensor x = (faces.images.to(torch::kFloat32) / 255.0 - 0.5) / 0.5;
    c10::InferenceMode guard;
    return forwardOf(bundle, x).argmax(1).eq(label).to(torch::kFloat32).mean().item<double>();
}

} // namespace

TEST(TrainerDistillation, TheStudentLearnsTheTeachersOutputs)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("like.pt"), "", 1)).status, 0);
    writeSurpriseTeacher(dir.file("like.pt"), dir.file("teacher.pt"));
    // Only the teacher's term: the labels (mostly happy in FER-2013) weigh nothing.
    const auto result = runTrainer(tinyRun(*fer, dir.file("student.pt"), "--teacher " + dir.file("teacher.pt") +
                                                                             " --distill-weight 1 --lr 1e-2", 5));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_GT(shareCalled(dir.file("student.pt"), fer->publicTest, 5), 0.9);
}

TEST(TrainerDistillation, TheRecipeRecordsTheTeacher)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("teacher.pt"), "", 1)).status, 0);
    const auto result = runTrainer(tinyRun(*fer, dir.file("student.pt"), "--teacher " + dir.file("teacher.pt") +
                                                                             " --distill-weight 0.5 --distill-temperature 3", 1));
    ASSERT_EQ(result.status, 0) << result.output;
    const auto recipe = metadataOf(dir.file("student.pt"))["training"]["recipe"];
    EXPECT_EQ(recipe["teacher"], dir.file("teacher.pt"));
    EXPECT_EQ(recipe["distill_weight"], 0.5);
    EXPECT_EQ(recipe["distill_temperature"], 3.0);
}

TEST(TrainerDistillation, ATeacherWithAnotherInputIsRefusedBeforeTraining)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("small.pt"), "--input-size 40", 1)).status, 0);
    const auto result = runTrainer(tinyRun(*fer, dir.file("student.pt"), "--teacher " + dir.file("small.pt")));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("small.pt"), HasSubstr("input size")));
    EXPECT_THAT(result.output, ::testing::Not(HasSubstr("epoch 1")));
}

TEST(TrainerDistillation, AMissingTeacherIsNamed)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("student.pt"), "--teacher " + dir.file("none.pt")));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("--teacher"), HasSubstr("none.pt"), HasSubstr("does not exist")));
}

namespace {

// Soft labels of `teacher` on the first 320 `usage` rows of `data` (tinyRun's training rows).
CommandResult computeSoftLabels(const std::string &teacher, const std::string &data, const std::string &out,
                                const std::string &usage = "Training")
{
    return runTrainer("soft-labels --model " + teacher + " --data " + data + " --usage " + usage + " --limit 320 --out " +
                      out);
}

} // namespace

TEST(TrainerSoftLabels, TheStudentLearnsTheTeachersOutputsFromTheFile)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("like.pt"), "", 1)).status, 0);
    writeSurpriseTeacher(dir.file("like.pt"), dir.file("teacher.pt"));
    const auto written = computeSoftLabels(dir.file("teacher.pt"), fer->train, dir.file("soft.bin"));
    ASSERT_EQ(written.status, 0) << written.output;
    const auto result = runTrainer(tinyRun(*fer, dir.file("student.pt"), "--soft-labels " + dir.file("soft.bin") +
                                                                             " --distill-weight 1 --lr 1e-2", 5));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_GT(shareCalled(dir.file("student.pt"), fer->publicTest, 5), 0.9);
}

TEST(TrainerSoftLabels, WithoutAugmentationTheFileTeachesAsTheRunningTeacherDoes)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("teacher.pt"), "", 1)).status, 0);
    ASSERT_EQ(computeSoftLabels(dir.file("teacher.pt"), fer->train, dir.file("soft.bin")).status, 0);
    const std::string common = " --no-augment --distill-weight 0.7";
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("online.pt"), "--teacher " + dir.file("teacher.pt") + common)).status, 0);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("offline.pt"), "--soft-labels " + dir.file("soft.bin") + common)).status,
              0);
    const auto online = weightsOf(dir.file("online.pt")), offline = weightsOf(dir.file("offline.pt"));
    ASSERT_EQ(online.size(), offline.size());
    for (const auto &[name, tensor] : online)
        EXPECT_TRUE(torch::allclose(tensor, offline.at(name), 1e-3, 1e-4)) << name << " differs";
}

TEST(TrainerSoftLabels, AFileForOtherFacesIsRefusedNamingIt)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("teacher.pt"), "", 1)).status, 0);
    ASSERT_EQ(computeSoftLabels(dir.file("teacher.pt"), fer->publicTest, dir.file("public.bin"), "PublicTest").status, 0);
    const auto result = runTrainer(tinyRun(*fer, dir.file("s.pt"), "--soft-labels " + dir.file("public.bin")));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("public.bin"), HasSubstr("of the 320 training faces")));
}

TEST(TrainerSoftLabels, AFileThatIsNotSoftLabelsIsNamed)
{
    REQUIRE_FER(fer);
    TempDir dir;
    std::ofstream(dir.file("noise.bin")) << "emotion,pixels\n";
    const auto result = runTrainer(tinyRun(*fer, dir.file("s.pt"), "--soft-labels " + dir.file("noise.bin")));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("noise.bin"), HasSubstr("is not a soft-labels file")));
}

TEST(TrainerSoftLabels, ATeacherAndSoftLabelsTogetherAreRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("teacher.pt"), "", 1)).status, 0);
    ASSERT_EQ(computeSoftLabels(dir.file("teacher.pt"), fer->train, dir.file("soft.bin")).status, 0);
    const auto result = runTrainer(tinyRun(*fer, dir.file("s.pt"), "--teacher " + dir.file("teacher.pt") +
                                                                       " --soft-labels " + dir.file("soft.bin")));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("give one"));
}

TEST(TrainerSoftLabels, TheRecipeRecordsTheFile)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("teacher.pt"), "", 1)).status, 0);
    ASSERT_EQ(computeSoftLabels(dir.file("teacher.pt"), fer->train, dir.file("soft.bin")).status, 0);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("s.pt"), "--soft-labels " + dir.file("soft.bin"), 1)).status, 0);
    const auto recipe = metadataOf(dir.file("s.pt"))["training"]["recipe"];
    EXPECT_EQ(recipe["soft_labels"], dir.file("soft.bin"));
    EXPECT_EQ(recipe["distill_weight"], 0.7);
    EXPECT_FALSE(recipe.contains("teacher"));
}

namespace {

// `command` (with {model}, {data} and {out} standing for a test bundle, a CSV of four training rows and a
// file to write) ends with exit 2, one line naming the file and `cause`, and no C++ backtrace.
void expectCommandToNameTheBundle(const std::string &command, const TestBundle &spec, const std::string &cause)
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
    EXPECT_THAT(result.output, AllOf(HasSubstr(model), HasSubstr(cause), Not(HasSubstr("frame #")),
                                     Not(HasSubstr("loss nan"))));
}

void expectEvaluateToNameTheBundle(const TestBundle &spec, const std::string &cause)
{
    expectCommandToNameTheBundle("evaluate --model {model} --data {data} --usage Training --out-json {out}", spec, cause);
}

// Fine for the load-time passes' one and two faces; four do not add to two rows.
TestBundle raisingOnFourFaces()
{
    TestBundle spec;
    spec.outputCast = " + torch.zeros(2, 7)[:x.size(0)]";
    return spec;
}

} // namespace

// A bundle is code: whatever it returns or raises, evaluate says so naming the file.
TEST(TrainerEvaluate, AModelReturningTooFewRowsForABatchIsNamed)
{
    TestBundle spec;
    spec.outputCast = "[:2]"; // the load-time pass has two faces, so only a larger batch shows it
    expectEvaluateToNameTheBundle(spec, "shape [2, 7] for 4 faces");
}

TEST(TrainerEvaluate, AModelThatRaisesOnABatchIsNamed)
{
    expectEvaluateToNameTheBundle(raisingOnFourFaces(), "failed on a batch of 4 faces");
}

TEST(TrainerEvaluate, NonFiniteScoresAreAnError)
{
    TestBundle spec;
    spec.nanOutput = true;
    expectEvaluateToNameTheBundle(spec, "finite");
}

// The other commands that run a bundle on data check it as evaluate does.
TEST(TrainerSoftLabels, ATeacherThatRaisesOnABatchIsNamed)
{
    expectCommandToNameTheBundle("soft-labels --model {model} --data {data} --usage Training --out {out}", raisingOnFourFaces(),
                                 "failed on a batch of 4 faces");
}

TEST(TrainerSoftLabels, ATeacherWithNonFiniteScoresIsAnError)
{
    TestBundle spec;
    spec.nanOutput = true;
    // The load-time passes see it first.
    expectCommandToNameTheBundle("soft-labels --model {model} --data {data} --usage Training --out {out}", spec, "finite");
}

TEST(TrainerEnsemble, AMemberThatRaisesOnATestBatchIsNamed)
{
    TempDir dir;
    const std::string good = writeTestBundle(dir.file("good.pt"));
    expectCommandToNameTheBundle("ensemble --models " + good + " {model} --test {data} --test-usage Training --out {out}",
                                 raisingOnFourFaces(), "failed on a batch of 4 faces");
}

TEST(TrainerDistillation, ATeacherThatRaisesOnATrainingBatchIsNamed)
{
    REQUIRE_FER(fer);
    TempDir dir;
    TestBundle spec = raisingOnFourFaces();
    nlohmann::json meta = nlohmann::json::parse(metadataJson(spec));
    meta["face_crop"]["margin"] = 0.0; // the run's
    spec.metadataOverride = meta.dump();
    const std::string teacher = writeTestBundle(dir.file("teacher.pt"), spec);
    const auto result = runTrainer(tinyRun(*fer, dir.file("student.pt"), "--teacher " + teacher, 1));
    EXPECT_EQ(result.status, 2) << result.output;
    EXPECT_THAT(result.output, AllOf(HasSubstr(teacher), HasSubstr("failed on a batch of 32 faces")));
}

// File names in another encoding than UTF-8 reach the JSON the trainer writes (nlohmann::json
// refuses such text): they are written with U+FFFD, with a note, instead of ending the run.
TEST(TrainerEvaluate, AModelFileNameThatIsNotUtf8IsWrittenToTheJsonWithReplacementCharacters)
{
    TempDir dir;
    const std::string csv = dir.file("four.csv");
    writeText(csv, "emotion,pixels,Usage\n" + csvRow(3, 2304) + csvRow(4, 2304) + csvRow(0, 2304) + csvRow(1, 2304));
    const std::string model = writeTestBundle(dir.file("caf\xe9.pt"));
    const auto result = runTrainer("evaluate --model " + model + " --data " + csv + " --usage Training --out-json " +
                                   dir.file("out.json"));
    ASSERT_EQ(result.status, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr("U+FFFD"));
    const auto written = nlohmann::json::parse(std::ifstream(dir.file("out.json")));
    EXPECT_THAT(written["model"].get<std::string>(), HasSubstr("caf\xef\xbf\xbd.pt"));
}
