// SPDX-License-Identifier: LGPL-2.1-or-later
// The train subcommand as a training script: set up, for each epoch train and finish (validate,
// keep the best, checkpoint), then write the best epoch's bundle and the run's reports.
#include "train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>

#include <unistd.h>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <nlohmann/json.hpp>

#include "batch_producer.h"
#include "checkpoints.h"
#include "commands.h"
#include "dataset.h"
#include "distillation.h"
#include "engine/model/atomic_file.h"
#include "engine/model/bundle_io.h"
#include "engine/model/device.h"
#include "json_text.h"
#include "metrics.h"
#include "plots.h"
#include "progress.h"
#include "schedules.h"
#include "soft_labels.h"
#include "training_data.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

std::string toString(Optimizer optimizer)
{
    return optimizer == Optimizer::Adam ? "adam" : "sgd";
}

std::string toString(Scheduler scheduler)
{
    switch (scheduler) {
    case Scheduler::Cosine: return "cosine";
    case Scheduler::Plateau: return "plateau";
    case Scheduler::None: break;
    }
    return "none";
}

std::string toString(Balance balance)
{
    switch (balance) {
    case Balance::WeightedLoss: return "weighted-loss";
    case Balance::Oversample: return "oversample";
    case Balance::None: break;
    }
    return "none";
}

void checkWritable(const std::string &path, const char *what)
{
    const fs::path target(path);
    const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    if (fs::is_directory(target, ec))
        throw std::invalid_argument(std::string(what) + " '" + path + "' is a folder, not a file name");
    if (!fs::is_directory(directory, ec))
        throw std::invalid_argument(std::string(what) + " '" + path + "': folder '" + directory.string() +
                                    "' does not exist");
    const fs::path probe = directory / (".feremotion-write-test-" + std::to_string(::getpid()));
    std::ofstream file(probe);
    if (!file)
        throw std::invalid_argument(std::string(what) + " '" + path + "': folder '" + directory.string() +
                                    "' is not writable");
    file.close();
    fs::remove(probe, ec);
}

void checkPngOutput(const std::string &path, const char *what)
{
    std::string extension = fs::path(path).extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
    if (extension != ".png")
        throw std::invalid_argument(std::string(what) + " '" + path + "' must end in .png");
    checkWritable(path, what);
}

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

EmotionNet buildNetwork(const TrainOptions &o, const InputSpec &input)
{
    ArchitectureOptions arch = o.architecture;
    arch.channels = input.channels();
    arch.classes = static_cast<int>(fer2013Labels().size());
    arch.inputSize = o.inputSize;
    if (o.init.empty())
        return EmotionNet(arch);
    torch::jit::Module backbone;
    try {
        backbone = loadCheckedModule(o.init, modelTrust(), [&] { return torch::jit::load(o.init); });
    } catch (const c10::Error &e) {
        const std::string what = e.what_without_backtrace();
        throw ModelError("--init '" + o.init + "' is not a TorchScript file: " + what.substr(0, what.find('\n')));
    }
    int64_t features = 0;
    try {
        features = scriptedFeatureCount(backbone, arch.channels, arch.inputSize);
    } catch (const std::exception &e) {
        const std::string what = e.what();
        throw ModelError("--init backbone '" + o.init + "' does not fit a " + std::to_string(arch.channels) + "x" +
                         std::to_string(arch.inputSize) + "x" + std::to_string(arch.inputSize) +
                         " input: " + what.substr(0, what.find('\n')));
    }
    if (features < 1)
        throw ModelError("--init backbone '" + o.init + "' produces no features");
    arch.name = "init:" + fs::path(o.init).filename().string();
    for (auto p : backbone.parameters())
        p.set_requires_grad(!o.freezeBackbone);
    return EmotionNet(arch, backbone, features);
}

std::string architectureDescription(const TrainOptions &o, EmotionNet &net)
{
    const auto &a = net->options();
    std::string text = a.name;
    if (o.init.empty())
        text += "(width=" + std::to_string(a.width) + ")";
    text += " + head(hidden=" + std::to_string(a.hidden) + ", dropout=" + std::to_string(a.dropout).substr(0, 4) + ")";
    return text;
}

// Runs the network's forward passes under CPU autocast to bfloat16 while it lives. The cast weights
// are cached for one step only: the optimiser changes them.
class BFloat16Autocast {
public:
    BFloat16Autocast()
    {
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        at::autocast::set_cpu_enabled(true);
    }
    ~BFloat16Autocast()
    {
        at::autocast::set_cpu_enabled(false);
        at::autocast::clear_cache();
    }
    BFloat16Autocast(const BFloat16Autocast &) = delete;
    BFloat16Autocast &operator=(const BFloat16Autocast &) = delete;
};

// The convolution weights in channels-last (or back in the default) layout; optimiser state made
// afterwards follows it, and copies into them (checkpoints, the best epoch) keep it.
void setConvolutionLayout(EmotionNet &net, c10::MemoryFormat format)
{
    torch::NoGradGuard noGrad;
    for (auto &p : net->parameters())
        if (p.dim() == 4)
            p.set_data(p.contiguous(format));
}

// Option combinations that cannot work, and outputs that cannot be written: refused before any data
// is read. Returns the epoch count, which a resumed --time-limit run takes from its checkpoint.
int checkOptions(const TrainOptions &o)
{
    if (o.data.empty())
        throw std::invalid_argument("--data is required");
    if (o.epochs < 1 || o.batchSize < 1)
        throw std::invalid_argument("--epochs and --batch-size must be at least 1");
    if (o.resume && o.checkpointDir.empty())
        throw std::invalid_argument("--resume needs --checkpoint-dir");
    if (o.freezeBackbone && o.init.empty())
        throw std::invalid_argument("--freeze-backbone freezes the --init backbone: give --init");
    if (o.warmupEpochs >= o.epochs)
        throw std::invalid_argument("--warmup-epochs " + std::to_string(o.warmupEpochs) + " is not below --epochs " +
                                    std::to_string(o.epochs) + ": the rate would never reach --lr");
    if (!o.teacher.empty() && !o.softLabels.empty())
        throw std::invalid_argument("--teacher and --soft-labels are two ways to distil: give one");
    checkWritable(o.out, "--out");
    if (!o.checkpointDir.empty()) {
        std::error_code ec;
        if (fs::exists(o.checkpointDir, ec) && !fs::is_directory(o.checkpointDir, ec))
            throw std::invalid_argument("--checkpoint-dir '" + o.checkpointDir + "' is a file, not a folder");
        fs::create_directories(o.checkpointDir, ec);
        checkWritable((fs::path(o.checkpointDir) / "checkpoint.pt").string(), "--checkpoint-dir");
    }
    if (o.resume && o.timeLimit > 0 && fs::exists(checkpointPath(o))) {
        // The run's first epoch chose the epoch count, which its checkpoints record.
        const int epochs = checkpointedEpochs(o, o.epochs);
        std::printf("--time-limit: resuming with the %d epochs the run chose at its first epoch\n", epochs);
        return epochs;
    }
    return o.epochs;
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainOptions &o, EmotionNet &net)
{
    std::vector<torch::Tensor> trainable;
    for (auto &p : net->parameters())
        if (p.requires_grad())
            trainable.push_back(p);
    if (o.optimizer == Optimizer::Adam)
        return std::make_unique<torch::optim::Adam>(trainable,
                                                    torch::optim::AdamOptions(o.learningRate).weight_decay(o.weightDecay));
    return std::make_unique<torch::optim::SGD>(
        trainable, torch::optim::SGDOptions(o.learningRate).momentum(0.9).nesterov(true).weight_decay(o.weightDecay));
}

torch::nn::functional::CrossEntropyFuncOptions lossOptionsFor(const TrainOptions &o, const Dataset &train,
                                                               const torch::Device &device)
{
    auto options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o.labelSmoothing);
    if (o.balance == Balance::WeightedLoss) {
        const auto counts = train.classCounts();
        std::vector<float> weights;
        for (int64_t c : counts)
            weights.push_back(c ? static_cast<float>(train.size()) / static_cast<float>(counts.size() * c) : 0.0f);
        options.weight(torch::tensor(weights).to(device));
    }
    return options;
}

// Everything a run works with, made from the options before the first epoch.
struct Run {
    TrainOptions o; // --time-limit may lower o.epochs
    Clock::time_point processStart;
    InputSpec input;
    TrainingData data;
    torch::Device device = torch::kCPU;
    int threads = 1;
    bool bf16 = false;
    c10::MemoryFormat inputLayout = c10::MemoryFormat::Contiguous;
    EmotionNet net{nullptr};
    int64_t multiplyAccumulates = 0;
    std::optional<torch::jit::Module> teacher;
    torch::Tensor softLabels; // --soft-labels: the teacher's logits for each training row
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    torch::nn::functional::CrossEntropyFuncOptions lossOptions;
    RunState state;
    NamedTensors best;
    Progress progress;
};

void setUp(Run &run)
{
    const TrainOptions &o = run.o;
    run.threads = effectiveThreads(o.threads);
    at::set_num_threads(run.threads);
    run.device = resolveDevice(o.device);
    if (run.device.is_cuda())
        at::globalContext().setBenchmarkCuDNN(true); // fixed 48x48 batches: let cuDNN pick its fastest kernels
    run.bf16 = o.precision == Precision::BFloat16;
    if (run.bf16 && !run.device.is_cpu())
        throw std::invalid_argument("--precision bf16 is CPU autocast; on " + run.device.str() + " train in fp32");
    torch::manual_seed(o.seed);

    run.input = inputSpecFor(o);
    run.data = loadTrainingData(o);
    std::printf("training: %lld faces from %s\nvalidation: %lld faces from %s\n",
                static_cast<long long>(run.data.train.size()), run.data.train.description.c_str(),
                static_cast<long long>(run.data.val.size()), run.data.val.description.c_str());

    run.net = buildNetwork(o, run.input);
    if (!o.teacher.empty())
        run.teacher = loadTeacher(o, run.input, run.data.train.labelNames, run.device);
    if (!o.softLabels.empty())
        run.softLabels = softLabelsFor(run.data.train, o.softLabels);
    run.multiplyAccumulates = run.net->multiplyAccumulates();
    run.net->to(run.device);
    run.inputLayout = run.bf16 ? c10::MemoryFormat::ChannelsLast : c10::MemoryFormat::Contiguous;
    setConvolutionLayout(run.net, run.inputLayout);
    std::printf("model: %s, %lld parameters, %.1f M multiply-accumulates per face, device %s, %d threads\n",
                architectureDescription(o, run.net).c_str(), static_cast<long long>(run.net->parameterCount()),
                run.multiplyAccumulates / 1e6, run.device.str().c_str(), run.threads);
    run.optimizer = makeOptimizer(o, run.net);
    run.lossOptions = lossOptionsFor(o, run.data.train, run.device);

    run.best = snapshot(run.net);
    if (o.resume && fs::exists(checkpointPath(o))) {
        run.state = loadCheckpoint(o, run.net, *run.optimizer, run.best);
        std::printf("resuming from %s after epoch %d\n", checkpointPath(o).c_str(), run.state.nextEpoch);
    } else if (o.resume) {
        std::printf("no checkpoint in %s yet: starting from epoch 1\n", o.checkpointDir.c_str());
    }
}

// One step's loss: cross-entropy with the labels, and with distillation the teacher's term.
torch::Tensor stepLoss(Run &run, const torch::Tensor &x, const torch::Tensor &y, const torch::Tensor &logits,
                       const Batch &batch)
{
    const TrainOptions &o = run.o;
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y, run.lossOptions);
    if (run.teacher) {
        torch::Tensor teacherLogits;
        {
            // Not NoGradGuard: the teacher is optimised for the CPU (optimizeForCpuInference).
            c10::InferenceMode inference;
            teacherLogits = checkedForward([&](const torch::Tensor &t) { return run.teacher->forward({t}).toTensor(); }, x,
                                           o.teacher, static_cast<int64_t>(run.data.train.labelNames.size()));
        }
        teacherLogits = teacherLogits.clone(); // a normal tensor, which the loss may save for backward
        return (1 - o.distillWeight) * loss + o.distillWeight * distillationLoss(logits, teacherLogits, o.distillTemperature);
    }
    if (batch.softLabels.defined())
        return (1 - o.distillWeight) * loss +
               o.distillWeight *
                   distillationLoss(logits, batch.softLabels.to(run.device, /*non_blocking=*/true), o.distillTemperature);
    return loss;
}

struct EpochTraining {
    double meanLoss = 0;
    double accuracy = 0;
    double learningRate = 0;      // the last step's
    double seconds = 0;           // the training steps'
    double steadySeconds = 0;     // the same, from the steady second half's steps (see trainEpoch)
    double imagesPerSecond = 0;
};

EpochTraining trainEpoch(Run &run, int epoch)
{
    const TrainOptions &o = run.o;
    const double scheduledRate = learningRateFor(o, run.state, epoch);
    double rate = scheduledRate;
    setLearningRate(*run.optimizer, rate);
    torch::manual_seed(o.seed * 1000003ULL + static_cast<uint64_t>(epoch)); // dropout
    run.net->train();
    const auto order = epochOrder(run.data.train, o, epoch);
    const int64_t batches = (static_cast<int64_t>(order.size()) + o.batchSize - 1) / o.batchSize;
    BatchProducer producer(run.data.train, run.softLabels, order, o, run.input, epoch, run.device.is_cuda());
    const auto epochStart = Clock::now();
    // Summed on the device: reading them back every batch would stall a GPU's queue.
    const auto sumOptions = torch::TensorOptions().device(run.device);
    torch::Tensor lossSum = torch::zeros({}, sumOptions.dtype(torch::kFloat64));
    torch::Tensor correctSum = torch::zeros({}, sumOptions.dtype(torch::kInt64));
    int64_t seen = 0, batchIndex = 0;
    double meanLoss = 0;
    // A GPU's first batches are slow (cuDNN tries its kernels, CUDA loads them), and so is a
    // last, smaller batch (new shapes): the full batches of the epoch's second half are timed.
    const int64_t fullBatches = static_cast<int64_t>(order.size()) / o.batchSize;
    const int64_t timedFrom = fullBatches / 2;
    auto timedStart = epochStart, timedEnd = epochStart;
    Batch batch;
    while (producer.next(batch)) {
        const torch::Tensor x = batch.inputs.to(run.device, /*non_blocking=*/true).contiguous(run.inputLayout),
                            y = batch.labels.to(run.device, /*non_blocking=*/true);
        if (epoch < o.warmupEpochs) {
            rate = scheduledRate * warmupFactor(o, epoch, batchIndex, batches);
            setLearningRate(*run.optimizer, rate);
        }
        run.optimizer->zero_grad();
        torch::Tensor logits;
        if (run.bf16) {
            BFloat16Autocast autocast;
            logits = run.net->forward(x).to(torch::kFloat);
        } else {
            logits = run.net->forward(x);
        }
        torch::Tensor loss = stepLoss(run, x, y, logits, batch);
        loss.backward();
        run.optimizer->step();
        const int64_t n = y.size(0);
        {
            torch::NoGradGuard noGrad;
            lossSum += loss.detach().to(torch::kFloat64) * static_cast<double>(n);
            correctSum += logits.argmax(1).eq(y).sum();
        }
        seen += n;
        ++batchIndex;
        const bool timingMark = batchIndex == timedFrom || batchIndex == fullBatches;
        if (run.device.is_cpu() || batchIndex % 16 == 0 || batchIndex == batches || timingMark) {
            meanLoss = lossSum.item<double>() / static_cast<double>(seen);
            if (!std::isfinite(meanLoss))
                throw std::runtime_error("the training loss became non-finite at epoch " + std::to_string(epoch + 1) +
                                         "; lower --lr (or, for a large batch, add --warmup-epochs)");
            const double elapsed = secondsSince(epochStart);
            run.progress.batch(epoch + 1, o.epochs, batchIndex, batches, meanLoss, seen / elapsed,
                               elapsed / batchIndex * (batches - batchIndex));
            if (batchIndex == timedFrom)
                timedStart = Clock::now();
            if (batchIndex == fullBatches)
                timedEnd = Clock::now();
        }
    }
    EpochTraining result;
    result.meanLoss = meanLoss;
    result.accuracy = static_cast<double>(correctSum.item<int64_t>()) / seen;
    result.learningRate = rate;
    result.seconds = secondsSince(epochStart);
    const int64_t timedBatches = fullBatches - timedFrom;
    result.steadySeconds = timedBatches >= 2
                               ? std::chrono::duration<double>(timedEnd - timedStart).count() / timedBatches * batches
                               : result.seconds;
    result.imagesPerSecond = seen / result.seconds;
    return result;
}

torch::Tensor validationLogits(Run &run, const Dataset &rows, bool flip = false)
{
    return predictLogits([&](const torch::Tensor &x) { return run.net->forward(x); }, rows, run.input, flip, 256,
                         run.device);
}

// --time-limit: after the first epoch, the epochs that fit in what is left, less one epoch's time
// kept back for the final evaluation and export.
void fitEpochsToTimeLimit(Run &run, const EpochTraining &training, double epochSeconds)
{
    TrainOptions &o = run.o;
    const double steadyEpochSeconds = training.steadySeconds + (epochSeconds - training.seconds);
    const double left = o.timeLimit - secondsSince(run.processStart);
    const int fits = std::max(1, static_cast<int>(std::floor(left / steadyEpochSeconds)));
    if (fits < o.epochs) {
        std::printf("--time-limit %g s: an epoch takes %.1f s, so %d epochs instead of %d\n", o.timeLimit,
                    steadyEpochSeconds, fits, o.epochs);
        o.epochs = fits;
    }
}

// Validates the epoch, keeps it when it is the best so far, and checkpoints the run. Returns false
// when early stopping ends the run.
bool finishEpoch(Run &run, int epoch, const EpochTraining &training, Clock::time_point epochStart)
{
    const TrainOptions &o = run.o;
    run.net->eval();
    const Metrics val = computeMetrics(validationLogits(run, run.data.val), run.data.val.labels, run.data.val.labelNames);
    const EpochRecord record{epoch + 1,       training.meanLoss,          training.accuracy,
                             val.loss,        val.accuracy,               training.learningRate,
                             secondsSince(epochStart), training.imagesPerSecond};
    RunState &state = run.state;
    state.history.push_back(record);
    const bool improved = val.accuracy > state.bestAccuracy;
    if (improved) {
        state.bestAccuracy = val.accuracy;
        state.bestEpoch = epoch + 1;
        state.bestMetrics = val.toJson();
        state.epochsWithoutImprovement = 0;
        run.best = snapshot(run.net);
    } else {
        ++state.epochsWithoutImprovement;
    }
    updatePlateau(o, state, val.loss);
    state.nextEpoch = epoch + 1;
    if (o.timeLimit > 0 && epoch == 0)
        fitEpochsToTimeLimit(run, training, record.seconds);
    run.progress.epoch(record, improved);
    if (!o.checkpointDir.empty())
        saveCheckpoint(o, run.net, *run.optimizer, state, run.best);
    if (o.patience > 0 && state.epochsWithoutImprovement >= o.patience) {
        std::printf("early stop: no better validation accuracy for %d epochs\n", o.patience);
        return false;
    }
    return true;
}

// The bundle's "metrics": the best epoch on the validation rows (named by their split), with flip
// averaging when asked, and on the --test rows.
json bundleMetrics(Run &run, const Metrics &val)
{
    const TrainOptions &o = run.o;
    const TrainingData &data = run.data;
    // Named by the split (design.md: "metrics": {"PublicTest": ...}) when the CSV rows were picked by Usage.
    const bool csvValidation = !data.val.description.empty() && data.val.description.rfind("image folder", 0) != 0;
    const std::string validationName =
        o.holdout > 0 ? "holdout" : csvValidation && !o.valUsage.empty() ? o.valUsage : "validation";
    json metrics = {{validationName, val.summaryJson()}};
    if (o.evaluateTta)
        metrics[validationName]["accuracy_flip_tta"] =
            computeMetrics(validationLogits(run, data.val, true), data.val.labels, data.val.labelNames).accuracy;
    if (data.test.size() > 0) {
        const Metrics test = computeMetrics(validationLogits(run, data.test), data.test.labels, data.test.labelNames);
        metrics[testSplitName(o.test, o.testUsage)] = test.summaryJson();
        std::printf("test: %lld faces from %s: accuracy %.2f%%, macro-F1 %.3f (reported, not used to choose)\n",
                    static_cast<long long>(data.test.size()), data.test.description.c_str(), 100 * test.accuracy,
                    test.macroF1);
    }
    return metrics;
}

void writeBundle(Run &run, const Metrics &val, double trainingSeconds)
{
    const TrainOptions &o = run.o;
    ModelInfo info;
    info.labels = run.data.train.labelNames;
    info.input = run.input;
    info.architecture = architectureDescription(o, run.net);
    info.parameters = run.net->parameterCount();
    info.faceMargin = o.faceMargin;
    json meta = modelInfoJson(info);
    meta["multiply_accumulates"] = run.multiplyAccumulates;
    meta["training"] = {{"dataset", run.data.train.description},
                        {"validation", run.data.val.description},
                        {"train_faces", run.data.train.size()},
                        {"epochs", static_cast<int>(run.state.history.size())},
                        {"best_epoch", run.state.bestEpoch},
                        {"seed", o.seed},
                        {"seconds", trainingSeconds},
                        {"metrics", bundleMetrics(run, val)},
                        {"per_class", val.toJson()["per_class"]},
                        {"recipe", recipe(o)}};
    meta["created"] = utcNow();
    meta["producer"] = "feremotion-trainer " FEREMOTION_VERSION;
    run.net->to(torch::kCPU); // bundles hold CPU tensors; the element moves them where it runs
    torch::jit::Module scripted = exportTorchScript(run.net);
    saveBundle(scripted, jsonText(meta, 2), o.out);
}

// <out>-metrics.json, the learning curves, the confusion matrix and a grid of validation faces.
void writeReports(Run &run, const Metrics &val, const torch::Tensor &valLogits)
{
    const TrainOptions &o = run.o;
    const Dataset &rows = run.data.val;
    const fs::path stem = fs::path(o.out).replace_extension();
    const std::string curves = stem.string() + "-curves.png", confusion = stem.string() + "-confusion.png",
                      samples = stem.string() + "-samples.png", metricsPath = stem.string() + "-metrics.json";
    writeAtomically(metricsPath,
                    jsonText(json({{"validation", val.toJson()}, {"history", toJson(run.state)["history"]}}), 2) + "\n");
    const bool pictures = writeLearningCurves(run.state.history, curves) && writeConfusionMatrix(val, confusion);
    const int64_t shown = std::min<int64_t>(32, rows.size());
    writeSampleGrid(rows.images.slice(0, 0, shown), rows.labels.slice(0, 0, shown),
                    torch::softmax(valLogits.slice(0, 0, shown), 1), rows.labelNames, samples);
    std::printf("best epoch %d: validation accuracy %.2f%%, macro-F1 %.3f\nwrote %s\n", run.state.bestEpoch,
                100 * val.accuracy, val.macroF1, o.out.c_str());
    std::printf("wrote %s\n", metricsPath.c_str());
    if (pictures)
        std::printf("wrote %s, %s, %s\n", curves.c_str(), confusion.c_str(), samples.c_str());
}

} // namespace

int runTrain(const TrainOptions &options)
{
    Run run;
    run.processStart = Clock::now();
    run.o = options;
    run.o.epochs = checkOptions(options);
    setUp(run);

    const auto trainingStart = Clock::now();
    for (int epoch = run.state.nextEpoch; epoch < run.o.epochs; ++epoch) {
        const auto epochStart = Clock::now();
        const EpochTraining training = trainEpoch(run, epoch);
        if (!finishEpoch(run, epoch, training, epochStart))
            break;
    }
    const double trainingSeconds = secondsSince(trainingStart);

    // The best epoch, in the layout bundles have always had.
    restore(run.net, run.best);
    setConvolutionLayout(run.net, c10::MemoryFormat::Contiguous);
    run.net->eval();
    const torch::Tensor valLogits = validationLogits(run, run.data.val);
    const Metrics val = computeMetrics(valLogits, run.data.val.labels, run.data.val.labelNames);
    writeBundle(run, val, trainingSeconds);
    writeReports(run, val, valLogits);
    return 0;
}

std::string utcNow()
{
    const std::time_t now = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    return text;
}

} // namespace feremotion::trainer
