// SPDX-License-Identifier: LGPL-2.1-or-later
// The latency a live stream needs from the element, learnt from how late its frames leave.
#pragma once

#include <atomic>
#include <chrono>

namespace feremotion {

// A frame "leaves late" by the time between its running time (plus upstream's own latency) and the
// moment the element hands it on. A sink that waits the reported latency plays every frame that
// leaves within it. The latency starts at one frame (what background detection adds) and rises, in
// whole frames, to cover the latest frame seen with a quarter to spare: a machine slower than
// expected settles on a latency it keeps instead of delivering late frames for the whole run. It
// never falls while running (each change makes the sinks re-plan), it ignores the first second
// (model warm-up, the first detection), and it stops at `maximum`: a stream later than that is one
// the machine cannot keep up with at all, reported once.
//
// observe() is called by the streaming thread; latency() may be called from any thread.
class LiveLatency {
public:
    using Duration = std::chrono::nanoseconds;

    explicit LiveLatency(Duration maximum = std::chrono::seconds(1)) : maximum_(maximum) {}

    enum class Change {
        None,
        Raised,  // latency() is higher: tell the pipeline
        Exceeded // a frame left later than the maximum (returned once until reset)
    };
    // One frame that left `late` after its running time, at `frameDuration` (0: no frame rate).
    Change observe(Duration late, Duration frameDuration);
    // The latency to report: at least one frame.
    Duration latency(Duration frameDuration) const;
    // At start, and when the stream starts over (a flush).
    void reset();

private:
    const Duration maximum_;
    std::atomic<Duration::rep> raised_{0}; // 0: not raised above one frame
    Duration::rep settlingFrames_ = 0;     // frames of the first second seen so far
    bool exceeded_ = false;
};

} // namespace feremotion
