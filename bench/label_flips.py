#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How often a tracked face's label flips, and how late it follows a real change, per setting.

Runs `feremotion` over each clip once per value of one property (`--vary`, smoothing by default;
other properties as given) with `feremotionexport` writing JSON Lines, then, per track id:
  - flips: frames whose label differs from the same track's label on its previous frame, per 100
    face-frames;
  - real changes: the classifier's raw label, in the run with the first value, switches to one that
    then stays raw for at least --hold frames in a row; lag: frames from that switch until the
    reported label is the new one (a change the label never reaches counts as a miss);
  - agreement: face-frames whose reported label is the one the first value's run reported.
The first value is the reference, so give it first: smoothing=0 (the raw labels), or
reclassify-interval=1 (every face classified on every frame). Tracks are matched by id and frame,
which holds because neither property changes detection or tracking.
Smoothing trades flips against lag; classifying followed faces less often trades work against lag.

Usage (from the checkout, after a build):
  bench/label_flips.py [--build DIR] [--hold N] [--vary NAME=V,V,...] CLIP... [-- PROPERTIES]
"""
import argparse
import os
import statistics
import sys

from element_records import element_records


def tracks_of(records):
    """id -> [(frame, label, raw label)] in frame order."""
    tracks = {}
    for record in records:
        for face in record["objects"]:
            emotion = face.get("emotion")
            if not emotion:
                continue
            raw = emotion.get("raw_probabilities") or emotion["probabilities"]
            tracks.setdefault(face["id"], []).append((record["frame"], emotion["label"], max(raw, key=raw.get)))
    return tracks


def labels_by_frame(tracks):
    """(track id, frame) -> reported label."""
    return {(track, f[0]): f[1] for track, frames in tracks.items() for f in frames}


def real_changes(tracks, hold):
    """(track id, frame, new label) for each raw label switch that then holds for `hold` frames."""
    changes = []
    for track, frames in tracks.items():
        for start in range(1, len(frames)):
            new = frames[start][2]
            if new == frames[start - 1][2] or start + hold > len(frames):
                continue
            if all(f[2] == new for f in frames[start:start + hold]):
                changes.append((track, frames[start][0], new))
    return changes


def measure(tracks, changes, reference):
    face_frames = flips = 0
    for frames in tracks.values():
        face_frames += len(frames)
        flips += sum(1 for a, b in zip(frames, frames[1:]) if a[1] != b[1])
    agreeing = sum(1 for key, label in labels_by_frame(tracks).items() if reference.get(key) == label)
    lags, misses = [], 0
    for track, frame, new in changes:
        later = [f for f in tracks.get(track, []) if f[0] >= frame]
        lag = next((i for i, f in enumerate(later) if f[1] == new), None)
        if lag is None:
            misses += 1
        else:
            lags.append(lag)
    return face_frames, flips, agreeing, lags, misses


def main():
    argv = sys.argv[1:]
    properties = ""
    if "--" in argv:
        properties = " ".join(argv[argv.index("--") + 1:])
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--hold", type=int, default=10, help="frames a new raw label must last to count as real")
    parser.add_argument("--vary", default="smoothing=0,0.3,0.5,0.6,0.7,0.8,0.9",
                        help="NAME=V,V,...: the property and its values, the reference first")
    parser.add_argument("clips", nargs="+")
    args = parser.parse_args(argv)
    build = os.path.abspath(args.build)
    name, _, values = args.vary.partition("=")
    print(f"| clip | {name} | face-frames | label flips per 100 face-frames | real changes (raw label held "
          f"{args.hold}+ frames) | lag median / max (frames) | changes never followed | labels as with {name}="
          f"{values.split(',')[0]} |")
    print("|---|---|---|---|---|---|---|---|")
    for clip in args.clips:
        changes, reference = None, None
        for value in values.split(","):
            records = element_records(os.path.abspath(clip), f"{name}={value} {properties}", build, "label_flips")
            tracks = tracks_of(records)
            if changes is None:
                changes = real_changes(tracks, args.hold)
                reference = labels_by_frame(tracks)
            face_frames, flips, agreeing, lags, misses = measure(tracks, changes, reference)
            lag = f"{statistics.median(lags):.0f} / {max(lags)}" if lags else "-"
            print(f"| {os.path.basename(clip)} | {value} | {face_frames} | {100 * flips / max(1, face_frames):.1f} | "
                  f"{len(changes)} | {lag} | {misses} | {100 * agreeing / max(1, face_frames):.0f}% |", flush=True)


if __name__ == "__main__":
    main()
