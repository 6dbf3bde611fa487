// SPDX-License-Identifier: LGPL-2.1-or-later
// The latency a live stream needs from the element, learnt from the time its frames take.
#pragma once

#include <atomic>
#include <chrono>

namespace feremotion {

// A live frame is due at its running time plus upstream's latency. The element hands it on once it
// has processed the frames before it and then this one: it leaves late by that wait plus its own
// time. Only the element's own time counts here, not a wait for upstream (a late camera) or for
// downstream (a sink holding the streaming thread until the frame's time), which would otherwise
// feed back into the latency without end. A queue after the element lets frames leave as modelled.
//
// The latency starts at two frames or 100 ms, whichever is longer, in whole frames (three at 30
// frames/s): a frame may take that long as long as the frames keep up on average. A frame's own time
// is absolute, not a share of the frame rate: on a 2-core machine with the detector on the other core
// most 1280x720 frames take 5-20 ms, one in a hundred over 30 ms, and now and then one waits for a
// core up to ~65 ms (the machine busy elsewhere); a frame may also start up to one frame time behind
// before catch-up passes the next ones on (gstferemotion.cpp). It rises, in whole frames,
// to cover the latest frame seen with a quarter to spare: a machine slower than expected settles on a
// latency it keeps instead of delivering late frames for the whole run. It never falls while
// running (each change makes the sinks re-plan), it ignores the first 30 frames (model warm-up, the
// first detection), and it stops at `maximum`: a stream later than that is one the machine cannot
// keep up with at all, reported once.
//
// observe() is called by the streaming thread; latency() may be called from any thread.
class LiveLatency {
public:
    using Duration = std::chrono::nanoseconds;

    explicit LiveLatency(int startingFrames = 2, Duration startingTime = std::chrono::milliseconds(100),
                         Duration maximum = std::chrono::seconds(1))
        : startingFrames_(startingFrames), startingTime_(startingTime), maximum_(maximum)
    {
    }

    enum class Change {
        None,
        Raised,  // latency() is higher: tell the pipeline
        Exceeded // a frame left later than the maximum (returned once until reset)
    };
    // One frame, due at `due` (any time origin, the same for every frame), processed in `took`, at
    // `frameDuration` (0: no frame rate).
    Change observe(Duration due, Duration took, Duration frameDuration);
    // How late a frame due at `due` starts: the time the frames before it still take past `due`
    // (zero when they have left by then).
    Duration behind(Duration due) const;
    // The latency to report: at least the starting frames and time.
    Duration latency(Duration frameDuration) const;
    // At start, and when the stream starts over.
    void reset();

private:
    const int startingFrames_;
    const Duration startingTime_;
    const Duration maximum_;
    std::atomic<Duration::rep> raised_{0}; // 0: not raised above the starting frames
    Duration lastLeft_ = Duration::min();  // when the previous frame left, as modelled
    int framesSeen_ = 0;
    bool exceeded_ = false;
};

} // namespace feremotion
