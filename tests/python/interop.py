#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python side of the bundle contract (design.md), for the interop tests.

  interop.py make OUT.pt      write a bundle with torch.jit.script + _extra_files
  interop.py run BUNDLE.pt    load any bundle, print its labels and the logits of a fixed input as JSON
"""
import json
import sys

import torch


class SmallEmotionNet(torch.nn.Module):
    def __init__(self, labels: int = 7):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1))
        self.head = torch.nn.Linear(16, labels)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def fixed_input(channels: int, height: int, width: int, batch: int = 3) -> torch.Tensor:
    """The same numbers the C++ test builds: (i * 37 mod 251) / 250, normalised with mean = std = 0.5."""
    count = batch * channels * height * width
    values = (torch.arange(count, dtype=torch.int64) * 37 % 251).to(torch.float32) / 250.0
    return ((values - 0.5) / 0.5).reshape(batch, channels, height, width)


def make(path: str) -> None:
    torch.manual_seed(5)
    net = SmallEmotionNet()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode matters
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    scripted = torch.jit.script(net.eval())
    metadata = {
        "format": "feremotion-model", "version": 1,
        "labels": ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
        "input": {"width": 48, "height": 48, "color": "gray", "mean": [0.5], "std": [0.5]},
        "output": "logits",
        "architecture": "python-small-cnn",
        "parameters": sum(p.numel() for p in net.parameters()),
        "face_crop": {"margin": 0.0},
        "training": {"dataset": "none (interop test)", "epochs": 0, "seed": 5},
        "created": "2026-11-28T00:00:00Z", "producer": "tests/python/interop.py",
    }
    torch.jit.save(scripted, path, _extra_files={"feremotion.json": json.dumps(metadata)})


def run(path: str) -> None:
    files = {"feremotion.json": ""}
    module = torch.jit.load(path, _extra_files=files)
    metadata = json.loads(files["feremotion.json"])
    spec = metadata["input"]
    channels = 1 if spec["color"] == "gray" else 3
    with torch.no_grad():
        logits = module(fixed_input(channels, spec["height"], spec["width"]))
    print(json.dumps({"labels": metadata["labels"], "logits": logits.tolist()}))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "run"):
        sys.exit(__doc__)
    (make if sys.argv[1] == "make" else run)(sys.argv[2])
