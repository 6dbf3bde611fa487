#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How many of the faces the element reports are faces, and how many faces it reports.

Runs `feremotion` (detector=haar by default) over each clip with several property sets and
scores its boxes, frame by frame, against YuNet's faces (OpenCV's FaceDetectorYN, score 0.7,
side 24 px or more) as the reference: a box overlapping a reference face with IoU > 0.3 is a
face, any other box a false hit. YuNet misses a few faces too (turned heads), so the figures
compare settings; they are not absolute.

Usage (from the checkout, after a build):
  bench/detector_precision.py [--yunet ONNX] [--build DIR] [--json] CLIP... [-- PROPERTIES...]
Each PROPERTIES argument is one property set, e.g. "track-confirmation=1 haar-verification=false";
an empty one is the element's defaults (detector=auto: YuNet when $FEREMOTION_YUNET_MODEL names it).
--json prints one JSON object per clip and set instead of a Markdown table (for feremotion-bench).
"""
import argparse
import json
import os
import sys

import cv2

from element_records import element_records

DEFAULT_SETS = [
    "track-confirmation=1 haar-verification=false",
    "track-confirmation=1",
    "track-confirmation=2 haar-verification=false",
    "",  # the element's defaults
    "track-confirmation=3",
]


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def yunet_release():
    """The OpenCV zoo YuNet file this cv2 runs: 2022mar below OpenCV 4.8 (Debian 12), 2023mar from 4.8."""
    major, minor = (int(part) for part in cv2.__version__.split(".")[:2])
    return "face_detection_yunet_2023mar.onnx" if (major, minor) >= (4, 8) else "face_detection_yunet_2022mar.onnx"


def reference_faces(clip, yunet):
    detector = cv2.FaceDetectorYN.create(yunet, "", (320, 320), 0.7, 0.3, 5000)
    capture = cv2.VideoCapture(clip)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        detector.setInputSize((frame.shape[1], frame.shape[0]))
        _, rows = detector.detect(frame)
        rows = [] if rows is None else rows
        frames.append([list(map(float, r[:4])) for r in rows if min(r[2], r[3]) >= 24])


def element_faces(clip, properties, build):
    return {record["frame"]: [(o["x"], o["y"], o["w"], o["h"]) for o in record["objects"]]
            for record in element_records(clip, properties, build, "detector_precision")}


# Frames are paired by index: the export's "frame" counts the element's frames from 0, as
# cv2.VideoCapture reads them; true for clips with one video stream and no dropped frames.
def score(reference, found):
    faces = false_hits = total = 0
    for index, truth in enumerate(reference):
        total += len(truth)
        unmatched = list(truth)
        for box in found.get(index, []):
            match = next((r for r in unmatched if iou(box, r) > 0.3), None)
            if match is None:
                false_hits += 1
            else:
                faces += 1
                unmatched.remove(match)
    return faces, false_hits, total


def main():
    argv = sys.argv[1:]
    sets = DEFAULT_SETS
    if "--" in argv:
        sets = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--yunet", default="../shared/models/" + yunet_release(),
                        help="YuNet ONNX file (default: the release this OpenCV runs, from ../shared/models)")
    parser.add_argument("--build", default="build")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    parser.add_argument("clips", nargs="+")
    args = parser.parse_args(argv)
    build = os.path.abspath(args.build)
    if not args.json:
        print("| clip | properties | reference faces | faces found | false hits | precision | recall |")
        print("|---|---|---|---|---|---|---|")
    for clip in args.clips:
        reference = reference_faces(clip, args.yunet)
        for properties in sets:
            faces, false_hits, total = score(reference, element_faces(os.path.abspath(clip), properties, build))
            if args.json:
                print(json.dumps({"clip": clip, "properties": properties, "reference_faces": total, "faces": faces,
                                  "false_hits": false_hits, "precision": faces / max(1, faces + false_hits),
                                  "recall": faces / max(1, total)}), flush=True)
                continue
            print(f"| {os.path.basename(clip)} | {properties or '(defaults)'} | {total} | {faces} | {false_hits} | "
                  f"{faces / max(1, faces + false_hits):.3f} | {faces / max(1, total):.3f} |", flush=True)


if __name__ == "__main__":
    main()
