// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification: a bundle is code, and the classifier limits what it may do (code_checks.h) and how
// large and how long it may run.
#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/model/code_checks.h"
#include "engine/vision/classifier.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

std::string loadError(const std::string &path, const ClassifierOptions &options = {})
{
    return classifierLoadError(path, options);
}

} // namespace

TEST(ModelCode, OperatorsAClassifierNeedsAreAllowed)
{
    for (const char *op : {"aten::conv2d", "aten::_convolution", "aten::linear", "aten::batch_norm", "aten::softmax",
                           "aten::scaled_dot_product_attention", "prim::If", "prim::Loop", "prim::CallMethod"})
        EXPECT_TRUE(isAllowedOperator(op)) << op;
}

TEST(ModelCode, OperatorsReachingFilesProcessesOrTheNetworkAreNot)
{
    for (const char *op : {"aten::from_file", "aten::save", "prim::rpc_async", "prim::rpc_sync", "prim::Print",
                           "prim::fork", "c10d::allreduce_", "profiler::_record_function_enter", "my_ops::anything"})
        EXPECT_FALSE(isAllowedOperator(op)) << op;
}

TEST(ModelCode, ABundleCallingAFileOperatorIsRefusedNamingItBeforeItRuns)
{
    TempDir dir;
    Victim victim(dir);
    TestBundle spec;
    spec.forwardPrelude = victim.overwrite("x");
    const std::string path = writeTestBundle(dir.file("hostile.pt"), spec);
    EXPECT_THAT(loadError(path), AllOf(HasSubstr(path), HasSubstr("aten::from_file"),
                                       HasSubstr("TestEmotionNet.forward"), HasSubstr("trust-model")));
    EXPECT_TRUE(victim.untouched());
}

TEST(ModelCode, ATrustedBundleRunsWhateverItsCodeDoes)
{
    TempDir dir;
    Victim victim(dir);
    TestBundle spec;
    spec.forwardPrelude = victim.overwrite("x");
    ClassifierOptions options;
    options.trust = ModelTrust::Trusted;
    EmotionClassifier classifier(writeTestBundle(dir.file("trusted.pt"), spec), options);
    EXPECT_EQ(victim.contents(), std::string(16, 'A'));
}

TEST(ModelCode, CodeThatLoadingWouldRunIsRefusedBeforeTheFileIsLoaded)
{
    TempDir dir;
    Victim victim(dir);
    TestBundle spec;
    spec.setstateCode = victim.overwrite("self.bias");
    const std::string path = writeTestBundle(dir.file("loads-code.pt"), spec);
    EXPECT_THAT(loadError(path), AllOf(HasSubstr(path), HasSubstr("__setstate__"), HasSubstr("was not run")));
    EXPECT_TRUE(victim.untouched());
}

TEST(ModelCode, LoadingATrustedBundleRunsItsSetstate)
{
    TempDir dir;
    Victim victim(dir);
    TestBundle spec;
    spec.setstateCode = victim.overwrite("self.bias");
    ClassifierOptions options;
    options.trust = ModelTrust::Trusted;
    EmotionClassifier classifier(writeTestBundle(dir.file("loads-code.pt"), spec), options);
    EXPECT_FALSE(victim.untouched());
}

TEST(ModelLimits, AnInputLargerThanAllowedIsRefusedNamingBothSizes)
{
    TempDir dir;
    TestBundle spec;
    spec.width = spec.height = 96;
    const std::string path = writeTestBundle(dir.file("large.pt"), spec);
    ClassifierOptions options;
    options.maxInputSide = 64;
    EXPECT_THAT(loadError(path, options), AllOf(HasSubstr(path), HasSubstr("96x96"), HasSubstr("64 pixels")));
    options.maxInputSide = 96;
    EXPECT_EQ(loadError(path, options), "(loaded without error)");
}

TEST(ModelLimits, TheDefaultLimitTakesCommonClassifierSizes)
{
    EXPECT_GE(ClassifierOptions{}.maxInputSide, 384); // ViT-B/16 at 384, EfficientNet-B4 at 380
    EXPECT_LT(ClassifierOptions{}.maxInputSide, 4096);
}

TEST(ModelLimits, AForwardPassRunningPastTheLimitAtLoadIsAnErrorNamingTheModel)
{
    TempDir dir;
    TestBundle spec;
    spec.forwardPrelude = slowForwardWhen("x.size(0) > 0");
    const std::string path = writeTestBundle(dir.file("slow.pt"), spec);
    ClassifierOptions options;
    options.forwardTimeoutMs = 50;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(loadError(path, options), AllOf(HasSubstr(path), HasSubstr("time limit of 50 ms")));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)); // it did not wait for the pass
}

TEST(ModelLimits, AfterAPassRanPastTheLimitTheModelIsNotRunAgain)
{
    TempDir dir;
    TestBundle spec;
    spec.forwardPrelude = slowForwardWhen("x.size(0) > 2"); // the load-time passes (1 and 2 faces) are quick
    ClassifierOptions options;
    options.forwardTimeoutMs = 50;
    EmotionClassifier classifier(writeTestBundle(dir.file("slow-on-three.pt"), spec), options);
    const std::vector<cv::Mat> three(3, cv::Mat(48, 48, CV_8UC1, cv::Scalar(128)));
    EXPECT_THROW(classifier.classify(three), ModelError);
    try {
        classifier.classify({three[0]});
        ADD_FAILURE() << "a quick pass ran after one was left running";
    } catch (const ModelError &e) {
        EXPECT_THAT(e.what(), HasSubstr("is not run again"));
    }
}

TEST(ModelLimits, PassesWithinTheLimitGiveTheSameResultsAsWithoutOne)
{
    TempDir dir;
    const std::string path = writeTestBundle(dir.file("m.pt"));
    ClassifierOptions limited, unlimited;
    unlimited.forwardTimeoutMs = 0;
    EmotionClassifier a(path, limited), b(path, unlimited);
    const std::vector<cv::Mat> faces{cv::Mat(48, 48, CV_8UC1, cv::Scalar(30)), cv::Mat(48, 48, CV_8UC1, cv::Scalar(200))};
    const auto ra = a.classify(faces), rb = b.classify(faces);
    ASSERT_EQ(ra.size(), 2u);
    for (size_t i = 0; i < ra.size(); ++i)
        EXPECT_EQ(ra[i].probabilities, rb[i].probabilities);
}
