// SPDX-License-Identifier: LGPL-2.1-or-later
// The file export-weights writes and import-weights reads: its format name, checksum and tensor names.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

namespace feremotion::trainer {

inline constexpr const char *kWeightsFormat = "feremotion-weights";

// FNV-1a (64 bits) of the tensor bytes, in hex: a damaged copy is refused instead of rebuilt.
inline std::string checksumOf(const std::string &data)
{
    uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char byte : data)
        hash = (hash ^ byte) * 1099511628211ULL;
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

// The exported module's names: the network's dotted names with '_' for '.' (exportTorchScript).
inline std::string exportedName(std::string name)
{
    std::replace(name.begin(), name.end(), '.', '_');
    return name;
}

} // namespace feremotion::trainer
