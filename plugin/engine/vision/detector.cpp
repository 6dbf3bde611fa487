// SPDX-License-Identifier: LGPL-2.1-or-later
// OpenCV-backed face detectors; large frames are detected downscaled and boxes mapped back.
#include "engine/vision/detector.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/objdetect/face.hpp>

#include "engine/vision/preprocess.h"

#ifndef FEREMOTION_HAAR_CASCADE
#define FEREMOTION_HAAR_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
#endif
#ifndef FEREMOTION_HAAR_VERIFIER_CASCADE
#define FEREMOTION_HAAR_VERIFIER_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml"
#endif

namespace feremotion {

std::string toString(DetectorKind kind)
{
    switch (kind) {
    case DetectorKind::Haar: return "haar";
    case DetectorKind::YuNet: return "yunet";
    case DetectorKind::Roi: return "roi";
    case DetectorKind::FullFrame: return "full-frame";
    case DetectorKind::Auto: return "auto";
    }
    return "unknown";
}

std::string defaultHaarCascadePath()
{
    return FEREMOTION_HAAR_CASCADE;
}

std::string yunetReleaseFor(int opencvMajor, int opencvMinor)
{
    const bool from48 = opencvMajor > 4 || (opencvMajor == 4 && opencvMinor >= 8);
    return from48 ? "face_detection_yunet_2023mar.onnx" : "face_detection_yunet_2022mar.onnx";
}

std::string yunetReleaseForThisOpenCV()
{
    return yunetReleaseFor(cv::getVersionMajor(), cv::getVersionMinor());
}

float defaultThreshold(DetectorKind kind)
{
    if (kind == DetectorKind::YuNet && yunetReleaseForThisOpenCV() == yunetReleaseFor(4, 8))
        return 0.8f;
    return 0.9f;
}

bool detectsFullFrames(DetectorKind kind)
{
    return kind == DetectorKind::Haar || kind == DetectorKind::YuNet || kind == DetectorKind::Auto;
}

int defaultDetectionInterval(DetectorKind kind)
{
    switch (kind) {
    case DetectorKind::Haar: return 4;
    case DetectorKind::YuNet: return 2;
    default: return 1;
    }
}

int defaultStillDetectionInterval(DetectorKind kind)
{
    return kind == DetectorKind::Haar || kind == DetectorKind::YuNet ? 2 * defaultDetectionInterval(kind) : 0;
}

int defaultTrackConfirmation(DetectorKind kind)
{
    return kind == DetectorKind::Haar ? 2 : 1;
}

DetectorChoice chooseAutoDetector(const std::string &detectorModel, const std::string &fromEnvironment,
                                  const std::string &installedFolder)
{
    namespace fs = std::filesystem;
    const std::string release = yunetReleaseForThisOpenCV();
    const std::string opencv = "OpenCV " + std::to_string(cv::getVersionMajor()) + "." +
                               std::to_string(cv::getVersionMinor());
    const auto isOtherRelease = [&](const fs::path &file) {
        const std::string name = file.filename().string();
        return name != release && (name == yunetReleaseFor(4, 6) || name == yunetReleaseFor(4, 8));
    };
    DetectorChoice choice;
    if (!detectorModel.empty()) {
        const bool onnx = fs::path(detectorModel).extension() == ".onnx";
        choice.kind = onnx ? DetectorKind::YuNet : DetectorKind::Haar;
        choice.modelPath = detectorModel;
        choice.reason = onnx ? "detector-model names an ONNX file" : "detector-model names a cascade";
        return choice;
    }
    if (!fromEnvironment.empty()) {
        std::error_code error;
        const bool folder = fs::is_directory(fromEnvironment, error);
        const fs::path file = folder ? fs::path(fromEnvironment) / release : fs::path(fromEnvironment);
        if (!folder && !fs::exists(file, error))
            throw std::runtime_error("FEREMOTION_YUNET_MODEL names '" + fromEnvironment +
                                     "', which does not exist; name a YuNet ONNX file or a folder holding " + release);
        if (isOtherRelease(file)) {
            choice.reason = "FEREMOTION_YUNET_MODEL names '" + file.string() + "', a YuNet release that " + opencv +
                            " cannot run (it needs " + release + ")";
            choice.warn = true;
            return choice;
        }
        if (fs::exists(file, error)) {
            choice.kind = DetectorKind::YuNet;
            choice.modelPath = file.string();
            choice.reason = "found through FEREMOTION_YUNET_MODEL";
            return choice;
        }
        choice.reason = "FEREMOTION_YUNET_MODEL names the folder '" + fromEnvironment + "', which has no " + release +
                        " (the release " + opencv + " runs)";
        choice.warn = true;
        return choice;
    }
    const fs::path installed = fs::path(installedFolder) / release;
    std::error_code error;
    if (!installedFolder.empty() && fs::exists(installed, error)) {
        choice.kind = DetectorKind::YuNet;
        choice.modelPath = installed.string();
        choice.reason = "installed with feremotion";
        return choice;
    }
    choice.reason = "no YuNet model: FEREMOTION_YUNET_MODEL is not set and '" + installed.string() +
                    "' does not exist (the yunet_model build option installs it)";
    return choice;
}

namespace {

void requireReadable(const std::string &path, const std::string &what)
{
    if (path.empty())
        throw std::runtime_error(what + ": no model file given");
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error(what + " '" + path + "' does not exist or cannot be read");
}

Detection toFrame(const cv::Rect2f &box, float confidence, const DetectionImage &view)
{
    Detection d;
    d.box = {static_cast<float>(box.x / view.scaleX), static_cast<float>(box.y / view.scaleY),
             static_cast<float>(box.width / view.scaleX), static_cast<float>(box.height / view.scaleY)};
    d.confidence = confidence;
    return d;
}

void sortLargestFirst(std::vector<Detection> &faces)
{
    std::stable_sort(faces.begin(), faces.end(), [](const Detection &a, const Detection &b) {
        return a.box.width * a.box.height > b.box.width * b.box.height;
    });
}

// A Haar face seen by n overlapping raw detections gets confidence 1 - 1/(2n): 0.5 for one,
// 0.9 for five, approaching 1 for many. OpenCV keeps groups of more than minNeighbors raw
// detections, so at threshold 0.9 (minNeighbors 5, OpenCV's customary value) n is at least 6.
float haarConfidence(int neighbours)
{
    return 1.0f - 0.5f / static_cast<float>(std::max(1, neighbours));
}

float thresholdOf(DetectorKind kind, const DetectorSettings &settings)
{
    return settings.threshold < 0 ? defaultThreshold(kind) : settings.threshold;
}

int minNeighboursFor(float threshold)
{
    if (threshold >= 0.999f)
        return 500;
    return std::clamp(static_cast<int>(std::ceil(0.5f / (1.0f - threshold) - 1e-3f)), 1, 500);
}

void loadCascade(cv::CascadeClassifier &cascade, const std::string &path, const std::string &what)
{
    requireReadable(path, what);
    bool loaded = false;
    try {
        loaded = cascade.load(path);
    } catch (const cv::Exception &) { // OpenCV's XML/YAML reader throws on files that are neither
    }
    if (!loaded)
        throw std::runtime_error(what + " '" + path + "' is not a valid OpenCV cascade file");
}

class HaarDetector : public FaceDetector {
public:
    explicit HaarDetector(const std::string &path) : path_(path.empty() ? defaultHaarCascadePath() : path)
    {
        loadCascade(cascade_, path_, "Haar cascade");
        // The verifier was chosen for the default frontal cascade; another cascade (profile faces,
        // an LBP one) is taken as it is.
        if (path_ == defaultHaarCascadePath())
            loadCascade(verifier_, FEREMOTION_HAAR_VERIFIER_CASCADE, "Haar verification cascade");
    }

    std::vector<Detection> detect(const FrameView &frame, const DetectorSettings &settings) override
    {
        const DetectionImage view = makeDetectionImage(frame, DetectorColor::Gray, settings.maxDetectionSide);
        const cv::Size window = cascade_.getOriginalWindowSize();
        if (view.image.cols < window.width || view.image.rows < window.height)
            return {};
        const int minSide = std::max(window.width, static_cast<int>(settings.minFaceSize * view.scaleX));
        const float threshold = thresholdOf(DetectorKind::Haar, settings);
        const int minNeighbours = minNeighboursFor(threshold);
        std::vector<cv::Rect> boxes;
        std::vector<int> neighbours;
        cascade_.detectMultiScale(view.image, boxes, neighbours, 1.1, minNeighbours, 0, {minSide, minSide});
        std::vector<Detection> faces;
        for (size_t i = 0; i < boxes.size(); ++i) {
            const float confidence = haarConfidence(neighbours[i]);
            if (confidence + 1e-6f >= threshold &&
                (!settings.verifyHaarFaces || verifier_.empty() || confirmedByVerifier(view.image, boxes[i])))
                faces.push_back(toFrame(boxes[i], confidence, view));
        }
        sortLargestFirst(faces);
        return faces;
    }

private:
    // The verifier looks in the box widened by a quarter of its side on each side for a face of
    // at least 3/5 of the box's side centred inside the box (a face beside a false hit does not
    // confirm it). Two overlapping raw hits are enough (minNeighbors 1; the default cascade has
    // already required six), so few true faces are lost.
    bool confirmedByVerifier(const cv::Mat &image, const cv::Rect &box)
    {
        const int margin = box.width / 4;
        const cv::Rect widened(box.x - margin, box.y - margin, box.width + 2 * margin, box.height + 2 * margin);
        const cv::Rect around = widened & cv::Rect(0, 0, image.cols, image.rows);
        const int side = std::max(verifier_.getOriginalWindowSize().width, box.width * 3 / 5);
        std::vector<cv::Rect> found;
        verifier_.detectMultiScale(image(around), found, 1.1, 1, 0, {side, side});
        return std::any_of(found.begin(), found.end(), [&](const cv::Rect &face) {
            const cv::Point centre = around.tl() + face.tl() + cv::Point(face.width / 2, face.height / 2);
            return box.contains(centre);
        });
    }

    std::string path_;
    cv::CascadeClassifier cascade_;
    cv::CascadeClassifier verifier_;
};

class YuNetDetector : public FaceDetector {
    static constexpr int kYuNetMinSide = 64;

public:
    explicit YuNetDetector(const std::string &path) : path_(path)
    {
        requireReadable(path_, "YuNet model");
        try {
            net_ = cv::FaceDetectorYN::create(path_, "", {320, 320}, 0.5f, 0.3f, 5000);
        } catch (const cv::Exception &e) {
            throw std::runtime_error(unusable("cannot be loaded", e));
        }
        if (!net_)
            throw std::runtime_error("YuNet model '" + path_ + "' cannot be loaded");
        requireRunnable();
    }

    std::vector<Detection> detect(const FrameView &frame, const DetectorSettings &settings) override
    {
        DetectionImage view = makeDetectionImage(frame, DetectorColor::Bgr, settings.maxDetectionSide);
        if (view.image.cols < 8 || view.image.rows < 8)
            return {};
        // OpenCV 4.6's YuNet throws on images with a side under about 63 px (a pooling layer's output
        // becomes empty): such images are padded at the right and bottom, which moves no box.
        if (view.image.cols < kYuNetMinSide || view.image.rows < kYuNetMinSide) {
            cv::Mat padded;
            cv::copyMakeBorder(view.image, padded, 0, std::max(0, kYuNetMinSide - view.image.rows), 0,
                               std::max(0, kYuNetMinSide - view.image.cols), cv::BORDER_CONSTANT, cv::Scalar::all(0));
            view.image = padded;
        }
        net_->setInputSize(view.image.size());
        const float threshold = thresholdOf(DetectorKind::YuNet, settings);
        net_->setScoreThreshold(threshold);
        cv::Mat rows;
        net_->detect(view.image, rows);
        std::vector<Detection> faces;
        for (int i = 0; i < rows.rows; ++i) {
            const float *r = rows.ptr<float>(i);
            Detection d = toFrame({r[0], r[1], r[2], r[3]}, std::clamp(r[14], 0.0f, 1.0f), view);
            if (d.confidence < threshold || std::min(d.box.width, d.box.height) < settings.minFaceSize)
                continue;
            // YuNet boxes may reach past the frame; keep them inside so crops and metadata agree.
            const float x1 = std::min<float>(frame.width, d.box.x + d.box.width);
            const float y1 = std::min<float>(frame.height, d.box.y + d.box.height);
            d.box.x = std::max(0.0f, d.box.x);
            d.box.y = std::max(0.0f, d.box.y);
            d.box.width = x1 - d.box.x;
            d.box.height = y1 - d.box.y;
            if (d.box.width >= 1 && d.box.height >= 1)
                faces.push_back(d);
        }
        sortLargestFirst(faces);
        return faces;
    }

private:
    // A YuNet release made for the other side of OpenCV 4.8 may load here but fail on every frame:
    // one detection on a blank image turns that into an error at start, naming the file.
    void requireRunnable()
    {
        try {
            cv::Mat rows;
            net_->detect(cv::Mat(320, 320, CV_8UC3, cv::Scalar::all(0)), rows);
        } catch (const cv::Exception &e) {
            throw std::runtime_error(unusable("loads but cannot run", e));
        }
    }

    std::string unusable(const std::string &problem, const cv::Exception &e) const
    {
        std::string what = e.what();
        what = what.substr(0, what.find_last_not_of('\n') + 1);
        return "YuNet model '" + path_ + "' " + problem + " in OpenCV " + cv::getVersionString() + " (use " +
               yunetReleaseForThisOpenCV() + ": face_detection_yunet_2022mar.onnx runs on OpenCV below 4.8, " +
               "face_detection_yunet_2023mar.onnx on 4.8 and newer): " + what;
    }

    std::string path_;
    cv::Ptr<cv::FaceDetectorYN> net_;
};

class FullFrameDetector : public FaceDetector {
public:
    std::vector<Detection> detect(const FrameView &frame, const DetectorSettings &) override
    {
        if (frame.width < 1 || frame.height < 1)
            return {};
        return {Detection{{0, 0, static_cast<float>(frame.width), static_cast<float>(frame.height)}, 1.0f}};
    }
};

} // namespace

std::vector<Detection> RoiDetector::detect(const FrameView &frame, const DetectorSettings &settings)
{
    const float threshold = thresholdOf(DetectorKind::Roi, settings);
    std::vector<Detection> faces;
    for (size_t i = 0; i < regions_.size(); ++i) {
        Detection face = regions_[i];
        if (face.confidence < threshold || cropRect(face.box, 0, frame.width, frame.height).empty())
            continue;
        face.regionIndex = static_cast<int>(i);
        faces.push_back(face);
    }
    return faces;
}

std::unique_ptr<FaceDetector> createDetector(DetectorKind kind, const std::string &modelPath)
{
    switch (kind) {
    case DetectorKind::Haar: return std::make_unique<HaarDetector>(modelPath);
    case DetectorKind::YuNet: return std::make_unique<YuNetDetector>(modelPath);
    case DetectorKind::Roi: return std::make_unique<RoiDetector>();
    case DetectorKind::FullFrame: return std::make_unique<FullFrameDetector>();
    case DetectorKind::Auto: throw std::invalid_argument("detector=auto is chosen by chooseAutoDetector first");
    }
    throw std::invalid_argument("unknown detector kind");
}

} // namespace feremotion
