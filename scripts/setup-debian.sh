#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs every Debian package that building, running, testing and benchmarking feremotion need,
# on Debian 12 (bookworm) or 13 (trixie): the package names are the same on both.
# Idempotent: packages already present are skipped by apt; nothing is downloaded outside Debian.
set -eu

RELEASE=$(. /etc/os-release 2>/dev/null && echo "${VERSION_ID:-unknown}")
case "$RELEASE" in
  12 | 13) ;;
  *) echo "setup: this is not Debian 12 or 13 (VERSION_ID '$RELEASE' in /etc/os-release): trying the same packages" >&2 ;;
esac

PACKAGES="build-essential meson ninja-build pkg-config
  libtorch-dev libopenblas0-openmp
  libopencv-dev opencv-data opencv-doc
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-rtsp gstreamer1.0-x
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev zlib1g-dev liblzma-dev
  python3-torch python3-opencv python3-numpy
  python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "setup: all Debian packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "setup: missing Debian packages:$missing" >&2
    echo "setup: run this script as root, or install sudo, to install them" >&2
    exit 1
  fi
  SUDO="sudo"
fi
echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
