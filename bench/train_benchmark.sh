#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Training speed: feremotion-trainer against the same architectures and loop in python3-torch,
# per architecture and thread count, on the first ROWS FER-2013 Training rows (default 6,400: 100
# steps of 64; ROWS=28709 times whole epochs), no augmentation. Prints a Markdown table; epoch time
# is extrapolated to the 28,709 rows. ARCHS picks the architectures ("name width" pairs).
set -eu
cd "$(dirname "$0")/.."
TRAINER=${TRAINER:-build/trainer/feremotion-trainer}
DATA=${FEREMOTION_SHARED:-../shared}/data/fer2013
ROWS=${ROWS:-6400}
echo "| architecture | threads | C++ img/s | C++ epoch s | Python img/s | Python epoch s | C++ / Python |"
echo "|---|---|---|---|---|---|---|"
ARCHS=${ARCHS:-"mini-xception:16 resnet:16 resnet:32 vgg:64"}
for arch in $ARCHS; do
  arch=$(echo "$arch" | tr : " ")
  set -- $arch
  for threads in 1 2; do
    cpp=$($TRAINER train --data "$DATA/fer2013-train-00.csv.gz" --val "$DATA/fer2013-publictest.csv.gz" \
      --limit $ROWS --val-limit 64 --arch "$1" --width "$2" --epochs 1 --batch-size 64 --no-augment \
      --threads $threads --out /tmp/feremotion-train-bench.pt | sed -n 's/.* \([0-9]*\) img\/s$/\1/p' | tail -1)
    py=$(/usr/bin/python3 bench/python_train.py "$DATA/fer2013-train-00.csv.gz" --arch "$1" --width "$2" \
      --threads $threads --rows $ROWS | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["images_per_second"]))')
    echo "| $1 (width $2) | $threads | $cpp | $((28709 / cpp)) | $py | $((28709 / py)) | $(awk "BEGIN { printf \"%.2f\", $cpp / $py }") |"
  done
done
