// SPDX-License-Identifier: LGPL-2.1-or-later
// The latency a live stream needs from the element, learnt from the time its frames take.
#include "engine/vision/live_latency.h"

#include <algorithm>

namespace feremotion {

namespace {

constexpr int kSettlingFrames = 30;
// Without a frame rate the latency rises in steps of this size.
constexpr std::chrono::milliseconds kStepWithoutFrameRate{10};

} // namespace

LiveLatency::Change LiveLatency::observe(Duration due, Duration took, Duration frameDuration)
{
    lastLeft_ = std::max(due, lastLeft_) + took;
    const Duration late = lastLeft_ - due;
    if (framesSeen_ < kSettlingFrames) {
        ++framesSeen_;
        return Change::None;
    }
    if (late <= latency(frameDuration))
        return Change::None;
    if (late > maximum_) {
        if (exceeded_)
            return Change::None;
        exceeded_ = true;
        raised_ = maximum_.count();
        return Change::Exceeded;
    }
    const Duration step = frameDuration > Duration::zero() ? frameDuration : Duration(kStepWithoutFrameRate);
    const Duration wanted = late + late / 4;
    const Duration::rep steps = (wanted.count() + step.count() - 1) / step.count();
    raised_ = std::min(steps * step.count(), maximum_.count());
    return Change::Raised;
}

LiveLatency::Duration LiveLatency::behind(Duration due) const
{
    return lastLeft_ > due ? lastLeft_ - due : Duration::zero();
}

LiveLatency::Duration LiveLatency::latency(Duration frameDuration) const
{
    // Whole frames, rounded up unless less than 1% of a frame is missing (3 frames at 30 frames/s are
    // a nanosecond short of 100 ms).
    const Duration startingTime =
        frameDuration > Duration::zero()
            ? (startingTime_ + frameDuration * 99 / 100) / frameDuration * frameDuration
            : startingTime_;
    return std::max({startingFrames_ * frameDuration, startingTime, Duration(raised_.load())});
}

void LiveLatency::reset()
{
    raised_ = 0;
    lastLeft_ = Duration::min();
    framesSeen_ = 0;
    exceeded_ = false;
}

} // namespace feremotion
