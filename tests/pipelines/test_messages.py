#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The README's Python example of reading the element's per-frame messages: with Debian's
python3-gst-1.0 the message's faces list, each face's fields and its probabilities read as Python
values (without it, PyGObject raises "unknown type GstValueList")."""

import checks
from checks import CLIP, LABELS, Gst, expect

checks.require_media()
pipeline = Gst.parse_launch(f'filesrc location="{CLIP}" ! decodebin ! videoconvert ! '
                            'feremotion post-messages=true ! fakesink')
pipeline.set_state(Gst.State.PLAYING)
bus = pipeline.get_bus()
frames, faces = 0, []
while True:
    message = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.ELEMENT | Gst.MessageType.EOS |
                                     Gst.MessageType.ERROR)
    expect(message is not None, 'no end of stream within 60 s')
    if message.type == Gst.MessageType.ERROR:
        checks.fail(f'pipeline error: {message.parse_error()[0].message}')
    if message.type == Gst.MessageType.EOS:
        break
    structure = message.get_structure()
    if structure.get_name() != 'feremotion':
        continue
    frames += 1
    for face in structure.get_value('faces'):
        probabilities = list(face.get_value('probabilities'))
        faces.append((structure.get_value('timestamp'), face.get_value('id'), face.get_value('label'), probabilities))
pipeline.set_state(Gst.State.NULL)

expect(frames == checks.CLIP_FRAMES, f'{frames} messages for {checks.CLIP_FRAMES} frames')
expect(len(faces) >= checks.CLIP_FRAMES - 4, f'faces in only {len(faces)} messages')
for timestamp, track, label, probabilities in faces:
    expect(isinstance(timestamp, int) and isinstance(track, int), f'timestamp {timestamp!r}, id {track!r}')
    expect(label in LABELS and len(probabilities) == len(LABELS), f'label {label!r}, {len(probabilities)} probabilities')
    expect(abs(sum(probabilities) - 1) < 1e-4, f'probabilities sum to {sum(probabilities)}')
    expect(max(probabilities) == probabilities[LABELS.index(label)], 'the label is not the most probable class')
print(f'messages test passed: {frames} messages, {len(faces)} faces')
