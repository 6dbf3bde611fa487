// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion-trainer evaluate, predict, info and curves, and bundles whose code is refused.
#include "trainer_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

TEST(TrainerEvaluate, EvaluateWritesMetricsAndAConfusionMatrix)
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

TEST(TrainerEvaluate, EvaluateChecksWhereItWritesBeforeEvaluating)
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
TEST(TrainerEvaluate, EvaluateRefusesAModelWithTheLabelsInAnotherOrder)
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

TEST(TrainerEvaluate, EvaluateRefusesAModelWithAnotherNumberOfOutputsThanLabels)
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

TEST(TrainerCurves, CurvesNeedsAPngFileName)
{
    TempDir dir;
    writeText(dir.file("m-metrics.json"), "{\"history\": [[1, 1.0, 0.5, 1.0, 0.5, 0.001, 1.0, 100.0]]}");
    const auto result = runTrainer("curves --metrics " + dir.file("m-metrics.json") + " --out " + dir.file("curves"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("must end in .png"));
}

TEST(TrainerCurves, CurvesRedrawsTheRunsLearningCurvesFromItsMetrics)
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

TEST(TrainerCurves, CurvesNamesAFileThatIsNotARunsMetrics)
{
    TempDir dir;
    std::ofstream(dir.file("other.json")) << R"({"count": 3})";
    const auto result = runTrainer("curves --metrics " + dir.file("other.json") + " --out " + dir.file("c.png"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("other.json"), HasSubstr("not a training run's metrics")));
    EXPECT_FALSE(fs::exists(dir.file("c.png")));
}

TEST(TrainerEvaluate, EvaluateCanAverageShiftedAndMirroredFaces)
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

TEST(TrainerEvaluate, EvaluateInBf16ScoresAsFp32WithinBfloat16RoundingAndSaysSo)
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

TEST(TrainerInfo, InfoPrintsMetadataAndParameterCount)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto result = runTrainer("info " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 0);
    EXPECT_THAT(result.output, AllOf(HasSubstr("parameters:"), HasSubstr("feremotion-model")));
}

TEST(TrainerModelCode, ABundleWhoseLoadingWouldRunCodeIsRefusedWithExitTwo)
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

TEST(TrainerModelCode, TrustModelLoadsABundleAsItIs)
{
    TempDir dir;
    Victim victim(dir);
    TestBundle spec;
    spec.setstateCode = victim.overwrite("self.bias");
    const auto result = runTrainer("info --trust-model " + writeTestBundle(dir.file("loads-code.pt"), spec));
    EXPECT_EQ(result.status, 0) << result.output;
    EXPECT_FALSE(victim.untouched());
}

TEST(TrainerPredict, PredictClassifiesTheFacesInAnImage)
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

TEST(TrainerPredict, PredictFindsFacesWithYuNetWhenAsked)
{
    REQUIRE_FER(fer);
    const auto astronaut = sharedFile("media/astronaut.png");
    const auto yunet = sharedYuNetModel();
    if (!astronaut || !yunet)
        GTEST_SKIP() << (astronaut ? missingYuNetModel() : "../shared/media is absent");
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"))).status, 0);
    const auto result = runTrainer("predict --json --detector yunet --detector-model " + *yunet + " --model " +
                                   dir.file("m.pt") + " " + *astronaut);
    ASSERT_EQ(result.status, 0) << result.output;
    const auto json = nlohmann::json::parse(result.output.substr(result.output.find('[')));
    ASSERT_EQ(json[0]["faces"].size(), 1u);
}

TEST(TrainerPredict, ADetectorThatIsNotOneOfItsNamesIsRefusedNamingThem)
{
    const auto result = runTrainer("predict --model /dev/null --detector retinaface x.png");
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("--detector: retinaface not in {haar,yunet}"));
}

TEST(TrainerPredict, PredictWithoutDetectionClassifiesWholeImages)
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

// Members of an ensemble that share a holdout can be compared, and joined, on it.
TEST(TrainerEvaluate, EvaluateOnTheHoldoutSeesTheRowsTrainingHeldOut)
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

TEST(TrainerEvaluate, EvaluateOnAnotherHoldoutThanTheBundlesSaysSo)
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

TEST(TrainerEvaluate, EvaluateHoldoutNeedsItsSeed)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "", 1)).status, 0);
    const auto result = runTrainer("evaluate --model " + dir.file("m.pt") + " --data " + fer->train +
                                   " --usage Training --holdout 0.2");
    EXPECT_NE(result.status, 0);
    EXPECT_THAT(result.output, HasSubstr("--holdout-seed"));
}

namespace {

void expectEvaluateToNameTheBundle(const TestBundle &spec, const std::string &cause)
{
    expectCommandToNameTheBundle("evaluate --model {model} --data {data} --usage Training --out-json {out}", spec, cause);
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
