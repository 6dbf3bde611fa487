// SPDX-License-Identifier: LGPL-2.1-or-later
// Benchmark: a model's accuracy on faces as the element sees them. Every face of a labelled set
// (FER-2013 CSV or compact folder) is enlarged onto a canvas, found by the element's detector and
// cropped from the detector's box with the engine's own crop code, fitted to the input's aspect
// ratio (the element's default) or stretched. Prints, per detector, how many faces were found and
// the accuracy on those faces of the dataset's own crops against the detector-box crops.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "engine/vision/classifier.h"
#include "engine/vision/detector.h"
#include "engine/vision/preprocess.h"
#include "trainer/dataset.h"

using namespace feremotion;

namespace {

struct Options {
    std::string model;
    std::string data;
    std::string yunet;
    int limit = 0;
    int scale = 4; // canvas pixels per dataset pixel: 48 px faces become 192 px, as in video
};

void usage()
{
    std::cerr << "usage: feremotion-crop-accuracy --model BUNDLE --data CSV_OR_COMPACT_FOLDER [--yunet ONNX] "
                 "[--limit N] [--scale S]\n"
                 "  a compact folder is read as its PublicTest split\n";
}

bool parse(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc)
            return false;
        const std::string value = argv[++i];
        if (arg == "--model")
            o.model = value;
        else if (arg == "--data")
            o.data = value;
        else if (arg == "--yunet")
            o.yunet = value;
        else if (arg == "--limit")
            o.limit = std::stoi(value);
        else if (arg == "--scale")
            o.scale = std::stoi(value);
        else
            return false;
    }
    return !o.model.empty() && !o.data.empty() && o.scale >= 1;
}

trainer::Dataset loadFaces(const Options &o)
{
    if (trainer::isCompactFolder(o.data))
        return trainer::loadCompact(o.data, "PublicTest", o.limit);
    trainer::CsvOptions csv;
    csv.limit = o.limit;
    return trainer::loadFerCsv({o.data}, csv);
}

// The face enlarged `scale` times in the middle of a canvas twice its size, the border repeating
// the face's edge pixels, as gray BGR (the detectors' and the element's usual input).
cv::Mat canvasOf(const cv::Mat &face, int scale)
{
    cv::Mat big, padded, bgr;
    cv::resize(face, big, {}, scale, scale, cv::INTER_LINEAR);
    const int pad = big.cols / 2;
    cv::copyMakeBorder(big, padded, pad, pad, pad, pad, cv::BORDER_REPLICATE);
    cv::cvtColor(padded, bgr, cv::COLOR_GRAY2BGR);
    return bgr;
}

struct Tally {
    int found = 0;
    int originalRight = 0;
    int fittedRight = 0;
    int stretchedRight = 0;
};

void report(const char *detector, int faces, const Tally &t)
{
    const auto percent = [&](int right) { return t.found ? 100.0 * right / t.found : 0.0; };
    std::printf("%-6s found %5d of %5d faces | accuracy on them: dataset crops %.2f%%, aspect-fitted box crops %.2f%%, "
                "stretched box crops %.2f%%\n",
                detector, t.found, faces, percent(t.originalRight), percent(t.fittedRight),
                percent(t.stretchedRight));
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    bool valid = false;
    try {
        valid = parse(argc, argv, o);
    } catch (const std::logic_error &) { // std::stoi of a non-number
    }
    if (!valid) {
        usage();
        return 2;
    }
    try {
        const trainer::Dataset data = loadFaces(o);
        EmotionClassifier classifier(o.model, {});
        ModelInfo fitted = classifier.info(), stretched = classifier.info();
        fitted.keepAspect = true;
        stretched.keepAspect = false;
        std::vector<std::pair<const char *, std::unique_ptr<FaceDetector>>> detectors;
        detectors.emplace_back("haar", createDetector(DetectorKind::Haar));
        if (!o.yunet.empty())
            detectors.emplace_back("yunet", createDetector(DetectorKind::YuNet, o.yunet));
        std::printf("%s: %lld faces, model %s in %s, each enlarged %dx on a canvas twice its size\n",
                    data.description.c_str(), static_cast<long long>(data.size()), o.model.c_str(),
                    toString(classifier.precision()).c_str(), o.scale);
        for (auto &[name, detector] : detectors) {
            Tally tally;
            for (int64_t i = 0; i < data.size(); ++i) {
                const torch::Tensor pixels = data.images[i].contiguous();
                cv::Mat face(static_cast<int>(pixels.size(1)), static_cast<int>(pixels.size(2)), CV_8UC1,
                             pixels.data_ptr<uint8_t>());
                cv::Mat canvas = canvasOf(face, o.scale);
                const FrameView frame = frameFromMat(canvas, PixelFormat::BGR);
                std::vector<Detection> found = detector->detect(frame, {});
                if (found.empty())
                    continue;
                found.resize(1); // the largest
                const int64_t label = data.labels[i].item<int64_t>();
                ++tally.found;
                const FrameView original = frameFromMat(face, PixelFormat::GRAY8);
                const Detection whole{{0, 0, static_cast<float>(face.cols), static_cast<float>(face.rows)}, 1.0f};
                tally.originalRight += classifier.classifyFaces(original, {whole})[0].labelId == label;
                tally.fittedRight += classifier.classify(cropFaces(frame, found, fitted))[0].labelId == label;
                tally.stretchedRight += classifier.classify(cropFaces(frame, found, stretched))[0].labelId == label;
            }
            report(name, static_cast<int>(data.size()), tally);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "feremotion-crop-accuracy: %s\n", e.what());
        return 1;
    }
    return 0;
}
