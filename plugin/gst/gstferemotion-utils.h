/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers for the element glue: RAII for GLib/GStreamer objects, frames, exceptions. */
#pragma once

#include <exception>
#include <string>
#include <utility>

#include <gst/gst.h>
#include <gst/video/video.h>

#include "engine/vision/frame.h"

namespace feremotion {

// Holds GST_OBJECT_LOCK for a scope.
class ObjectLocker {
public:
    explicit ObjectLocker(gpointer object) : object_(GST_OBJECT(object)) { GST_OBJECT_LOCK(object_); }
    ~ObjectLocker() { GST_OBJECT_UNLOCK(object_); }
    ObjectLocker(const ObjectLocker &) = delete;
    ObjectLocker &operator=(const ObjectLocker &) = delete;

private:
    GstObject *object_;
};

// GStreamer calls an element's functions from C: no C++ exception may go back through it (it would
// end the process). Runs `body` and turns what it throws into an element error saying `what` the
// element was doing; returns `failed` then.
template <typename Result, typename Body>
Result without_exceptions(GstElement *element, const char *what, Result failed, Body &&body) noexcept
{
    try {
        return std::forward<Body>(body)();
    } catch (const std::exception &e) {
        GST_ELEMENT_ERROR(element, CORE, FAILED, ("Internal error while %s: %s", what, e.what()), (nullptr));
    } catch (...) {
        GST_ELEMENT_ERROR(element, CORE, FAILED, ("Internal error while %s", what), (nullptr));
    }
    return failed;
}

template <typename Body>
void without_exceptions(GstElement *element, const char *what, Body &&body) noexcept
{
    without_exceptions(element, what, 0, [&body] {
        std::forward<Body>(body)();
        return 0;
    });
}

// The engine's view of a mapped GStreamer video frame (no copy).
inline FrameView frameViewOf(GstVideoFrame *frame)
{
    FrameView view;
    switch (GST_VIDEO_FRAME_FORMAT(frame)) {
    case GST_VIDEO_FORMAT_BGR: view.format = PixelFormat::BGR; break;
    case GST_VIDEO_FORMAT_RGB: view.format = PixelFormat::RGB; break;
    case GST_VIDEO_FORMAT_BGRx: view.format = PixelFormat::BGRx; break;
    case GST_VIDEO_FORMAT_BGRA: view.format = PixelFormat::BGRA; break;
    case GST_VIDEO_FORMAT_RGBx: view.format = PixelFormat::RGBx; break;
    case GST_VIDEO_FORMAT_RGBA: view.format = PixelFormat::RGBA; break;
    case GST_VIDEO_FORMAT_I420: view.format = PixelFormat::I420; break;
    case GST_VIDEO_FORMAT_NV12: view.format = PixelFormat::NV12; break;
    case GST_VIDEO_FORMAT_GRAY8: view.format = PixelFormat::GRAY8; break;
    default:
        throw std::invalid_argument(std::string("unsupported video format ") +
                                    gst_video_format_to_string(GST_VIDEO_FRAME_FORMAT(frame)));
    }
    view.width = GST_VIDEO_FRAME_WIDTH(frame);
    view.height = GST_VIDEO_FRAME_HEIGHT(frame);
    for (guint i = 0; i < GST_VIDEO_FRAME_N_PLANES(frame) && i < 3; ++i) {
        view.planes[i] = static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(frame, i));
        view.strides[i] = GST_VIDEO_FRAME_PLANE_STRIDE(frame, i);
    }
    return view;
}

// Text from the application or from upstream metadata as valid UTF-8, which every format is (and
// without which nlohmann::json throws): bytes that are not become U+FFFD, and `replaced` is set.
inline std::string validUtf8(const char *text, bool &replaced)
{
    if (g_utf8_validate(text, -1, nullptr))
        return text;
    replaced = true;
    g_autofree gchar *valid = g_utf8_make_valid(text, -1);
    return valid;
}

} // namespace feremotion
