// SPDX-License-Identifier: LGPL-2.1-or-later
// Benchmark: pipeline frames/s per detector against decoding alone and a Python loop, the
// classifier's faces/s per batch size and thread count with its overhead split, and many streams
// at once with shared or separate models and several detection intervals. Prints figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gst/gst.h>
#include <gst/video/video.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "engine/model/device.h"
#include "engine/vision/classifier.h"
#include "engine/vision/detector.h"
#include "live_latency.h"
#include "scoped_environment.h"

using namespace feremotion;
using feremotion::bench::ScopedEnvironment;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string shared = "../shared";
    std::string model;
    std::string sourceDir = ".";
    std::string buildDir = "build";
    bool python = true;
    int repeats = 1;
};

struct PipelineRun {
    int frames = 0;
    int framesWithFaces = 0;
    long faces = 0;
    double seconds = 0;
    std::string error;
    double fps() const { return seconds > 0 ? (frames - 1) / seconds : 0; }
};

void onHandoff(GstElement *, GstBuffer *buffer, GstPad *, gpointer data)
{
    auto *run = static_cast<PipelineRun *>(data);
    if (run->frames == 0)
        run->seconds = -std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    ++run->frames;
    int faces = 0;
    gpointer state = nullptr;
    while (gst_buffer_iterate_meta_filtered(buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
        ++faces;
    run->faces += faces;
    run->framesWithFaces += faces > 0;
}

// Plays the pipeline to EOS or an error, then stops and releases it: the error ("" at EOS) and
// when the end came.
struct Ending {
    std::string error;
    Clock::time_point at;
};

Ending playToEnd(GstElement *pipeline, GstClockTime timeout)
{
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *message =
        gst_bus_timed_pop_filtered(bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    Ending ending{"", Clock::now()};
    if (!message) {
        ending.error = "timeout";
    } else {
        if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
            GError *gerror = nullptr;
            gst_message_parse_error(message, &gerror, nullptr);
            ending.error = gerror->message;
            g_error_free(gerror);
        }
        gst_message_unref(message);
    }
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return ending;
}

// Times a pipeline from its first frame at the sink to EOS, so plugin and model loading and
// preroll stay out of the figure.
PipelineRun runPipeline(const std::string &launch, bool countFrames = true)
{
    PipelineRun run;
    GError *error = nullptr;
    const std::string full = countFrames ? launch + " ! fakesink name=sink sync=false signal-handoffs=true" : launch;
    GstElement *pipeline = gst_parse_launch(full.c_str(), &error);
    if (error) {
        run.error = error->message;
        g_clear_error(&error);
        if (pipeline)
            gst_object_unref(pipeline);
        return run;
    }
    if (countFrames) {
        GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
        g_signal_connect(sink, "handoff", G_CALLBACK(onHandoff), &run);
        gst_object_unref(sink);
    }
    const Ending ending = playToEnd(pipeline, 600 * GST_SECOND);
    run.seconds += std::chrono::duration<double>(ending.at.time_since_epoch()).count();
    run.error = ending.error;
    return run;
}

std::string runCommand(const std::string &command)
{
    std::string output;
    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
        return output;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0)
        output.append(chunk, n);
    pclose(pipe);
    return output;
}

// A 1280x720 H.264 clip made from video_01 (the shared media has none), cached in /tmp.
std::string make720pClip(const std::string &source)
{
    const std::string path = (fs::temp_directory_path() / "feremotion-bench-720p.mp4").string();
    if (fs::exists(path))
        return path;
    const std::string temporary = path + ".part";
    const PipelineRun run = runPipeline("filesrc location=" + source +
                                            " ! decodebin ! videoconvert ! videoscale ! video/x-raw,width=1280,height=720 "
                                            "! openh264enc bitrate=4000000 ! h264parse ! mp4mux ! filesink location=" +
                                            temporary,
                                        false);
    if (!run.error.empty())
        throw std::runtime_error("cannot make the 1280x720 clip: " + run.error);
    fs::rename(temporary, path);
    return path;
}

// One row of the pipelines table: frames/s, as a share of decoding alone and a multiple of the
// Python loop's where those are given, and the "precision | recall" cells.
void printRow(const std::string &clip, const std::string &what, const PipelineRun &run, double decodeFps = 0,
              double loopFps = 0, const std::string &quality = " | ")
{
    if (!run.error.empty()) {
        std::printf("| %s | %s | error: %s | | | | | | |\n", clip.c_str(), what.c_str(), run.error.c_str());
        return;
    }
    const std::string ofDecode = decodeFps > 0 ? std::to_string(static_cast<int>(100 * run.fps() / decodeFps + 0.5)) + "%" : "";
    const std::string ofLoop = loopFps > 0 ? std::to_string(run.fps() / loopFps).substr(0, 4) + "x" : "";
    std::printf("| %s | %s | %d | %.1f | %s | %d / %ld | %s | %s |\n", clip.c_str(), what.c_str(), run.frames, run.fps(),
                ofDecode.c_str(), run.framesWithFaces, run.faces, ofLoop.c_str(), quality.c_str());
}

PipelineRun best(const std::string &launch, int repeats)
{
    PipelineRun result;
    for (int i = 0; i < repeats; ++i) {
        PipelineRun run = runPipeline(launch);
        if (i == 0 || (run.error.empty() && run.fps() > result.fps()))
            result = run;
    }
    return result;
}

// Precision and recall of the element's faces against YuNet on every frame (bench/detector_precision.py).
std::string precisionAndRecall(const Options &options, const std::string &clip, const std::string &properties)
{
    const std::string yunet = options.shared + "/models/" + yunetReleaseForThisOpenCV();
    const std::string output = runCommand("/usr/bin/python3 " + options.sourceDir + "/bench/detector_precision.py --json --build " +
                                          options.buildDir + " --yunet '" + yunet + "' '" + clip + "' -- '" + properties +
                                          "' 2>&1");
    try {
        const auto result = nlohmann::json::parse(output);
        char text[64];
        std::snprintf(text, sizeof text, "%.3f | %.3f", result["precision"].get<double>(), result["recall"].get<double>());
        return text;
    } catch (const std::exception &) {
        return "failed: " + output + " |";
    }
}


// Issue #21's table: the element with no properties set (detector=auto with and without a YuNet
// file), every-frame Haar (the old defaults) and every-frame YuNet against the every-frame Python
// loop, with precision and recall against YuNet on every frame.
void benchmarkPipelines(const Options &options)
{
    const std::string yunetFolder = options.shared + "/models";
    const std::string yunet = yunetFolder + "/" + yunetReleaseForThisOpenCV();
    std::vector<std::pair<std::string, std::string>> clips{{"video_01 (640x480, 89 frames)", options.shared + "/media/video_01.mp4"},
                                                           {"video_02 (640x480, 521 frames)", options.shared + "/media/video_02.mp4"}};
    clips.push_back({"video_01 at 1280x720", make720pClip(clips[0].second)});
    // A film trailer with cuts (Debian's opencv-doc, which scripts/setup-debian.sh installs).
    const std::string trailer = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
    if (fs::exists(trailer))
        clips.push_back({"Megamind.avi (720x528, 270 frames, 4 cuts)", trailer});
    struct Row {
        std::string name, properties;
        bool yunetFound;
    };
    const auto nth = [](int n) { return std::to_string(n) + (n == 2 ? "nd" : n == 3 ? "rd" : "th"); };
    const auto everyNth = [&](DetectorKind kind) {
        return "every " + nth(defaultDetectionInterval(kind)) + " frame, " + nth(defaultStillDetectionInterval(kind)) +
               " while still";
    };
    const std::vector<Row> rows{
        {"feremotion (no properties; YuNet file found: yunet, " + everyNth(DetectorKind::YuNet) + ")", "", true},
        {"feremotion (no properties; no YuNet file: haar, " + everyNth(DetectorKind::Haar) + ")", "detector=haar", false},
        {"feremotion detector=haar detection-interval=1 (every frame)", "detector=haar detection-interval=1", false},
        {"feremotion detector=yunet detection-interval=1 (every frame)",
         "detector=yunet detection-interval=1 detector-model=" + yunet, false},
    };

    std::printf("\n## Pipelines (best of %d; timed from the first frame at the sink to EOS)\n\n", options.repeats);
    std::printf("Precision and recall: the faces' boxes against YuNet on every frame (score 0.7, IoU 0.3; "
                "bench/detector_precision.py), on the clip the row names.\n\n");
    std::printf("| clip | pipeline | frames | frames/s | of decode alone | frames with faces / faces | of the Python "
                "loop | precision | recall |\n|---|---|---|---|---|---|---|---|---|\n");
    for (const auto &[name, path] : clips) {
        const std::string decode = "filesrc location=" + path + " ! decodebin";
        const PipelineRun alone = best(decode, options.repeats);
        printRow(name, "decode", alone, 0);
        double loop = 0;
        if (options.python) {
            const std::string output = runCommand("/usr/bin/python3 " + options.sourceDir + "/bench/python_loop.py " +
                                                  path + " " + options.model + " 2>/dev/null");
            try {
                const auto result = nlohmann::json::parse(output);
                loop = result["fps"].get<double>();
                std::printf("| %s | Python loop (cv2 Haar + python3-torch, every frame) | %d | %.1f | | %d / %d | 1.00x | | |\n",
                            name.c_str(), result["frames"].get<int>(), loop, result["frames_with_faces"].get<int>(),
                            result["faces"].get<int>());
            } catch (const std::exception &) {
                std::printf("| %s | Python loop | failed: %s | | | | | | |\n", name.c_str(), output.c_str());
            }
        }
        for (const Row &row : rows) {
            PipelineRun run;
            std::string quality;
            {
                std::optional<ScopedEnvironment> environment;
                if (row.yunetFound)
                    environment.emplace("FEREMOTION_YUNET_MODEL", yunetFolder);
                run = best(decode + " ! feremotion model=" + options.model + " " + row.properties, options.repeats);
                quality = precisionAndRecall(options, path, row.properties);
            }
            printRow(name, row.name, run, alone.fps(), loop, quality);
        }
        std::fflush(stdout);
    }
}

void benchmarkClassifier(const Options &options)
{
    std::printf("\n## Classifier (%s)\n\n", options.model.c_str());
    std::printf("CPU with AMX-BF16 (bf16 runs on its tile units): %s, so precision=auto (the default) runs in %s\n\n",
                cpuHasAmxBf16() ? "yes" : "no",
                toString(resolvePrecision(Precision::Auto, c10::Device(c10::kCPU))).c_str());
    std::printf("| threads | batch | precision | optimized | faces/s | forward ms/face | overhead "
                "(crop+resize+normalise+copy+softmax) / forward |\n|---|---|---|---|---|---|---|\n");
    cv::RNG rng(1);
    cv::Mat frameImage(480, 640, CV_8UC3);
    rng.fill(frameImage, cv::RNG::UNIFORM, 0, 256);
    FrameView frame;
    frame.format = PixelFormat::BGR;
    frame.width = 640;
    frame.height = 480;
    frame.planes[0] = frameImage.data;
    frame.strides[0] = static_cast<int>(frameImage.step[0]);
    for (int threads : {1, 2}) {
        for (int batch : {1, 8, 32}) {
            // Optimized in float32 and bfloat16, and float32 as loaded, taking turns in half-second
            // slices so that the host's load, which swings within seconds here, falls on all alike.
            std::vector<std::unique_ptr<EmotionClassifier>> classifiers;
            for (auto [precision, optimize] :
                 {std::pair{Precision::Float32, true}, {Precision::BFloat16, true}, {Precision::Float32, false}}) {
                ClassifierOptions classifierOptions;
                classifierOptions.threads = threads;
                classifierOptions.batchSize = batch;
                classifierOptions.device = "cpu";
                classifierOptions.optimize = optimize;
                classifierOptions.precision = precision;
                classifiers.push_back(std::make_unique<EmotionClassifier>(options.model, classifierOptions));
            }
            std::vector<Detection> faces;
            for (int i = 0; i < batch; ++i)
                faces.push_back(
                    {{static_cast<float>(20 * (i % 20)), static_cast<float>(10 * (i % 30)), 120, 140}, 1.0f});
            for (auto &classifier : classifiers) {
                classifier->classifyFaces(frame, faces); // warm-up
                classifier->resetStats();
            }
            std::vector<double> seconds(classifiers.size(), 0.0);
            for (int slice = 0; slice < 6; ++slice)
                for (size_t c = 0; c < classifiers.size(); ++c) {
                    const auto start = Clock::now();
                    while (std::chrono::duration<double>(Clock::now() - start).count() < 0.5)
                        classifiers[c]->classifyFaces(frame, faces);
                    seconds[c] += std::chrono::duration<double>(Clock::now() - start).count();
                }
            for (size_t c = 0; c < classifiers.size(); ++c) {
                const EmotionClassifier &classifier = *classifiers[c];
                const ClassifierStats &s = classifier.stats();
                const double overhead = s.cropSeconds + s.prepareSeconds + s.finishSeconds;
                std::printf("| %d | %d | %s | %s | %.0f | %.3f | %.1f%% |\n", threads, batch,
                            toString(classifier.precision()).c_str(), classifier.optimized() ? "yes" : "no",
                            s.faces / seconds[c], 1000 * s.forwardSeconds / s.faces, 100 * overhead / s.forwardSeconds);
            }
            std::fflush(stdout);
        }
    }
}

} // namespace

// One stream's frames through its feremotion element: when each frame entered and left.
struct StreamProbe {
    std::map<GstClockTime, Clock::time_point> entered;
    std::vector<double> latenciesMs;
    Clock::time_point first, last;
};

GstPadProbeReturn onEnter(GstPad *, GstPadProbeInfo *info, gpointer data)
{
    auto *probe = static_cast<StreamProbe *>(data);
    probe->entered[GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info))] = Clock::now();
    return GST_PAD_PROBE_OK;
}

GstPadProbeReturn onLeave(GstPad *, GstPadProbeInfo *info, gpointer data)
{
    auto *probe = static_cast<StreamProbe *>(data);
    const auto now = Clock::now();
    const auto it = probe->entered.find(GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)));
    if (it == probe->entered.end())
        return GST_PAD_PROBE_OK;
    if (probe->latenciesMs.empty())
        probe->first = now;
    probe->last = now;
    probe->latenciesMs.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
    probe->entered.erase(it);
    return GST_PAD_PROBE_OK;
}

struct StreamsRun {
    double totalFps = 0, slowestStreamFps = 0, meanLatencyMs = 0, p95LatencyMs = 0;
    long frames = 0;
    std::string error;
};

// `streams` copies of the clip's first `frames` frames, decoded and analysed side by side in one
// process, each ending in a fakesink without clock sync.
StreamsRun runStreams(const std::string &clip, int streams, int frames, const std::string &properties)
{
    std::string launch;
    for (int i = 0; i < streams; ++i)
        launch += "filesrc location=" + clip + " ! decodebin ! identity eos-after=" + std::to_string(frames) +
                  " ! videoconvert ! feremotion name=f" + std::to_string(i) + " " + properties +
                  " ! fakesink sync=false ";
    StreamsRun result;
    GError *error = nullptr;
    GstElement *pipeline = gst_parse_launch(launch.c_str(), &error);
    if (error) {
        result.error = error->message;
        g_clear_error(&error);
        if (pipeline)
            gst_object_unref(pipeline);
        return result;
    }
    std::vector<StreamProbe> probes(static_cast<size_t>(streams));
    for (int i = 0; i < streams; ++i) {
        GstElement *element = gst_bin_get_by_name(GST_BIN(pipeline), ("f" + std::to_string(i)).c_str());
        for (auto [pad, callback] : {std::pair{"sink", onEnter}, std::pair{"src", onLeave}}) {
            GstPad *p = gst_element_get_static_pad(element, pad);
            gst_pad_add_probe(p, GST_PAD_PROBE_TYPE_BUFFER, callback, &probes[static_cast<size_t>(i)], nullptr);
            gst_object_unref(p);
        }
        gst_object_unref(element);
    }
    result.error = playToEnd(pipeline, 900 * GST_SECOND).error;

    std::vector<double> latencies;
    Clock::time_point first = Clock::time_point::max(), last = Clock::time_point::min();
    result.slowestStreamFps = 1e9;
    for (const StreamProbe &probe : probes) {
        if (probe.latenciesMs.size() < 2)
            continue;
        latencies.insert(latencies.end(), probe.latenciesMs.begin(), probe.latenciesMs.end());
        first = std::min(first, probe.first);
        last = std::max(last, probe.last);
        const double seconds = std::chrono::duration<double>(probe.last - probe.first).count();
        result.slowestStreamFps = std::min(result.slowestStreamFps, (probe.latenciesMs.size() - 1) / seconds);
    }
    if (latencies.empty())
        return result;
    result.frames = static_cast<long>(latencies.size());
    result.totalFps = (latencies.size() - static_cast<size_t>(streams)) / std::chrono::duration<double>(last - first).count();
    double sum = 0;
    for (double l : latencies)
        sum += l;
    result.meanLatencyMs = sum / latencies.size();
    std::sort(latencies.begin(), latencies.end());
    result.p95LatencyMs = latencies[latencies.size() * 95 / 100];
    return result;
}

void benchmarkStreams(const Options &options)
{
    const std::string clip = options.shared + "/media/video_02.mp4";
    const std::string yunet = options.shared + "/models/" + yunetReleaseForThisOpenCV();
    constexpr int kFrames = 150;
    std::printf("\n## Many streams (video_02, 640x480, first %d frames per stream, detector=yunet)\n\n", kFrames);
    std::printf("| streams | model | detection-interval | total frames/s | slowest stream frames/s | latency in "
                "feremotion, mean / p95 (ms) | real time (30 fps each) |\n|---|---|---|---|---|---|---|\n");
    for (int streams : {1, 4, 8})
        for (bool shared : {true, false})
            for (int interval : {1, 3, 5}) {
                if (streams == 1 && !shared)
                    continue; // one stream: sharing changes nothing
                std::string properties = "model=" + options.model + " overlay=false detector=yunet detector-model=" +
                                         yunet + " detection-interval=" + std::to_string(interval);
                if (shared)
                    properties += " model-instance-id=bench batch-timeout=5";
                const StreamsRun run = runStreams(clip, streams, kFrames, properties);
                if (!run.error.empty()) {
                    std::printf("| %d | %s | %d | error: %s | | | |\n", streams, shared ? "shared" : "one per stream",
                                interval, run.error.c_str());
                    continue;
                }
                std::printf("| %d | %s | %d | %.1f | %.1f | %.1f / %.1f | %s |\n", streams,
                            shared ? "shared" : "one per stream", interval, run.totalFps, run.slowestStreamFps,
                            run.meanLatencyMs, run.p95LatencyMs, run.slowestStreamFps >= 30 ? "yes" : "no");
                std::fflush(stdout);
            }
}

int main(int argc, char **argv)
{
    gst_init(&argc, &argv);
    Options options;
    // Every section, or only those named by --only-* (several may be given).
    bool pipelines = false, classifier = false, streams = false, live = false, chosen = false;
    int liveSeconds = 120;
    std::vector<std::string> liveProperties; // --live-properties: these rows instead of the three standard ones
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << arg << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--shared") options.shared = value();
        else if (arg == "--model") options.model = value();
        else if (arg == "--source-dir") options.sourceDir = value();
        else if (arg == "--build-dir") options.buildDir = value();
        else if (arg == "--repeats") options.repeats = std::stoi(value());
        else if (arg == "--no-python") options.python = false;
        else if (arg == "--only-classifier") classifier = chosen = true;
        else if (arg == "--only-pipelines") pipelines = chosen = true;
        else if (arg == "--only-streams") streams = chosen = true;
        else if (arg == "--only-live") live = chosen = true;
        else if (arg == "--live-seconds") liveSeconds = std::stoi(value());
        else if (arg == "--live-properties") liveProperties.push_back(value());
        else {
            std::cout << "usage: feremotion-bench --model BUNDLE [--shared DIR] [--source-dir DIR] [--build-dir DIR] [--repeats N]\n"
                         "                        [--no-python] [--live-seconds N] [--live-properties PROPS]...\n"
                         "                        [--only-classifier] [--only-pipelines] [--only-streams] [--only-live]\n";
            return arg == "--help" ? 0 : 2;
        }
    }
    if (!chosen)
        pipelines = classifier = streams = live = true;
    if (options.model.empty()) {
        std::cerr << "feremotion-bench: --model BUNDLE is required\n";
        return 2;
    }
    std::printf("# feremotion benchmark\n\nmodel: %s\nCPU threads available: %u\n", options.model.c_str(),
                std::thread::hardware_concurrency());
    if (pipelines)
        benchmarkPipelines(options);
    if (classifier)
        benchmarkClassifier(options);
    if (streams)
        benchmarkStreams(options);
    if (live) {
        const std::string yunetFolder = options.shared + "/models";
        std::vector<bench::LiveConfiguration> configurations = {
            {"no properties (YuNet file found)", "", yunetFolder},
            {"detector=haar", "detector=haar", ""},
            {"detector=haar background-detection=off", "detector=haar background-detection=off", ""}};
        if (!liveProperties.empty()) {
            configurations.clear();
            for (const std::string &properties : liveProperties)
                configurations.push_back({properties.empty() ? "no properties (YuNet file found)" : properties, properties, yunetFolder});
        }
        bench::benchmarkLiveSource(make720pClip(options.shared + "/media/video_01.mp4"), options.model, configurations,
                                   liveSeconds);
    }
    return 0;
}
