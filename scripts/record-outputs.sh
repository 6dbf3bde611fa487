#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Records what the project writes, byte for byte, into a folder, so that a refactoring can be
# checked to change none of it: run it before and after, then compare the two folders.
#
#   scripts/record-outputs.sh OUT_DIR [BUILD_DIR]     # records into OUT_DIR (made empty first)
#   scripts/record-outputs.sh --compare BEFORE AFTER  # exit 0 when every file is byte-identical
#
# Recorded on ../shared/media/video_01.mp4 with the checked-in default model: the element's frames
# with overlays (their SHA-256), its element messages, the export in JSON Lines, CSV and WebVTT,
# feremotion-trainer predict's JSON and text, and a bundle trained with a fixed seed on one thread
# (its metadata, its archive, evaluate's JSON and info's text). Timings are the only varying part
# of the trainer's outputs and are removed.
set -eu

if [ "${1:-}" = "--compare" ]; then
  [ $# -eq 3 ] || { echo "usage: $0 --compare BEFORE AFTER" >&2; exit 2; }
  if diff -r "$2" "$3"; then
    echo "record-outputs: $(find "$2" -type f | wc -l) files byte-identical"
    exit 0
  fi
  echo "record-outputs: outputs differ" >&2
  exit 1
fi

[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [BUILD_DIR]" >&2; exit 2; }
cd "$(dirname "$0")/.."
OUT=$1
BUILD=$(realpath "${2:-build}")
SHARED=$(realpath "${FEREMOTION_SHARED:-../shared}")
CLIP=$SHARED/media/video_01.mp4
MODEL=$(realpath models/feremotion-default.pt)
TRAINER=$BUILD/trainer/feremotion-trainer
for needed in "$CLIP" "$SHARED/data/fer2013/fer2013-train-00.csv.gz" "$TRAINER"; do
  [ -e "$needed" ] || { echo "record-outputs: $needed is missing" >&2; exit 2; }
done
rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

export GST_PLUGIN_PATH="$BUILD/plugin/gst" FEREMOTION_DEFAULT_MODEL="$MODEL"
unset FEREMOTION_YUNET_MODEL

# The element with its defaults (Haar: no YuNet file named), overlays drawn, and the export in each format.
gst-launch-1.0 -m filesrc location="$CLIP" ! decodebin ! videoconvert ! video/x-raw,format=BGR \
  ! feremotion model="$MODEL" detector=haar post-messages=true \
  ! tee name=t \
  t. ! queue ! feremotionexport location="$OUT/faces.jsonl" ! fakesink \
  t. ! queue ! feremotionexport format=csv location="$OUT/faces.csv" ! fakesink \
  t. ! queue ! feremotionexport format=webvtt location="$OUT/faces.vtt" ! fakesink \
  t. ! queue ! filesink location="$WORK/frames.bgr" >"$WORK/messages.txt"
grep -o 'feremotion, .*' "$WORK/messages.txt" >"$OUT/messages.txt"
(cd "$WORK" && sha256sum frames.bgr) >"$OUT/frames.sha256"

# The trainer: predict on a frame of the clip and a still, a short seeded training run, evaluate, info.
gst-launch-1.0 -q filesrc location="$CLIP" ! decodebin ! identity eos-after=1 ! videoconvert ! pngenc \
  ! filesink location="$WORK/frame0.png"
"$TRAINER" predict --model "$MODEL" --json "$WORK/frame0.png" "$SHARED/media/astronaut.png" \
  | sed "s|$WORK/||g; s|$SHARED/||g" >"$OUT/predict.json"
"$TRAINER" predict --model "$MODEL" "$WORK/frame0.png" | sed "s|$WORK/||g" >"$OUT/predict.txt"
zcat "$SHARED/data/fer2013/fer2013-train-00.csv.gz" | head -n 601 >"$WORK/rows.csv"
"$TRAINER" train --data "$WORK/rows.csv" --holdout 0.2 --arch mini-xception --width 8 --epochs 2 --threads 1 \
  --seed 3 --out "$WORK/bundle.pt" >"$WORK/train.log" 2>&1
"$TRAINER" evaluate --model "$WORK/bundle.pt" --data "$WORK/rows.csv" --usage Training --threads 1 \
  --out-json "$WORK/evaluate.json" --confusion-png "$WORK/confusion.png" | sed "s|$WORK/||g" >"$OUT/evaluate.txt"
"$TRAINER" info "$WORK/bundle.pt" | sed "s|$WORK/||g" | grep -v "\"created\"\|\"seconds\"" >"$OUT/info.txt"
(cd "$WORK" && sha256sum confusion.png) >"$OUT/confusion.sha256"
# The archive's files but its metadata byte for byte; the metadata and evaluate's JSON without the
# run's wall-clock figures.
(cd "$WORK" && unzip -q -o bundle.pt -d bundle && cd bundle && find . -type f ! -name feremotion.json | sort \
  | xargs sha256sum) >"$OUT/bundle.sha256"
scrub() {
  /usr/bin/python3 -c 'import json, sys
def scrub(node):
    if isinstance(node, dict):
        return {k: scrub(v) for k, v in node.items()
                if not any(w in k for w in ("second", "time", "created", "host"))}
    if isinstance(node, list):
        return [scrub(v) for v in node]
    return node
print(json.dumps(scrub(json.load(sys.stdin)), indent=1, sort_keys=True))' | sed "s|$WORK/||g"
}
find "$WORK/bundle" -name feremotion.json -exec cat {} \; | scrub >"$OUT/bundle-metadata.json"
scrub <"$WORK/evaluate.json" >"$OUT/evaluate.json"
echo "record-outputs: $(find "$OUT" -type f | wc -l) files in $OUT"
