// SPDX-License-Identifier: LGPL-2.1-or-later
// Files written whole or not at all, and durable once written: bundles, checkpoints, reports.
#pragma once

#include <functional>
#include <string>

namespace feremotion {

// Writes `path` atomically: `write(temporary)` writes a temporary file beside it
// (".NAME.tmp-PID"), which is synced to disk and renamed over `path`, and then the folder is
// synced, so readers never see half a file, not even after a power cut. Temporary files that
// killed writes to `path` left behind (their process gone) are removed first. Throws
// std::runtime_error naming `path` and the cause; the temporary file is removed then.
void writeAtomically(const std::string &path, const std::function<void(const std::string &temporary)> &write);
// The same for bytes in memory (JSON, an encoded PNG).
void writeAtomically(const std::string &path, const std::string &bytes);

} // namespace feremotion
