// SPDX-License-Identifier: LGPL-2.1-or-later
// Runs feremotion-trainer.
#include "trainer_support.h"

#include <cstdio>
#include <sys/wait.h>

#ifndef FEREMOTION_TRAINER_PATH
#error "FEREMOTION_TRAINER_PATH must be defined by the build"
#endif

namespace feremotion::test {

std::string trainerPath()
{
    return FEREMOTION_TRAINER_PATH;
}

CommandResult runTrainer(const std::string &arguments)
{
    CommandResult result;
    const std::string command = trainerPath() + " " + arguments + " 2>&1";
    FILE *pipe = popen(command.c_str(), "r");
    if (!pipe)
        return result;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0)
        result.output.append(chunk, n);
    const int status = pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

} // namespace feremotion::test
