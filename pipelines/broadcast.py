#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Broadcast: annotate a file or a live source with feremotion and encode it as H.264 in MP4 or
MPEG-TS with the overlays drawn in; or, with --metadata-only, leave the frames untouched, encode
nothing and write the results as JSON Lines (one object per frame with faces)."""

import argparse
import os
import sys
import urllib.parse

import common
from common import Gst

EXAMPLES = """examples, from the top of a checkout (with the plugin installed, drop "meson devenv -C build -w ."):
  meson devenv -C build -w . pipelines/broadcast.py --input clip.mp4            # clip-annotated.mp4
  meson devenv -C build -w . pipelines/broadcast.py -i rtsp://cam/stream -o live.ts   # Ctrl-C to stop
  meson devenv -C build -w . pipelines/broadcast.py -i clip.mp4 --metadata-only # clip.jsonl
Live inputs (rtsp://, http://, v4l2:///dev/video0) run until Ctrl-C or SIGTERM, which finish the
file properly."""

MUXERS = {'mp4': 'mp4mux', 'ts': 'mpegtsmux'}
EXTENSIONS = {'.mp4': 'mp4', '.m4v': 'mp4', '.mov': 'mp4', '.ts': 'ts', '.m2ts': 'ts', '.mts': 'ts'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLES + common.DEVENV_NOTE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-i', '--input', required=True,
                        help='video file path or URI (file://, rtsp://, http://, v4l2:///dev/video0, ...)')
    parser.add_argument('-o', '--output',
                        help='output file (default: NAME-annotated.mp4, or NAME.jsonl with --metadata-only, '
                             'in the current folder, NAME being the input\'s)')
    parser.add_argument('--container', choices=sorted(MUXERS),
                        help='mp4 or ts (MPEG-TS); default: from the output\'s extension (.mp4, .m4v, .mov; '
                             '.ts, .m2ts, .mts), mp4 without -o. A live source that drops ends an MP4 unplayable; '
                             'MPEG-TS keeps what was written')
    parser.add_argument('--metadata-only', action='store_true',
                        help='no overlay and no video encode: JSON Lines through feremotionexport')
    parser.add_argument('--bitrate', type=int, default=2000, metavar='KBITS',
                        help='H.264 bitrate in kbit/s (default %(default)s)')
    common.add_analysis_options(parser)
    return parser.parse_args()


def input_name(uri):
    """clip for file:///videos/clip.mp4, stream for rtsp://host/stream, video0 for v4l2:///dev/video0."""
    return os.path.splitext(os.path.basename(urllib.parse.urlparse(uri).path.rstrip('/')))[0] or 'output'


def container_of(args):
    if args.container or args.metadata_only:
        return args.container
    extension = os.path.splitext(args.output or '')[1].lower()
    if args.output and extension not in EXTENSIONS:
        common.fail(f'cannot tell the container from "{args.output}": use .mp4 or .ts, or --container')
    return EXTENSIONS.get(extension, 'mp4')


def build(args, uri, location):
    if args.metadata_only:
        pipeline = Gst.parse_launch('uridecodebin name=source caps=video/x-raw ! videoconvert ! '
                                    'feremotion name=analysis ! feremotionexport name=export ! fakesink sync=false')
        export = pipeline.get_by_name('export')
        export.set_property('location', location)
        export.set_property('source', uri)
    else:
        # videorate, after the analysis so that it never analyses a frame twice, gives frames without
        # timestamps (some AVI files) the ones the muxers need.
        pipeline = Gst.parse_launch('uridecodebin name=source caps=video/x-raw ! videoconvert ! '
                                    'feremotion name=analysis ! videoconvert ! videorate ! openh264enc name=encoder ! '
                                    f'h264parse ! {MUXERS[args.container]} ! filesink name=sink')
        pipeline.get_by_name('encoder').set_property('bitrate', args.bitrate * 1000)
        pipeline.get_by_name('sink').set_property('location', location)
    pipeline.get_by_name('source').set_property('uri', uri)
    common.configure_feremotion(pipeline.get_by_name('analysis'), args, overlay=not args.metadata_only)
    return pipeline


def remove_stale_parts(folder, name):
    """Removes the partial files of earlier runs for this output whose process is gone (killed)."""
    prefix = f'.{name}.part-'
    for entry in os.listdir(folder or '.'):
        pid = entry[len(prefix):]
        if not entry.startswith(prefix) or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            os.remove(os.path.join(folder, entry))
        except PermissionError:
            pass  # another user's live process


def main():
    args = parse_args()
    common.init()
    uri = common.to_uri(args.input)
    args.container = container_of(args)
    if not args.output:
        suffix = '.jsonl' if args.metadata_only else f'-annotated.{args.container}'
        args.output = input_name(uri) + suffix

    # The run writes to a file of its own and gives it the output's name with its first frame, so a
    # run that fails before that leaves an earlier file of that name as it was.
    folder, name = os.path.split(os.path.abspath(args.output))
    partial = os.path.join(folder, f'.{name}.part-{os.getpid()}')
    remove_stale_parts(folder, name)
    pipeline = build(args, uri, partial)
    counter = common.count_frames(pipeline.get_by_name('analysis'))
    named = {'done': False}

    def name_output(_pad, _info):
        if not named['done'] and os.path.exists(partial):
            os.replace(partial, args.output)
            named['done'] = True
        return Gst.PadProbeReturn.REMOVE if named['done'] else Gst.PadProbeReturn.OK

    pipeline.get_by_name('analysis').get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, name_output)
    what = 'JSON Lines' if args.metadata_only else f'H.264 in {args.container.upper()}'
    common.log(f'{uri} -> {args.output} ({what})')
    error = common.run(pipeline, frames=counter)
    if not named['done'] and os.path.exists(partial):
        if error:
            os.remove(partial)  # this run made it and wrote nothing into it
        else:
            os.replace(partial, args.output)  # a stream without frames: its (empty) results
    if error:
        if counter['frames'] > 0 and args.container == 'mp4' and not args.metadata_only:
            common.log(f'{args.output} is incomplete and may not play: an MP4 is readable only once finished '
                       '(-o NAME.ts keeps what was written)')
        common.fail(f'failed after {counter["frames"]} frames: {error}', common.EXIT_FAILED)
    if args.metadata_only:
        with open(args.output) as results:
            common.log(f'wrote {args.output}: {counter["frames"]} frames analysed, '
                       f'{sum(1 for _ in results)} with faces')
    else:
        common.log(f'wrote {args.output}: {counter["frames"]} frames analysed')
    return common.EXIT_OK


if __name__ == '__main__':
    sys.exit(main())
