#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run ON the lent GPU machine, in the carried checkout, after scripts/device-prepare.sh here:
# builds feremotion-trainer against that machine's PyTorch (its LibTorch, with CUDA) and trains on
# the carried FER-2013 rows. The bundle, its metrics JSON and a version-neutral copy of its weights
# (model.weights) land in OUT_DIR. Back here, if this LibTorch cannot load a bundle traced by that
# machine's newer one: feremotion-trainer import-weights --weights model.weights --out model.pt
# Usage: scripts/device-train.sh OUT_DIR [feremotion-trainer train options]
#   e.g. scripts/device-train.sh "$OUT" --arch resnet --width 32 --epochs 100 --batch-size 128
# Environment: PYTHON (default python3, the one holding torch), CUDA=enabled|auto (meson option;
# auto lets a CPU-only check of this script run), BUILD (default build-device), PREPARE_ONLY=1
# (build the trainer and unpack the data into $BUILD/fer2013, then stop).
set -eu
[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [train options]" >&2; exit 2; }
OUT_DIR=$1
shift
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BUILD=${BUILD:-build-device}
TORCH=$($PYTHON -c 'import os, torch; print(os.path.dirname(torch.__file__))')
ABI=$($PYTHON -c 'import torch; print(str(bool(torch._C._GLIBCXX_USE_CXX11_ABI)).lower())')
echo "device-train: torch $($PYTHON -c 'import torch; print(torch.__version__)') at $TORCH, C++11 ABI $ABI"
if [ ! -f "$BUILD/build.ninja" ]; then
  # Newer PyTorch releases need C++20 for their headers; ours compile as either.
  STD=c++17
  echo '#include <torch/torch.h>' | ${CXX:-c++} -std=c++17 -fsyntax-only -x c++ - -I"$TORCH/include" \
    -I"$TORCH/include/torch/csrc/api/include" 2>/dev/null || STD=c++20
  echo "device-train: compiling as $STD"
  meson setup "$BUILD" -Dtorch_dir="$TORCH" -Dtorch_cxx11_abi="$ABI" -Dplugin=disabled -Dtests=disabled \
    -Dcuda="${CUDA:-enabled}" -Dcpp_std=$STD -Dcpp_args="-I$PWD/.device/include"
fi
ninja -C "$BUILD" trainer/feremotion-trainer

# Plain copies of the .xz files, unpacked by Python's lzma: the machine may lack liblzma's dev files.
DATA="$BUILD/fer2013"
mkdir -p "$DATA"
for f in .device/compact/*; do
  name=$(basename "$f" .xz)
  [ -f "$DATA/$name" ] && continue
  $PYTHON -c 'import lzma, shutil, sys
opener = lzma.open if sys.argv[1].endswith(".xz") else open
with opener(sys.argv[1], "rb") as src, open(sys.argv[2] + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 22)' "$f" "$DATA/$name"
  mv "$DATA/$name.part" "$DATA/$name"
done

[ "${PREPARE_ONLY:-0}" = 1 ] && { echo "device-train: trainer and data ready in $BUILD"; exit 0; }
mkdir -p "$OUT_DIR"
"$BUILD/trainer/feremotion-trainer" train --data "$DATA" --checkpoint-dir "$BUILD/checkpoints" \
  --out "$OUT_DIR/model.pt" "$@"
"$BUILD/trainer/feremotion-trainer" export-weights --model "$OUT_DIR/model.pt" --out "$OUT_DIR/model.weights"
