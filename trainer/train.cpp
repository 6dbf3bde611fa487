// SPDX-License-Identifier: LGPL-2.1-or-later
// The training loop: batches prepared on a background thread, per-epoch validation, checkpoints
// that resume to identical weights, and the best epoch exported as a bundle.
#include "train.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <optional>
#include <queue>
#include <random>
#include <thread>

#include <unistd.h>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "bundle_io.h"
#include "commands.h"
#include "device.h"
#include "dataset.h"
#include "metrics.h"
#include "plots.h"
#include "progress.h"
#include "soft_labels.h"
#include "json_text.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

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

InputSpec inputSpecFor(const TrainOptions &o)
{
    InputSpec input;
    input.width = input.height = o.inputSize;
    input.color = colorModeFromString(o.color);
    input.mean.assign(static_cast<size_t>(input.channels()), 0.5f);
    input.std.assign(static_cast<size_t>(input.channels()), 0.5f);
    return input;
}

struct Data {
    Dataset train;
    Dataset val;
    Dataset test; // reported only; empty without --test
};

// Splits the training rows: a `fraction` of them, drawn with `seed`, to validate on.
Data holdOut(const Dataset &all, double fraction, uint64_t seed, long long valLimit)
{
    const std::vector<int64_t> val = holdoutRows(all.size(), fraction, seed);
    std::vector<int64_t> train;
    train.reserve(static_cast<size_t>(all.size()) - val.size());
    for (int64_t i = 0, next = 0; i < all.size(); ++i) {
        if (next < static_cast<int64_t>(val.size()) && val[static_cast<size_t>(next)] == i)
            ++next;
        else
            train.push_back(i);
    }
    Data data;
    data.train = all.subset(train);
    data.val = firstRows(all.subset(val), valLimit);
    data.val.description = "holdout " + std::to_string(static_cast<int>(std::lround(fraction * 100))) + "% of " +
                           all.description;
    data.train.description = all.description + " without the holdout";
    return data;
}

uint64_t holdoutSeed(const TrainOptions &o)
{
    return o.holdoutSeed != 0 ? o.holdoutSeed : o.seed;
}

// Rows to evaluate on: a compact folder's `usage` split, an image folder, or the `usage` rows of CSVs,
// as the network takes them (an RGB image-folder run validates on gray CSV faces too).
Dataset loadEvaluationRows(const std::vector<std::string> &files, const std::string &usage, long long limit,
                           const TrainOptions &o, const char *what)
{
    const bool rgb = o.color == "rgb";
    const bool compact = files.size() == 1 && isCompactFolder(files.front());
    if (!compact && !files.empty() && isImageFolder(files.front())) {
        LoadReport report;
        Dataset rows = loadImageFolder(files.front(), fer2013Labels(), o.inputSize, o.inputSize, rgb, o.skipBad, &report);
        if (report.skipped)
            std::printf("skipped %lld images that cannot be decoded in the %s data\n", report.skipped, what);
        return firstRows(rows, limit);
    }
    Dataset rows;
    if (compact) {
        rows = loadCompact(files.front(), usage, limit);
    } else {
        CsvOptions csv;
        csv.usage = usage;
        csv.skipBad = o.skipBad;
        csv.limit = limit;
        LoadReport report;
        rows = loadFerCsv(files, csv, &report);
        if (report.skipped)
            std::printf("skipped %lld malformed rows in the %s data\n", report.skipped, what);
    }
    return fittedTo(std::move(rows), o.inputSize, o.inputSize, rgb ? 3 : 1);
}

Data loadTrainingAndValidation(const TrainOptions &o)
{
    if (o.holdout > 0 && !o.val.empty())
        throw std::invalid_argument("--holdout validates on training rows: leave out --val");
    const bool withVal = o.holdout <= 0;
    Data data;
    if (o.data.size() == 1 && isCompactFolder(o.data.front())) {
        const std::string &valFolder = o.val.empty() ? o.data.front() : o.val.front();
        if (!isCompactFolder(valFolder))
            throw std::invalid_argument("with compact --data, --val must be a compact folder too");
        data.train = loadCompact(o.data.front(), o.trainUsage, o.limit);
        if (!withVal)
            return holdOut(data.train, o.holdout, holdoutSeed(o), o.valLimit);
        data.val = loadEvaluationRows({valFolder}, o.valUsage, o.valLimit, o, "validation");
        return data;
    }
    const bool folders = !o.data.empty() && isImageFolder(o.data.front());
    const bool rgb = o.color == "rgb";
    if (rgb && !folders)
        throw std::invalid_argument("--color rgb needs image-folder data; FER-2013 CSV faces are gray");
    LoadReport report;
    if (folders) {
        if (o.data.size() != 1)
            throw std::invalid_argument("give one image folder with --data");
        data.train = loadImageFolder(o.data.front(), fer2013Labels(), o.inputSize, o.inputSize, rgb, o.skipBad, &report);
        if (report.skipped)
            std::printf("skipped %lld images that cannot be decoded in the training data\n", report.skipped);
    } else {
        CsvOptions csv;
        csv.usage = o.trainUsage;
        csv.skipBad = o.skipBad;
        csv.limit = o.limit;
        data.train = loadFerCsv(o.data, csv, &report);
        if (report.skipped)
            std::printf("skipped %lld malformed rows in the training data\n", report.skipped);
        if (!report.withoutUsage.empty() && withVal && o.val.empty())
            throw std::invalid_argument("'" + report.withoutUsage +
                                        "' has no Usage column, so its rows would be both trained and validated on: "
                                        "give --holdout 0.1 (or --val with other rows)");
    }
    if (!withVal)
        return holdOut(firstRows(data.train, o.limit), o.holdout, holdoutSeed(o), o.valLimit);
    if (folders && o.val.empty())
        throw std::invalid_argument("image-folder training data needs --val (a folder or CSV)");
    data.val = loadEvaluationRows(o.val.empty() ? o.data : o.val, o.valUsage, o.valLimit, o, "validation");
    // CSV reading stops at the limit already; image folders are cut here.
    data.train = firstRows(data.train, o.limit);
    return data;
}

// Everything is read before training starts, so a bad --test file fails at once, not hours later.
Data loadData(const TrainOptions &o)
{
    Data data = loadTrainingAndValidation(o);
    if (!o.test.empty())
        data.test = loadEvaluationRows(o.test, o.testUsage, 0, o, "test");
    return data;
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

// Everything a resumed run needs besides the tensors.
struct RunState {
    int nextEpoch = 0;
    double bestAccuracy = -1;
    int bestEpoch = 0;
    int epochsWithoutImprovement = 0;
    double plateauBestLoss = 1e30;
    int plateauBadEpochs = 0;
    double plateauLearningRate = 0;
    std::vector<EpochRecord> history;
    json bestMetrics;
};

json toJson(const RunState &s)
{
    json history = json::array();
    for (const auto &r : s.history)
        history.push_back({r.epoch, r.trainLoss, r.trainAccuracy, r.valLoss, r.valAccuracy, r.learningRate, r.seconds,
                           r.imagesPerSecond});
    return {{"next_epoch", s.nextEpoch},
            {"best_accuracy", s.bestAccuracy},
            {"best_epoch", s.bestEpoch},
            {"epochs_without_improvement", s.epochsWithoutImprovement},
            {"plateau_best_loss", s.plateauBestLoss},
            {"plateau_bad_epochs", s.plateauBadEpochs},
            {"plateau_learning_rate", s.plateauLearningRate},
            {"history", history},
            {"best_metrics", s.bestMetrics}};
}

RunState runStateFromJson(const json &j)
{
    RunState s;
    s.nextEpoch = j.at("next_epoch");
    s.bestAccuracy = j.at("best_accuracy");
    s.bestEpoch = j.at("best_epoch");
    s.epochsWithoutImprovement = j.at("epochs_without_improvement");
    s.plateauBestLoss = j.at("plateau_best_loss");
    s.plateauBadEpochs = j.at("plateau_bad_epochs");
    s.plateauLearningRate = j.at("plateau_learning_rate");
    for (const auto &r : j.at("history"))
        s.history.push_back({r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]});
    s.bestMetrics = j.at("best_metrics");
    return s;
}

// The options that must match for --resume to continue the same run.
json recipe(const TrainOptions &o)
{
    json r = {{"data", o.data},
              {"val", o.val},
              {"train_usage", o.trainUsage},
              {"val_usage", o.valUsage},
              {"limit", o.limit},
              {"val_limit", o.valLimit},
              {"holdout", o.holdout},
              {"test", o.test},
              {"test_usage", o.testUsage},
              {"color", o.color},
              {"input_size", o.inputSize},
              {"arch", o.architecture.name},
              {"width", o.architecture.width},
              {"hidden", o.architecture.hidden},
              {"dropout", o.architecture.dropout},
              {"optimizer", o.optimizer},
              {"lr", o.learningRate},
              {"weight_decay", o.weightDecay},
              {"scheduler", o.scheduler},
              {"epochs", o.epochs},
              {"batch_size", o.batchSize},
              {"label_smoothing", o.labelSmoothing},
              {"patience", o.patience},
              {"balance", o.balance},
              {"augment",
               {{"enabled", o.augment.enabled},
                {"crop_padding", o.augment.cropPadding},
                {"flip", o.augment.flip},
                {"rotation", o.augment.rotation},
                {"scale", o.augment.scale},
                {"brightness", o.augment.brightness},
                {"contrast", o.augment.contrast},
                {"erasing", o.augment.erasing}}},
              {"init", o.init},
              {"freeze_backbone", o.freezeBackbone},
              {"seed", o.seed}};
    // Only when set, so checkpoints written before the option existed still resume.
    if (o.holdoutSeed != 0)
        r["holdout_seed"] = o.holdoutSeed;
    // Only with a teacher, so checkpoints written before distillation existed still resume.
    if (!o.teacher.empty())
        r["teacher"] = o.teacher;
    if (!o.softLabels.empty())
        r["soft_labels"] = o.softLabels;
    if (o.warmupEpochs > 0)
        r["warmup_epochs"] = o.warmupEpochs;
    // Only in bf16, so float32 checkpoints written before the option existed still resume.
    if (o.precision != "fp32")
        r["precision"] = o.precision;
    if (!o.teacher.empty() || !o.softLabels.empty()) {
        r["distill_weight"] = o.distillWeight;
        r["distill_temperature"] = o.distillTemperature;
    }
    return r;
}

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

NamedTensors snapshot(EmotionNet &net)
{
    NamedTensors out;
    torch::NoGradGuard noGrad;
    for (const auto &p : net->named_parameters(true))
        out.push_back({p.key(), p.value().detach().clone()});
    for (const auto &b : net->named_buffers(true))
        out.push_back({b.key(), b.value().detach().clone()});
    return out;
}

void restore(EmotionNet &net, const NamedTensors &tensors)
{
    torch::NoGradGuard noGrad;
    auto params = net->named_parameters(true);
    auto buffers = net->named_buffers(true);
    for (const auto &[name, value] : tensors) {
        if (auto *p = params.find(name))
            p->copy_(value);
        else if (auto *b = buffers.find(name))
            b->copy_(value);
    }
}

std::string checkpointPath(const TrainOptions &o)
{
    return (fs::path(o.checkpointDir) / "checkpoint.pt").string();
}

void saveCheckpoint(const TrainOptions &o, EmotionNet &net, torch::optim::Optimizer &optimizer, const RunState &state,
                    const NamedTensors &best)
{
    torch::serialize::OutputArchive archive, model, optim, bestArchive;
    net->save(model);
    optimizer.save(optim);
    for (const auto &[name, value] : best)
        bestArchive.write(name, value);
    archive.write("model", model);
    archive.write("optimizer", optim);
    archive.write("best", bestArchive);
    archive.write("state", c10::IValue(jsonText(toJson(state))));
    archive.write("recipe", c10::IValue(jsonText(recipe(o))));
    writeAtomically(checkpointPath(o), [&archive](const std::string &temporary) { archive.save_to(temporary); });
}

// "lr 0.05 there, 0.1 here; ..." for each recipe entry (augment's by name) that differs.
std::string recipeDifferences(const json &then, const json &now, const std::string &prefix = "")
{
    std::string text;
    const auto add = [&](const std::string &key) {
        const json a = then.value(key, json()), b = now.value(key, json());
        if (a == b)
            return;
        std::string part = a.is_object() && b.is_object()
                               ? recipeDifferences(a, b, prefix + key + ".")
                               : prefix + key + " " + (a.is_null() ? "unset" : jsonText(a)) + " there, " +
                                     (b.is_null() ? "unset" : jsonText(b)) + " here";
        text += (text.empty() ? "" : "; ") + part;
    };
    for (const auto &item : then.items())
        add(item.key());
    for (const auto &item : now.items())
        if (!then.contains(item.key()))
            add(item.key());
    return text;
}

void openCheckpoint(torch::serialize::InputArchive &archive, const std::string &path)
{
    try {
        archive.load_from(path);
    } catch (const c10::Error &e) {
        const std::string what = e.what_without_backtrace();
        throw std::invalid_argument("checkpoint '" + path + "' cannot be read: " + what.substr(0, what.find('\n')));
    }
}

json recipeOfCheckpoint(torch::serialize::InputArchive &archive)
{
    c10::IValue recipeValue;
    archive.read("recipe", recipeValue);
    return json::parse(recipeValue.toStringRef());
}

RunState loadCheckpoint(const TrainOptions &o, EmotionNet &net, torch::optim::Optimizer &optimizer, NamedTensors &best)
{
    const std::string path = checkpointPath(o);
    torch::serialize::InputArchive archive, model, optim, bestArchive;
    openCheckpoint(archive, path);
    c10::IValue stateValue;
    const json then = recipeOfCheckpoint(archive), now = recipe(o);
    if (then != now)
        throw std::invalid_argument("checkpoint '" + path + "' belongs to a run with other options (" +
                                    recipeDifferences(then, now) +
                                    "); resume with the same options or use another --checkpoint-dir");
    archive.read("model", model);
    archive.read("optimizer", optim);
    archive.read("best", bestArchive);
    archive.read("state", stateValue);
    net->load(model);
    optimizer.load(optim);
    best = snapshot(net);
    for (auto &[name, value] : best)
        bestArchive.read(name, value);
    return runStateFromJson(json::parse(stateValue.toStringRef()));
}

double learningRateFor(const TrainOptions &o, const RunState &state, int epoch)
{
    if (o.scheduler == "cosine") {
        const double minimum = o.learningRate * 0.01;
        return minimum + 0.5 * (o.learningRate - minimum) * (1.0 + std::cos(M_PI * epoch / std::max(1, o.epochs)));
    }
    if (o.scheduler == "plateau")
        return state.plateauLearningRate > 0 ? state.plateauLearningRate : o.learningRate;
    return o.learningRate;
}

// The fraction of the scheduled rate that warm-up allows for step `step` (0-based) of `steps` in `epoch`.
double warmupFactor(const TrainOptions &o, int epoch, int64_t step, int64_t steps)
{
    if (epoch >= o.warmupEpochs)
        return 1.0;
    return (static_cast<double>(epoch) * steps + step + 1) / (static_cast<double>(o.warmupEpochs) * steps);
}

void setLearningRate(torch::optim::Optimizer &optimizer, double rate)
{
    for (auto &group : optimizer.param_groups()) {
        if (auto *adam = dynamic_cast<torch::optim::AdamOptions *>(&group.options()))
            adam->lr(rate);
        else if (auto *sgd = dynamic_cast<torch::optim::SGDOptions *>(&group.options()))
            sgd->lr(rate);
    }
}

// The order of training rows for an epoch: a seeded shuffle, or a class-balanced draw with replacement.
std::vector<int64_t> epochOrder(const Dataset &train, const TrainOptions &o, int epoch)
{
    std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<uint64_t>(epoch));
    const int64_t n = train.size();
    std::vector<int64_t> order(static_cast<size_t>(n));
    if (o.balance == "oversample") {
        const auto counts = train.classCounts();
        std::vector<double> weights(static_cast<size_t>(n));
        const auto *labels = train.labels.data_ptr<int64_t>();
        for (int64_t i = 0; i < n; ++i)
            weights[static_cast<size_t>(i)] = 1.0 / static_cast<double>(counts[static_cast<size_t>(labels[i])]);
        std::discrete_distribution<int64_t> draw(weights.begin(), weights.end());
        for (auto &index : order)
            index = draw(rng);
        return order;
    }
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    return order;
}

struct Batch {
    torch::Tensor inputs;
    torch::Tensor labels;
    torch::Tensor softLabels; // the teacher's logits for these faces, with --soft-labels
};

// Prepares an epoch's batches on a background thread, at most `depth` ahead of training. For a
// GPU they are put in page-locked memory: copying from there does not make the CPU wait for the
// GPU to finish the previous step, so the next step's kernels are queued while it runs.
class BatchProducer {
public:
    BatchProducer(const Dataset &train, const torch::Tensor &softLabels, const std::vector<int64_t> &order,
                  const TrainOptions &o, const InputSpec &input, int epoch, bool pinned, size_t depth = 4)
        : worker_([this, &train, &softLabels, order, &o, input, epoch, pinned, depth] {
              at::set_num_threads(1);
              for (size_t start = 0; start < order.size() && !stop_; start += static_cast<size_t>(o.batchSize)) {
                  const size_t end = std::min(order.size(), start + static_cast<size_t>(o.batchSize));
                  const auto index = torch::tensor(std::vector<int64_t>(order.begin() + static_cast<long>(start),
                                                                        order.begin() + static_cast<long>(end)),
                                                   torch::kInt64);
                  // Each batch has its own seed, so results do not depend on thread timing.
                  std::mt19937 rng(static_cast<uint32_t>(o.seed * 7919ULL + static_cast<uint64_t>(epoch) * 104729ULL +
                                                         start));
                  Batch batch{prepareBatch(train.images.index_select(0, index), input, o.augment, rng),
                              train.labels.index_select(0, index),
                              softLabels.defined() ? softLabels.index_select(0, index) : torch::Tensor()};
                  if (pinned) {
                      batch.inputs = batch.inputs.pin_memory();
                      batch.labels = batch.labels.pin_memory();
                      if (batch.softLabels.defined())
                          batch.softLabels = batch.softLabels.pin_memory();
                  }
                  std::unique_lock<std::mutex> lock(mutex_);
                  space_.wait(lock, [&] { return queue_.size() < depth || stop_; });
                  queue_.push(std::move(batch));
                  ready_.notify_one();
              }
              std::lock_guard<std::mutex> lock(mutex_);
              done_ = true;
              ready_.notify_one();
          })
    {
    }
    ~BatchProducer()
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
            space_.notify_all();
        }
        worker_.join();
    }
    bool next(Batch &batch)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return !queue_.empty() || done_; });
        if (queue_.empty())
            return false;
        batch = std::move(queue_.front());
        queue_.pop();
        space_.notify_one();
        return true;
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_, space_;
    std::queue<Batch> queue_;
    bool done_ = false;
    std::atomic<bool> stop_{false};
    std::thread worker_;
};

std::string architectureDescription(const TrainOptions &o, EmotionNet &net)
{
    const auto &a = net->options();
    std::string text = a.name;
    if (o.init.empty())
        text += "(width=" + std::to_string(a.width) + ")";
    text += " + head(hidden=" + std::to_string(a.hidden) + ", dropout=" + std::to_string(a.dropout).substr(0, 4) + ")";
    return text;
}

// The --teacher bundle, checked to take the student's input and give its labels.
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

// T^2 x KL(softmax(teacher / T) || softmax(student / T)), averaged over the batch; T^2 keeps its
// gradients on the scale of the cross-entropy's whatever the temperature.
torch::Tensor distillationLoss(const torch::Tensor &studentLogits, const torch::Tensor &teacherLogits, double temperature)
{
    const torch::Tensor teacher = torch::log_softmax(teacherLogits / temperature, 1);
    const torch::Tensor student = torch::log_softmax(studentLogits / temperature, 1);
    return (teacher.exp() * (teacher - student)).sum(1).mean() * (temperature * temperature);
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

} // namespace

int runTrain(const TrainOptions &options)
{
    const auto processStart = Clock::now();
    TrainOptions o = options; // --time-limit may lower o.epochs
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
        torch::serialize::InputArchive archive;
        openCheckpoint(archive, checkpointPath(o));
        o.epochs = recipeOfCheckpoint(archive).value("epochs", o.epochs);
        std::printf("--time-limit: resuming with the %d epochs the run chose at its first epoch\n", o.epochs);
    }
    const int threads = effectiveThreads(o.threads);
    at::set_num_threads(threads);
    const torch::Device device = resolveDevice(o.device);
    if (device.is_cuda())
        at::globalContext().setBenchmarkCuDNN(true); // fixed 48x48 batches: let cuDNN pick its fastest kernels
    const bool bf16 = precisionFromString(o.precision) == Precision::BFloat16;
    if (bf16 && !device.is_cpu())
        throw std::invalid_argument("--precision bf16 is CPU autocast; on " + device.str() + " train in fp32");
    torch::manual_seed(o.seed);

    const InputSpec input = inputSpecFor(o);
    const Data data = loadData(o);
    std::printf("training: %lld faces from %s\nvalidation: %lld faces from %s\n",
                static_cast<long long>(data.train.size()), data.train.description.c_str(),
                static_cast<long long>(data.val.size()), data.val.description.c_str());

    EmotionNet net = buildNetwork(o, input);
    std::optional<torch::jit::Module> teacher;
    if (!o.teacher.empty())
        teacher = loadTeacher(o, input, data.train.labelNames, device);
    torch::Tensor softLabels;
    if (!o.softLabels.empty())
        softLabels = softLabelsFor(data.train, o.softLabels);
    const int64_t macs = net->multiplyAccumulates();
    net->to(device);
    const auto inputLayout = bf16 ? c10::MemoryFormat::ChannelsLast : c10::MemoryFormat::Contiguous;
    setConvolutionLayout(net, inputLayout);
    std::printf("model: %s, %lld parameters, %.1f M multiply-accumulates per face, device %s, %d threads\n",
                architectureDescription(o, net).c_str(), static_cast<long long>(net->parameterCount()), macs / 1e6,
                device.str().c_str(), threads);

    std::vector<torch::Tensor> trainable;
    for (auto &p : net->parameters())
        if (p.requires_grad())
            trainable.push_back(p);
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (o.optimizer == "adam")
        optimizer = std::make_unique<torch::optim::Adam>(
            trainable, torch::optim::AdamOptions(o.learningRate).weight_decay(o.weightDecay));
    else if (o.optimizer == "sgd")
        optimizer = std::make_unique<torch::optim::SGD>(
            trainable, torch::optim::SGDOptions(o.learningRate).momentum(0.9).nesterov(true).weight_decay(o.weightDecay));
    else
        throw std::invalid_argument("--optimizer must be adam or sgd, not '" + o.optimizer + "'");
    if (o.scheduler != "cosine" && o.scheduler != "plateau" && o.scheduler != "none")
        throw std::invalid_argument("--scheduler must be cosine, plateau or none, not '" + o.scheduler + "'");
    if (o.balance != "none" && o.balance != "weighted-loss" && o.balance != "oversample")
        throw std::invalid_argument("--balance must be none, weighted-loss or oversample, not '" + o.balance + "'");

    auto lossOptions = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(o.labelSmoothing);
    if (o.balance == "weighted-loss") {
        const auto counts = data.train.classCounts();
        std::vector<float> weights;
        for (int64_t c : counts)
            weights.push_back(c ? static_cast<float>(data.train.size()) / static_cast<float>(counts.size() * c) : 0.0f);
        lossOptions.weight(torch::tensor(weights).to(device));
    }

    RunState state;
    NamedTensors best = snapshot(net);
    if (o.resume && fs::exists(checkpointPath(o))) {
        state = loadCheckpoint(o, net, *optimizer, best);
        std::printf("resuming from %s after epoch %d\n", checkpointPath(o).c_str(), state.nextEpoch);
    } else if (o.resume) {
        std::printf("no checkpoint in %s yet: starting from epoch 1\n", o.checkpointDir.c_str());
    }

    Progress progress;
    const auto runStart = Clock::now();
    for (int epoch = state.nextEpoch; epoch < o.epochs; ++epoch) {
        const double scheduledRate = learningRateFor(o, state, epoch);
        double rate = scheduledRate;
        setLearningRate(*optimizer, rate);
        torch::manual_seed(o.seed * 1000003ULL + static_cast<uint64_t>(epoch)); // dropout
        net->train();
        const auto order = epochOrder(data.train, o, epoch);
        const int64_t batches = (static_cast<int64_t>(order.size()) + o.batchSize - 1) / o.batchSize;
        BatchProducer producer(data.train, softLabels, order, o, input, epoch, device.is_cuda());
        const auto epochStart = Clock::now();
        // Summed on the device: reading them back every batch would stall a GPU's queue.
        const auto sumOptions = torch::TensorOptions().device(device);
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
            const torch::Tensor x = batch.inputs.to(device, /*non_blocking=*/true).contiguous(inputLayout),
                                y = batch.labels.to(device, /*non_blocking=*/true);
            if (epoch < o.warmupEpochs) {
                rate = scheduledRate * warmupFactor(o, epoch, batchIndex, batches);
                setLearningRate(*optimizer, rate);
            }
            optimizer->zero_grad();
            torch::Tensor logits;
            if (bf16) {
                BFloat16Autocast autocast;
                logits = net->forward(x).to(torch::kFloat);
            } else {
                logits = net->forward(x);
            }
            torch::Tensor loss = torch::nn::functional::cross_entropy(logits, y, lossOptions);
            if (teacher) {
                torch::Tensor teacherLogits;
                {
                    // Not NoGradGuard: the teacher is optimised for the CPU (optimizeForCpuInference).
                    c10::InferenceMode inference;
                    teacherLogits = checkedForward([&](const torch::Tensor &t) { return teacher->forward({t}).toTensor(); },
                                                   x, o.teacher, static_cast<int64_t>(data.train.labelNames.size()));
                }
                teacherLogits = teacherLogits.clone(); // a normal tensor, which the loss may save for backward
                loss = (1 - o.distillWeight) * loss +
                       o.distillWeight * distillationLoss(logits, teacherLogits, o.distillTemperature);
            } else if (batch.softLabels.defined()) {
                loss = (1 - o.distillWeight) * loss +
                       o.distillWeight * distillationLoss(logits, batch.softLabels.to(device, /*non_blocking=*/true),
                                                          o.distillTemperature);
            }
            loss.backward();
            optimizer->step();
            const int64_t n = y.size(0);
            {
                torch::NoGradGuard noGrad;
                lossSum += loss.detach().to(torch::kFloat64) * static_cast<double>(n);
                correctSum += logits.argmax(1).eq(y).sum();
            }
            seen += n;
            ++batchIndex;
            const bool timingMark = batchIndex == timedFrom || batchIndex == fullBatches;
            if (device.is_cpu() || batchIndex % 16 == 0 || batchIndex == batches || timingMark) {
                meanLoss = lossSum.item<double>() / static_cast<double>(seen);
                if (!std::isfinite(meanLoss))
                    throw std::runtime_error("the training loss became non-finite at epoch " + std::to_string(epoch + 1) +
                                             "; lower --lr (or, for a large batch, add --warmup-epochs)");
                const double elapsed = secondsSince(epochStart);
                progress.batch(epoch + 1, o.epochs, batchIndex, batches, meanLoss, seen / elapsed,
                               elapsed / batchIndex * (batches - batchIndex));
                if (batchIndex == timedFrom)
                    timedStart = Clock::now();
                if (batchIndex == fullBatches)
                    timedEnd = Clock::now();
            }
        }
        const int64_t correct = correctSum.item<int64_t>();
        const double trainSeconds = secondsSince(epochStart);
        const int64_t timedBatches = fullBatches - timedFrom;
        const double steadyTrainSeconds =
            timedBatches >= 2 ? std::chrono::duration<double>(timedEnd - timedStart).count() / timedBatches * batches
                              : trainSeconds;
        net->eval();
        const torch::Tensor valLogits = predictLogits([&](const torch::Tensor &x) { return net->forward(x); }, data.val,
                                                      input, false, 256, device);
        const Metrics val = computeMetrics(valLogits, data.val.labels, data.val.labelNames);
        EpochRecord record{epoch + 1, meanLoss, static_cast<double>(correct) / seen, val.loss, val.accuracy, rate,
                           secondsSince(epochStart), seen / trainSeconds};
        state.history.push_back(record);
        const bool improved = val.accuracy > state.bestAccuracy;
        if (improved) {
            state.bestAccuracy = val.accuracy;
            state.bestEpoch = epoch + 1;
            state.bestMetrics = val.toJson();
            state.epochsWithoutImprovement = 0;
            best = snapshot(net);
        } else {
            ++state.epochsWithoutImprovement;
        }
        if (o.scheduler == "plateau") {
            if (state.plateauLearningRate <= 0)
                state.plateauLearningRate = o.learningRate;
            if (val.loss < state.plateauBestLoss - 1e-4) {
                state.plateauBestLoss = val.loss;
                state.plateauBadEpochs = 0;
            } else if (++state.plateauBadEpochs > 2) {
                state.plateauLearningRate *= 0.5;
                state.plateauBadEpochs = 0;
            }
        }
        state.nextEpoch = epoch + 1;
        if (o.timeLimit > 0 && epoch == 0) {
            // The epochs after this one fit in what is left, less one epoch's time kept back for the
            // final evaluation and export.
            const double epochSeconds = steadyTrainSeconds + (record.seconds - trainSeconds);
            const double left = o.timeLimit - secondsSince(processStart);
            const int fits = std::max(1, static_cast<int>(std::floor(left / epochSeconds)));
            if (fits < o.epochs) {
                std::printf("--time-limit %g s: an epoch takes %.1f s, so %d epochs instead of %d\n", o.timeLimit,
                            epochSeconds, fits, o.epochs);
                o.epochs = fits;
            }
        }
        progress.epoch(record, improved);
        if (!o.checkpointDir.empty())
            saveCheckpoint(o, net, *optimizer, state, best);
        if (o.patience > 0 && state.epochsWithoutImprovement >= o.patience) {
            std::printf("early stop: no better validation accuracy for %d epochs\n", o.patience);
            break;
        }
    }

    // Export the best epoch, in the layout bundles have always had.
    restore(net, best);
    setConvolutionLayout(net, c10::MemoryFormat::Contiguous);
    net->eval();
    const torch::Tensor valLogits = predictLogits([&](const torch::Tensor &x) { return net->forward(x); }, data.val,
                                                  input, false, 256, device);
    const Metrics val = computeMetrics(valLogits, data.val.labels, data.val.labelNames);
    // Named by the split (design.md: "metrics": {"PublicTest": ...}) when the CSV rows were picked by Usage.
    const bool csvValidation = !data.val.description.empty() && data.val.description.rfind("image folder", 0) != 0;
    const std::string validationName =
        o.holdout > 0 ? "holdout" : csvValidation && !o.valUsage.empty() ? o.valUsage : "validation";
    json bundleMetrics = {{validationName, val.summaryJson()}};
    if (o.evaluateTta) {
        const torch::Tensor tta = predictLogits([&](const torch::Tensor &x) { return net->forward(x); }, data.val,
                                                input, true, 256, device);
        bundleMetrics[validationName]["accuracy_flip_tta"] =
            computeMetrics(tta, data.val.labels, data.val.labelNames).accuracy;
    }
    if (data.test.size() > 0) {
        const Metrics test = computeMetrics(predictLogits([&](const torch::Tensor &x) { return net->forward(x); },
                                                          data.test, input, false, 256, device),
                                            data.test.labels, data.test.labelNames);
        bundleMetrics[testSplitName(o.test, o.testUsage)] = test.summaryJson();
        std::printf("test: %lld faces from %s: accuracy %.2f%%, macro-F1 %.3f (reported, not used to choose)\n",
                    static_cast<long long>(data.test.size()), data.test.description.c_str(), 100 * test.accuracy,
                    test.macroF1);
    }
    ModelInfo info;
    info.labels = data.train.labelNames;
    info.input = input;
    info.architecture = architectureDescription(o, net);
    info.parameters = net->parameterCount();
    info.faceMargin = o.faceMargin;
    json meta = modelInfoJson(info);
    meta["multiply_accumulates"] = macs;
    meta["training"] = {{"dataset", data.train.description},
                        {"validation", data.val.description},
                        {"train_faces", data.train.size()},
                        {"epochs", static_cast<int>(state.history.size())},
                        {"best_epoch", state.bestEpoch},
                        {"seed", o.seed},
                        {"seconds", secondsSince(runStart)},
                        {"metrics", bundleMetrics},
                        {"per_class", val.toJson()["per_class"]},
                        {"recipe", recipe(o)}};
    meta["created"] = utcNow();
    meta["producer"] = "feremotion-trainer " FEREMOTION_VERSION;
    net->to(torch::kCPU); // bundles hold CPU tensors; the element moves them where it runs
    torch::jit::Module scripted = exportTorchScript(net);
    saveBundle(scripted, jsonText(meta, 2), o.out);

    const fs::path stem = fs::path(o.out).replace_extension();
    const std::string curves = stem.string() + "-curves.png", confusion = stem.string() + "-confusion.png",
                      samples = stem.string() + "-samples.png", metricsPath = stem.string() + "-metrics.json";
    writeAtomically(metricsPath, jsonText(json({{"validation", val.toJson()}, {"history", toJson(state)["history"]}}), 2) + "\n");
    const bool pictures = writeLearningCurves(state.history, curves) && writeConfusionMatrix(val, confusion);
    const int64_t shown = std::min<int64_t>(32, data.val.size());
    writeSampleGrid(data.val.images.slice(0, 0, shown), data.val.labels.slice(0, 0, shown),
                    torch::softmax(valLogits.slice(0, 0, shown), 1), data.val.labelNames, samples);
    std::printf("best epoch %d: validation accuracy %.2f%%, macro-F1 %.3f\nwrote %s\n", state.bestEpoch,
                100 * val.accuracy, val.macroF1, o.out.c_str());
    std::printf("wrote %s\n", metricsPath.c_str());
    if (pictures)
        std::printf("wrote %s, %s, %s\n", curves.c_str(), confusion.c_str(), samples.c_str());
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
