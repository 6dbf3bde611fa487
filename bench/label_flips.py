#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How often a tracked face's label flips, and how late it follows a real change, per smoothing.

Runs `feremotion` over each clip once per smoothing value (other properties as given) with
`feremotionexport` writing JSON Lines, then, per track id:
  - flips: frames whose label differs from the same track's label on its previous frame, per 100
    face-frames;
  - real changes: the classifier's raw label switches to one that then stays raw for at least
    --hold frames in a row; lag: frames from that switch until the reported (smoothed) label is
    the new one (a change the label never reaches counts as a miss).
Smoothing trades the first against the second.

Usage (from the checkout, after a build):
  bench/label_flips.py [--build DIR] [--hold N] [--smoothing S,S,...] CLIP... [-- PROPERTIES]
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


def measure(tracks, hold):
    face_frames = flips = 0
    lags, misses = [], 0
    for frames in tracks.values():
        face_frames += len(frames)
        flips += sum(1 for a, b in zip(frames, frames[1:]) if a[1] != b[1])
        for start in range(1, len(frames)):
            new = frames[start][2]
            if new == frames[start - 1][2] or start + hold > len(frames):
                continue
            if any(f[2] != new for f in frames[start:start + hold]):
                continue
            lag = next((i for i, f in enumerate(frames[start:]) if f[1] == new), None)
            if lag is None:
                misses += 1
            else:
                lags.append(lag)
    return face_frames, flips, lags, misses


def main():
    argv = sys.argv[1:]
    properties = ""
    if "--" in argv:
        properties = " ".join(argv[argv.index("--") + 1:])
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--hold", type=int, default=10, help="frames a new raw label must last to count as real")
    parser.add_argument("--smoothing", default="0,0.3,0.5,0.6,0.7,0.8,0.9")
    parser.add_argument("clips", nargs="+")
    args = parser.parse_args(argv)
    build = os.path.abspath(args.build)
    print(f"| clip | smoothing | face-frames | label flips per 100 face-frames | real changes (raw label held "
          f"{args.hold}+ frames) | lag median / max (frames) | changes never followed |")
    print("|---|---|---|---|---|---|---|")
    for clip in args.clips:
        for smoothing in args.smoothing.split(","):
            records = element_records(os.path.abspath(clip), f"smoothing={smoothing} {properties}", build, "label_flips")
            face_frames, flips, lags, misses = measure(tracks_of(records), args.hold)
            lag = f"{statistics.median(lags):.0f} / {max(lags)}" if lags else "-"
            print(f"| {os.path.basename(clip)} | {smoothing} | {face_frames} | {100 * flips / max(1, face_frames):.1f} | "
                  f"{len(lags) + misses} | {lag} | {misses} |", flush=True)


if __name__ == "__main__":
    main()
