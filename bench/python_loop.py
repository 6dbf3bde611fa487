#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The comparison for the benchmark: a per-frame Python loop doing feremotion's job with the same
bundle and detector settings (OpenCV Haar + Debian's python3-torch), as people write it today.

Prints one JSON line: frames, seconds, fps, faces, frames_with_faces.
"""
import argparse
import json
import time

import cv2
import torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("clip")
parser.add_argument("model")
parser.add_argument("--max-side", type=int, default=640, help="detect on a copy no larger than this (px)")
parser.add_argument("--min-face", type=int, default=24, help="smallest face side (frame px)")
parser.add_argument("--neighbours", type=int, default=5, help="Haar minNeighbors (threshold 0.9 in feremotion)")
parser.add_argument("--threads", type=int, default=1, help="torch threads")
args = parser.parse_args()

torch.set_num_threads(args.threads)
files = {"feremotion.json": ""}
model = torch.jit.load(args.model, _extra_files=files).eval()
meta = json.loads(files["feremotion.json"])
spec = meta["input"]
size = (spec["width"], spec["height"])
gray_input = spec["color"] == "gray"
mean = torch.tensor(spec["mean"]).view(-1, 1, 1)
std = torch.tensor(spec["std"]).view(-1, 1, 1)
margin = meta.get("face_crop", {}).get("margin", 0.0)
cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
                                if hasattr(cv2, "data") else
                                "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")

capture = cv2.VideoCapture(args.clip)
frames = faces = frames_with_faces = 0
start = time.perf_counter()
while True:
    ok, frame = capture.read()
    if not ok:
        break
    frames += 1
    height, width = frame.shape[:2]
    scale = min(1.0, args.max_side / max(height, width))
    small = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA) \
        if scale < 1.0 else frame
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    min_side = max(24, int(args.min_face * scale))
    boxes = cascade.detectMultiScale(gray, 1.1, args.neighbours, 0, (min_side, min_side))
    frames_with_faces += len(boxes) > 0
    source = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY if gray_input else cv2.COLOR_BGR2RGB)
    for (x, y, w, h) in boxes:
        x, y, w, h = (v / scale for v in (x, y, w, h))
        x0, y0 = max(0, int(x - w * margin)), max(0, int(y - h * margin))
        x1, y1 = min(width, int(x + w * (1 + margin) + 0.999)), min(height, int(y + h * (1 + margin) + 0.999))
        crop = cv2.resize(source[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
        tensor = torch.from_numpy(crop).float().div(255.0)
        tensor = tensor.unsqueeze(0) if gray_input else tensor.permute(2, 0, 1)
        with torch.no_grad():
            probabilities = torch.softmax(model(((tensor - mean) / std).unsqueeze(0)), 1)[0]
        label = meta["labels"][int(probabilities.argmax())]
        faces += 1
seconds = time.perf_counter() - start
print(json.dumps({"frames": frames, "seconds": seconds, "fps": frames / seconds if seconds else 0.0,
                  "faces": faces, "frames_with_faces": frames_with_faces}))
