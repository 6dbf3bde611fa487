#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pipelines/broadcast.py on video_01.mp4: an annotated MP4 and MPEG-TS that decode to the clip's
frames, and the metadata-only JSON Lines checked field by field."""

import tempfile
from pathlib import Path

import checks
from checks import CLIP, Gst, expect

checks.check_help('broadcast.py')
checks.require_media()
detector = checks.detector_options()
with tempfile.TemporaryDirectory() as folder:
    out = Path(folder)
    # MP4 named by --output.
    checks.run_script('broadcast.py', '--input', CLIP, '--output', out / 'annotated.mp4', *detector)
    checks.check_video(out / 'annotated.mp4', 'quicktime')

    # MPEG-TS chosen by --container, from a URI, default name in the working folder; an interval.
    checks.run_script('broadcast.py', '-i', Gst.filename_to_uri(str(CLIP)), '--container', 'ts',
                      '--detection-interval', 2, *detector, cwd=out)
    checks.check_video(out / 'video_01-annotated.ts', 'mpegts')

    # Metadata only: one record per frame with faces (YuNet and Haar see faces in every frame).
    log = checks.run_script('broadcast.py', '-i', CLIP, '--metadata-only', '-o', out / 'faces.jsonl', *detector)
    records = checks.check_jsonl(out / 'faces.jsonl', Gst.filename_to_uri(str(CLIP)), at_least=checks.CLIP_FRAMES - 4)
    expect(f'{checks.CLIP_FRAMES} frames analysed, {len(records)} with faces' in log, 'no summary line')
    expect(sorted(p.name for p in out.iterdir()) == ['annotated.mp4', 'faces.jsonl', 'video_01-annotated.ts'],
           f'unexpected files: {sorted(p.name for p in out.iterdir())}')

    # An element property value it does not take is an error before anything runs (GStreamer itself
    # would only warn and keep the default).
    for value, problem in (('threshold=0,1', 'is not a number'), ('batch-size=5000', 'is outside 1-1024'),
                           ('overlay=maybe', 'is not true or false'), ('detector=eyes', 'is not one of')):
        log = checks.run_script('broadcast.py', '-i', CLIP, '--metadata-only', '-o', out / 'p.jsonl', '-p', value,
                                expect_status=2)
        expect(problem in log, f'-p {value}: no "{problem}" in the message')
    # Audio only: no video stream, said so, and no empty output left behind.
    audio = out / 'audio.ogg'
    pipeline = Gst.parse_launch(f'audiotestsrc num-buffers=20 ! audioconvert ! vorbisenc ! oggmux ! '
                                f'filesink location="{audio}"')
    pipeline.set_state(Gst.State.PLAYING)
    pipeline.get_bus().timed_pop_filtered(30 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    log = checks.run_script('broadcast.py', '-i', audio, '-o', out / 'audio.mp4', *detector, expect_status=1)
    expect('no video stream' in log, 'no "no video stream" message for an audio-only input')
    expect(not (out / 'audio.mp4').exists(), 'an empty audio.mp4 was left behind')
    # A run that fails before its first frame leaves a file it did not make as it was.
    earlier = out / 'earlier.jsonl'
    earlier.write_text('{"frame": 0, "objects": []}\n')
    checks.run_script('broadcast.py', '-i', audio, '--metadata-only', '-o', earlier, *detector, expect_status=1)
    expect(earlier.read_text() == '{"frame": 0, "objects": []}\n', 'a failed run removed or changed an earlier file')
    # A killed run's partial file (its process gone) is removed by the next run for that output.
    stale = out / '.earlier.jsonl.part-999999999'
    stale.write_text('')
    checks.run_script('broadcast.py', '-i', CLIP, '--metadata-only', '-o', earlier, *detector)
    expect(not stale.exists(), "a dead run's partial file was left behind")
    expect(len(checks.check_jsonl(earlier, Gst.filename_to_uri(str(CLIP)), at_least=1)) > 1, 'no results in earlier.jsonl')
    expect(not [p.name for p in out.iterdir() if '.part-' in p.name], 'a partial file was left behind')
print('broadcast test passed')
