// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion-trainer export-weights and import-weights.
#include "trainer_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

TEST(TrainerWeights, ExportWeightsRefusesAnEnsembleNamingWhatToDo)
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

TEST(TrainerWeights, ExportedWeightsRebuildTheSameBundle)
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

TEST(TrainerWeights, ImportRefusesAFileThatIsNotAWeightsFile)
{
    TempDir dir;
    writeText(dir.file("notes.weights"), "just text\n");
    const auto result = runTrainer("import-weights --weights " + dir.file("notes.weights") + " --out " + dir.file("r.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("notes.weights"), HasSubstr("invalid header")));
    EXPECT_FALSE(fs::exists(dir.file("r.pt")));
}

TEST(TrainerWeights, ImportRefusesWeightsThatDoNotFitTheirRecipe)
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

TEST(TrainerWeights, ImportRefusesWeightsDamagedAfterExport)
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
