// SPDX-License-Identifier: LGPL-2.1-or-later
// Knowledge distillation: the --teacher bundle and the loss that makes the student learn its outputs.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>
#include <torch/torch.h>

#include "engine/model/model_info.h"
#include "train.h"

namespace feremotion::trainer {

// The --teacher bundle, checked to take the student's input and give its labels.
torch::jit::Module loadTeacher(const TrainOptions &o, const InputSpec &input, const std::vector<std::string> &labels,
                               const torch::Device &device);
// T^2 x KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch; T^2 keeps its
// gradients on the scale of the cross-entropy's whatever the temperature.
torch::Tensor distillationLoss(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits, double temperature);

} // namespace feremotion::trainer
