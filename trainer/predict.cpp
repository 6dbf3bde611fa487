// SPDX-License-Identifier: LGPL-2.1-or-later
// The predict subcommand: the faces in image files and their emotions, through the element's Analyzer.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "architectures.h"
#include "command_support.h"
#include "commands.h"
#include "dataset.h"
#include "engine/model/atomic_file.h"
#include "engine/model/bundle_io.h"
#include "engine/model/device.h"
#include "json_text.h"
#include "metrics.h"
#include "plots.h"
#include "soft_labels.h"
#include "train.h"

#ifdef FEREMOTION_TRAINER_OPENCV
#include <opencv2/imgcodecs.hpp>

#include "engine/vision/analyzer.h"
#include "engine/vision/classifier.h"
#include "engine/vision/detector.h"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

std::string toString(StillDetector detector)
{
    return detector == StillDetector::Haar ? "haar" : "yunet";
}

int runPredict(const PredictOptions &o)
{
#ifdef FEREMOTION_TRAINER_OPENCV
    ClassifierOptions classifierOptions;
    classifierOptions.device = "cpu";
    classifierOptions.threads = o.threads;
    classifierOptions.trust = modelTrust();
    const DetectorKind kind = o.noDetect                                ? DetectorKind::FullFrame // each image is one face
                              : o.detector == StillDetector::Haar ? DetectorKind::Haar
                                                                   : DetectorKind::YuNet;
    std::unique_ptr<FaceDetector> detector = createDetector(kind, o.detectorModel);
    Analyzer analyzer(std::move(detector), kind,
                      ownModel(std::make_unique<EmotionClassifier>(o.model, classifierOptions)));
    const ModelInfo &info = analyzer.modelInfo();
    AnalyzerSettings settings;
    settings.detection.threshold = o.threshold;
    settings.detection.minFaceSize = o.minFaceSize;
    settings.classification.threads = o.threads;
    json all = json::array();
    int failures = 0;
    for (const std::string &path : o.images) {
        cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
        if (image.empty()) {
            std::fprintf(stderr, "feremotion-trainer: '%s' cannot be read as an image\n", path.c_str());
            ++failures;
            continue;
        }
        // Unrelated images: each is a still, its faces reported from their first detection.
        FrameInput input;
        input.view = frameFromMat(image, PixelFormat::BGR);
        input.stills = true;
        analyzer.reset();
        const std::vector<TrackedFace> faces = analyzer.analyze(input, settings);
        json entry = {{"image", path}, {"faces", json::array()}};
        if (!o.json)
            std::printf("%s: %zu face%s\n", path.c_str(), faces.size(), faces.size() == 1 ? "" : "s");
        for (size_t i = 0; i < faces.size(); ++i) {
            const auto &b = faces[i].detection.box;
            const auto &e = faces[i].emotion;
            json probabilities = json::object();
            for (size_t k = 0; k < info.labels.size(); ++k)
                probabilities[info.labels[k]] = e.probabilities[k];
            entry["faces"].push_back({{"box", {b.x, b.y, b.width, b.height}},
                                      {"detection_confidence", faces[i].detection.confidence},
                                      {"label", info.labels[e.labelId]},
                                      {"confidence", e.confidence},
                                      {"probabilities", probabilities}});
            if (!o.json) {
                std::printf("  face %zu at %.0f,%.0f %.0fx%.0f: %s %.1f%%  (", i + 1, b.x, b.y, b.width, b.height,
                            info.labels[e.labelId].c_str(), 100 * e.confidence);
                for (size_t k = 0; k < info.labels.size(); ++k)
                    std::printf("%s%s %.2f", k ? ", " : "", info.labels[k].c_str(), e.probabilities[k]);
                std::printf(")\n");
            }
        }
        all.push_back(entry);
    }
    if (o.json)
        std::printf("%s\n", jsonText(all, 2).c_str());
    return failures ? 2 : 0;
#else
    (void)o;
    throw std::invalid_argument("predict needs OpenCV; this feremotion-trainer was built without it");
#endif
}

} // namespace feremotion::trainer
