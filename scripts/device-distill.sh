#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run ON a lent GPU machine, in the carried checkout, after scripts/device-prepare.sh here (carry
# [".device"]). Within about DEADLINE seconds of its start it
#   1. builds the trainer against that machine's PyTorch (scripts/device-train.sh),
#   2. trains the TEACHER_WIDTHS residual networks side by side,
#   3. joins them into one ensemble bundle and reports its PublicTest accuracy,
#   4. distils that ensemble into the STUDENT_WIDTHS networks side by side,
# every network validating on one shared 5% holdout of the training rows (never on PublicTest), and
# each phase sizing its epochs to its share of the time (--time-limit). OUT_DIR receives each
# student's version-neutral weights (<name>.weights; back here: feremotion-trainer import-weights),
# the teachers' outputs on every training face (teachers-soft-labels.bin, for train --soft-labels
# here; it teaches less than the running teacher, models/README.md) and results.tar.gz with every log, command and metrics JSON (that machine has no OpenCV: draw
# the learning curves here with feremotion-trainer curves --metrics <name>-metrics.json).
# PHASES="teachers" stops after step 3 and PHASES="students" runs step 4 alone on the teachers a
# previous call left in build-device/ (ignored by git, so it stays while the machine is warm).
# Measured on an H200 (docs/performance.md): a width 48 network trains at batch 128 at ~15,500
# faces/s alone and ~4,850 each with four side by side, at batch 512 at ~27,000 alone (side by side
# not measured); the first epoch takes 6-23 s more while cuDNN tunes.
# Usage: scripts/device-distill.sh OUT_DIR
# Environment (defaults in brackets): DEADLINE [540] seconds for all of it; PHASES ["teachers
# students"]; TEACHER_WIDTHS ["48 48 48"]; STUDENT_WIDTHS ["32 32"]; TEACHER_SHARE [0.55] of the
# training time when both phases run; MAX_EPOCHS [150] per network; BATCH [512], LR [0.4] and
# WARMUP [3] epochs of every network; SEED [3000]: the holdout's,
# teacher i's is SEED+i, student i's SEED+100+i; DEVICE [cuda]; EXTRA: more train options for
# every network (e.g. --limit for a quick check).
set -u
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT_DIR=$(mkdir -p "$1" && cd "$1" && pwd)
cd "$(dirname "$0")/.."
START=$(date +%s)
DEADLINE=${DEADLINE:-540}
PHASES=${PHASES:-teachers students}
TEACHER_WIDTHS=${TEACHER_WIDTHS:-48 48 48}
STUDENT_WIDTHS=${STUDENT_WIDTHS:-32 32}
TEACHER_SHARE=${TEACHER_SHARE:-0.55}
MAX_EPOCHS=${MAX_EPOCHS:-150}
SEED=${SEED:-3000}
BUILD=${BUILD:-build-device}
WORK=$BUILD/distill
LOG=$OUT_DIR/log.txt
runs() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }
if runs teachers; then rm -rf "$WORK"; fi
mkdir -p "$WORK"
rm -f "$WORK"/student*
elapsed() { echo $(( $(date +%s) - START )); }
say() { echo "[$(elapsed) s] $*" | tee -a "$LOG"; }

PREPARE_ONLY=1 BUILD=$BUILD scripts/device-train.sh "$WORK" >> "$LOG" 2>&1 || { say "build failed"; tail -40 "$LOG"; exit 1; }
TRAINER=$BUILD/trainer/feremotion-trainer
DATA=$BUILD/fer2013
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$LOG" 2>&1
ldd "$TRAINER" | grep -E 'torch|c10|cuda' >> "$LOG" 2>&1
say "trainer built; $(nproc) cores"

# The recipe of the shipped CPU members (SGD, label smoothing, dropout), at batch 512 with the
# learning rate scaled as the batch (0.05 at 64) and warmed up over 3 epochs: on an H200 a batch of
# 512 trains 1.8x the faces per second of 128, and with the warm-up it learns as fast per epoch
# (measured on the CPU; without it, at chance level). docs/performance.md.
COMMON=(--data "$DATA" --holdout 0.05 --holdout-seed "$SEED" --test "$DATA" --arch resnet --dropout 0.2
        --batch-size ${BATCH:-512} --optimizer sgd --lr ${LR:-0.4} --warmup-epochs ${WARMUP:-3}
        --weight-decay 5e-4 --label-smoothing 0.1 --tta
        --threads 2 --device "${DEVICE:-cuda}" --epochs "$MAX_EPOCHS" ${EXTRA:-})
# Left for training, less a minute for the ensemble and the exports.
TRAIN_SECONDS=$(( DEADLINE - $(elapsed) - 60 ))
TEACHER_SECONDS=$(awk -v t="$TRAIN_SECONDS" -v s="$TEACHER_SHARE" 'BEGIN { printf "%d", t * s }')

# Runs one network per width side by side; $1: name prefix, $2: widths, $3: first seed, $4: seconds,
# rest: more options.
train_side_by_side() {
  local prefix=$1 widths=$2 seed=$3 seconds=$4 i=0 pids=() name
  shift 4
  for width in $widths; do
    i=$((i + 1))
    name=$prefix$i-w$width
    local args=(train "${COMMON[@]}" --width "$width" --seed $((seed + i)) --time-limit "$seconds" "$@"
                --out "$WORK/$name.pt")
    echo "feremotion-trainer ${args[*]}" > "$WORK/$name.command.txt"
    timeout $((seconds + 60)) "$TRAINER" "${args[@]}" > "$WORK/$name.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for log in "$WORK"/$prefix*.log; do
    say "$(basename "$log" .log): $(grep -E '^(--time-limit|best epoch|test:)' "$log" | tr '\n' ' ')"
    grep -q '^wrote .*\.pt$' "$log" || tail -5 "$log" >> "$LOG"
  done
}

if runs teachers; then
  runs students || TEACHER_SECONDS=$TRAIN_SECONDS
  say "teachers ($TEACHER_WIDTHS): $TEACHER_SECONDS s"
  train_side_by_side teacher "$TEACHER_WIDTHS" "$SEED" "$TEACHER_SECONDS"
  TEACHERS=$(ls "$WORK"/teacher[0-9]*.pt 2>/dev/null | tr '\n' ' ')
  if [ -n "$TEACHERS" ]; then
    # shellcheck disable=SC2086
    "$TRAINER" ensemble --models $TEACHERS --out "$WORK/teachers.pt" --test "$DATA" > "$WORK/teachers.log" 2>&1
    say "teachers' ensemble: $(grep -iE 'accuracy' "$WORK/teachers.log" | tr '\n' ' ')"
    # The ensemble's outputs on every training face (~1 MB), for students trained later on a CPU.
    "$TRAINER" soft-labels --model "$WORK/teachers.pt" --data "$DATA" --usage Training --flip \
      --device "${DEVICE:-cuda}" --out "$OUT_DIR/teachers-soft-labels.bin" >> "$LOG" 2>&1
  fi
fi
if ! runs students; then
  :
elif [ -f "$WORK/teachers.pt" ] && [ $(( DEADLINE - $(elapsed) - 45 )) -lt 30 ]; then
  say "no students: $(( DEADLINE - $(elapsed) )) s left of DEADLINE (the teachers' outputs are in teachers-soft-labels.bin)"
elif [ -f "$WORK/teachers.pt" ]; then
  STUDENT_SECONDS=$(( DEADLINE - $(elapsed) - 45 ))
  say "students ($STUDENT_WIDTHS): $STUDENT_SECONDS s"
  train_side_by_side student "$STUDENT_WIDTHS" $((SEED + 100)) "$STUDENT_SECONDS" --teacher "$WORK/teachers.pt" \
    --distill-weight 0.7 --distill-temperature 2
else
  say "no teachers' ensemble: no students"
fi
for bundle in "$WORK"/student*.pt; do
  [ -f "$bundle" ] && "$TRAINER" export-weights --model "$bundle" --out "$OUT_DIR/$(basename "$bundle" .pt).weights" >> "$LOG" 2>&1
done
tar -czf "$OUT_DIR/results.tar.gz" -C "$WORK" --exclude='*.pt' --exclude='checkpoints' . 2>> "$LOG"
say "done; $(ls "$OUT_DIR" | tr '\n' ' ')"
