# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the pipelines tests share: locating the checkout and ../shared, running a pipelines/ script,
and checking its outputs (decodable video, JSON Lines as design.md's "Exported results", CSV, WebVTT).
Exit statuses: 0 pass, 1 failure, 77 skip (meson's)."""

import csv
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstPbutils', '1.0')
from gi.repository import Gst, GstPbutils  # noqa: E402

LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']
# The source checkout: the first argument (meson passes it), else two folders above this file.
REPO = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get('FEREMOTION_SHARED') or REPO.parent / 'shared')
CLIP = SHARED / 'media' / 'video_01.mp4'
CLIP_FRAMES = 89


def yunet_release():
    """The YuNet file of ../shared/models that this system's OpenCV runs (python3-opencv is built from
    the OpenCV the plugin links): 2022mar below OpenCV 4.8 (Debian 12), 2023mar from 4.8 (Debian 13)."""
    import cv2
    major, minor = (int(part) for part in cv2.__version__.split('.')[:2])
    return 'face_detection_yunet_2023mar.onnx' if (major, minor) >= (4, 8) else 'face_detection_yunet_2022mar.onnx'


YUNET = SHARED / 'models' / yunet_release()

Gst.init(None)


def fail(message):
    print(f'FAIL: {message}', flush=True)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def require_media():
    """Skips the test (77) without ../shared or without the plugin."""
    if not CLIP.is_file():
        print(f'SKIP: {CLIP} is absent (set FEREMOTION_SHARED to the shared folder)')
        sys.exit(77)
    if Gst.ElementFactory.find('feremotion') is None:
        fail('the feremotion plugin is not found: run with GST_PLUGIN_PATH=<build>/plugin/gst (meson test sets it)')


def detector_options():
    """YuNet (about five times faster than Haar here) when ../shared has it."""
    return ['--detector', 'yunet', '--detector-model', str(YUNET)] if YUNET.is_file() else []


def script(name):
    return str(REPO / 'pipelines' / name)


def run_script(name, *args, expect_status=0, timeout=300, cwd=None):
    """Runs pipelines/<name>, shows its output, checks its exit status; returns stdout + stderr."""
    command = [script(name), *map(str, args)]
    print('$', ' '.join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    print(result.stdout + result.stderr, flush=True)
    expect(result.returncode == expect_status,
           f'{name} exited with {result.returncode}, expected {expect_status}')
    return result.stdout + result.stderr


def check_help(name):
    output = run_script(name, '--help', timeout=60)
    expect(output.startswith('usage:') and 'meson devenv -C build' in output, f'{name} --help lacks usage or examples')


def check_video(path, container, frames=CLIP_FRAMES):
    """The file is H.264 640x480 in `container` (quicktime or mpegts) and decodes to about `frames` frames."""
    expect(os.path.getsize(path) > 0, f'{path} is missing or empty')
    uri = Gst.filename_to_uri(str(Path(path).resolve()))
    info = GstPbutils.Discoverer.new(30 * Gst.SECOND).discover_uri(uri)
    top = info.get_stream_info().get_caps().to_string()
    expect(top.startswith(f'video/{container}'), f'{path}: container {top}, expected video/{container}')
    videos = info.get_video_streams()
    expect(len(videos) == 1, f'{path}: {len(videos)} video streams')
    expect(videos[0].get_caps().to_string().startswith('video/x-h264'), f'{path}: not H.264')
    expect((videos[0].get_width(), videos[0].get_height()) == (640, 480), f'{path}: not 640x480')

    pipeline = Gst.parse_launch('uridecodebin name=source caps=video/x-raw ! fakesink name=sink sync=false')
    pipeline.get_by_name('source').set_property('uri', uri)
    decoded = 0

    def count(_pad, _info):
        nonlocal decoded
        decoded += 1
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name('sink').get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, count)
    pipeline.set_state(Gst.State.PLAYING)
    message = pipeline.get_bus().timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    expect(message is not None and message.type == Gst.MessageType.EOS, f'{path} does not decode to the end')
    # videorate may repeat the last frame once (it gives frames the timestamps muxers need).
    expect(frames - 2 <= decoded <= frames + 2, f'{path}: {decoded} frames decoded, expected about {frames}')
    print(f'ok: {path}: {container}, H.264 640x480, {decoded} frames', flush=True)


def write_phone_clip(path):
    """Writes CLIP as a phone stores portrait footage: its frames turned 90 degrees counterclockwise
    (480x640) in an MP4 whose track matrix says to turn them 90 degrees clockwise for display."""
    pipeline = Gst.parse_launch('filesrc name=source ! decodebin ! videoconvert ! videoflip video-direction=90l ! '
                                'videoconvert ! openh264enc ! h264parse ! mp4mux ! filesink name=sink')
    pipeline.get_by_name('source').set_property('location', str(CLIP))
    pipeline.get_by_name('sink').set_property('location', str(path))
    pipeline.set_state(Gst.State.PLAYING)
    message = pipeline.get_bus().timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    expect(message is not None and message.type == Gst.MessageType.EOS, f'{path} could not be written')
    data = bytearray(Path(path).read_bytes())
    tkhd = data.find(b'tkhd')
    expect(tkhd > 0 and data.find(b'tkhd', tkhd + 4) < 0, f'{path}: not one track header')
    # ISO 14496-12 tkhd: version and flags, times and ids (20 bytes in version 0, 32 in 1), 16 bytes
    # of reserved, layer, group and volume fields, then the 3x3 matrix of 32-bit fixed-point values.
    matrix = tkhd + 4 + 4 + (32 if data[tkhd + 4] == 1 else 20) + 16
    rotate_clockwise = [0, 1 << 16, 0, (-1 << 16) & 0xFFFFFFFF, 0, 0, 480 << 16, 0, 1 << 30]
    data[matrix:matrix + 36] = b''.join(v.to_bytes(4, 'big') for v in rotate_clockwise)
    Path(path).write_bytes(bytes(data))
    info = GstPbutils.Discoverer.new(30 * Gst.SECOND).discover_uri(Gst.filename_to_uri(str(Path(path).resolve())))
    tags = info.get_video_streams()[0].get_tags()
    orientation = tags.get_string('image-orientation') if tags else (False, None)
    expect(orientation == (True, 'rotate-90'), f'{path}: orientation {orientation}, expected rotate-90')


def number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_face(face, where):
    """One object of a JSON Lines record, field by field (design.md, "Exported results")."""
    for key in ('x', 'y', 'w', 'h', 'id'):
        expect(isinstance(face.get(key), int) and not isinstance(face[key], bool), f'{where}: {key} is not an int')
    expect(face['w'] > 0 and face['h'] > 0 and face['x'] >= 0 and face['y'] >= 0
           and face['x'] + face['w'] <= 640 and face['y'] + face['h'] <= 480, f'{where}: box outside the frame')
    expect(face.get('roi_type') == 'face', f'{where}: roi_type {face.get("roi_type")!r}')
    detection = face.get('detection', {})
    box = detection.get('bounding_box', {})
    expect(set(box) == {'x_min', 'y_min', 'x_max', 'y_max'}, f'{where}: bounding_box keys {sorted(box)}')
    expect(all(number(v) and 0 <= v <= 1 for v in box.values()), f'{where}: bounding_box not in 0..1')
    expect(box['x_min'] < box['x_max'] and box['y_min'] < box['y_max'], f'{where}: empty bounding_box')
    expect(abs(box['x_min'] * 640 - face['x']) <= 1 and abs(box['x_max'] * 640 - face['x'] - face['w']) <= 1
           and abs(box['y_min'] * 480 - face['y']) <= 1 and abs(box['y_max'] * 480 - face['y'] - face['h']) <= 1,
           f'{where}: bounding_box does not match x,y,w,h')
    expect(number(detection.get('confidence')) and 0 <= detection['confidence'] <= 1,
           f'{where}: detection confidence')
    emotion = face.get('emotion', {})
    expect(emotion.get('label') in LABELS, f'{where}: emotion label {emotion.get("label")!r}')
    expect(emotion.get('label_id') == LABELS.index(emotion['label']), f'{where}: label_id does not match label')
    probabilities = emotion.get('probabilities', {})
    expect(set(probabilities) == set(LABELS), f'{where}: probabilities keys {sorted(probabilities)}')
    expect(all(number(p) and 0 <= p <= 1 for p in probabilities.values()), f'{where}: probability not in 0..1')
    expect(abs(sum(probabilities.values()) - 1) < 1e-3, f'{where}: probabilities do not sum to 1')
    expect(number(emotion.get('confidence')) and abs(emotion['confidence'] - probabilities[emotion['label']]) < 1e-6,
           f'{where}: confidence is not the label\'s probability')
    expect(emotion['confidence'] >= max(probabilities.values()) - 1e-6, f'{where}: label is not the most probable')


def check_record(record, source, where):
    """One frame record: timestamp, resolution, source, objects (at least one face)."""
    expect(isinstance(record.get('timestamp'), int) and record['timestamp'] >= 0, f'{where}: timestamp')
    expect(record.get('resolution') == {'width': 640, 'height': 480}, f'{where}: resolution {record.get("resolution")}')
    expect(record.get('source') == source, f'{where}: source {record.get("source")!r}, expected {source!r}')
    objects = record.get('objects')
    expect(isinstance(objects, list) and objects, f'{where}: no objects')
    for index, face in enumerate(objects):
        check_face(face, f'{where}, object {index}')


def read_jsonl(path):
    with open(path) as lines:
        return [json.loads(line) for line in lines]


def check_jsonl(path, source, at_least):
    """A JSON Lines file of frame records only; returns them."""
    records = read_jsonl(path)
    expect(len(records) >= at_least, f'{path}: {len(records)} records, expected at least {at_least}')
    for number_, record in enumerate(records, 1):
        check_record(record, source, f'{path}:{number_}')
    timestamps = [r['timestamp'] for r in records]
    expect(timestamps == sorted(timestamps), f'{path}: timestamps go backwards')
    print(f'ok: {path}: {len(records)} frame records, {sum(len(r["objects"]) for r in records)} faces', flush=True)
    return records


def check_csv(path, records):
    """The CSV has the documented header and one row per face of the JSON Lines records, in order."""
    with open(path, newline='') as table:
        rows = list(csv.reader(table))
    header = ['timestamp', 'frame', 'track_id', 'x', 'y', 'w', 'h', 'label', 'confidence', *LABELS]
    expect(rows and rows[0] == header, f'{path}: header {rows[0] if rows else None}')
    faces = [(r['frame'], f) for r in records for f in r['objects']]
    expect(len(rows) - 1 == len(faces), f'{path}: {len(rows) - 1} rows for {len(faces)} faces in the JSON Lines')
    for line, (row, (frame, face)) in enumerate(zip(rows[1:], faces), 2):
        expect(len(row) == len(header), f'{path}:{line}: {len(row)} columns')
        expect(int(row[1]) == frame and int(row[2]) == face['id'] and row[7] == face['emotion']['label']
               and [int(v) for v in row[3:7]] == [face[k] for k in ('x', 'y', 'w', 'h')],
               f'{path}:{line}: does not match the JSON Lines record of frame {frame}')
        expect(abs(sum(float(v) for v in row[9:]) - 1) < 1e-3, f'{path}:{line}: probabilities do not sum to 1')
    print(f'ok: {path}: header and {len(rows) - 1} rows, one per face', flush=True)


CUE_TIMES = re.compile(r'^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$')


def check_webvtt(path, track_ids):
    """WEBVTT header, then cues with increasing times, each with 'face <id>: <label> (<share>%)' lines."""
    with open(path) as subtitles:
        blocks = subtitles.read().strip().split('\n\n')
    expect(blocks[0].splitlines()[0] == 'WEBVTT', f'{path}: no WEBVTT header')
    expect(len(blocks) > 1, f'{path}: no cues')
    previous_end = -1
    for block in blocks[1:]:
        lines = block.splitlines()
        match = CUE_TIMES.match(lines[0])
        expect(match, f'{path}: bad cue timing line {lines[0]!r}')
        v = [int(g) for g in match.groups()]
        start = ((v[0] * 60 + v[1]) * 60 + v[2]) * 1000 + v[3]
        end = ((v[4] * 60 + v[5]) * 60 + v[6]) * 1000 + v[7]
        expect(previous_end <= start < end, f'{path}: cue {lines[0]!r} does not follow the previous one')
        previous_end = end
        expect(len(lines) > 1, f'{path}: cue {lines[0]!r} has no text')
        for text in lines[1:]:
            cue = re.fullmatch(r'face (\d+): (\w+) \((\d+)%\)', text)
            expect(cue and int(cue.group(1)) in track_ids and cue.group(2) in LABELS
                   and 0 <= int(cue.group(3)) <= 100, f'{path}: bad cue text {text!r}')
    print(f'ok: {path}: {len(blocks) - 1} cues, times increasing', flush=True)
