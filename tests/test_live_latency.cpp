// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification of LiveLatency: two frames or 100 ms at first, raised in whole frames to cover the time frames
// take (their own and the wait for the frames before them), never lowered, the first frames ignored,
// a stream beyond the maximum reported once.
#include <chrono>

#include <gtest/gtest.h>

#include "engine/vision/live_latency.h"

using namespace feremotion;
using namespace std::chrono_literals;
using Change = LiveLatency::Change;
using Duration = LiveLatency::Duration;

namespace {

constexpr Duration kFrame = 33333333ns; // 30 frames/s

// Frames due one frame duration apart, as a live source delivers them; the latency starting at one
// frame, so that the specs below count from one.
struct LiveStream {
    explicit LiveStream(Duration maximum = 1s) : latency(1, 0ns, maximum) {}
    Change next(Duration took) { return latency.observe(static_cast<int>(frames++) * kFrame, took, kFrame); }
    // The first 30 frames, which only start the model.
    void settle()
    {
        for (int i = 0; i < 30; ++i)
            next(1ms);
    }
    LiveLatency latency;
    long frames = 0;
};

} // namespace

TEST(LiveLatency, StartsAtOneHundredMillisecondsInWholeFrames)
{
    EXPECT_EQ(LiveLatency().latency(kFrame), 3 * kFrame) << "30 frames/s";
    EXPECT_EQ(LiveLatency().latency(40ms), 120ms) << "25 frames/s";
    EXPECT_EQ(LiveLatency().latency(16666666ns), 6 * 16666666ns) << "60 frames/s";
    EXPECT_EQ(LiveLatency().latency(0ns), 100ms) << "no frame rate";
}

TEST(LiveLatency, StartsAtTwoFramesAtLowFrameRates)
{
    EXPECT_EQ(LiveLatency().latency(100ms), 200ms) << "10 frames/s";
}

TEST(LiveLatency, AFrameTakingLessThanTheStartingLatencyChangesNothing)
{
    LiveLatency latency;
    for (int i = 0; i < 30; ++i)
        latency.observe(i * kFrame, 1ms, kFrame);
    EXPECT_EQ(latency.observe(30 * kFrame, 65ms, kFrame), Change::None);
    EXPECT_EQ(latency.observe(31 * kFrame, 65ms, kFrame), Change::None);  // 65 - 33.3 + 65 = 96.7 ms
    EXPECT_EQ(latency.observe(32 * kFrame, 40ms, kFrame), Change::Raised); // 96.7 - 33.3 + 40 = 103.3 ms
}

TEST(LiveLatency, AFrameThatTakesLongerRaisesItInWholeFramesWithAQuarterToSpare)
{
    LiveStream stream;
    stream.settle();
    EXPECT_EQ(stream.next(40ms), Change::Raised);
    EXPECT_EQ(stream.latency.latency(kFrame), 2 * kFrame); // 40 ms and a quarter: 50 ms, two frames
    stream.next(1ms);
    EXPECT_EQ(stream.next(75ms), Change::Raised);
    EXPECT_EQ(stream.latency.latency(kFrame), 3 * kFrame); // 93.75 ms
}

TEST(LiveLatency, FramesThatKeepUpChangeNothingAndItNeverFalls)
{
    LiveStream stream;
    stream.settle();
    stream.next(40ms);
    for (int i = 0; i < 1000; ++i)
        EXPECT_EQ(stream.next(30ms), Change::None);
    EXPECT_EQ(stream.latency.latency(kFrame), 2 * kFrame);
}

// Slow frames in a row: each waits for the one before it.
TEST(LiveLatency, AFrameIsLateByItsWaitForTheFramesBeforeItToo)
{
    LiveStream stream;
    stream.settle();
    EXPECT_EQ(stream.next(60ms), Change::Raised); // 75 ms: three frames, 100 ms
    EXPECT_EQ(stream.next(60ms), Change::None);   // waited 26.7 ms: leaves 86.7 ms after it was due
    EXPECT_EQ(stream.next(60ms), Change::Raised); // waited 53.3 ms: 113.3 ms late
    EXPECT_EQ(stream.latency.latency(kFrame), 5 * kFrame);
}

TEST(LiveLatency, TheFirstThirtyFramesAreIgnored)
{
    LiveLatency latency(1, 0ns);
    for (int i = 0; i < 30; ++i)
        EXPECT_EQ(latency.observe(i * 10s, 500ms, kFrame), Change::None) << "frame " << i;
    EXPECT_EQ(latency.latency(kFrame), kFrame);
    EXPECT_EQ(latency.observe(300s, 500ms, kFrame), Change::Raised);
}

TEST(LiveLatency, AStreamLaterThanTheMaximumIsReportedOnceAndTheMaximumKept)
{
    LiveStream stream(300ms);
    stream.settle();
    EXPECT_EQ(stream.next(250ms), Change::Raised);
    EXPECT_EQ(stream.latency.latency(kFrame), 300ms); // 10 frames would be 333 ms: the maximum instead
    EXPECT_EQ(stream.next(400ms), Change::Exceeded);
    EXPECT_EQ(stream.next(500ms), Change::None);
    EXPECT_EQ(stream.latency.latency(kFrame), 300ms);
}

TEST(LiveLatency, AResetStartsOverAtTheStartingFrames)
{
    LiveStream stream;
    stream.settle();
    stream.next(100ms);
    stream.latency.reset();
    EXPECT_EQ(stream.latency.latency(kFrame), kFrame);
    EXPECT_EQ(stream.next(100ms), Change::None); // the first frames again
}

TEST(LiveLatency, WithoutAFrameRateItRisesInStepsOfTenMilliseconds)
{
    LiveLatency latency(1, 0ns);
    for (int i = 0; i < 30; ++i)
        latency.observe(i * 50ms, 1ms, 0ns);
    EXPECT_EQ(latency.latency(0ns), 0ns);
    EXPECT_EQ(latency.observe(30 * 50ms, 13ms, 0ns), Change::Raised);
    EXPECT_EQ(latency.latency(0ns), 20ms);
}

// behind(): what the element's catch-up looks at before a frame.
TEST(LiveLatency, AFrameStartsBehindByWhatTheFramesBeforeItTookPastItsTime)
{
    LiveStream stream;
    EXPECT_EQ(stream.latency.behind(0ms), 0ms) << "nothing ran before the first frame";
    stream.next(80ms); // frame 0 leaves at 80 ms
    EXPECT_EQ(stream.latency.behind(kFrame), 80ms - kFrame);
    stream.next(1ms); // frame 1 starts at 80 ms and leaves at 81 ms
    EXPECT_EQ(stream.latency.behind(2 * kFrame), 81ms - 2 * kFrame);
    stream.next(1ms);
    EXPECT_EQ(stream.latency.behind(3 * kFrame), 0ms) << "back on time";
}
