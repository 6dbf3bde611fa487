// SPDX-License-Identifier: LGPL-2.1-or-later
#include "distillation.h"

#include "commands.h"
#include "engine/model/bundle_io.h"
#include "engine/vision/classifier.h"

namespace feremotion::trainer {

torch::jit::Module loadTeacher(const TrainOptions &o, const InputSpec &input, const std::vector<std::string> &labels,
                               const torch::Device &device)
{
    LoadedBundle bundle;
    try {
        bundle = loadBundle(o.teacher, device, modelTrust());
    } catch (const ModelError &e) {
        throw ModelError(std::string("--teacher: ") + e.what());
    }
    if (bundle.metadataJson.empty())
        throw ModelError("--teacher '" + o.teacher + "' has no feremotion.json, so its labels and input cannot be checked");
    ModelInfo student;
    student.labels = labels;
    student.input = input;
    student.faceMargin = o.faceMargin;
    if (const char *differs = interfaceDifference(parseModelInfo(bundle.metadataJson, o.teacher), student))
        throw ModelError("--teacher '" + o.teacher + "' does not fit this run: its " + std::string(differs) + " differ");
    bundle.module.eval();
    checkModelRuns([&](const torch::Tensor &x) { return bundle.module.forward({x.to(device)}).toTensor(); }, student,
                   o.teacher);
    // Its forward runs on every training batch: frozen, it costs a third less.
    if (device.is_cpu())
        optimizeForCpuInference(bundle.module, input);
    return bundle.module;
}

torch::Tensor distillationLoss(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits, double temperature)
{
    const torch::Tensor teacher = torch::log_softmax(teacherLogits / temperature, 1);
    const torch::Tensor student = torch::log_softmax(studentLogits / temperature, 1);
    return (teacher.exp() * (teacher - student)).sum(1).mean() * (temperature * temperature);
}

} // namespace feremotion::trainer
