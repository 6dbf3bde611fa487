#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds feremotion and prints the benchmark figures recorded in docs/performance.md.
# Usage: scripts/benchmark.sh [MODEL.pt] [extra feremotion-bench options]
set -eu
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build -j "${JOBS:-2}"
SHARED=${FEREMOTION_SHARED:-../shared}
MODEL=${1:-models/feremotion-default.pt}
[ $# -gt 0 ] && shift
if [ ! -f "$MODEL" ]; then
  echo "benchmark: no model at $MODEL; give a bundle as the first argument" >&2
  exit 2
fi
exec meson devenv -C build bench/feremotion-bench --model "$(realpath "$MODEL")" --shared "$(realpath "$SHARED")" \
  --source-dir "$PWD" --build-dir "$PWD/build" "$@"
