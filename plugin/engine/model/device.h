// SPDX-License-Identifier: LGPL-2.1-or-later
// Where inference and training run: the device named by the element's `device` property or the
// trainer's --device, and the CPU thread count of `threads`/--threads.
#pragma once

#include <string>

#include <c10/core/Device.h>

#include "engine/model/model_info.h"

namespace feremotion {

// "auto" (CUDA when LibTorch sees a GPU, else CPU), "cpu", "cuda" or "cuda:N". Throws ModelError
// for other names and for CUDA when LibTorch sees no such device.
c10::Device resolveDevice(const std::string &name);

// True when LibTorch sees a CUDA device (its CUDA backend loaded first, where it is installed).
bool cudaAvailable();

// CPU threads for a `threads` setting: itself when positive, else every core.
int effectiveThreads(int threads);

// True when this CPU multiplies bfloat16 matrices in hardware with AMX (Intel Xeon since Sapphire
// Rapids) and the kernel has enabled its tile registers: oneDNN then runs bfloat16 convolutions on
// the tile units.
bool cpuHasAmxBf16();

// The precision `requested` runs in on `device`: Auto is BFloat16 on a CPU with AMX (cpuHasAmxBf16)
// and Float32 elsewhere, CUDA included (bfloat16 there is unmeasured); the others stay as they are.
Precision resolvePrecision(Precision requested, const c10::Device &device);

} // namespace feremotion
