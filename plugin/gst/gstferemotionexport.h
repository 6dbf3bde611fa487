/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The feremotionexport element: writes the faces in ROI metadata to a file as frames pass. */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_FER_EMOTION_EXPORT (gst_fer_emotion_export_get_type())
G_DECLARE_FINAL_TYPE(GstFerEmotionExport, gst_fer_emotion_export, GST, FER_EMOTION_EXPORT, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(feremotionexport);

G_END_DECLS
