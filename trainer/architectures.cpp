// SPDX-License-Identifier: LGPL-2.1-or-later
// Network definitions and their TorchScript export by tracing.
#include "architectures.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/passes/fixup_trace_scope_blocks.h>
#include <torch/csrc/jit/passes/normalize_ops.h>

namespace feremotion {

namespace nn = torch::nn;

const std::vector<std::string> &architectureNames()
{
    static const std::vector<std::string> names{"mini-xception", "resnet", "vgg"};
    return names;
}

std::string describeArchitectures()
{
    return "mini-xception: fast, ~50k parameters (Arriaga et al. 2017), width = first module's channels (16); "
           "resnet: ResNet-18 layout for 48x48 faces, width = stem channels (32); "
           "vgg: VGG-style 2 convs per stage with batch norm, width = first stage's channels (64)";
}

namespace {

void addConvBnRelu(nn::Sequential &seq, int64_t in, int64_t out, int64_t stride = 1)
{
    seq->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    seq->push_back(nn::BatchNorm2d(out));
    seq->push_back(nn::ReLU(nn::ReLUOptions(true)));
}

// Depthwise 3x3 then pointwise 1x1.
class SeparableConvImpl : public nn::Module {
public:
    SeparableConvImpl(int64_t in, int64_t out)
        : depthwise_(register_module("depthwise", nn::Conv2d(nn::Conv2dOptions(in, in, 3).padding(1).groups(in).bias(false)))),
          pointwise_(register_module("pointwise", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false))))
    {
    }
    torch::Tensor forward(const torch::Tensor &x) { return pointwise_(depthwise_(x)); }

private:
    nn::Conv2d depthwise_;
    nn::Conv2d pointwise_;
};
TORCH_MODULE(SeparableConv);

// mini-Xception's residual module: two separable convs and a strided max-pool beside a 1x1 shortcut.
class XceptionBlockImpl : public nn::Module {
public:
    XceptionBlockImpl(int64_t in, int64_t out)
    {
        main_ = register_module("main", nn::Sequential());
        main_->push_back(SeparableConv(in, out));
        main_->push_back(nn::BatchNorm2d(out));
        main_->push_back(nn::ReLU(nn::ReLUOptions(true)));
        main_->push_back(SeparableConv(out, out));
        main_->push_back(nn::BatchNorm2d(out));
        main_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
        shortcut_ = register_module("shortcut", nn::Sequential());
        shortcut_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(2).bias(false)));
        shortcut_->push_back(nn::BatchNorm2d(out));
    }
    torch::Tensor forward(const torch::Tensor &x) { return main_->forward(x) + shortcut_->forward(x); }

private:
    nn::Sequential main_{nullptr};
    nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(XceptionBlock);

class BasicBlockImpl : public nn::Module {
public:
    BasicBlockImpl(int64_t in, int64_t out, int64_t stride)
    {
        main_ = register_module("main", nn::Sequential());
        addConvBnRelu(main_, in, out, stride);
        main_->push_back(nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
        main_->push_back(nn::BatchNorm2d(out));
        if (stride != 1 || in != out) {
            shortcut_ = register_module("shortcut", nn::Sequential());
            shortcut_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
            shortcut_->push_back(nn::BatchNorm2d(out));
        }
    }
    torch::Tensor forward(const torch::Tensor &x)
    {
        const torch::Tensor skip = shortcut_ ? shortcut_->forward(x) : x;
        return torch::relu(main_->forward(x) + skip);
    }

private:
    nn::Sequential main_{nullptr};
    nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

// The backbone of each architecture and the number of features it produces.
int defaultWidth(const std::string &name)
{
    return name == "mini-xception" ? 16 : name == "resnet" ? 32 : 64;
}

std::pair<nn::Sequential, int64_t> makeBackbone(const ArchitectureOptions &o)
{
    nn::Sequential seq;
    int64_t features = 0;
    if (o.name == "mini-xception") {
        const int64_t w = o.width;
        addConvBnRelu(seq, o.channels, 8);
        addConvBnRelu(seq, 8, 8);
        int64_t in = 8;
        for (int64_t c : {w, 2 * w, 4 * w, 8 * w}) {
            seq->push_back(XceptionBlock(in, c));
            in = c;
        }
        seq->push_back(nn::AdaptiveAvgPool2d(1));
        features = in;
    } else if (o.name == "resnet") {
        const int64_t w = o.width;
        addConvBnRelu(seq, o.channels, w);
        int64_t in = w;
        for (int64_t c : {w, 2 * w, 4 * w, 8 * w}) {
            seq->push_back(BasicBlock(in, c, 2));
            seq->push_back(BasicBlock(c, c, 1));
            in = c;
        }
        seq->push_back(nn::AdaptiveAvgPool2d(1));
        features = in;
    } else if (o.name == "vgg") {
        const int64_t w = o.width;
        int64_t in = o.channels;
        int64_t side = o.inputSize;
        for (int64_t c : {w, 2 * w, 4 * w, 8 * w}) {
            addConvBnRelu(seq, in, c);
            addConvBnRelu(seq, c, c);
            seq->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
            in = c;
            side /= 2;
        }
        if (side < 1)
            throw std::invalid_argument("vgg needs inputs of at least 16x16 pixels");
        features = in * side * side;
    } else {
        std::ostringstream names;
        for (const auto &name : architectureNames())
            names << (names.tellp() ? ", " : "") << name;
        throw std::invalid_argument("unknown architecture '" + o.name + "' (known: " + names.str() + ")");
    }
    seq->push_back(nn::Flatten());
    return {seq, features};
}

} // namespace

// Runs `in` through a sequential part of a network, adding the multiply-accumulates of its
// convolutions and linear layers to `total`.
static torch::Tensor countWork(nn::SequentialImpl &sequential, torch::Tensor in, int64_t &total)
{
    for (auto &layer : sequential) {
        const std::shared_ptr<nn::Module> module = layer.ptr();
        if (auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>(module)) {
            const torch::Tensor out = conv->forward(in);
            const auto &w = conv->weight;
            total += out.size(2) * out.size(3) * w.size(0) * w.size(1) * w.size(2) * w.size(3);
            in = out;
        } else if (auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(module)) {
            total += linear->weight.size(0) * linear->weight.size(1);
            in = linear->forward(in);
        } else if (auto separable = std::dynamic_pointer_cast<SeparableConvImpl>(module)) {
            nn::Sequential parts;
            for (const auto &child : separable->children())
                parts->push_back(std::dynamic_pointer_cast<nn::Conv2dImpl>(child));
            in = countWork(*parts, in, total);
        } else if (std::dynamic_pointer_cast<BasicBlockImpl>(module) || std::dynamic_pointer_cast<XceptionBlockImpl>(module)) {
            for (const auto &child : module->named_children())
                countWork(*std::dynamic_pointer_cast<nn::SequentialImpl>(child.value()), in, total);
            in = layer.forward(in);
        } else {
            in = layer.forward(in);
        }
    }
    return in;
}

EmotionNetImpl::EmotionNetImpl(const ArchitectureOptions &options) : options_(options)
{
    if (options_.width <= 0)
        options_.width = defaultWidth(options_.name);
    auto [backbone, features] = makeBackbone(options_);
    backbone_ = register_module("backbone", backbone);
    buildHead(features);
}

EmotionNetImpl::EmotionNetImpl(const ArchitectureOptions &options, torch::jit::Module backbone, int64_t featureCount)
    : options_(options), scriptedBackbone_(std::move(backbone))
{
    // Registered here too, so optimisers, state saving and device moves see the backbone's tensors.
    for (const auto &p : scriptedBackbone_->named_parameters(true)) {
        std::string name = "scripted_" + p.name;
        std::replace(name.begin(), name.end(), '.', '_');
        register_parameter(name, p.value, p.value.requires_grad());
    }
    for (const auto &b : scriptedBackbone_->named_buffers(true)) {
        std::string name = "scripted_" + b.name;
        std::replace(name.begin(), name.end(), '.', '_');
        register_buffer(name, b.value);
    }
    buildHead(featureCount);
}

void EmotionNetImpl::buildHead(int64_t featureCount)
{
    head_ = register_module("head", nn::Sequential());
    int64_t in = featureCount;
    if (options_.hidden > 0) {
        head_->push_back(nn::Linear(in, options_.hidden));
        head_->push_back(nn::ReLU(nn::ReLUOptions(true)));
        in = options_.hidden;
    }
    if (options_.dropout > 0)
        head_->push_back(nn::Dropout(options_.dropout));
    head_->push_back(nn::Linear(in, options_.classes));
}

torch::Tensor EmotionNetImpl::features(const torch::Tensor &x)
{
    if (scriptedBackbone_) {
        scriptedBackbone_->train(is_training());
        return torch::flatten(scriptedBackbone_->forward({x}).toTensor(), 1);
    }
    return backbone_->forward(x);
}

torch::Tensor EmotionNetImpl::forward(const torch::Tensor &x)
{
    return head_->forward(features(x));
}

std::vector<torch::Tensor> EmotionNetImpl::backboneParameters()
{
    std::vector<torch::Tensor> result;
    for (const auto &p : named_parameters(true))
        if (p.key().rfind("head.", 0) != 0)
            result.push_back(p.value());
    return result;
}

int64_t EmotionNetImpl::parameterCount()
{
    int64_t count = 0;
    for (const auto &p : parameters(true))
        count += p.numel();
    return count;
}

int64_t EmotionNetImpl::multiplyAccumulates()
{
    torch::NoGradGuard noGrad;
    const bool wasTraining = is_training();
    eval();
    int64_t total = 0;
    const auto device = parameters().empty() ? torch::Device(torch::kCPU) : parameters().front().device();
    torch::Tensor x = torch::zeros({1, options_.channels, options_.inputSize, options_.inputSize}, device);
    x = scriptedBackbone_ ? features(x) : countWork(*backbone_, x, total);
    countWork(*head_, x, total);
    train(wasTraining);
    return total;
}

int64_t scriptedFeatureCount(torch::jit::Module &backbone, int channels, int inputSize)
{
    torch::NoGradGuard noGrad;
    backbone.eval();
    const torch::Tensor out = backbone.forward({torch::zeros({2, channels, inputSize, inputSize})}).toTensor();
    return torch::flatten(out, 1).size(1);
}

torch::jit::Module exportTorchScript(EmotionNet &net)
{
    const bool wasTraining = net->is_training();
    net->eval();
    torch::jit::Module module("FerEmotionNet");
    // The traced graph refers to the parameters as attributes of `module`; the tracer recognises
    // them by tensor identity, so the very tensors the network uses are registered.
    for (const auto &p : net->named_parameters(true)) {
        std::string name = p.key();
        std::replace(name.begin(), name.end(), '.', '_');
        module.register_parameter(name, p.value(), false);
    }
    for (const auto &b : net->named_buffers(true)) {
        std::string name = b.key();
        std::replace(name.begin(), name.end(), '.', '_');
        module.register_buffer(name, b.value());
    }
    const auto &o = net->options();
    const torch::Tensor example = torch::zeros({2, o.channels, o.inputSize, o.inputSize});
    auto traced = [&](torch::jit::Stack inputs) -> torch::jit::Stack {
        return {net->forward(inputs.at(0).toTensor())};
    };
    auto result = torch::jit::tracer::trace({example}, traced, [](const torch::autograd::Variable &) { return ""; },
                                            true, false, &module);
    std::shared_ptr<torch::jit::Graph> graph = result.first->graph;
    torch::jit::FixupTraceScopeBlocks(graph, &module);
    torch::jit::NormalizeOps(graph);
    auto *function = module._ivalue()->compilation_unit()->create_function(
        c10::QualifiedName(*module.type()->name(), "forward"), graph);
    module.type()->addMethod(function);
    net->train(wasTraining);
    // Detach the export from the live network: later training must not change a saved bundle.
    return module.clone();
}

} // namespace feremotion
