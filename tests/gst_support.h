// SPDX-License-Identifier: LGPL-2.1-or-later
// GStreamer test helpers: harness ownership, buffers from images, ROI meta access.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <opencv2/core.hpp>

namespace feremotion::test {

using Harness = std::unique_ptr<GstHarness, decltype(&gst_harness_teardown)>;
Harness makeHarness(const std::string &launchLine);

// Initialises GStreamer once and makes the build tree's plugin findable.
void initGStreamer();

// A buffer of `format` holding the BGR image, laid out as GStreamer's default for the caps.
GstBuffer *bufferFromBgr(const cv::Mat &bgr, GstVideoFormat format);
std::string capsFor(GstVideoFormat format, int width, int height);

std::vector<GstVideoRegionOfInterestMeta *> roiMetas(GstBuffer *buffer);

// Sets `element` to PLAYING and returns the error message it posts ("" when the change succeeds).
std::string stateChangeError(GstElement *element);

} // namespace feremotion::test
