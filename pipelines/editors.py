#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Editors: annotate every clip of a folder, offline. For each clip the output folder gets an
annotated copy (H.264 in MP4, boxes and emotions drawn in) and its per-face results as JSON Lines,
CSV and WebVTT subtitles (each face track's dominant emotion over time). Files that cannot be read
or decoded are skipped with a message, and the exit status is then 1."""

import argparse
import os
import sys
import time

import common
from common import Gst

EXAMPLES = """examples, from the top of a checkout (with the plugin installed, drop "meson devenv -C build -w ."):
  meson devenv -C build -w . pipelines/editors.py --input ~/clips                # into ./clips-feremotion/
  meson devenv -C build -w . pipelines/editors.py -i ~/clips -o ~/annotated --detector yunet \\
      --detector-model face_detection_yunet_2023mar.onnx --detection-interval 3
(YuNet: face_detection_yunet_2023mar.onnx on OpenCV 4.8 and newer, as on Debian 13; _2022mar.onnx on
Debian 12's OpenCV 4.6.)
For clip.mp4 it writes clip-annotated.mp4, clip.jsonl, clip.csv and clip.vtt (video only: the
clip's audio is not copied). Hidden files and sub-folders are not read."""

# videoflip turns footage that phones store sideways (an orientation tag in the file) upright. Three
# passthrough exports in a row write the three result files as each frame passes.
PIPELINE = ('uridecodebin name=source caps=video/x-raw ! videoconvert ! videoflip video-direction=auto ! '
            'feremotion name=analysis ! '
            'feremotionexport name=jsonl format=jsonl ! feremotionexport name=csv format=csv ! '
            'feremotionexport name=webvtt format=webvtt ! videoconvert ! videorate ! '
            'openh264enc name=encoder ! h264parse ! mp4mux ! filesink name=sink')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLES + common.DEVENV_NOTE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-i', '--input', required=True, metavar='FOLDER', help='folder of video clips')
    parser.add_argument('-o', '--output', metavar='FOLDER',
                        help='output folder, created if needed (default: ./NAME-feremotion for an input '
                             'folder NAME)')
    parser.add_argument('--bitrate', type=int, default=2000, metavar='KBITS',
                        help='H.264 bitrate of the annotated copies in kbit/s (default %(default)s)')
    parser.add_argument('--cue-duration', type=int, metavar='MS',
                        help='length of each WebVTT cue in milliseconds (feremotionexport default: 1000)')
    common.add_analysis_options(parser)
    args = parser.parse_args()
    if not os.path.isdir(args.input):
        common.fail(f'input "{args.input}" is not a folder')
    args.output = args.output or os.path.basename(os.path.abspath(args.input)) + '-feremotion'
    return args


def clips_in(folder):
    """(name, output base name) of each visible file; bases keep the extension where stems collide."""
    names = sorted(n for n in os.listdir(folder)
                   if not n.startswith('.') and os.path.isfile(os.path.join(folder, n)))
    stems = [os.path.splitext(n)[0] for n in names]
    return [(n, s if stems.count(s) == 1 else n) for n, s in zip(names, stems)]


def outputs_of(folder, base):
    return {'sink': os.path.join(folder, base + '-annotated.mp4'), 'jsonl': os.path.join(folder, base + '.jsonl'),
            'csv': os.path.join(folder, base + '.csv'), 'webvtt': os.path.join(folder, base + '.vtt')}


class Progress:
    """The clip's percentage from position/duration queries: a rewritten line on a terminal, a line
    every 10% otherwise."""

    def __init__(self, pipeline, prefix):
        self.pipeline, self.prefix = pipeline, prefix
        self.terminal = sys.stdout.isatty()
        self.shown = -10  # the last percentage printed (rounded down to tens when not on a terminal)

    def update(self):
        ok_position, position = self.pipeline.query_position(Gst.Format.TIME)
        ok_duration, duration = self.pipeline.query_duration(Gst.Format.TIME)
        if not (ok_position and ok_duration and duration > 0):
            return
        percent = min(100, 100 * position // duration)
        if self.terminal:
            self.shown = percent
            print(f'\r{self.prefix} {percent:3d}%', end='', flush=True)
        elif percent >= self.shown + 10:
            self.shown = percent - percent % 10
            print(f'{self.prefix} {percent}%', flush=True)

    def finish(self):
        if self.terminal:
            print(f'\r{self.prefix} 100%', flush=True)
        elif self.shown < 100:
            print(f'{self.prefix} 100%', flush=True)


def annotate(path, outputs, args, prefix):
    """Runs one clip; returns (frames, None) or (frames, the error's text)."""
    pipeline = Gst.parse_launch(PIPELINE)
    uri = Gst.filename_to_uri(os.path.abspath(path))
    pipeline.get_by_name('source').set_property('uri', uri)
    common.configure_feremotion(pipeline.get_by_name('analysis'), args)
    for name, location in outputs.items():
        pipeline.get_by_name(name).set_property('location', location)
    for name in ('jsonl', 'csv', 'webvtt'):
        pipeline.get_by_name(name).set_property('source', uri)
    if args.cue_duration is not None:
        common.set_property(pipeline.get_by_name('webvtt'), 'cue-duration', args.cue_duration)
    pipeline.get_by_name('encoder').set_property('bitrate', args.bitrate * 1000)

    counter = common.count_frames(pipeline.get_by_name('analysis'))
    progress = Progress(pipeline, prefix)
    error = common.run(pipeline, on_tick=progress.update, frames=counter)
    frames = counter['frames']
    if not error and frames == 0:
        error = 'no video frames'
    if not error and not common.stop_requested:
        progress.finish()
    elif progress.terminal and progress.shown >= 0:
        print(flush=True)  # ends the progress line
    return frames, error


def main():
    args = parse_args()
    common.init()
    if not common.has_enum_value(Gst.ElementFactory.make('feremotionexport'), 'format', 'webvtt'):
        common.fail('this feremotionexport cannot write WebVTT (format=webvtt): the plugin is older than this script')
    clips = clips_in(args.input)
    if not clips:
        common.fail(f'no files in "{args.input}"')
    common.make_folder(args.output)
    common.log(f'{len(clips)} file{"s" if len(clips) > 1 else ""} in {args.input} -> {args.output}')

    done, skipped = [], []
    for k, (name, base) in enumerate(clips, 1):
        prefix = f'[{k}/{len(clips)}] {name}'
        outputs = outputs_of(args.output, base)
        started = time.monotonic()
        frames, error = annotate(os.path.join(args.input, name), outputs, args, prefix)
        if common.stop_requested:
            common.log(f'{prefix}: interrupted after {frames} frames; its outputs are incomplete')
            return common.EXIT_FAILED
        if error:
            for location in outputs.values():
                if os.path.exists(location):
                    os.remove(location)
            common.log(f'{prefix}: skipped, cannot be annotated: {error}')
            skipped.append(name)
            continue
        with open(outputs['jsonl']) as results:
            with_faces = sum(1 for _ in results)
        common.log(f'{prefix}: {frames} frames, {with_faces} with faces, {time.monotonic() - started:.1f} s -> '
                   f'{os.path.basename(outputs["sink"])}, .jsonl, .csv, .vtt')
        done.append(name)

    common.log(f'annotated {len(done)} of {len(clips)} files into {args.output}' +
               (f'; skipped {len(skipped)}: {", ".join(skipped)}' if skipped else ''))
    return common.EXIT_FAILED if skipped else common.EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
