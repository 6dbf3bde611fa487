/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feremotion element: face detection and batched emotion classification on raw video. */
#pragma once

#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_FER_EMOTION (gst_fer_emotion_get_type())
G_DECLARE_FINAL_TYPE(GstFerEmotion, gst_fer_emotion, GST, FER_EMOTION, GstVideoFilter)

GST_ELEMENT_REGISTER_DECLARE(feremotion);

G_END_DECLS
