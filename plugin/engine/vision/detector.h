// SPDX-License-Identifier: LGPL-2.1-or-later
// Face detectors behind one interface: haar, yunet, roi and full-frame.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/vision/frame.h"
#include "engine/vision/types.h"

namespace feremotion {

// Auto is a choice, not a detector: chooseAutoDetector() turns it into YuNet or Haar.
enum class DetectorKind { Haar, YuNet, Roi, FullFrame, Auto };

std::string toString(DetectorKind kind);

// DetectorSettings::threshold for "the detector's own default" (defaultThreshold()).
constexpr float kDetectorsDefaultThreshold = -1.0f;

struct DetectorSettings {
    // Minimum detection confidence in [0,1], or below 0 for defaultThreshold(kind). YuNet: its
    // face score. Haar: 1 - 1/(2n) for a face seen by n overlapping raw detections; 0.9 is OpenCV's
    // customary minNeighbors of 5, which keeps faces seen at least 6 times. Roi: upstream's confidence.
    float threshold = kDetectorsDefaultThreshold;
    int minFaceSize = 24; // frame pixels; smaller faces are ignored
    // Frames whose longer side exceeds this are detected on a downscaled copy (0 = never).
    int maxDetectionSide = 640;
    // Haar with its default cascade: keep only faces that a second cascade (opencv-data's
    // haarcascade_frontalface_alt2.xml) also finds in the box. Most of the default cascade's false hits
    // on hands, clothes and furniture go, a few faces with them. Other cascades are not verified.
    bool verifyHaarFaces = true;
};

class FaceDetector {
public:
    virtual ~FaceDetector() = default;
    // Faces in frame pixels, largest first. Settings apply from this call on.
    virtual std::vector<Detection> detect(const FrameView &frame, const DetectorSettings &settings) = 0;
};

// Default Haar cascade of Debian's opencv-data.
std::string defaultHaarCascadePath();

// The file name of the OpenCV zoo's YuNet release that the given OpenCV runs: 2022mar below OpenCV
// 4.8 (Debian 12's 4.6), 2023mar from 4.8 on (Debian 13's 4.10). Neither runs on the other side.
std::string yunetReleaseFor(int opencvMajor, int opencvMinor);
// The same for the OpenCV this process runs on.
std::string yunetReleaseForThisOpenCV();

// The threshold a detector uses when none is set: 0.9 for haar (minNeighbors 5), roi and
// full-frame; for yunet 0.9 below OpenCV 4.8 and 0.8 from 4.8 on. The 2023mar release scores
// lower than 2022mar (at most 0.95; faces 2022mar scores 1.0 get 0.85-0.93), and at 0.8 it keeps
// about as many faces on our clips as 2022mar does at 0.9 (docs/detection.md).
float defaultThreshold(DetectorKind kind);

// Haar and YuNet (and auto, which is one of them) search whole frames, so their faces are followed
// between detections and their detection can run in the background; roi and full-frame do not.
bool detectsFullFrames(DetectorKind kind);

// How many frames apart full-frame detection runs when none is set (TrackingSettings::detectionInterval
// 0): 4 for haar, 2 for yunet, 1 for full-frame and roi. Chosen from measurements against the Python
// loop and YuNet on every frame (docs/detection.md): faces between detections are followed by optical
// flow, and new faces are confirmed in windows (FaceTracker::confirmCandidates).
int defaultDetectionInterval(DetectorKind kind);
// The interval of that default schedule while the scene is still (TrackingSettings::
// stillDetectionInterval): twice defaultDetectionInterval() for haar and yunet, 0 (never) for the
// others. An interval set by the user is kept as it is.
int defaultStillDetectionInterval(DetectorKind kind);
// How many detections in a row a new face needs to be reported when none is set
// (TrackingSettings::confirmDetections 0): 2 for haar, whose one-off false hits on hands and
// furniture it hides; 1 for yunet, which has few (docs/detection.md), and the others.
int defaultTrackConfirmation(DetectorKind kind);

// detector=auto's choice: YuNet where a model file that this OpenCV runs is found, else Haar.
struct DetectorChoice {
    DetectorKind kind = DetectorKind::Haar;
    std::string modelPath; // for createDetector; empty: the default cascade
    std::string reason;    // in words, for the log
    bool warn = false;     // a YuNet file was named but cannot be used
};

// Looks, in order, at: `detectorModel` (the element's detector-model: an .onnx file means YuNet,
// anything else a cascade), `fromEnvironment` ($FEREMOTION_YUNET_MODEL: a YuNet file, or a folder
// holding yunetReleaseForThisOpenCV()), and `installedFolder` (where the yunet_model build option
// installed YuNet files) for yunetReleaseForThisOpenCV(). A file named for the other release is not
// taken (OpenCV cannot run it). Throws std::runtime_error when `fromEnvironment` names nothing that exists.
DetectorChoice chooseAutoDetector(const std::string &detectorModel, const std::string &fromEnvironment,
                                  const std::string &installedFolder);

// `modelPath`: the cascade XML for haar (empty: the default), the ONNX file for yunet, unused
// otherwise. Throws std::runtime_error naming the file when it cannot be loaded.
std::unique_ptr<FaceDetector> createDetector(DetectorKind kind, const std::string &modelPath = "");

// The roi detector reports the boxes its caller supplied for the frame.
class RoiDetector : public FaceDetector {
public:
    void setRegions(std::vector<Detection> regions) { regions_ = std::move(regions); }
    std::vector<Detection> detect(const FrameView &frame, const DetectorSettings &settings) override;

private:
    std::vector<Detection> regions_;
};

} // namespace feremotion
