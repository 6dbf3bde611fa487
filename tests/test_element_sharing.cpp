// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of feremotion elements sharing one model (model-instance-id).
#include "element_test_helpers.h"

using namespace feremotion;
using namespace feremotion::test;
using ::testing::HasSubstr;

TEST_F(ElementSharing, AModelInstanceIdHeldInAnotherPrecisionFailsTheStateChange)
{
    auto holder = harness("detector=full-frame model-instance-id=fp32-id precision=fp32");
    EXPECT_THAT(errorFor("model=" + model_ + " model-instance-id=fp32-id precision=bf16"),
                AllOf(HasSubstr("model-instance-id 'fp32-id'"), HasSubstr("in bf16"), HasSubstr(" UTC) on device")));
}

TEST_F(ElementSharing, ElementsWithOneModelInstanceIdGiveTheResultsOfSeparateModels)
{
    auto separate = harness("detector=full-frame");
    auto sharedA = harness("detector=full-frame model-instance-id=element-test batch-timeout=1");
    auto sharedB = harness("detector=full-frame model-instance-id=element-test batch-timeout=1");
    const auto expected = pushFrame(separate.get(), frame()).probabilities;
    EXPECT_EQ(pushFrame(sharedA.get(), frame()).probabilities, expected);
    EXPECT_EQ(pushFrame(sharedB.get(), frame()).probabilities, expected);
}

TEST_F(ElementSharing, AFlushEndsTheWaitForTheOtherStreamsOfASharedModel)
{
    auto waiting = harness("detector=full-frame model-instance-id=flush-test batch-timeout=10000");
    auto silent = harness("detector=full-frame model-instance-id=flush-test batch-timeout=10000"); // never pushes
    const auto begin = std::chrono::steady_clock::now();
    auto push = std::async(std::launch::async, [&] { return gst_harness_push(waiting.get(), frame()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(push.wait_for(std::chrono::seconds(0)), std::future_status::timeout) << "the frame did not wait";
    gst_harness_push_event(waiting.get(), gst_event_new_flush_start());
    push.get();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5)) << "the flush waited for batch-timeout";
    gst_harness_push_event(waiting.get(), gst_event_new_flush_stop(TRUE));
}

TEST_F(ElementSharing, SharingElementsInOneStreamingThreadDoNotWaitForEachOther)
{
    const std::string element =
        "feremotion model=" + model_ + " detector=full-frame model-instance-id=chain-test batch-timeout=10000";
    Harness chain = makeHarness(element + " ! " + element);
    gst_harness_set_src_caps_str(chain.get(), capsFor(GST_VIDEO_FORMAT_RGB, 320, 240).c_str());
    const auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < 2; ++i) {
        GstBuffer *out = gst_harness_push_and_pull(chain.get(), frame());
        EXPECT_EQ(roiMetas(out).size(), 2u) << "one face from each element";
        gst_buffer_unref(out);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5)) << "an element waited for batch-timeout";
}

TEST_F(ElementSharing, WithASharedModelTheLatencyIncludesTheBatchTimeout)
{
    auto shared = harness("detector=full-frame model-instance-id=latency-test batch-timeout=40");
    auto own = harness("detector=full-frame batch-timeout=40");
    for (GstHarness *h : {shared.get(), own.get()}) {
        gst_harness_set_live(h, TRUE);
        gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
    }
    EXPECT_EQ(gst_harness_query_latency(shared.get()), 50 * GST_MSECOND);
    EXPECT_EQ(gst_harness_query_latency(own.get()), 10 * GST_MSECOND);
}

TEST_F(ElementSharing, AModelInstanceIdHeldWithAnotherModelFailsTheStateChange)
{
    auto holder = harness("detector=full-frame model-instance-id=held-id");
    TestBundle spec;
    spec.seed = 5;
    const std::string other = writeTestBundle(dir_->file("other.pt"), spec);
    EXPECT_THAT(errorFor("model=" + other + " model-instance-id=held-id"),
                AllOf(HasSubstr("model-instance-id 'held-id'"), HasSubstr("other.pt")));
}

TEST_F(ElementSharing, AGroupSharingAModelCanRestartWithAnotherModel)
{
    TestBundle spec;
    spec.seed = 9;
    const std::string other = writeTestBundle(dir_->file("swap.pt"), spec);
    std::vector<GstElement *> group;
    for (int i = 0; i < 2; ++i) {
        group.push_back(gst_element_factory_make("feremotion", nullptr));
        g_object_set(group.back(), "model", model_.c_str(), "model-instance-id", "swap-id", nullptr);
        EXPECT_NE(gst_element_set_state(group.back(), GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    }
    for (GstElement *element : group) {
        gst_element_set_state(element, GST_STATE_NULL);
        g_object_set(element, "model", other.c_str(), nullptr);
    }
    for (GstElement *element : group)
        EXPECT_NE(gst_element_set_state(element, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE)
            << "a stopped element still held the old model";
    for (GstElement *element : group) {
        gst_element_set_state(element, GST_STATE_NULL);
        gst_object_unref(element);
    }
}
