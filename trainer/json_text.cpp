// SPDX-License-Identifier: LGPL-2.1-or-later
// nlohmann::json throws type_error 316 on text that is not UTF-8; the trainer writes it replaced.
#include "json_text.h"

#include <atomic>
#include <cstdio>

namespace feremotion::trainer {

std::string jsonText(const nlohmann::json &value, int indent)
{
    try {
        return value.dump(indent);
    } catch (const nlohmann::json::type_error &e) {
        if (e.id != 316) // invalid UTF-8
            throw;
        static std::atomic<bool> noted{false};
        if (!noted.exchange(true))
            std::fprintf(stderr, "note: text that is not UTF-8 (a file name?) is written to JSON with U+FFFD "
                                 "replacement characters\n");
        return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
    }
}

} // namespace feremotion::trainer
