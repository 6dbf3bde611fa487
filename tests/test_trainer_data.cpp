// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion-trainer's data: FER-2013 CSVs, compact folders and image folders, and what is wrong with them.
#include "trainer_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

TEST(TrainerData, AMalformedCsvRowIsNamedByFileAndLine)
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

TEST(TrainerData, ARowWithoutItsUsageOrWithAnExtraFieldIsNamedByFileAndLine)
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

TEST(TrainerData, SkipBadSkipsAndCountsMalformedRows)
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

TEST(TrainerData, BlankLinesBeforeTheCsvHeaderAreSkipped)
{
    TempDir dir;
    const std::string csv = dir.file("blank-first.csv");
    writeText(csv, "\n\r\nemotion,pixels,Usage\n" + csvRow(3, 2304) + csvRow(4, 2304, "PublicTest"));
    const trainer::Dataset all = trainer::loadFerCsv({csv}, trainer::CsvOptions{});
    EXPECT_EQ(all.size(), 2) << "the header was read as a row";
}

TEST(TrainerData, ABinaryFileIsReportedAsSuchWithoutItsBytes)
{
    TempDir dir;
    const std::string png = dir.file("face.png");
    writeText(png, std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
    const auto result = runTrainer("train --data " + png + " --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr(png + ": not a CSV text file (it holds binary data)"));
    EXPECT_THAT(result.output, Not(HasSubstr("PNG")));
}

TEST(TrainerData, AnEmptyDatasetIsRefused)
{
    TempDir dir;
    writeText(dir.file("empty.csv"), "emotion,pixels,Usage\n");
    const auto result = runTrainer("train --data " + dir.file("empty.csv") + " --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("no rows with Usage \"Training\""));
}

TEST(TrainerData, ACsvWithoutTheUsageAskedForNamesTheUsagesItHas)
{
    TempDir dir;
    writeText(dir.file("private.csv"),
              "emotion,pixels,Usage\n" + csvRow(3, 2304, "PrivateTest") + csvRow(4, 2304, "PrivateTest"));
    const auto result = runTrainer("train --data " + dir.file("private.csv") + " --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("no rows with Usage \"Training\" in " + dir.file("private.csv") +
                                         " (its rows have Usage \"PrivateTest\")"));
}

TEST(TrainerData, AnUnknownLabelFolderIsRefused)
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

TEST(TrainerData, TrainsFromImageFoldersOfAnySize)
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

TEST(TrainerData, ImageFoldersAreReadWithTheirSubFolders)
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

TEST(TrainerData, AnImageThatCannotBeDecodedIsNamed)
{
    TempDir dir;
    const std::string faces = randomFaceFolder(dir);
    writeText(faces + "/sad/broken.png", "not a picture");
    const auto result = runTrainer("train --data " + faces + " --holdout 0.2 --epochs 1 --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr("broken.png' cannot be decoded"), HasSubstr("--skip-bad")));
}

TEST(TrainerData, SkipBadSkipsAndCountsImagesThatCannotBeDecoded)
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
TEST(TrainerData, AnRgbImageFolderRunIsTestedOnGrayCsvFaces)
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

TEST(TrainerData, ACsvWithoutAUsageColumnNeedsAHoldoutOrValidationRows)
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
TEST(TrainerData, CsvFieldsMayBeQuotedAfterAByteOrderMark)
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

TEST(TrainerData, AnEmotionThatIsNoLabelIdIsNamedAsSuch)
{
    TempDir dir;
    const std::string csv = dir.file("bad.csv");
    writeText(csv, "emotion,pixels,Usage\n" + csvRow(3, 2304) + "-1" + csvRow(4, 2304).substr(1));
    const auto result = runTrainer("train --data " + csv + " --holdout 0.5 --epochs 1 --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, AllOf(HasSubstr(csv + ":3"), HasSubstr("\"-1\" is not a label id 0-6")));
}

TEST(TrainerData, AMissingDataFileIsNamed)
{
    TempDir dir;
    const auto result = runTrainer("train --data /nonexistent/fer.csv.gz --out " + dir.file("m.pt"));
    EXPECT_EQ(result.status, 2);
    EXPECT_THAT(result.output, HasSubstr("'/nonexistent/fer.csv.gz' does not exist"));
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

TEST(TrainerData, TrainsFromTheCompactFolder)
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

TEST(TrainerData, ALimitTheFirstFileFillsLeavesTheOtherFilesUnread)
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
