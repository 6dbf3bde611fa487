#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The comparison for the training benchmark: feremotion-trainer's architectures and loop
(Adam, cross-entropy, batch 64, no augmentation) in plain PyTorch (Debian's python3-torch).

Prints one JSON line: arch, threads, images, seconds, images_per_second, epoch_seconds.
"""
import argparse
import gzip
import json
import time

import numpy as np
import torch
from torch import nn


def conv_bn_relu(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SeparableConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False))


class XceptionBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.main = nn.Sequential(SeparableConv(cin, cout), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                                  SeparableConv(cout, cout), nn.BatchNorm2d(cout), nn.MaxPool2d(3, 2, 1))
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.main(x) + self.shortcut(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(*conv_bn_relu(cin, cout, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return torch.relu(self.main(x) + (self.shortcut(x) if self.shortcut is not None else x))


def network(arch, width):
    layers = []
    if arch == "mini-xception":
        w = width or 16
        layers += conv_bn_relu(1, 8) + conv_bn_relu(8, 8)
        cin = 8
        for c in (w, 2 * w, 4 * w, 8 * w):
            layers.append(XceptionBlock(cin, c))
            cin = c
    elif arch == "resnet":
        w = width or 32
        layers += conv_bn_relu(1, w)
        cin = w
        for c in (w, 2 * w, 4 * w, 8 * w):
            layers += [BasicBlock(cin, c, 2), BasicBlock(c, c, 1)]
            cin = c
    elif arch == "vgg":
        w = width or 64
        cin, side = 1, 48
        for c in (w, 2 * w, 4 * w, 8 * w):
            layers += conv_bn_relu(cin, c) + conv_bn_relu(c, c) + [nn.MaxPool2d(2, 2)]
            cin, side = c, side // 2
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(cin * side * side, 7))
    else:
        raise SystemExit(f"unknown arch {arch}")
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 7))


def load(path, rows):
    images, labels = [], []
    with gzip.open(path, "rt") as f:
        next(f)
        for line in f:
            emotion, pixels, _ = line.split(",")
            labels.append(int(emotion))
            images.append(np.array(pixels.split(), dtype=np.uint8))
            if len(labels) == rows:
                break
    x = torch.from_numpy(np.stack(images).reshape(-1, 1, 48, 48))
    return x, torch.tensor(labels)


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("csv")
parser.add_argument("--arch", default="mini-xception")
parser.add_argument("--width", type=int, default=0)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--rows", type=int, default=6400)
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(1)
images, labels = load(args.csv, args.rows)
model = network(args.arch, args.width).train()
optimizer = torch.optim.Adam(model.parameters(), 1e-3, weight_decay=1e-4)
order = torch.randperm(len(labels))
start = time.perf_counter()
for first in range(0, len(labels), args.batch_size):
    index = order[first:first + args.batch_size]
    x = (images[index].float() / 255.0 - 0.5) / 0.5
    loss = nn.functional.cross_entropy(model(x), labels[index])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
seconds = time.perf_counter() - start
print(json.dumps({"arch": args.arch, "threads": args.threads, "images": len(labels), "seconds": seconds,
                  "images_per_second": len(labels) / seconds, "epoch_seconds": 28709 * seconds / len(labels)}))
