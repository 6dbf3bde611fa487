#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pipelines/editors.py on a folder holding video_01.mp4 and a garbage file: the clip gets an
annotated MP4, JSON Lines, CSV and WebVTT that all check out; the garbage file is skipped with a
message and the exit status is non-zero. A folder of good clips only exits 0, and a phone's
sideways-stored clip is analysed and annotated upright."""

import os
import tempfile
from pathlib import Path

import checks
from checks import CLIP, Gst, expect

checks.check_help('editors.py')
checks.require_media()
detector = checks.detector_options()
with tempfile.TemporaryDirectory() as folder:
    clips, out = Path(folder) / 'clips', Path(folder) / 'out'
    clips.mkdir()
    (clips / 'clip.mp4').symlink_to(CLIP)
    # Sorted first, so the test also sees that a skipped file does not stop the batch.
    (clips / 'broken.mp4').write_bytes(os.urandom(8192))

    log = checks.run_script('editors.py', '--input', clips, '--output', out, *detector, expect_status=1)
    expect('[1/2] broken.mp4: skipped' in log, 'no message that broken.mp4 was skipped')
    expect('[2/2] clip.mp4 100%' in log, 'no progress reaching 100% for clip.mp4')
    expect('annotated 1 of 2 files' in log and 'skipped 1: broken.mp4' in log, 'no summary line')
    # OpenH264's end-of-encode "error" (its drain; the file is complete) is kept from the log.
    expect('cmInitParaError' not in log, 'OpenH264\'s drain message reached the log')
    expect(sorted(p.name for p in out.iterdir()) == ['clip-annotated.mp4', 'clip.csv', 'clip.jsonl', 'clip.vtt'],
           f'outputs: {sorted(p.name for p in out.iterdir())}')

    checks.check_video(out / 'clip-annotated.mp4', 'quicktime')
    # The source of the records is the clip as found in the folder (the symlink).
    source = Gst.filename_to_uri(str(clips / 'clip.mp4'))
    records = checks.check_jsonl(out / 'clip.jsonl', source, at_least=checks.CLIP_FRAMES - 4)
    checks.check_csv(out / 'clip.csv', records)
    checks.check_webvtt(out / 'clip.vtt', {face['id'] for record in records for face in record['objects']})

    # Only good clips: exit status 0.
    (clips / 'broken.mp4').unlink()
    (clips / 'short.webm').symlink_to(CLIP.parent / 'vp8_opus.webm')
    (clips / 'clip.mp4').unlink()
    # Portrait phone footage, stored sideways with an orientation: analysed and annotated upright.
    checks.write_phone_clip(clips / 'phone.mp4')
    checks.run_script('editors.py', '-i', clips, '-o', out / 'good', *detector)
    expect(sorted(p.name for p in (out / 'good').iterdir()) ==
           ['phone-annotated.mp4', 'phone.csv', 'phone.jsonl', 'phone.vtt',
            'short-annotated.mp4', 'short.csv', 'short.jsonl', 'short.vtt'], 'outputs of the good folder')
    checks.check_video(out / 'good' / 'phone-annotated.mp4', 'quicktime')
    checks.check_jsonl(out / 'good' / 'phone.jsonl', Gst.filename_to_uri(str(clips / 'phone.mp4')),
                       at_least=checks.CLIP_FRAMES - 4)
print('editors test passed')
