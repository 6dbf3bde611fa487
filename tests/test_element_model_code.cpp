// SPDX-License-Identifier: LGPL-2.1-or-later
// Specification: the element runs a bundle's code only within its trust-model, max-input-size and
// forward-timeout properties, and says so when it refuses or stops.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "frames.h"
#include "gst_support.h"
#include "support.h"

using namespace feremotion::test;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

class ElementModelCode : public ::testing::Test {
protected:
    static void SetUpTestSuite() { initGStreamer(); }

    std::string errorFor(const std::string &properties)
    {
        GstElement *element = gst_parse_launch(("feremotion " + properties).c_str(), nullptr);
        const std::string error = stateChangeError(element);
        gst_object_unref(element);
        return error;
    }

    TempDir dir_;
};

GParamSpec *propertySpec(const char *name)
{
    GstElementFactory *factory = gst_element_factory_find("feremotion");
    GstElement *element = gst_element_factory_create(factory, nullptr);
    GParamSpec *spec = g_object_class_find_property(G_OBJECT_GET_CLASS(element), name);
    gst_object_unref(element);
    gst_object_unref(factory);
    return spec; // owned by the class, which stays loaded
}

} // namespace

TEST_F(ElementModelCode, ABundleCallingAFileOperatorFailsTheStateChangeNamingItAndTheFile)
{
    Victim victim(dir_);
    TestBundle spec;
    spec.forwardPrelude = victim.overwrite("x");
    const std::string path = writeTestBundle(dir_.file("hostile.pt"), spec);
    EXPECT_THAT(errorFor("model=" + path), AllOf(HasSubstr(path), HasSubstr("aten::from_file"), HasSubstr("trust-model")));
    EXPECT_TRUE(victim.untouched());
}

TEST_F(ElementModelCode, TrustModelRunsTheBundleAsItIs)
{
    Victim victim(dir_);
    TestBundle spec;
    spec.forwardPrelude = victim.overwrite("x");
    const std::string path = writeTestBundle(dir_.file("trusted.pt"), spec);
    EXPECT_EQ(errorFor("model=" + path + " trust-model=true"), "");
    EXPECT_FALSE(victim.untouched());
}

TEST_F(ElementModelCode, ABundleWithALargerInputThanMaxInputSizeFailsTheStateChange)
{
    TestBundle spec;
    spec.width = spec.height = 96;
    const std::string path = writeTestBundle(dir_.file("large.pt"), spec);
    EXPECT_THAT(errorFor("model=" + path + " max-input-size=64"), AllOf(HasSubstr(path), HasSubstr("96x96")));
    EXPECT_EQ(errorFor("model=" + path + " max-input-size=96"), "");
}

TEST_F(ElementModelCode, AForwardPassPastForwardTimeoutStopsTheStreamWithAnErrorNamingTheModel)
{
    TestBundle spec;
    spec.forwardPrelude = slowForwardWhen("float(x.mean()) > 0.9"); // white faces; the load-time passes are not
    const std::string path = writeTestBundle(dir_.file("slow-on-white.pt"), spec);
    Harness h = makeHarness("feremotion detector=full-frame forward-timeout=50 model=" + path);
    gst_harness_set_src_caps_str(h.get(), capsFor(GST_VIDEO_FORMAT_GRAY8, 64, 64).c_str());
    GstBus *bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    EXPECT_EQ(gst_harness_push(h.get(), bufferFromBgr(cv::Mat(64, 64, CV_8UC3, cv::Scalar::all(255)), GST_VIDEO_FORMAT_GRAY8)),
              GST_FLOW_ERROR);
    GstMessage *message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    ASSERT_NE(message, nullptr);
    GError *error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    EXPECT_THAT(error->message, AllOf(HasSubstr(path), HasSubstr("time limit of 50 ms")));
    g_error_free(error);
    gst_message_unref(message);
    gst_element_set_bus(h->element, nullptr);
    gst_object_unref(bus);
}

TEST_F(ElementModelCode, TheLimitsAreOnByDefault)
{
    EXPECT_FALSE(G_PARAM_SPEC_BOOLEAN(propertySpec("trust-model"))->default_value);
    EXPECT_EQ(G_PARAM_SPEC_UINT(propertySpec("max-input-size"))->default_value, 512u);
    EXPECT_EQ(G_PARAM_SPEC_UINT(propertySpec("forward-timeout"))->default_value, 10000u);
}
