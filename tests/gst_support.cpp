// SPDX-License-Identifier: LGPL-2.1-or-later
// GStreamer test helpers.
#include "gst_support.h"

#include <cstring>

#include <opencv2/imgproc.hpp>

namespace feremotion::test {

Harness makeHarness(const std::string &launchLine)
{
    Harness h(gst_harness_new_parse(launchLine.c_str()), gst_harness_teardown);
    // A harness answers the latency query as live unless told otherwise; the tests push frames as
    // a file would (background-detection=auto then detects in the streaming thread).
    gst_harness_set_live(h.get(), FALSE);
    return h;
}

void initGStreamer()
{
    static bool done = [] {
        gst_init(nullptr, nullptr);
        return true;
    }();
    (void)done;
}

std::string capsFor(GstVideoFormat format, int width, int height)
{
    return std::string("video/x-raw,format=") + gst_video_format_to_string(format) +
           ",width=" + std::to_string(width) + ",height=" + std::to_string(height) + ",framerate=30/1";
}

GstBuffer *bufferFromBgr(const cv::Mat &bgr, GstVideoFormat format)
{
    GstVideoInfo info;
    gst_video_info_set_format(&info, format, static_cast<guint>(bgr.cols), static_cast<guint>(bgr.rows));
    GstBuffer *buffer = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
    GstVideoFrame frame;
    gst_video_frame_map(&frame, &info, buffer, GST_MAP_WRITE);
    std::vector<cv::Mat> planes;
    cv::Mat converted;
    switch (format) {
    case GST_VIDEO_FORMAT_BGR: planes = {bgr}; break;
    case GST_VIDEO_FORMAT_RGB: cv::cvtColor(bgr, converted, cv::COLOR_BGR2RGB); planes = {converted}; break;
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_BGRA: cv::cvtColor(bgr, converted, cv::COLOR_BGR2BGRA); planes = {converted}; break;
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_RGBA: cv::cvtColor(bgr, converted, cv::COLOR_BGR2RGBA); planes = {converted}; break;
    case GST_VIDEO_FORMAT_GRAY8: cv::cvtColor(bgr, converted, cv::COLOR_BGR2GRAY); planes = {converted}; break;
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_NV12: {
        cv::cvtColor(bgr, converted, cv::COLOR_BGR2YUV_I420);
        const int w = bgr.cols, h = bgr.rows;
        cv::Mat y = converted.rowRange(0, h);
        cv::Mat u(h / 2, w / 2, CV_8UC1, converted.ptr(h));
        cv::Mat v(h / 2, w / 2, CV_8UC1, converted.ptr(h) + (w / 2) * (h / 2));
        if (format == GST_VIDEO_FORMAT_I420) {
            planes = {y, u, v};
        } else {
            cv::Mat uv;
            cv::merge(std::vector<cv::Mat>{u, v}, uv);
            planes = {y, uv};
        }
        break;
    }
    default: break;
    }
    for (size_t p = 0; p < planes.size(); ++p) {
        auto *dst = static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, p));
        const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p);
        const size_t rowBytes = planes[p].cols * planes[p].elemSize();
        for (int r = 0; r < planes[p].rows; ++r)
            std::memcpy(dst + static_cast<size_t>(r) * stride, planes[p].ptr(r), rowBytes);
    }
    gst_video_frame_unmap(&frame);
    return buffer;
}

std::vector<GstVideoRegionOfInterestMeta *> roiMetas(GstBuffer *buffer)
{
    std::vector<GstVideoRegionOfInterestMeta *> metas;
    gpointer state = nullptr;
    while (GstMeta *meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
        metas.push_back(reinterpret_cast<GstVideoRegionOfInterestMeta *>(meta));
    return metas;
}

std::string stateChangeError(GstElement *element)
{
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(element, bus);
    const GstStateChangeReturn result = gst_element_set_state(element, GST_STATE_PLAYING);
    std::string error;
    if (result == GST_STATE_CHANGE_FAILURE) {
        error = "(state change failed without an error message)";
        if (GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
            GError *gerror = nullptr;
            gchar *debug = nullptr;
            gst_message_parse_error(message, &gerror, &debug);
            error = std::string(gerror->message) + " | " + (debug ? debug : "");
            g_error_free(gerror);
            g_free(debug);
            gst_message_unref(message);
        }
    }
    gst_element_set_state(element, GST_STATE_NULL);
    gst_element_set_bus(element, nullptr);
    gst_object_unref(bus);
    return error;
}

} // namespace feremotion::test
