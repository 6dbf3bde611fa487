// SPDX-License-Identifier: LGPL-2.1-or-later
// Geometric augmentation as one affine warp per face (grid_sample), then photometric changes and erasing.
#include "augment.h"

#include <cmath>

namespace feremotion::trainer {

namespace F = torch::nn::functional;

torch::Tensor normalizeBatch(const torch::Tensor &images, const InputSpec &input)
{
    const auto channels = images.size(1);
    auto mean = torch::tensor(input.mean).view({1, channels, 1, 1});
    auto std = torch::tensor(input.std).view({1, channels, 1, 1});
    return (images.to(torch::kFloat32).div(255.0) - mean) / std;
}

torch::Tensor prepareBatch(const torch::Tensor &images, const InputSpec &input, const AugmentOptions &augment,
                           std::mt19937 &rng)
{
    if (!augment.enabled)
        return normalizeBatch(images, input);
    const int64_t n = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    auto symmetric = [&](float range) { return (2.0f * unit(rng) - 1.0f) * range; };

    auto theta = torch::empty({n, 2, 3});
    auto t = theta.accessor<float, 3>();
    auto gain = torch::empty({n, 1, 1, 1});
    auto offset = torch::empty({n, 1, 1, 1});
    for (int64_t i = 0; i < n; ++i) {
        const float angle = symmetric(augment.rotation) * static_cast<float>(M_PI) / 180.0f;
        const float zoom = 1.0f + symmetric(augment.scale);
        const float mirror = augment.flip && unit(rng) < 0.5f ? -1.0f : 1.0f;
        const float dx = std::round(symmetric(static_cast<float>(augment.cropPadding)));
        const float dy = std::round(symmetric(static_cast<float>(augment.cropPadding)));
        // Output-to-input mapping in normalised coordinates: rotate, zoom, mirror, shift.
        t[i][0][0] = std::cos(angle) / zoom * mirror;
        t[i][0][1] = -std::sin(angle) / zoom;
        t[i][0][2] = 2.0f * dx / static_cast<float>(width);
        t[i][1][0] = std::sin(angle) / zoom * mirror;
        t[i][1][1] = std::cos(angle) / zoom;
        t[i][1][2] = 2.0f * dy / static_cast<float>(height);
        const float contrast = 1.0f + symmetric(augment.contrast);
        const float brightness = symmetric(augment.brightness);
        gain[i][0][0][0] = contrast;
        offset[i][0][0][0] = 0.5f * (1.0f - contrast) + brightness;
    }
    torch::Tensor x = images.to(torch::kFloat32).div(255.0);
    const auto grid = F::affine_grid(theta, {n, channels, height, width}, false);
    x = F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
    x = (x * gain + offset).clamp(0.0, 1.0);
    const auto channelCount = channels;
    auto mean = torch::tensor(input.mean).view({1, channelCount, 1, 1});
    auto std = torch::tensor(input.std).view({1, channelCount, 1, 1});
    x = (x - mean) / std;
    for (int64_t i = 0; i < n; ++i) {
        if (unit(rng) >= augment.erasing)
            continue;
        const float area = (0.02f + 0.18f * unit(rng)) * static_cast<float>(width * height);
        const float aspect = std::exp(std::log(0.3f) + unit(rng) * (std::log(3.3f) - std::log(0.3f)));
        const int64_t h = std::min<int64_t>(height, std::max<int64_t>(1, std::lround(std::sqrt(area * aspect))));
        const int64_t w = std::min<int64_t>(width, std::max<int64_t>(1, std::lround(std::sqrt(area / aspect))));
        const int64_t top = static_cast<int64_t>(unit(rng) * static_cast<float>(height - h + 1)) % (height - h + 1);
        const int64_t left = static_cast<int64_t>(unit(rng) * static_cast<float>(width - w + 1)) % (width - w + 1);
        // Zero in normalised space is the mean colour.
        x.index({i, torch::indexing::Slice(), torch::indexing::Slice(top, top + h),
                 torch::indexing::Slice(left, left + w)})
            .zero_();
    }
    return x;
}

} // namespace feremotion::trainer
