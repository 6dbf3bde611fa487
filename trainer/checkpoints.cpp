// SPDX-License-Identifier: LGPL-2.1-or-later
#include "checkpoints.h"

#include <filesystem>
#include <stdexcept>

#include "engine/model/atomic_file.h"
#include "json_text.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

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

static RunState runStateFromJson(const json &j)
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
              {"color", toString(o.color)},
              {"input_size", o.inputSize},
              {"arch", o.architecture.name},
              {"width", o.architecture.width},
              {"hidden", o.architecture.hidden},
              {"dropout", o.architecture.dropout},
              {"optimizer", toString(o.optimizer)},
              {"lr", o.learningRate},
              {"weight_decay", o.weightDecay},
              {"scheduler", toString(o.scheduler)},
              {"epochs", o.epochs},
              {"batch_size", o.batchSize},
              {"label_smoothing", o.labelSmoothing},
              {"patience", o.patience},
              {"balance", toString(o.balance)},
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
    if (o.precision != Precision::Float32)
        r["precision"] = toString(o.precision);
    if (!o.teacher.empty() || !o.softLabels.empty()) {
        r["distill_weight"] = o.distillWeight;
        r["distill_temperature"] = o.distillTemperature;
    }
    return r;
}

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
static std::string recipeDifferences(const json &then, const json &now, const std::string &prefix = "")
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

static void openCheckpoint(torch::serialize::InputArchive &archive, const std::string &path)
{
    try {
        archive.load_from(path);
    } catch (const c10::Error &e) {
        const std::string what = e.what_without_backtrace();
        throw std::invalid_argument("checkpoint '" + path + "' cannot be read: " + what.substr(0, what.find('\n')));
    }
}

static json recipeOfCheckpoint(torch::serialize::InputArchive &archive)
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

int checkpointedEpochs(const TrainOptions &o, int otherwise)
{
    torch::serialize::InputArchive archive;
    openCheckpoint(archive, checkpointPath(o));
    return recipeOfCheckpoint(archive).value("epochs", otherwise);
}

} // namespace feremotion::trainer
