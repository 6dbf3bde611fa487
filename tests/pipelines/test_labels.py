#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exports follow the model's labels: bundles with 3, 7 and 9 labels (holding commas, quotes, line
breaks and non-ASCII letters) through feremotion and feremotionexport, read back with Python's json
and csv modules; a CSV appended to with other labels gets a new header. Needs python3-torch to write
the bundles (skips without it); no ../shared."""

import csv
import json
import sys
import tempfile
from pathlib import Path

import checks
from checks import Gst, expect

try:
    import torch
except ImportError:
    print('labels test skipped: /usr/bin/python3 cannot import torch (install python3-torch)')
    sys.exit(77)

LABEL_SETS = {
    3: ['calm, really', 'say "hi"', 'tense\nnow'],
    7: ['wütend', 'Ekel', 'peur', '喜び', 'triste', 'überrascht', 'neutral'],
    9: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral', 'contempt', 'ünknown, "other"'],
}
FRAMES = 5


class ConstantNet(torch.nn.Module):
    """Gives every face the same logits: the last label wins (a class a 7-column export would lose)."""

    def __init__(self, labels: int):
        super().__init__()
        self.register_buffer('logits', torch.arange(labels, dtype=torch.float32))

    def forward(self, x):
        return self.logits.unsqueeze(0).expand(x.size(0), -1) + x.mean() * 0.0


def write_bundle(path, labels):
    metadata = {'format': 'feremotion-model', 'version': 1, 'labels': labels,
                'input': {'width': 48, 'height': 48, 'color': 'gray', 'mean': [0.5], 'std': [0.5]},
                'output': 'logits'}
    torch.jit.save(torch.jit.script(ConstantNet(len(labels)).eval()), str(path),
                   _extra_files={'feremotion.json': json.dumps(metadata)})


def export(bundle, out, export_format, append=False):
    pipeline = Gst.parse_launch(
        f'videotestsrc num-buffers={FRAMES} ! video/x-raw,width=64,height=64,framerate=10/1 ! '
        f'feremotion model="{bundle}" detector=full-frame overlay=false ! '
        f'feremotionexport location="{out}" format={export_format} append={str(append).lower()} ! fakesink')
    pipeline.set_state(Gst.State.PLAYING)
    message = pipeline.get_bus().timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    expect(message is not None, f'no end of stream within 60 s ({export_format})')
    if message.type == Gst.MessageType.ERROR:
        checks.fail(f'pipeline error: {message.parse_error()[0].message}')


def check_jsonl(path, labels):
    records = [json.loads(line) for line in path.read_text(encoding='utf-8').splitlines()]
    expect(len(records) == FRAMES, f'{len(records)} JSON records for {FRAMES} frames')
    for record in records:
        emotion = record['objects'][0]['emotion']
        expect(set(emotion['probabilities']) == set(labels), f'probability keys {list(emotion["probabilities"])}')
        expect(emotion['label'] == labels[-1], f'label {emotion["label"]!r}, not {labels[-1]!r}')
        expect(max(emotion['probabilities'], key=emotion['probabilities'].get) == labels[-1],
               'the label is not the most probable class')


def csv_rows(path):
    with open(path, newline='', encoding='utf-8') as f:
        return list(csv.reader(f))


def check_csv(path, labels):
    rows = csv_rows(path)
    header = rows[0]
    expect(header[:9] == ['timestamp', 'frame', 'track_id', 'x', 'y', 'w', 'h', 'label', 'confidence'], f'{header}')
    expect(header[9:] == labels, f'probability columns {header[9:]}, not {labels}')
    expect(len(rows) == FRAMES + 1, f'{len(rows) - 1} rows for {FRAMES} frames')
    for row in rows[1:]:
        expect(len(row) == len(header), f'{len(row)} fields under {len(header)} columns: {row}')
        expect(row[7] == labels[-1], f'label {row[7]!r}')
        values = [float(v) for v in row[9:]]
        expect(values.index(max(values)) == len(labels) - 1, f'probabilities {values}')


def check_webvtt(path, labels):
    text = path.read_text(encoding='utf-8')
    shown = labels[-1].replace('\n', ' ').replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    cue_lines = [line for line in text.splitlines() if line.startswith('face ')]
    expect(cue_lines and all(f': {shown} (' in line for line in cue_lines), f'cue lines {cue_lines}')
    expect('\n\n\n' not in text, 'a label split a cue')


with tempfile.TemporaryDirectory() as folder:
    folder = Path(folder)
    for count, labels in LABEL_SETS.items():
        bundle = folder / f'labels-{count}.pt'
        write_bundle(bundle, labels)
        for export_format, check in [('jsonl', check_jsonl), ('csv', check_csv), ('webvtt', check_webvtt)]:
            out = folder / f'labels-{count}.{export_format}'
            export(bundle, out, export_format)
            check(out, labels)

    # Appending with the same labels adds rows only; with other labels a header of its own first.
    out = folder / 'appended.csv'
    export(folder / 'labels-7.pt', out, 'csv')
    export(folder / 'labels-7.pt', out, 'csv', append=True)
    rows = csv_rows(out)
    expect(sum(row[:1] == ['timestamp'] for row in rows) == 1 and len(rows) == 2 * FRAMES + 1,
           f'appending with the same labels: {len(rows)} rows')
    export(folder / 'labels-3.pt', out, 'csv', append=True)
    rows = csv_rows(out)
    headers = [i for i, row in enumerate(rows) if row[:1] == ['timestamp']]
    expect(headers == [0, 2 * FRAMES + 1], f'header rows at {headers}')
    expect(rows[headers[1]][9:] == LABEL_SETS[3], f'second header {rows[headers[1]]}')
    expect(all(len(row) == 12 for row in rows[headers[1] + 1:]), 'rows after the second header')
print(f'labels test passed: {len(LABEL_SETS)} label sets, jsonl, csv and webvtt read back, appending')
