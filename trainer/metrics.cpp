// SPDX-License-Identifier: LGPL-2.1-or-later
// Metrics from logits.
#include "metrics.h"

#include "augment.h"

namespace feremotion::trainer {

nlohmann::json Metrics::toJson() const
{
    nlohmann::json perClass = nlohmann::json::object();
    for (size_t k = 0; k < labels.size(); ++k)
        perClass[labels[k]] = {{"precision", precision[k]}, {"recall", recall[k]}, {"f1", f1[k]}, {"support", support[k]}};
    return {{"count", count},     {"loss", loss},          {"accuracy", accuracy},
            {"macro_f1", macroF1}, {"per_class", perClass}, {"confusion_matrix", confusion},
            {"labels", labels}};
}

Metrics computeMetrics(const torch::Tensor &logits, const torch::Tensor &labels,
                       const std::vector<std::string> &labelNames)
{
    Metrics m;
    m.labels = labelNames;
    const size_t k = labelNames.size();
    m.count = labels.size(0);
    m.confusion.assign(k, std::vector<int64_t>(k, 0));
    const torch::Tensor cpuLogits = logits.to(torch::kCPU).to(torch::kFloat32);
    const torch::Tensor target = labels.to(torch::kCPU);
    m.loss = torch::nn::functional::cross_entropy(cpuLogits, target).item<double>();
    const torch::Tensor predicted = cpuLogits.argmax(1);
    const auto *p = predicted.data_ptr<int64_t>();
    const auto *t = target.data_ptr<int64_t>();
    int64_t correct = 0;
    for (int64_t i = 0; i < m.count; ++i) {
        ++m.confusion[static_cast<size_t>(t[i])][static_cast<size_t>(p[i])];
        correct += p[i] == t[i];
    }
    m.accuracy = m.count ? static_cast<double>(correct) / static_cast<double>(m.count) : 0.0;
    for (size_t c = 0; c < k; ++c) {
        int64_t truePositive = m.confusion[c][c], predictedCount = 0, actualCount = 0;
        for (size_t j = 0; j < k; ++j) {
            predictedCount += m.confusion[j][c];
            actualCount += m.confusion[c][j];
        }
        const double precision = predictedCount ? static_cast<double>(truePositive) / predictedCount : 0.0;
        const double recall = actualCount ? static_cast<double>(truePositive) / actualCount : 0.0;
        m.precision.push_back(precision);
        m.recall.push_back(recall);
        m.f1.push_back(precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0);
        m.support.push_back(actualCount);
    }
    double sum = 0;
    for (double f : m.f1)
        sum += f;
    m.macroF1 = k ? sum / static_cast<double>(k) : 0.0;
    return m;
}

nlohmann::json Metrics::summaryJson() const
{
    return {{"accuracy", accuracy}, {"macro_f1", macroF1}, {"loss", loss}};
}

std::string testSplitName(const std::vector<std::string> &files, const std::string &usage)
{
    return files.empty() || isImageFolder(files.front()) || usage.empty() ? "test" : usage;
}

namespace {

// The cause an exception's text ends with (a TorchScript traceback's "RuntimeError: ..." line).
std::string lastLineOf(const std::string &text)
{
    const size_t end = text.find_last_not_of("\n ");
    if (end == std::string::npos)
        return text;
    const size_t start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

// "[8, 7]".
std::string shapeText(const torch::Tensor &t)
{
    std::string text = "[";
    for (int64_t i = 0; i < t.dim(); ++i)
        text += (i ? ", " : "") + std::to_string(t.size(i));
    return text + "]";
}

} // namespace

torch::Tensor checkedForward(const ForwardFunction &forward, const torch::Tensor &x, const std::string &path,
                             int64_t labels)
{
    torch::Tensor out;
    try {
        out = forward(x).to(torch::kFloat);
    } catch (const std::exception &e) { // c10::Error, or TorchScript's JITException with its traceback
        throw DataError("'" + path + "' failed on a batch of " + std::to_string(x.size(0)) + " faces: " +
                        lastLineOf(e.what()));
    }
    if (out.dim() != 2 || out.size(0) != x.size(0) || out.size(1) != labels)
        throw DataError("'" + path + "' returned outputs of shape " + shapeText(out) + " for " +
                        std::to_string(x.size(0)) + " faces; expected [" + std::to_string(x.size(0)) + ", " +
                        std::to_string(labels) + "] (one score per label)");
    if (!torch::isfinite(out).all().item<bool>())
        throw DataError("'" + path + "' returned scores that are not finite (NaN or infinity)");
    return out;
}

torch::Tensor predictLogits(const ForwardFunction &forward, const Dataset &data, const InputSpec &input,
                            bool flipTta, int batchSize, const torch::Device &device)
{
    std::vector<torch::Tensor> chunks;
    {
        // Not NoGradGuard: bundles optimised for the CPU run only here (optimizeForCpuInference).
        c10::InferenceMode inference;
        for (int64_t start = 0; start < data.size(); start += batchSize) {
            const int64_t end = std::min<int64_t>(data.size(), start + batchSize);
            const torch::Tensor x = normalizeBatch(data.images.slice(0, start, end), input).to(device);
            torch::Tensor logits = forward(x);
            if (flipTta)
                logits = 0.5 * (logits + forward(x.flip({3})));
            chunks.push_back(logits.to(torch::kCPU));
        }
    }
    return torch::cat(chunks); // outside the guard: a normal tensor, which callers may change in place
}

} // namespace feremotion::trainer
