// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs the Python half of the interop tests.
#include "python_support.h"

#include <cstdio>
#include <stdexcept>

#include "support.h"

namespace feremotion::test {

namespace {
constexpr const char *kPython = "/usr/bin/python3";
}

bool pythonTorchAvailable()
{
    static const bool available =
        std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
    return available;
}

std::string runInterop(const std::string &arguments)
{
    const std::string command =
        std::string(kPython) + " " + testsSourceDir() + "/python/interop.py " + arguments + " 2>&1";
    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
        throw std::runtime_error("cannot run " + command);
    std::string output;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0)
        output.append(chunk, n);
    if (pclose(pipe) != 0)
        throw std::runtime_error(command + " failed:\n" + output);
    return output;
}

} // namespace feremotion::test
