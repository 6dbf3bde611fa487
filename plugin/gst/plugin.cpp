/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Registers the feremotion plugin's elements. */
#include <gst/gst.h>

#include "gstferemotion.h"
#include "gstferemotionexport.h"

static gboolean plugin_init(GstPlugin *plugin)
{
    gboolean ok = GST_ELEMENT_REGISTER(feremotion, plugin);
    ok &= GST_ELEMENT_REGISTER(feremotionexport, plugin);
    return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, feremotion,
                  "Facial emotion analytics: face detection and LibTorch emotion classification",
                  plugin_init, VERSION, "LGPL", PACKAGE, "Unknown package origin")
