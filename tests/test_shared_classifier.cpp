// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of model sharing: one model per instance id, cross-stream batches, bounded waits.
#include <chrono>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/vision/shared_classifier.h"
#include "support.h"

using namespace feremotion;
using namespace feremotion::test;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

std::vector<cv::Mat> crops(int count, int seed, int side = 48)
{
    std::vector<cv::Mat> result;
    cv::RNG rng(static_cast<uint64_t>(seed));
    for (int i = 0; i < count; ++i) {
        cv::Mat crop(side, side, CV_8UC1);
        rng.fill(crop, cv::RNG::UNIFORM, 0, 256);
        result.push_back(crop);
    }
    return result;
}

class Shared : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        dir_ = new TempDir();
        model_ = writeTestBundle(dir_->file("shared.pt"));
    }
    static void TearDownTestSuite()
    {
        delete dir_;
        dir_ = nullptr;
    }
    static std::unique_ptr<EmotionClassifier> load() { return std::make_unique<EmotionClassifier>(model_, ClassifierOptions()); }

    static inline TempDir *dir_ = nullptr;
    static inline std::string model_;
};

} // namespace

TEST_F(Shared, FacesThatStreamsSubmitTogetherGoThroughOneForwardPass)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream();
    const auto cropsA = crops(3, 1), cropsB = crops(2, 2);
    // A long bound: the pass must start because both streams submitted, not because time ran out.
    auto first = std::async(std::launch::async, [&] { return shared.classify(a, cropsA, 60s, 32, 1); });
    auto second = std::async(std::launch::async, [&] { return shared.classify(b, cropsB, 60s, 32, 1); });
    const auto resultA = first.get(), resultB = second.get();
    EXPECT_EQ(shared.stats().forwardPasses, 1);
    EXPECT_EQ(shared.stats().faces, 5);

    auto alone = load();
    const auto expectedA = alone->classify(cropsA), expectedB = alone->classify(cropsB);
    ASSERT_EQ(resultA.size(), 3u);
    ASSERT_EQ(resultB.size(), 2u);
    for (size_t i = 0; i < 3; ++i)
        for (size_t k = 0; k < 7; ++k)
            EXPECT_NEAR(resultA[i].probabilities[k], expectedA[i].probabilities[k], 1e-5);
    for (size_t i = 0; i < 2; ++i)
        for (size_t k = 0; k < 7; ++k)
            EXPECT_NEAR(resultB[i].probabilities[k], expectedB[i].probabilities[k], 1e-5);
}

TEST_F(Shared, TheObserverHearsOfOnePassWithBothStreamsFaces)
{
    auto classifier = load();
    std::vector<ForwardPass> passes;
    classifier->setForwardObserver([&](const ForwardPass &pass) { passes.push_back(pass); });
    SharedClassifier shared(std::move(classifier), "test");
    const int a = shared.addStream(), b = shared.addStream();
    const auto cropsA = crops(3, 1), cropsB = crops(2, 2);
    auto first = std::async(std::launch::async, [&] { return shared.classify(a, cropsA, 60s, 32, 1); });
    auto second = std::async(std::launch::async, [&] { return shared.classify(b, cropsB, 60s, 32, 1); });
    first.get();
    second.get();
    ASSERT_EQ(passes.size(), 1u);
    EXPECT_EQ(passes[0].faces, 5);
    EXPECT_EQ(passes[0].streams, 2);
    EXPECT_GT(passes[0].milliseconds, 0);
}

TEST_F(Shared, AStreamThatSubmitsNothingDelaysTheOthersOnlyUpToTheTimeout)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream();
    shared.addStream(); // registered, never submits
    EXPECT_EQ(shared.classify(a, crops(2, 1), 50ms, 32, 1).size(), 2u);
    EXPECT_EQ(shared.classify(a, crops(2, 1), 50ms, 32, 1).size(), 2u);
    EXPECT_EQ(shared.stats().forwardPasses, 2);
}

TEST_F(Shared, AStreamThatLetTheTimeoutPassIsNotWaitedForUntilItSubmitsAgain)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream(); // b stalls, as a camera without frames
    EXPECT_EQ(shared.classify(a, crops(1, 1), 100ms, 32, 1).size(), 1u);
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(shared.classify(a, crops(1, 1), 30s, 32, 1).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited again for the stream that let the timeout pass";
    // Once b submits again it is waited for again: a's faces wait for b's next frame.
    EXPECT_EQ(shared.classify(b, crops(1, 2), 100ms, 32, 1).size(), 1u);
    auto waiting = std::async(std::launch::async, [&] { return shared.classify(a, crops(1, 1), 30s, 32, 1); });
    EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout) << "a did not wait for b";
    EXPECT_EQ(shared.classify(b, crops(1, 2), 30s, 32, 1).size(), 1u);
    EXPECT_EQ(waiting.get().size(), 1u);
}

TEST_F(Shared, AStreamCarriedByTheWaitingThreadIsNotWaitedFor)
{
    // feremotion ! feremotion with one id: both elements run in one streaming thread.
    SharedClassifier shared(load(), "test");
    const int first = shared.addStream(), second = shared.addStream();
    EXPECT_EQ(shared.classify(second, crops(1, 2), 100ms, 32, 1).size(), 1u);
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(shared.classify(first, crops(1, 1), 30s, 32, 1).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited for a stream of the waiting thread";
}

TEST_F(Shared, AStreamWhoseThreadIsKnownIsNotWaitedForFromItsFirstFrame)
{
    SharedClassifier shared(load(), "test");
    const int first = shared.addStream(), second = shared.addStream();
    shared.setStreamThread(second);
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(shared.classify(first, crops(1, 1), 30s, 32, 1).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited for a stream of the waiting thread";
}

TEST_F(Shared, AFlushingStreamsWaitingFacesGoThroughAtOnce)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream();
    shared.addStream(); // registered, never submits: without the flush both would wait 30 s
    const auto begin = std::chrono::steady_clock::now();
    auto leader = std::async(std::launch::async, [&] { return shared.classify(a, crops(1, 1), 30s, 32, 1); });
    std::this_thread::sleep_for(100ms);
    auto flushing = std::async(std::launch::async, [&] { return shared.classify(b, crops(2, 2), 30s, 32, 1); });
    std::this_thread::sleep_for(100ms);
    shared.setStreamFlushing(b, true);
    EXPECT_EQ(flushing.get().size(), 2u);
    EXPECT_EQ(leader.get().size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "the flush waited for the batch timeout";
    EXPECT_EQ(shared.stats().forwardPasses, 1);
}

TEST_F(Shared, AFlushingStreamIsNotWaitedFor)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream();
    shared.setStreamFlushing(b, true);
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(shared.classify(a, crops(1, 1), 30s, 32, 1).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited for the flushing stream";
}

TEST_F(Shared, AStreamAtEosIsNotWaitedFor)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream();
    shared.setStreamIdle(b);
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(shared.classify(a, crops(1, 1), 30s, 32, 1).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited for the stream at EOS";
}

TEST_F(Shared, AStreamThatSkipsAFrameAfterOthersSubmittedIsNotWaitedFor)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream();
    const auto begin = std::chrono::steady_clock::now();
    auto waiting = std::async(std::launch::async, [&] { return shared.classify(a, crops(1, 1), 30s, 32, 1); });
    // b's frame without faces comes after a's faces were queued (a returns early only then).
    std::this_thread::sleep_for(200ms);
    shared.classify(b, {}, 30s, 32, 1);
    EXPECT_EQ(waiting.get().size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited for a stream that had nothing to classify";
}

TEST_F(Shared, ARemovedStreamIsNotWaitedFor)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream();
    shared.removeStream(b);
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(shared.classify(a, crops(1, 1), 30s, 32, 1).size(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited for the removed stream";
}

TEST_F(Shared, ABatchFullOfFacesStartsWithoutWaitingForOtherStreams)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream();
    shared.addStream();
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(shared.classify(a, crops(8, 1), 30s, 8, 1).size(), 8u);
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 15s) << "waited although batch-size faces were queued";
}

TEST_F(Shared, AnErrorInTheForwardPassReachesEveryStreamOfTheBatch)
{
    SharedClassifier shared(load(), "test");
    const int a = shared.addStream(), b = shared.addStream();
    const auto good = crops(1, 1), wrongSize = crops(1, 2, 32);
    auto first = std::async(std::launch::async, [&] { return shared.classify(a, good, 60s, 32, 1); });
    auto second = std::async(std::launch::async, [&] { return shared.classify(b, wrongSize, 60s, 32, 1); });
    EXPECT_THROW(first.get(), std::invalid_argument);
    EXPECT_THROW(second.get(), std::invalid_argument);
    // The model stays usable.
    EXPECT_EQ(shared.classify(a, good, 0ms, 32, 1).size(), 1u);
}

TEST_F(Shared, OneInstanceIdLoadsTheModelOnce)
{
    int loads = 0;
    const auto counted = [&] {
        ++loads;
        return load();
    };
    auto first = acquireSharedClassifier("once", "model A", counted);
    auto second = acquireSharedClassifier("once", "model A", counted);
    EXPECT_EQ(first.get(), second.get());
    EXPECT_EQ(loads, 1);
    first.reset();
    second.reset();
    acquireSharedClassifier("once", "model A", counted);
    EXPECT_EQ(loads, 2) << "the model is unloaded with its last holder";
}

TEST_F(Shared, AnInstanceIdHeldWithAnotherModelIsRefused)
{
    auto held = acquireSharedClassifier("taken", "model A", load);
    try {
        acquireSharedClassifier("taken", "model B", load);
        FAIL() << "expected ModelError";
    } catch (const ModelError &e) {
        EXPECT_THAT(e.what(), HasSubstr("'taken'"));
        EXPECT_THAT(e.what(), HasSubstr("model A"));
        EXPECT_THAT(e.what(), HasSubstr("model B"));
    }
}
