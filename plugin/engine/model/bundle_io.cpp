// SPDX-License-Identifier: LGPL-2.1-or-later
// Bundle I/O with distinct, file-naming errors for each way a model file can be unusable.
#include "engine/model/bundle_io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <caffe2/serialize/inline_container.h>

#include "engine/model/atomic_file.h"
#include "engine/model/code_checks.h"

namespace feremotion {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string &path, const std::string &cause)
{
    throw ModelError("model '" + path + "' " + cause);
}

std::string firstLine(const std::string &text)
{
    return text.substr(0, text.find('\n'));
}

std::string torchErrorCause(const std::string &text)
{
    // TorchScript's interpreter puts a banner and the script's traceback before the cause.
    static const std::string banner = "The following operation failed in the TorchScript interpreter";
    if (text.compare(0, banner.size(), banner) != 0)
        return firstLine(text);
    const size_t end = text.find_last_not_of(" \n"); // the banner is there, so not npos
    const size_t lineBreak = text.rfind('\n', end);
    const size_t begin = lineBreak == std::string::npos ? 0 : lineBreak + 1;
    return text.substr(begin, end + 1 - begin);
}

bool hasExtraFile(const std::string &path, const std::string &name)
{
    try {
        caffe2::serialize::PyTorchStreamReader archive(path);
        return archive.hasRecord("extra/" + name);
    } catch (const std::exception &) { // jit::load has read it, so this does not happen
        return false;
    }
}

std::string shapeOf(const torch::Tensor &t)
{
    std::string s;
    for (int64_t d = 0; d < t.dim(); ++d)
        s += (d ? "x" : "") + std::to_string(t.size(d));
    return s.empty() ? "scalar" : s;
}

} // namespace

void checkModelOutput(const torch::Tensor &output, int64_t batch, size_t labels, const std::string &path,
                      const char *when)
{
    const auto width = static_cast<int64_t>(labels);
    if (output.dim() != 2 || output.size(0) != batch)
        fail(path, std::string(when) + " returns shape " + shapeOf(output) + ", expected " + std::to_string(batch) +
                       "x" + std::to_string(width));
    if (!output.is_floating_point())
        fail(path, std::string(when) + " returns " + std::string(c10::toString(output.scalar_type())) +
                       " values, not floating-point logits");
    if (output.size(1) != width)
        fail(path, std::string(when) + " returns " + std::to_string(output.size(1)) + " outputs per face but has " +
                       std::to_string(width) + " labels");
    if (!torch::isfinite(output).all().item<bool>())
        fail(path, std::string(when) + " returns non-finite values (NaN or infinity)");
}

void checkModelRuns(const std::function<torch::Tensor(const torch::Tensor &)> &forward, const ModelInfo &info,
                    const std::string &path)
{
    c10::InferenceMode guard;
    const InputSpec &spec = info.input;
    // Pixels from 0 to 1 along each row, normalised per channel as the classifier does.
    const torch::Tensor ramp = torch::linspace(0, 1, spec.width).expand({spec.height, spec.width});
    std::vector<torch::Tensor> channels;
    for (int c = 0; c < spec.channels(); ++c)
        channels.push_back((ramp - spec.mean.at(static_cast<size_t>(c))) / spec.std.at(static_cast<size_t>(c)));
    const torch::Tensor face = torch::stack(channels);
    if (!torch::isfinite(face).all().item<bool>())
        fail(path, "normalises faces to infinite values (input.mean/input.std)");
    // One face, the usual frame, and two: some outputs lose their batch dimension at one (squeeze).
    for (const int64_t batch : {1, 2}) {
        const torch::Tensor input = face.unsqueeze(0).expand({batch, -1, -1, -1}).contiguous();
        checkModelOutput(runModel(forward, input, path), batch, info.labels.size(), path, "at its test forward pass");
    }
}

torch::Tensor runModel(const std::function<torch::Tensor(const torch::Tensor &)> &forward, const torch::Tensor &input,
                       const std::string &path)
{
    try {
        return forward(input);
    } catch (const c10::Error &e) { // its what() holds pages of C++ backtrace
        fail(path, "fails on a " + shapeOf(input) + " input: " + torchErrorCause(e.what_without_backtrace()));
    } catch (const ModelError &) {
        throw;
    } catch (const std::exception &e) { // torch::jit::JITException, raised inside TorchScript
        fail(path, "fails on a " + shapeOf(input) + " input: " + torchErrorCause(e.what()));
    }
}

LoadedBundle loadBundle(const std::string &path, const c10::Device &device, ModelTrust trust)
{
    std::error_code ec;
    if (path.empty())
        throw ModelError("no model file given");
    if (!fs::exists(path, ec))
        fail(path, "does not exist");
    if (fs::is_directory(path, ec))
        fail(path, "is a directory, not a model file");
    std::ifstream file(path, std::ios::binary);
    if (!file)
        fail(path, std::string("cannot be read: ") + std::strerror(errno));
    char magic[4] = {};
    file.read(magic, sizeof magic);
    if (file.gcount() != 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0)
        fail(path, "is not a TorchScript archive (not a zip file; save it with torch.jit.save)");
    file.close();

    LoadedBundle bundle;
    torch::jit::ExtraFilesMap extra{{"feremotion.json", ""}};
    try {
        bundle.module = loadCheckedModule(path, trust, [&] { return torch::jit::load(path, device, extra); });
    } catch (const ModelError &) {
        throw;
    } catch (const c10::Error &e) {
        fail(path, "is not a loadable TorchScript archive: " + torchErrorCause(e.what_without_backtrace()));
    } catch (const std::exception &e) {
        fail(path, "is not a loadable TorchScript archive: " + firstLine(e.what()));
    }
    if (!bundle.module.find_method("forward"))
        fail(path, "has no forward method (a torch.save() state dict or checkpoint is not a model bundle)");
    bundle.metadataJson = extra["feremotion.json"];
    // LibTorch reads an absent extra file as an empty one; only an absent one makes a bare file.
    if (bundle.metadataJson.empty() && hasExtraFile(path, "feremotion.json"))
        fail(path, "has an empty feremotion.json (the bundle's metadata; a bare TorchScript file has none)");
    return bundle;
}

bool optimizeForCpuInference(torch::jit::Module &module, const InputSpec &input, c10::ScalarType dtype,
                             const ModuleRun &testRun)
{
    try {
        // Frozen first: optimize_for_inference does not freeze a module without a `training` attribute,
        // such as the trainer's ensembles, and then leaves it as it is.
        torch::jit::Module candidate = torch::jit::freeze(module);
        candidate = torch::jit::optimize_for_inference(candidate);
        c10::InferenceMode guard;
        const torch::Tensor blank = torch::zeros({2, input.channels(), input.height, input.width}, dtype);
        if (testRun)
            testRun(candidate, blank);
        else
            candidate.forward({blank});
        module = std::move(candidate);
        return true;
    } catch (const ModelError &) {
        throw; // the test pass ran past its time
    } catch (const std::exception &) {
        return false;
    }
}

void convertWeights(torch::jit::Module &module, Precision precision)
{
    if (precision != Precision::BFloat16)
        return;
    module.to(torch::kBFloat16);
    for (const auto &sub : module.modules())
        for (const auto &parameter : sub.named_parameters(/*recurse=*/false))
            if (parameter.value.dim() == 4)
                parameter.value.set_data(parameter.value.contiguous(c10::MemoryFormat::ChannelsLast));
}

torch::Tensor inputFor(const torch::Tensor &input, Precision precision)
{
    if (precision != Precision::BFloat16)
        return input.to(torch::kFloat);
    return input.to(torch::kBFloat16).contiguous(c10::MemoryFormat::ChannelsLast);
}

c10::ScalarType scalarTypeOf(Precision precision)
{
    return precision == Precision::BFloat16 ? torch::kBFloat16 : torch::kFloat;
}

void saveBundle(const torch::jit::Module &module, const std::string &metadataJson, const std::string &path)
{
    writeAtomically(path, [&](const std::string &temporary) {
        module.save(temporary, torch::jit::ExtraFilesMap{{"feremotion.json", metadataJson}});
    });
}

} // namespace feremotion
