// SPDX-License-Identifier: LGPL-2.1-or-later
// JSON text for files and the terminal, whatever the encoding of the file names in it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace feremotion::trainer {

// `value` as JSON text (`indent` as nlohmann's dump). A string that is not UTF-8 (a file name in
// another encoding) is written with U+FFFD replacement characters instead of ending the run, and
// the first time that happens a note on stderr says so.
std::string jsonText(const nlohmann::json &value, int indent = -1);

} // namespace feremotion::trainer
