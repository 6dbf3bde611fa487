// SPDX-License-Identifier: LGPL-2.1-or-later
// An environment variable set for a scope (a benchmark row, a test), its earlier value restored after.
#pragma once

#include <optional>
#include <string>

#include <glib.h>

namespace feremotion::bench {

class ScopedEnvironment {
public:
    ScopedEnvironment(const char *name, const std::string &value) : name_(name)
    {
        if (const char *old = g_getenv(name))
            previous_ = old;
        g_setenv(name, value.c_str(), TRUE);
    }
    ~ScopedEnvironment()
    {
        if (previous_)
            g_setenv(name_, previous_->c_str(), TRUE);
        else
            g_unsetenv(name_);
    }
    ScopedEnvironment(const ScopedEnvironment &) = delete;
    ScopedEnvironment &operator=(const ScopedEnvironment &) = delete;

private:
    const char *name_;
    std::optional<std::string> previous_;
};

} // namespace feremotion::bench
