#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The quick start: sets up and builds feremotion, then annotates a video with the default model
# into an annotated MP4 and a JSON Lines file of per-frame results.
# Usage: scripts/demo.sh [--no-setup] [INPUT_FILE_OR_URI] [OUTPUT_DIR]
# Without an input it uses Megamind.avi from Debian's opencv-doc (a clip with a face).
# BUILD_DIR names the build folder (default build), as for scripts/test.sh.
set -eu

SETUP=1
if [ "${1:-}" = "--no-setup" ]; then SETUP=0; shift; fi
INPUT=${1:-/usr/share/doc/opencv-doc/examples/data/Megamind.avi}
OUTPUT_DIR=${2:-demo-output}
# Paths given by the caller are relative to where they called from, not to the checkout.
case "$INPUT" in
  *://* | /*) ;;
  *) INPUT="$PWD/$INPUT" ;;
esac
case "$OUTPUT_DIR" in
  /*) ;;
  *) OUTPUT_DIR="$PWD/$OUTPUT_DIR" ;;
esac
cd "$(dirname "$0")/.."

# The file:// URI of an absolute path: bytes other than unreserved ones and "/" percent-encoded
# (RFC 3986), so names with spaces, "#", "?" or non-ASCII letters reach uridecodebin intact.
file_uri() {
  printf 'file://'
  printf '%s' "$1" | od -An -v -tu1 | awk '{
    for (i = 1; i <= NF; i++) {
      c = $i
      if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 || c == 95 || c == 126 || c == 47)
        printf "%c", c
      else
        printf "%%%02X", c
    }
  }'
}

BUILD_DIR=${BUILD_DIR:-build}
if [ "$SETUP" = 1 ]; then
  scripts/setup-debian.sh
  [ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR"
  scripts/configure-yunet.sh "$BUILD_DIR"
  # Only the plugin, which is all the demo runs: about a fifth of the whole build's time (the trainer,
  # benchmarks and tests are built by scripts/test.sh).
  ninja -C "$BUILD_DIR" -j "${JOBS:-2}" plugin/gst/libgstferemotion.so
fi

case "$INPUT" in
  *://*) URI=$INPUT ;;
  *)
    if [ ! -f "$INPUT" ]; then
      echo "demo: input '$INPUT' does not exist" >&2
      case "$INPUT" in
        /usr/share/doc/*) echo "demo: (this system's dpkg may exclude /usr/share/doc, as slim images do: give a video file)" >&2 ;;
      esac
      exit 2
    fi
    URI=$(file_uri "$(realpath "$INPUT")") ;;
esac
mkdir -p "$OUTPUT_DIR"
# Outputs are named for the input: a file's name, or a URI's last path part (rtsp://cam/live -> live),
# without its extension.
NAME=$INPUT
case "$INPUT" in *://*) NAME=${NAME%%[?#]*} ;; esac  # a URI's query and fragment
NAME=${NAME%/}
NAME=${NAME##*/}
case "$INPUT" in *://*) [ "$NAME" = "${INPUT#*://}" ] && NAME=stream ;; esac  # a URI without a path
NAME=${NAME%.*}
[ -n "$NAME" ] || NAME=stream
VIDEO="$(realpath "$OUTPUT_DIR")/$NAME-annotated.mp4"
RESULTS="$(realpath "$OUTPUT_DIR")/$NAME.jsonl"

echo "demo: annotating $URI"
# videoflip turns footage that phones store sideways (an orientation tag in the file) upright, so
# faces are found and the annotated copy plays the right way up; other clips pass through untouched.
# videorate gives every frame a timestamp (some AVI files have none; mp4mux needs them); after
# the analysis, so frames it duplicates are not analysed twice. -e: a live URI stopped with Ctrl-C
# still ends with a playable MP4.
# The build tree's plugin and default model are set in this shell, not through "meson devenv CMD":
# on Ctrl-C meson kills its command a quarter of a second later, before gst-launch has finished
# the MP4 of a live source.
set +u # the dump appends to variables that may be unset
eval "$(meson devenv -C "$BUILD_DIR" --dump)"
set -u
annotate() {
  gst-launch-1.0 -q -e \
    uridecodebin uri="$URI" caps=video/x-raw ! videoconvert ! videoflip video-direction=auto ! \
    feremotion ! feremotionexport location="$RESULTS" source="$URI" ! videorate ! \
    videoconvert ! openh264enc bitrate=2000000 ! h264parse ! mp4mux ! filesink location="$VIDEO"
}
# OpenH264 reports the drain at the end of every stream as an error ("EncodeFrame(),
# cmInitParaError") although the file is complete: that line is dropped from GStreamer's stderr,
# the rest is kept. The filter ignores Ctrl-C so that gst-launch can still finish the MP4 after it.
STATUS_FILE=$(mktemp)
{ { annotate 2>&1 1>&3 3>&-; echo $? > "$STATUS_FILE"; } |
  (trap '' INT; grep --line-buffered -v -F 'CWelsH264SVCEncoder::EncodeFrame(), cmInitParaError' >&2 || true); } 3>&1
STATUS=$(cat "$STATUS_FILE")
rm -f "$STATUS_FILE"
if [ "$STATUS" != 0 ]; then
  # GStreamer's own words are above; "not-linked" there means no stream could become video.
  echo "demo: could not annotate $URI: see GStreamer's error above (\"not-linked\": the input has no" \
       "video stream, or none this system can decode)" >&2
  rm -f "$VIDEO" "$RESULTS"
  exit 1
fi

FRAMES=$(wc -l < "$RESULTS")
echo "demo: annotated video: $VIDEO"
echo "demo: per-frame results (JSON Lines, $FRAMES frames with faces): $RESULTS"
