#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run HERE before training on a lent GPU machine: fills .device/ (ignored by git) with what that
# machine lacks, for the `device` tool to carry: FER-2013's compact folder (the same rows as the
# CSVs, as raw bytes; 55 MB) and the header-only libraries the trainer includes (nlohmann-json,
# CLI11). Then run scripts/device-train.sh there with carry [".device"].
set -eu
cd "$(dirname "$0")/.."
SHARED=${FEREMOTION_SHARED:-../shared}
if [ ! -d "$SHARED/data/fer2013/compact" ]; then
  echo "device-prepare: $SHARED/data/fer2013/compact is absent (set FEREMOTION_SHARED)" >&2
  exit 2
fi
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
rm -rf .device
mkdir -p .device/include .device/compact
cp "$SHARED"/data/fer2013/compact/* .device/compact/
cp -r /usr/include/nlohmann /usr/include/CLI .device/include/
echo "device-prepare: $(du -sh .device | cut -f1) in .device/ (the device tool carries at most 64 MiB with the tree)"
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carried=$(du -sb .device | cut -f1)
if [ $((tracked + carried)) -gt $((64 * 1024 * 1024)) ]; then
  echo "device-prepare: tree ($tracked bytes) and .device ($carried) exceed 64 MiB: move the largest tracked" \
       "file (models/feremotion-default.pt) out of the checkout during the device call, then back" >&2
fi
