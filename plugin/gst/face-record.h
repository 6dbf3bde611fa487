/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The face record in GStreamer's terms: how feremotion writes one face's analysis (the "detection"
 * and "emotion" params of a GstVideoRegionOfInterestMeta, as DL Streamer's gvametaconvert reads
 * them, and the "face" structure of the element message), and how it reads upstream's faces. */
#pragma once

#include <string>
#include <vector>

#include <gst/video/gstvideometa.h>

#include "analyzer.h"

namespace feremotion {

// The buffer's regions of roi_type "face", each with its meta in `metas` (same index).
std::vector<UpstreamFace> readUpstreamFaces(GstBuffer *buffer, std::vector<GstVideoRegionOfInterestMeta *> &metas);

// Sets the meta's "detection" and "emotion" params, replacing any of those names upstream set.
void writeFaceParams(GstVideoRegionOfInterestMeta *meta, const TrackedFace &face, const FrameView &view,
                     const ModelInfo &info, const std::string &modelName);

// One face of the "feremotion" element message (a new structure named "face").
GstStructure *faceMessageStructure(const TrackedFace &face, const FrameView &view, const ModelInfo &info);

} // namespace feremotion
