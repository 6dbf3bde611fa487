// SPDX-License-Identifier: LGPL-2.1-or-later
// The emotion network architectures: one definition serves the trainer (training) and the element
// (through the TorchScript export, which traces this code with the trained parameters).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace feremotion {

struct ArchitectureOptions {
    std::string name = "mini-xception"; // see architectureNames()
    int channels = 1;                    // 1 gray, 3 RGB
    int classes = 7;
    int inputSize = 48;  // square input side, pixels
    int width = 0;       // base channel count; 0 = the architecture's default
    int hidden = 0;      // units of an extra dense layer before the classifier; 0 = none
    float dropout = 0.0; // dropout before the classifier (and after the hidden layer)
};

// "mini-xception" (fast: ~60k parameters, Arriaga et al. 2017), "resnet" (accurate: a ResNet-18
// layout sized for 48x48 faces), "vgg" (the seed blog's VGG-style net with batch norm).
const std::vector<std::string> &architectureNames();
std::string describeArchitectures();

// Backbone (features → N×F) followed by the head (optional hidden layer, dropout, linear).
class EmotionNetImpl : public torch::nn::Module {
public:
    explicit EmotionNetImpl(const ArchitectureOptions &options);
    // A pretrained TorchScript backbone (--init) whose forward maps N×C×H×W to features, with a new head.
    EmotionNetImpl(const ArchitectureOptions &options, torch::jit::Module backbone, int64_t featureCount);

    torch::Tensor forward(const torch::Tensor &x);
    torch::Tensor features(const torch::Tensor &x);

    const ArchitectureOptions &options() const { return options_; }
    // Parameters of the backbone only (for --freeze-backbone).
    std::vector<torch::Tensor> backboneParameters();
    int64_t parameterCount();
    // Multiply-accumulates of one forward pass for one face (convolutions and linear layers).
    int64_t multiplyAccumulates();

private:
    void buildHead(int64_t featureCount);

    ArchitectureOptions options_;
    torch::nn::Sequential backbone_{nullptr};
    std::optional<torch::jit::Module> scriptedBackbone_;
    torch::nn::Sequential head_{nullptr};
};
TORCH_MODULE(EmotionNet);

// Feature width a TorchScript backbone produces for the given input (a dry-run forward).
int64_t scriptedFeatureCount(torch::jit::Module &backbone, int channels, int inputSize);

// A TorchScript module computing the same function as `net` in eval mode, holding its parameters
// and buffers (copies, on the CPU): what a bundle stores.
torch::jit::Module exportTorchScript(EmotionNet &net);

} // namespace feremotion
