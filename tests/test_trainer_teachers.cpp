// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion-trainer ensemble, distillation from a teacher, and soft labels.
#include "trainer_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

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
