#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Gives the build the YuNet face detector files, when they are at hand, so that the element's
# default detector=auto uses YuNet instead of Haar (README, "Choosing a detector"): the OpenCV zoo's
# face_detection_yunet_2022mar.onnx / _2023mar.onnx in $FEREMOTION_YUNET_DIR, else in the team's
# shared folder ($FEREMOTION_SHARED/models or ../shared/models beside the checkout). Without them the
# build stays as it is (Haar). Usage: scripts/configure-yunet.sh BUILD_DIR
set -eu
cd "$(dirname "$0")/.."
BUILD_DIR=${1:?usage: scripts/configure-yunet.sh BUILD_DIR}
DIR=${FEREMOTION_YUNET_DIR:-${FEREMOTION_SHARED:-../shared}/models}
FILES=""
for release in face_detection_yunet_2022mar.onnx face_detection_yunet_2023mar.onnx; do
  if [ -f "$DIR/$release" ]; then FILES="${FILES:+$FILES,}$(realpath "$DIR/$release")"; fi
done
GIVEN=$(meson introspect "$BUILD_DIR" --buildoptions | /usr/bin/python3 -c \
  'import json, sys; print(",".join(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "yunet_model")))')
# Files given to an earlier configuration that are gone now are taken back out as well.
if [ "$GIVEN" != "$FILES" ]; then
  meson configure "$BUILD_DIR" -Dyunet_model="$FILES" > /dev/null
fi
if [ -z "$FILES" ]; then
  echo "configure-yunet: no YuNet files in $DIR: faces are found with Haar (README, \"Choosing a detector\")"
else
  echo "configure-yunet: faces are found with YuNet from $DIR (detector=auto)"
fi
