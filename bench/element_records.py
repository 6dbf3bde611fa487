# SPDX-License-Identifier: LGPL-2.1-or-later
"""The element's per-frame records on a clip, for the bench scripts that score them."""
import json
import os
import subprocess
import sys
import tempfile


def element_records(clip, properties, build, caller):
    """Runs `feremotion overlay=false PROPERTIES ! feremotionexport` over the clip with the build's
    plugin and the checkout's default model; returns the JSON Lines records (frames with faces)."""
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(build, "plugin", "gst"),
               FEREMOTION_DEFAULT_MODEL=os.path.join(checkout, "models", "feremotion-default.pt"))
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "faces.jsonl")
        launch = (["gst-launch-1.0", "-q", "filesrc", f"location={clip}", "!", "decodebin", "!", "videoconvert",
                   "!", "feremotion", "overlay=false"] + properties.split() +
                  ["!", "feremotionexport", f"location={results}", "!", "fakesink"])
        run = subprocess.run(launch, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"{caller}: {' '.join(launch)} failed:\n{run.stderr}")
        with open(results) as lines:
            return [json.loads(line) for line in lines]
