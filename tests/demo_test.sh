#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's quick start (scripts/demo.sh) on a real clip: an annotated MP4 and JSON Lines come out.
# Exit status 77 tells meson the test was skipped.
set -eu
SOURCE_DIR=$1
SHARED=${FEREMOTION_SHARED:-$SOURCE_DIR/../shared}
CLIP=$SHARED/media/video_01.mp4
if [ ! -f "$SOURCE_DIR/models/feremotion-default.pt" ]; then
  echo "skip: no default model in models/"; exit 77
fi
if [ ! -f "$CLIP" ]; then
  echo "skip: $CLIP is absent (set FEREMOTION_SHARED)"; exit 77
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$SOURCE_DIR/scripts/demo.sh" --no-setup "$CLIP" "$OUT" | tee "$OUT/log"
grep -q "annotated video: $OUT/video_01-annotated.mp4" "$OUT/log"
grep -q "per-frame results" "$OUT/log"
LINES=$(wc -l < "$OUT/video_01.jsonl")
[ "$LINES" -ge 85 ] || { echo "only $LINES frames with faces"; exit 1; }
/usr/bin/python3 - "$OUT/video_01.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    assert {"timestamp", "resolution", "source", "objects"} <= record.keys(), record.keys()
    assert record["resolution"] == {"width": 640, "height": 480}
    for face in record["objects"]:
        assert face["roi_type"] == "face"
        assert set(face["emotion"]["probabilities"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
        assert abs(sum(face["emotion"]["probabilities"].values()) - 1) < 1e-4
PY
# The annotated file decodes to the clip's frames.
FRAMES=$(/usr/bin/python3 -c 'import cv2, sys
capture = cv2.VideoCapture(sys.argv[1])
count = 0
while capture.read()[0]:
    count += 1
print(count)' "$OUT/video_01-annotated.mp4")
[ "$FRAMES" -ge 85 ] || { echo "annotated video has $FRAMES frames"; exit 1; }
echo "demo test passed: $LINES frames with faces"
