// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of LiveLatency: one frame at first, raised in whole frames to cover late frames, never
// lowered, the first second ignored, a stream beyond the maximum reported once.
#include <chrono>

#include <gtest/gtest.h>

#include "engine/vision/live_latency.h"

using namespace feremotion;
using namespace std::chrono_literals;

namespace {

constexpr LiveLatency::Duration kFrame = 33333333ns; // 30 frames/s

// Frames that leave on time until the first second has passed.
void settle(LiveLatency &latency, LiveLatency::Duration frame = kFrame)
{
    for (int i = 0; i < 100; ++i)
        latency.observe(0ns, frame);
}

} // namespace

TEST(LiveLatency, StartsAtOneFrame)
{
    LiveLatency latency;
    EXPECT_EQ(latency.latency(kFrame), kFrame);
}

TEST(LiveLatency, AFrameLaterThanOneFrameRaisesItInWholeFramesWithAQuarterToSpare)
{
    LiveLatency latency;
    settle(latency);
    EXPECT_EQ(latency.observe(40ms, kFrame), LiveLatency::Change::Raised);
    EXPECT_EQ(latency.latency(kFrame), 2 * kFrame); // 40 ms and a quarter: 50 ms, two frames
    EXPECT_EQ(latency.observe(70ms, kFrame), LiveLatency::Change::Raised);
    EXPECT_EQ(latency.latency(kFrame), 3 * kFrame); // 87.5 ms
}

TEST(LiveLatency, FramesWithinTheLatencyChangeNothingAndItNeverFalls)
{
    LiveLatency latency;
    settle(latency);
    latency.observe(40ms, kFrame);
    EXPECT_EQ(latency.observe(60ms, kFrame), LiveLatency::Change::None);
    for (int i = 0; i < 1000; ++i)
        latency.observe(1ms, kFrame);
    EXPECT_EQ(latency.latency(kFrame), 2 * kFrame);
}

TEST(LiveLatency, TheFirstSecondIsIgnored)
{
    LiveLatency latency;
    for (int i = 0; i < 30; ++i)
        EXPECT_EQ(latency.observe(500ms, kFrame), LiveLatency::Change::None) << "frame " << i;
    EXPECT_EQ(latency.latency(kFrame), kFrame);
    EXPECT_EQ(latency.observe(500ms, kFrame), LiveLatency::Change::Raised);
}

TEST(LiveLatency, AStreamLaterThanTheMaximumIsReportedOnceAndTheMaximumKept)
{
    LiveLatency latency(300ms);
    settle(latency);
    EXPECT_EQ(latency.observe(250ms, kFrame), LiveLatency::Change::Raised);
    EXPECT_EQ(latency.latency(kFrame), 300ms); // 10 frames would be 333 ms: the maximum instead
    EXPECT_EQ(latency.observe(400ms, kFrame), LiveLatency::Change::Exceeded);
    EXPECT_EQ(latency.observe(500ms, kFrame), LiveLatency::Change::None);
    EXPECT_EQ(latency.latency(kFrame), 300ms);
}

TEST(LiveLatency, AResetStartsOverAtOneFrame)
{
    LiveLatency latency;
    settle(latency);
    latency.observe(100ms, kFrame);
    latency.reset();
    EXPECT_EQ(latency.latency(kFrame), kFrame);
    EXPECT_EQ(latency.observe(100ms, kFrame), LiveLatency::Change::None); // settling again
}

TEST(LiveLatency, WithoutAFrameRateItRisesInStepsOfTenMilliseconds)
{
    LiveLatency latency;
    settle(latency, 0ns);
    EXPECT_EQ(latency.latency(0ns), 0ns);
    EXPECT_EQ(latency.observe(13ms, 0ns), LiveLatency::Change::Raised);
    EXPECT_EQ(latency.latency(0ns), 20ms);
}
