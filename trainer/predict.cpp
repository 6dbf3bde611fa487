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
#include "atomic_file.h"
#include "bundle_io.h"
#include "command_support.h"
#include "commands.h"
#include "dataset.h"
#include "device.h"
#include "json_text.h"
#include "metrics.h"
#include "plots.h"
#include "soft_labels.h"
#include "train.h"

#ifdef FEREMOTION_TRAINER_OPENCV
#include <opencv2/imgcodecs.hpp>

#include "analyzer.h"
#include "classifier.h"
#include "detector.h"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

int runPredict(const PredictOptions &o)
{
#ifdef FEREMOTION_TRAINER_OPENCV
    ClassifierOptions classifierOptions;
    classifierOptions.device = "cpu";
    classifierOptions.threads = o.threads;
    classifierOptions.trust = modelTrust();
    DetectorKind kind = DetectorKind::FullFrame; // --no-detect: each image is one face
    if (!o.noDetect) {
        if (o.detector == "haar") kind = DetectorKind::Haar;
        else if (o.detector == "yunet") kind = DetectorKind::YuNet;
        else throw std::invalid_argument("--detector must be haar or yunet, not '" + o.detector + "'");
    }
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
