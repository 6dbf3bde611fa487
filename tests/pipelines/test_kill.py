#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An export killed with SIGKILL while it writes leaves whole records: every JSON Lines line parses,
every CSV row has all its fields. The pipeline runs as gst-launch-1.0 would be run by a user, with
the default model and detector=full-frame on a test pattern (no ../shared needed)."""

import csv
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import checks
from checks import Gst, expect

if Gst.ElementFactory.find('feremotion') is None:
    checks.fail('the feremotion plugin is not found: run with GST_PLUGIN_PATH=<build>/plugin/gst (meson test sets it)')
if not os.environ.get('FEREMOTION_DEFAULT_MODEL'):
    print('SKIP: FEREMOTION_DEFAULT_MODEL is not set (meson test sets it to models/feremotion-default.pt)')
    raise SystemExit(77)


def killed_export(out, export_format, records):
    """Runs the export until `out` holds `records` line breaks, then kills it with SIGKILL."""
    process = subprocess.Popen(
        ['gst-launch-1.0', '-q', 'videotestsrc', 'num-buffers=100000', '!', 'video/x-raw,width=160,height=120', '!',
         'feremotion', 'detector=full-frame', 'overlay=false', '!',
         'feremotionexport', f'location={out}', f'format={export_format}', '!', 'fakesink'],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_bytes().count(b'\n') >= records:
            break
        time.sleep(0.01)
    if process.poll() is not None:
        checks.fail(f'gst-launch ended by itself: {process.stderr.read().decode()[-500:]}')
    process.send_signal(signal.SIGKILL)
    process.wait()


with tempfile.TemporaryDirectory() as folder:
    for attempt in range(3):  # a kill lands at another point of the writing each time
        jsonl = Path(folder) / f'killed-{attempt}.jsonl'
        killed_export(jsonl, 'jsonl', 50 + 37 * attempt)
        data = jsonl.read_bytes()
        expect(data.endswith(b'\n'), f'the last line of {jsonl} is cut: ...{data[-80:]!r}')
        for number, line in enumerate(data.decode().splitlines(), 1):
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                checks.fail(f'{jsonl}:{number} is not whole JSON: {error}')

        table = Path(folder) / f'killed-{attempt}.csv'
        killed_export(table, 'csv', 50 + 37 * attempt)
        with open(table, newline='', encoding='utf-8') as f:
            rows = list(csv.reader(f))
        expect(table.read_bytes().endswith(b'\n'), f'the last row of {table} is cut')
        expect(all(len(row) == len(rows[0]) for row in rows), f'a row of {table} lacks fields')
print('kill test passed: 3 JSON Lines and 3 CSV exports killed with SIGKILL, every record whole')
