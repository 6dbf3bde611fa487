/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The face record in GStreamer's terms, written and read here only: how feremotion writes one face's
 * analysis (the "detection" and "emotion" params of a GstVideoRegionOfInterestMeta, as DL Streamer's
 * gvametaconvert reads them, and the "face" structure of the element message), how it reads
 * upstream's faces, and how the export reads any element's faces back. */
#pragma once

#include <string>
#include <vector>

#include <gst/video/gstvideometa.h>

#include "engine/vision/analyzer.h"
#include "export-formats.h"

namespace feremotion {

// The buffer's regions of roi_type "face", each with its meta in `metas` (same index).
std::vector<UpstreamFace> readUpstreamFaces(GstBuffer *buffer, std::vector<GstVideoRegionOfInterestMeta *> &metas);

// Sets the meta's "detection" and "emotion" params, replacing any of those names upstream set.
void writeFaceParams(GstVideoRegionOfInterestMeta *meta, const TrackedFace &face, const FrameView &view,
                     const ModelInfo &info, const std::string &modelName);

// One face of the "feremotion" element message (a new structure named "face").
GstStructure *faceMessageStructure(const TrackedFace &face, const FrameView &view, const ModelInfo &info);

// Every region of the buffer (any roi_type) as the export writes it, with box fractions of a
// width x height frame where no "detection" param gives them. Params of unexpected types read as
// absent; text that is not UTF-8 gets U+FFFD and sets `replacedText`.
std::vector<FaceRecord> readFaceRecords(GstBuffer *buffer, int width, int height, bool &replacedText);

} // namespace feremotion
