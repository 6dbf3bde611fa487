// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion-trainer train: runs, resuming, schedules, precision, holdout, time limits, backbones.
#include "trainer_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

TEST(Train, EverySubcommandHasHelp)
{
    for (const char *sub : {"train", "evaluate", "predict", "info", "curves", "export-weights", "import-weights", "ensemble",
                            "soft-labels"}) {
        const auto result = runTrainer(std::string(sub) + " --help");
        EXPECT_EQ(result.status, 0) << sub;
        EXPECT_THAT(result.output, HasSubstr("--")) << sub;
    }
    EXPECT_EQ(runTrainer("").status, 2);
}

TEST(Train, TwoEpochsOnAFewThousandRowsBeatTheMajorityClass)
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

TEST(Train, Bf16TrainsAsWellAndWritesAFloat32BundleThatRecordsIt)
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
TEST(Train, WarmupRaisesTheLearningRateOverItsEpochs)
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

TEST(Train, AFloat32CheckpointDoesNotResumeInBf16)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "--checkpoint-dir " + dir.file("ck"), 1)).status, 0);
    const auto result =
        runTrainer(tinyRun(*fer, dir.file("m.pt"), "--precision bf16 --resume --checkpoint-dir " + dir.file("ck"), 1));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("belongs to a run with other options"));
}

TEST(Train, BundleCarriesTheDesignMetadata)
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

TEST(Train, SameSeedSameDataAndOneThreadGiveIdenticalWeights)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("a.pt"))).status, 0);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("b.pt"))).status, 0);
    expectIdenticalWeights(dir.file("a.pt"), dir.file("b.pt"));
}

TEST(Train, AKilledRunResumesToTheWeightsOfAnUninterruptedRun)
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

TEST(Train, ResumeWithOtherOptionsIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("m.pt"), "--checkpoint-dir " + dir.file("ck"), 1)).status, 0);
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--lr 0.5 --resume --checkpoint-dir " + dir.file("ck"), 1));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output,
                AllOf(HasSubstr("belongs to a run with other options"), HasSubstr("lr 0.001 there, 0.5 here")));
}

TEST(Train, WarmupNotShorterThanTheRunIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--warmup-epochs 2", 2));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("--warmup-epochs 2 is not below --epochs 2"));
}

TEST(Train, ACheckpointDirThatIsAFileIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    writeText(dir.file("ck"), "a file\n");
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--checkpoint-dir " + dir.file("ck"), 1));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("is a file, not a folder"));
}

TEST(Train, AnUnwritableOutputFailsBeforeTraining)
{
    const auto result = runTrainer("train --data /nonexistent.csv --out /nonexistent-folder/m.pt");
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("/nonexistent-folder"));
}

TEST(Train, ANumberOutOfItsRangeIsRefusedInWords)
{
    const auto result = runTrainer("train --data /nonexistent.csv --out /tmp/m.pt --lr -1");
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("--lr: must be above 0, not -1"));
    EXPECT_LT(result.output.size(), 200u) << result.output;
}

// Choices are checked and converted to their enum once, by the command line.
TEST(Train, AChoiceThatIsNotOneOfItsNamesIsRefusedNamingThem)
{
    const auto optimizer = runTrainer("train --data /nonexistent.csv --out /tmp/m.pt --optimizer adagrad");
    EXPECT_EQ(optimizer.status, 2);
    EXPECT_THAT(optimizer.output, HasSubstr("--optimizer: adagrad not in {adam,sgd}"));
    const auto precision = runTrainer("evaluate --model /dev/null --data x --precision bf17");
    EXPECT_EQ(precision.status, 2);
    EXPECT_THAT(precision.output, HasSubstr("--precision: bf17 not in {fp32,bf16}"));
}

TEST(Train, AnOutputThatIsAFolderFailsBeforeTraining)
{
    TempDir dir;
    fs::create_directory(dir.file("m.pt"));
    const auto result = runTrainer("train --data /nonexistent.csv --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr(dir.file("m.pt")), HasSubstr("is a folder")));
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

TEST(Train, InitTrainsANewHeadOnAFrozenBackbone)
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

TEST(Train, InitWithoutFreezingFineTunesTheBackbone)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string backbone = writeBackbone(dir.file("backbone.pt"), 1);
    ASSERT_EQ(runTrainer(tinyRun(*fer, dir.file("tuned.pt"), "--init " + backbone)).status, 0);
    EXPECT_FALSE(torch::equal(weightsOf(dir.file("tuned.pt")).at("scripted_conv_weight"),
                              weightsOf(backbone).at("conv_weight")));
}

TEST(Train, ABackboneThatDoesNotFitIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const std::string backbone = writeBackbone(dir.file("rgb-backbone.pt"), 3);
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--init " + backbone));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("rgb-backbone.pt"), HasSubstr("does not fit")));
}

TEST(Train, PythonOpensATrainedBundleAndMatchesItsOutputs)
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

TEST(Train, EveryClassBalancingModeTrainsAndIsRecorded)
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

TEST(Train, SgdWithThePlateauScheduleTrainsAndIsRecorded)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("m.pt"), "--optimizer sgd --lr 0.01 --scheduler plateau", 1));
    ASSERT_EQ(result.status, 0) << result.output;
    const auto recipe = metadataOf(dir.file("m.pt"))["training"]["recipe"];
    EXPECT_EQ(recipe["optimizer"], "sgd");
    EXPECT_EQ(recipe["scheduler"], "plateau");
    EXPECT_FALSE(recipe.contains("precision")) << "fp32, the default, is not recorded";
}

TEST(Train, ACudaDeviceWithoutAGpuIsRefusedClearly)
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

TEST(Train, HoldoutValidatesOnTrainingRowsItDidNotTrainOn)
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

TEST(Train, HoldoutSeedDrawsOneHoldoutForRunsOfAnySeed)
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

TEST(Train, TimeLimitLowersTheEpochsToWhatFitsAndRecordsThem)
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
TEST(Train, ATimeLimitedRunResumesWithTheEpochsItChose)
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

TEST(Train, TestDataIsReportedInTheBundleUnderItsUsage)
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

TEST(Train, AMissingTestFileFailsBeforeTraining)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("t.pt"), "--test /nonexistent/publictest.csv"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("/nonexistent/publictest.csv"));
    EXPECT_THAT(result.output, ::testing::Not(HasSubstr("epoch 1")));
}

TEST(Train, HoldoutWithValIsRefused)
{
    REQUIRE_FER(fer);
    TempDir dir;
    const auto result = runTrainer(tinyRun(*fer, dir.file("h.pt"), "--holdout 0.1"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("--holdout validates on training rows: leave out --val"));
}
