// SPDX-License-Identifier: LGPL-2.1-or-later
// A bundle is a TorchScript program: what feremotion lets one do before it runs it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <torch/script.h>

#include "engine/model/model_info.h"

namespace feremotion {

// True for the TorchScript operators (e.g. "aten::conv2d", "prim::If") that an image classifier
// needs: tensor arithmetic, layers, shapes, and the language's own lists, strings and control
// flow. Operators that reach files, processes, the network or other programs' memory
// (aten::from_file, aten::save, prim::rpc_*, c10d::*) are not on the list, nor is any operator
// of a namespace other than aten and prim.
bool isAllowedOperator(const std::string &qualifiedName);

// What a check found that the bundle may not do, said as the end of "model 'PATH' ...".
using CodeObjection = std::optional<std::string>;

// Looks through the archive's TorchScript source, before it is loaded, for code that loading
// itself would run: a __setstate__ method, which torch::jit::load calls while it unpickles.
// Throws what LibTorch's archive reader throws (c10::Error) when the archive cannot be read.
CodeObjection findLoadTimeCode(const std::string &path);

// Looks through every function and method that a loaded module's code defines (submodules, helper
// functions and TorchScript classes included) for an operator not allowed above, or a method call
// on a C++ class (torch.classes.*).
CodeObjection findDisallowedOperator(const torch::jit::Module &module);

// `load()` (torch::jit::load of `path` as the caller needs it) between the two checks above, unless
// `trust` is Trusted. Throws ModelError "model 'PATH' <what was found>; it was not run ..." before
// any of the file's code has run.
torch::jit::Module loadCheckedModule(const std::string &path, ModelTrust trust,
                                     const std::function<torch::jit::Module()> &load);

} // namespace feremotion
