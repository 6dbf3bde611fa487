// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading and writing model bundles: TorchScript archives carrying feremotion.json.
#pragma once

#include <functional>
#include <string>

#include <torch/script.h>

#include "engine/model/code_checks.h"
#include "engine/model/model_info.h"

namespace feremotion {

struct LoadedBundle {
    torch::jit::Module module;
    std::string metadataJson; // empty for a bare TorchScript file
};

// Opens a TorchScript archive with its feremotion.json; throws ModelError naming the file when it
// is missing, unreadable, not a TorchScript archive or has no forward method, and, unless `trust`
// is Trusted, when its code would run while loading or calls an operator that is not allowed
// (code_checks.h): those are found before any of its code runs.
LoadedBundle loadBundle(const std::string &path, const c10::Device &device = c10::kCPU,
                        ModelTrust trust = ModelTrust::Checked);

// What a classifier needs of a model's output for `batch` faces: batch x `labels` finite
// floating-point values.
// Throws ModelError naming `path` and saying `when` (e.g. "during inference").
void checkModelOutput(const torch::Tensor &output, int64_t batch, size_t labels, const std::string &path,
                      const char *when);
// Runs `forward` on one and on two faces of `info.input` (a ramp from black to white, normalised as
// `info.input` says) and checks its output as above, so a model that fails, or gives as many outputs
// as it has no labels for, or normalisation that makes faces infinite (a tiny std), is refused when
// loaded rather than at the first face.
void checkModelRuns(const std::function<torch::Tensor(const torch::Tensor &)> &forward, const ModelInfo &info,
                    const std::string &path);
// `forward(input)`; a LibTorch or TorchScript error becomes a ModelError naming `path`, the input's
// shape and the cause (for an error raised inside TorchScript the last line of its text, after the
// interpreter's banner and the script's traceback).
torch::Tensor runModel(const std::function<torch::Tensor(const torch::Tensor &)> &forward, const torch::Tensor &input,
                       const std::string &path);

// Freezes an eval-mode module for CPU inference: batch norm folded into the convolutions, which run as
// oneDNN kernels; a third more faces/s or better for our networks, outputs equal within 1e-5. Runs the
// result on two blank faces of `input` (of `dtype`, the weights' type) and returns true; on any failure
// (e.g. TorchScript that freezing rejects) returns false and leaves `module` as it was. The module must
// be loaded outside c10::InferenceMode, and the optimised one run inside it: from LibTorch 2.x on its
// layers pass oneDNN (MKLDNN) tensors, whose max_pool2d fails with autograd on ("aten::max_pool2d has
// kernels registered to both CompositeImplicitAutograd and a backend mapped to AutogradOther"), even
// under NoGradGuard.
// `testRun(module, input)` runs that test pass (the classifier bounds its time); by default it is
// the module's forward.
using ModuleRun = std::function<void(const torch::jit::Module &, const torch::Tensor &)>;
bool optimizeForCpuInference(torch::jit::Module &module, const InputSpec &input, c10::ScalarType dtype = c10::kFloat,
                             const ModuleRun &testRun = {});

// Converts an eval-mode module's weights to `precision`: for BFloat16 to bfloat16 with the 4-D ones
// channels-last, the layout oneDNN's AMX convolutions take as it is (in the default layout every
// pass reordered them, which made single faces slower than float32). Float32 leaves it as it is.
// Before optimizeForCpuInference, with the dtype of scalarTypeOf(precision).
void convertWeights(torch::jit::Module &module, Precision precision);
// `input` (N×C×H×W float32) in the type and layout of a module converted to `precision`.
torch::Tensor inputFor(const torch::Tensor &input, Precision precision);
c10::ScalarType scalarTypeOf(Precision precision);

// Saves `module` with `metadataJson` as feremotion.json, atomically (writeAtomically: readers never
// see half a bundle, not even after a power cut). Throws std::runtime_error.
void saveBundle(const torch::jit::Module &module, const std::string &metadataJson, const std::string &path);

} // namespace feremotion
