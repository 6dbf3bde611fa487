// SPDX-License-Identifier: LGPL-2.1-or-later
// What the subcommands share: opening a bundle, threads, and the rows a bundle is evaluated on.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "dataset.h"
#include "engine/model/model_info.h"

namespace feremotion::trainer {

// A bundle opened for a subcommand: its module (checked unless --trust-model, in eval mode, shown
// to run on its input) and its metadata.
struct Bundle {
    torch::jit::Module module;
    ModelInfo info;
};
// Throws ModelError naming `path` when it cannot be loaded, is not a bundle or does not run.
Bundle openBundle(const std::string &path);

// at::set_num_threads with 0 meaning all cores.
void setThreads(int threads);

// "a,b,c"
std::string joined(const std::vector<std::string> &names);

// The rows of `files` a bundle is evaluated on, fitted to its input: a compact folder's or the
// CSVs' `usage` rows (empty: all CSV rows, a compact folder's PublicTest), or an image folder.
// Throws ModelError when the bundle's labels are not the data's.
Dataset loadRowsFor(const Bundle &bundle, const std::string &model, const std::vector<std::string> &files,
                    const std::string &usage, bool skipBad);

} // namespace feremotion::trainer
