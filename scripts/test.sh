#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sets up a Debian 12 or 13 machine, builds feremotion and runs every test suite.
# Tests that need ../shared (FER-2013, media, YuNet) skip with a message when it is absent.
set -eu
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
BUILD_DIR=${BUILD_DIR:-build}
if [ -f "$BUILD_DIR/build.ninja" ]; then
  meson setup --reconfigure "$BUILD_DIR" -Dtests=enabled >/dev/null
else
  meson setup "$BUILD_DIR" -Dtests=enabled
fi
scripts/configure-yunet.sh "$BUILD_DIR"
# Each LibTorch translation unit needs about 1.1 GB to compile: at most 2 at a time.
ninja -C "$BUILD_DIR" -j "${JOBS:-2}"
meson test -C "$BUILD_DIR" --print-errorlogs "$@"
