// SPDX-License-Identifier: LGPL-2.1-or-later
// The batched classifier: validated bundle, explicit threads and device, one forward per chunk.
#include "engine/vision/classifier.h"

#include <chrono>
#include <cmath>
#include <optional>

#include <ATen/Parallel.h>

#include "engine/model/bundle_io.h"
#include "engine/model/device.h"
#include "engine/vision/preprocess.h"
#include "engine/vision/timed_runner.h"

namespace feremotion {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

ModelInfo ClassifierOptions::defaultBareModelInfo()
{
    ModelInfo info;
    info.labels = fer2013Labels();
    return info;
}

struct EmotionClassifier::Impl {
    std::string path;
    ModelInfo info;
    bool hasMetadata = false;
    c10::Device device{c10::kCPU};
    torch::jit::Module module;
    bool optimized = false;
    Precision precision = Precision::Float32;
    int batchSize = 8;
    int threads = 1;
    ClassifierStats stats;
    ForwardObserver observer;
    std::chrono::milliseconds forwardTimeout{0};
    TimedRunner runner; // last: destroyed first, while what its job uses is still there

    static void applyThreads(int threads)
    {
        const int wanted = effectiveThreads(threads);
        if (at::get_num_threads() != wanted)
            at::set_num_threads(wanted);
    }

    // Runs `module` on `input` (N×C×H×W on the CPU) on the runner's thread, within the time limit.
    // The job holds its own handles to the module and tensors: one left running past the limit
    // must not refer to this classifier, which may be gone by then.
    torch::Tensor runTimed(const torch::jit::Module &target, const torch::Tensor &input)
    {
        auto output = std::make_shared<torch::Tensor>();
        auto job = [target = torch::jit::Module(target), input, output, device = device, precision = precision,
                    threads = threads]() mutable {
            c10::InferenceMode guard;
            applyThreads(threads); // OpenMP's thread count is the calling thread's own
            *output = target.forward({inputFor(input.to(device), precision)}).toTensor();
        };
        if (runner.stuck())
            throw ModelError("model '" + path + "' is not run again: an earlier forward pass ran past its time " +
                             "limit of " + std::to_string(forwardTimeout.count()) + " ms");
        try {
            runner.run(std::move(job), forwardTimeout);
        } catch (const TimeoutError &) {
            throw ModelError("model '" + path + "' did not finish a forward pass of " + std::to_string(input.size(0)) +
                             (input.size(0) == 1 ? " face" : " faces") + " within its time limit of " +
                             std::to_string(forwardTimeout.count()) +
                             " ms; the pass is left running on a thread of its own and the model is not run again");
        }
        return *output;
    }

    // Runs one chunk; `input` is N×C×H×W on the CPU.
    torch::Tensor forward(const torch::Tensor &input)
    {
        return runModel([this](const torch::Tensor &x) { return runTimed(module, x); }, input, path);
    }

    // Converts the weights to bfloat16 and checks that the model still runs. A failure throws when
    // bf16 was asked for; under Auto the model stays in float32.
    void useBFloat16(bool requested)
    {
        // Only under Auto is the float32 model kept, to fall back on.
        std::optional<torch::jit::Module> original;
        if (!requested)
            original = module.clone();
        convertWeights(module, Precision::BFloat16);
        precision = Precision::BFloat16;
        try {
            dryRun();
        } catch (const ModelError &e) {
            if (runner.stuck())
                throw;
            if (requested)
                throw ModelError(std::string(e.what()) + " when converted to bfloat16 (precision bf16); use fp32");
            module = std::move(*original);
            precision = Precision::Float32;
        }
    }

    void checkOutput(const torch::Tensor &output, int64_t batch, const char *when)
    {
        checkModelOutput(output, batch, info.labels.size(), path, when);
    }

    void dryRun()
    {
        checkModelRuns([this](const torch::Tensor &x) { return forward(x); }, info, path);
    }
};

EmotionClassifier::EmotionClassifier(const std::string &modelPath, const ClassifierOptions &options)
    : impl_(std::make_unique<Impl>())
{
    Impl &d = *impl_;
    d.path = modelPath;
    d.device = resolveDevice(options.device);
    setBatchSize(options.batchSize);
    setThreads(options.threads);
    // Loaded outside inference mode: freezing rewrites the weights, which inference tensors forbid.
    LoadedBundle bundle = loadBundle(modelPath, d.device, options.trust);
    d.module = std::move(bundle.module);
    d.module.eval();
    d.hasMetadata = !bundle.metadataJson.empty();
    d.info = d.hasMetadata ? parseModelInfo(bundle.metadataJson, modelPath) : options.bareModelInfo;
    if (d.info.labels.empty())
        throw ModelError("model '" + modelPath + "' has no labels");
    if (d.info.input.width > options.maxInputSide || d.info.input.height > options.maxInputSide)
        throw ModelError("model '" + modelPath + "' takes " + std::to_string(d.info.input.width) + "x" +
                         std::to_string(d.info.input.height) + " faces, larger than the largest input allowed (" +
                         std::to_string(options.maxInputSide) + " pixels a side)");
    d.forwardTimeout = std::chrono::milliseconds(std::max(0, options.forwardTimeoutMs));
    Impl::applyThreads(d.threads);
    d.dryRun();
    if (resolvePrecision(options.precision, d.device) == Precision::BFloat16)
        d.useBFloat16(options.precision == Precision::BFloat16);
    // Not on CUDA, where its gain is unmeasured.
    if (options.optimize && d.device.is_cpu())
        d.optimized = optimizeForCpuInference(d.module, d.info.input, scalarTypeOf(d.precision),
                                              [&d](const torch::jit::Module &m, const torch::Tensor &x) {
                                                  d.runTimed(m, x);
                                              });
}

EmotionClassifier::~EmotionClassifier() = default;

const ModelInfo &EmotionClassifier::info() const { return impl_->info; }
const std::string &EmotionClassifier::modelPath() const { return impl_->path; }
bool EmotionClassifier::hasBundleMetadata() const { return impl_->hasMetadata; }
std::string EmotionClassifier::deviceName() const { return impl_->device.str(); }
bool EmotionClassifier::optimized() const { return impl_->optimized; }
Precision EmotionClassifier::precision() const { return impl_->precision; }
const ClassifierStats &EmotionClassifier::stats() const { return impl_->stats; }
void EmotionClassifier::resetStats() { impl_->stats = {}; }

void EmotionClassifier::setBatchSize(int batchSize)
{
    impl_->batchSize = std::max(1, batchSize);
}

void EmotionClassifier::setThreads(int threads)
{
    impl_->threads = std::max(0, threads);
}

void EmotionClassifier::setForwardObserver(ForwardObserver observer)
{
    impl_->observer = std::move(observer);
}

std::vector<Emotion> EmotionClassifier::classify(const std::vector<cv::Mat> &crops, int streams)
{
    Impl &d = *impl_;
    std::vector<Emotion> results;
    results.reserve(crops.size());
    if (crops.empty())
        return results;
    c10::InferenceMode guard;
    Impl::applyThreads(d.threads);
    const InputSpec &input = d.info.input;
    const int64_t faceFloats = static_cast<int64_t>(input.channels()) * input.height * input.width;
    const auto labels = static_cast<int64_t>(d.info.labels.size());

    for (size_t start = 0; start < crops.size(); start += static_cast<size_t>(d.batchSize)) {
        const auto count = static_cast<int64_t>(std::min(crops.size() - start, static_cast<size_t>(d.batchSize)));
        auto begin = Clock::now();
        torch::Tensor batch = torch::empty({count, input.channels(), input.height, input.width});
        float *data = batch.data_ptr<float>();
        for (int64_t i = 0; i < count; ++i)
            normalizeInto(crops[start + static_cast<size_t>(i)], input, data + i * faceFloats);
        d.stats.prepareSeconds += secondsSince(begin);

        begin = Clock::now();
        torch::Tensor logits = d.forward(batch);
        const double forwardSeconds = secondsSince(begin);
        d.stats.forwardSeconds += forwardSeconds;
        if (d.observer)
            d.observer({static_cast<int>(count), streams, forwardSeconds * 1000});

        begin = Clock::now();
        d.checkOutput(logits, count, "during inference");
        const torch::Tensor probabilities = torch::softmax(logits.to(torch::kFloat), 1).to(c10::kCPU).contiguous();
        const float *p = probabilities.data_ptr<float>();
        for (int64_t i = 0; i < count; ++i) {
            Emotion e;
            e.probabilities.assign(p + i * labels, p + (i + 1) * labels);
            const auto best = std::max_element(e.probabilities.begin(), e.probabilities.end());
            e.labelId = static_cast<int>(best - e.probabilities.begin());
            e.confidence = *best;
            results.push_back(std::move(e));
        }
        d.stats.finishSeconds += secondsSince(begin);
        d.stats.faces += count;
        d.stats.forwardPasses += 1;
    }
    return results;
}

std::vector<Emotion> EmotionClassifier::classifyFaces(const FrameView &frame, const std::vector<Detection> &faces)
{
    const auto begin = Clock::now();
    std::vector<cv::Mat> crops = cropFaces(frame, faces, impl_->info);
    impl_->stats.cropSeconds += secondsSince(begin);
    return classify(crops);
}

} // namespace feremotion
