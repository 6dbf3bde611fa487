#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's quick start (scripts/demo.sh) on a real clip: an annotated MP4 and JSON Lines come out.
# The clip is ../shared's video_01.mp4, else the demo's own default, Megamind.avi from opencv-doc.
# Usage: demo_test.sh SOURCE_DIR BUILD_DIR. Exit status 77 tells meson the test was skipped.
set -eu
SOURCE_DIR=$1
export BUILD_DIR=$2
SHARED=${FEREMOTION_SHARED:-$SOURCE_DIR/../shared}
if [ ! -f "$SOURCE_DIR/models/feremotion-default.pt" ]; then
  echo "skip: no default model in models/"; exit 77
fi
CLIP=$SHARED/media/video_01.mp4
WIDTH=640 HEIGHT=480 MIN_FRAMES=85 MIN_FACE_FRAMES=85
if [ ! -f "$CLIP" ]; then
  echo "$CLIP is absent (set FEREMOTION_SHARED): using the demo's default clip"
  # 270 frames, a face in 263 of them (2026-11-28).
  CLIP=/usr/share/doc/opencv-doc/examples/data/Megamind.avi
  WIDTH=720 HEIGHT=528 MIN_FRAMES=265 MIN_FACE_FRAMES=250
  [ -f "$CLIP" ] || { echo "skip: $CLIP is absent too"; exit 77; }
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# Under a name a URI must escape (space, "#", "%", non-ASCII), as editors' footage often has.
SUFFIX=${CLIP##*.}
NAME="$(basename "${CLIP%.*}") #1 (50% grün)"
cp "$CLIP" "$OUT/$NAME.$SUFFIX"
CLIP="$OUT/$NAME.$SUFFIX"
"$SOURCE_DIR/scripts/demo.sh" --no-setup "$CLIP" "$OUT" 2> "$OUT/stderr" | tee "$OUT/log"
cat "$OUT/stderr" >&2
# A run that worked reports no error (OpenH264's drain at the end of the stream used to print one).
if grep -i "error" "$OUT/stderr"; then echo "the demo reported an error"; exit 1; fi
grep -q "annotated video: $OUT/$NAME-annotated.mp4" "$OUT/log"
grep -q "per-frame results" "$OUT/log"
LINES=$(wc -l < "$OUT/$NAME.jsonl")
[ "$LINES" -ge "$MIN_FACE_FRAMES" ] || { echo "only $LINES frames with faces"; exit 1; }
/usr/bin/python3 - "$OUT/$NAME.jsonl" "$WIDTH" "$HEIGHT" "$SUFFIX" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    assert {"timestamp", "resolution", "source", "objects"} <= record.keys(), record.keys()
    assert record["source"].endswith("%20%231%20%2850%25%20gr%C3%BCn%29." + sys.argv[4]), record["source"]
    assert record["resolution"] == {"width": int(sys.argv[2]), "height": int(sys.argv[3])}
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
print(count)' "$OUT/$NAME-annotated.mp4")
[ "$FRAMES" -ge "$MIN_FRAMES" ] || { echo "annotated video has $FRAMES frames"; exit 1; }
echo "demo test passed: $LINES frames with faces, $FRAMES frames"
