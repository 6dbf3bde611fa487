// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs tests/python/interop.py with Debian's python3-torch.
#pragma once

#include <string>

namespace feremotion::test {

// True when /usr/bin/python3 can import torch.
bool pythonTorchAvailable();
// Runs interop.py with the arguments; returns its stdout, throws std::runtime_error on failure.
std::string runInterop(const std::string &arguments);

} // namespace feremotion::test
