// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs the feremotion-trainer executable for the trainer's black-box tests.
#pragma once

#include <string>

namespace feremotion::test {

struct CommandResult {
    int status = -1; // exit status; -1 when killed or not run
    std::string output; // stdout and stderr together
};

// Runs feremotion-trainer with the arguments (a shell-quoted string).
CommandResult runTrainer(const std::string &arguments);

std::string trainerPath();

} // namespace feremotion::test
