// SPDX-License-Identifier: LGPL-2.1-or-later
// evaluate, predict, info, export-weights, import-weights, ensemble.
#include "commands.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "architectures.h"
#include "atomic_file.h"
#include "bundle_io.h"
#include "dataset.h"
#include "device.h"
#include "metrics.h"
#include "plots.h"
#include "soft_labels.h"
#include "train.h"

#ifdef FEREMOTION_TRAINER_OPENCV
#include <opencv2/imgcodecs.hpp>

#include "analyzer.h"
#include "classifier.h"
#include "detector.h"
#include "json_text.h"
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace feremotion::trainer {

namespace {

ModelTrust trustOfThisRun = ModelTrust::Checked;

} // namespace

ModelTrust modelTrust() { return trustOfThisRun; }
void setModelTrust(ModelTrust trust) { trustOfThisRun = trust; }

namespace {

struct Bundle {
    torch::jit::Module module;
    ModelInfo info;
};

Bundle openBundle(const std::string &path)
{
    LoadedBundle loaded = loadBundle(path, c10::kCPU, modelTrust());
    if (loaded.metadataJson.empty())
        throw ModelError("model '" + path + "' has no feremotion.json; it is a bare TorchScript file, not a bundle");
    Bundle bundle{loaded.module, parseModelInfo(loaded.metadataJson, path)};
    bundle.module.eval();
    checkModelRuns([&](const torch::Tensor &x) { return bundle.module.forward({x}).toTensor(); }, bundle.info, path);
    return bundle;
}

void setThreads(int threads)
{
    at::set_num_threads(effectiveThreads(threads));
}

std::string joined(const std::vector<std::string> &names)
{
    std::string text;
    for (const auto &name : names)
        text += (text.empty() ? "" : ",") + name;
    return text;
}

// The rows of `files` a bundle is evaluated on, fitted to its input: a compact folder's or the
// CSVs' `usage` rows (empty: all CSV rows, a compact folder's PublicTest), or an image folder.
Dataset loadRowsFor(const Bundle &bundle, const std::string &model, const std::vector<std::string> &files,
                    const std::string &usage, bool skipBad)
{
    if (files.empty())
        throw std::invalid_argument("no data to evaluate on");
    const bool compact = files.size() == 1 && isCompactFolder(files.front());
    if (!compact && isImageFolder(files.front())) {
        LoadReport report;
        Dataset data = loadImageFolder(files.front(), bundle.info.labels, bundle.info.input.width,
                                       bundle.info.input.height, bundle.info.input.color == ColorMode::Rgb, skipBad,
                                       &report);
        if (report.skipped)
            std::printf("skipped %lld images that cannot be decoded\n", report.skipped);
        return data;
    }
    Dataset data;
    if (compact) {
        data = loadCompact(files.front(), usage.empty() ? "PublicTest" : usage);
    } else {
        CsvOptions csv;
        csv.usage = usage;
        csv.skipBad = skipBad;
        LoadReport report;
        data = loadFerCsv(files, csv, &report);
        if (report.skipped)
            std::printf("skipped %lld malformed rows\n", report.skipped);
        if (!usage.empty() && !report.withoutUsage.empty())
            std::printf("note: '%s' has no Usage column: all its rows are taken, not only \"%s\" ones\n",
                        report.withoutUsage.c_str(), usage.c_str());
    }
    // FER-2013's label ids mean its labels in its order: a model with other names or another order
    // would be scored against the wrong classes.
    if (bundle.info.labels != data.labelNames)
        throw ModelError("model '" + model + "' has the labels " + joined(bundle.info.labels) + "; FER-2013 data has " +
                         joined(data.labelNames) + " (names and order must match)");
    // CSV faces are 48x48 gray; a model may want another size or RGB.
    const InputSpec &input = bundle.info.input;
    return fittedTo(std::move(data), input.width, input.height, input.channels());
}

} // namespace

int runEvaluate(const EvaluateOptions &o)
{
    const std::string stem = fs::path(o.model).replace_extension().string();
    const std::string jsonPath = o.outJson.empty() ? stem + "-eval.json" : o.outJson;
    const std::string pngPath = o.confusionPng.empty() ? stem + "-eval-confusion.png" : o.confusionPng;
    checkWritable(jsonPath, "--out-json");
    checkPngOutput(pngPath, "--confusion-png");
    setThreads(o.threads);
    Bundle bundle = openBundle(o.model);
    const Precision precision = precisionFromString(o.precision);
    convertWeights(bundle.module, precision);
    optimizeForCpuInference(bundle.module, bundle.info.input, scalarTypeOf(precision));
    Dataset data = firstRows(loadRowsFor(bundle, o.model, o.data, o.usage, o.skipBad), o.limit);
    if (o.holdout > 0) {
        // The rows of another draw than the bundle's own holdout include faces it was trained on.
        const json recipe = json::parse(bundle.info.jsonText).value("training", json::object()).value("recipe", json());
        if (recipe.is_object() && recipe.value("holdout", 0.0) > 0) {
            // holdout_seed is recorded only when it was given; the run's seed drew the holdout otherwise.
            const uint64_t seed = recipe.value("holdout_seed", recipe.value("seed", uint64_t{0}));
            const long long limit = recipe.value("limit", 0LL);
            if (recipe.value("holdout", 0.0) != o.holdout || seed != o.holdoutSeed || limit != o.limit)
                std::printf("note: '%s' held out --holdout %g --holdout-seed %llu --limit %lld of its training rows; "
                            "these rows (--holdout %g --holdout-seed %llu --limit %lld) are another draw, which may "
                            "hold faces it trained on\n",
                            o.model.c_str(), recipe.value("holdout", 0.0), static_cast<unsigned long long>(seed),
                            limit, o.holdout, static_cast<unsigned long long>(o.holdoutSeed), o.limit);
        }
        const std::string description = "holdout " + std::to_string(std::lround(o.holdout * 100)) + "% (seed " +
                                        std::to_string(o.holdoutSeed) + ") of " + data.description;
        data = data.subset(holdoutRows(data.size(), o.holdout, o.holdoutSeed));
        data.description = description;
    }
    const auto labelCount = static_cast<int64_t>(bundle.info.labels.size());
    // The bundle is code: what it returns, or why it failed, is said naming the file (exit 2).
    const auto run = [&](const torch::Tensor &x) {
        return checkedForward([&](const torch::Tensor &t) { return bundle.module.forward({inputFor(t, precision)}).toTensor(); },
                              x, o.model, labelCount);
    };
    auto forward = [&](const torch::Tensor &x) {
        torch::Tensor logits = run(x);
        if (o.ttaCrops) {
            // Four 2-pixel shifts, edges repeated, averaged with the unshifted face.
            const torch::Tensor padded = torch::nn::functional::pad(
                x, torch::nn::functional::PadFuncOptions({2, 2, 2, 2}).mode(torch::kReplicate));
            const int64_t h = x.size(2), w = x.size(3);
            for (auto [dy, dx] : {std::pair{0, 0}, {0, 4}, {4, 0}, {4, 4}})
                logits = logits + run(padded.slice(2, dy, dy + h).slice(3, dx, dx + w).contiguous());
            logits = logits / 5.0;
        }
        return logits;
    };
    const torch::Tensor logits =
        predictLogits(forward, data, bundle.info.input, o.tta || o.ttaCrops, o.batchSize, torch::kCPU);
    const Metrics metrics = computeMetrics(logits, data.labels, bundle.info.labels);

    std::printf("%s%s on %s: %lld faces%s\naccuracy %.2f%%  macro-F1 %.4f  loss %.4f\n\n", o.model.c_str(),
                precision == Precision::BFloat16 ? " in bf16" : "", data.description.c_str(),
                static_cast<long long>(metrics.count),
                o.ttaCrops ? " (TTA: flip + 4 shifts)" : o.tta ? " (TTA: flip)" : "", 100 * metrics.accuracy,
                metrics.macroF1, metrics.loss);
    std::printf("%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support");
    for (size_t k = 0; k < metrics.labels.size(); ++k)
        std::printf("%-10s %9.3f %9.3f %9.3f %8lld\n", metrics.labels[k].c_str(), metrics.precision[k],
                    metrics.recall[k], metrics.f1[k], static_cast<long long>(metrics.support[k]));
    std::printf("\nconfusion matrix (rows: true, columns: predicted)\n%-10s", "");
    for (const auto &label : metrics.labels)
        std::printf(" %8.8s", label.c_str());
    std::printf("\n");
    for (size_t r = 0; r < metrics.labels.size(); ++r) {
        std::printf("%-10s", metrics.labels[r].c_str());
        for (int64_t count : metrics.confusion[r])
            std::printf(" %8lld", static_cast<long long>(count));
        std::printf("\n");
    }

    json out = metrics.toJson();
    out["model"] = o.model;
    out["data"] = data.description;
    out["tta"] = o.ttaCrops ? "flip+shifts" : o.tta ? "flip" : "none";
    out["precision"] = o.precision;
    writeAtomically(jsonPath, jsonText(out, 2) + "\n");
    std::printf("\nwrote %s\n", jsonPath.c_str());
    if (writeConfusionMatrix(metrics, pngPath))
        std::printf("wrote %s\n", pngPath.c_str());
    return 0;
}

int runPredict(const PredictOptions &o)
{
#ifdef FEREMOTION_TRAINER_OPENCV
    ClassifierOptions classifierOptions;
    classifierOptions.device = "cpu";
    classifierOptions.threads = o.threads;
    classifierOptions.trust = modelTrust();
    DetectorKind kind = DetectorKind::FullFrame; // --no-detect: each image is one face
    if (!o.noDetect) {
        if (o.detector == "haar") kind = DetectorKind::Haar;
        else if (o.detector == "yunet") kind = DetectorKind::YuNet;
        else throw std::invalid_argument("--detector must be haar or yunet, not '" + o.detector + "'");
    }
    std::unique_ptr<FaceDetector> detector = createDetector(kind, o.detectorModel);
    Analyzer analyzer(std::move(detector), kind,
                      ownModel(std::make_unique<EmotionClassifier>(o.model, classifierOptions)));
    const ModelInfo &info = analyzer.modelInfo();
    AnalyzerSettings settings;
    settings.detection.threshold = o.threshold;
    settings.detection.minFaceSize = o.minFaceSize;
    settings.classification.threads = o.threads;
    json all = json::array();
    int failures = 0;
    for (const std::string &path : o.images) {
        cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
        if (image.empty()) {
            std::fprintf(stderr, "feremotion-trainer: '%s' cannot be read as an image\n", path.c_str());
            ++failures;
            continue;
        }
        // Unrelated images: each is a still, its faces reported from their first detection.
        FrameInput input;
        input.view = frameFromMat(image, PixelFormat::BGR);
        input.stills = true;
        analyzer.reset();
        const std::vector<TrackedFace> faces = analyzer.analyze(input, settings);
        json entry = {{"image", path}, {"faces", json::array()}};
        if (!o.json)
            std::printf("%s: %zu face%s\n", path.c_str(), faces.size(), faces.size() == 1 ? "" : "s");
        for (size_t i = 0; i < faces.size(); ++i) {
            const auto &b = faces[i].detection.box;
            const auto &e = faces[i].emotion;
            json probabilities = json::object();
            for (size_t k = 0; k < info.labels.size(); ++k)
                probabilities[info.labels[k]] = e.probabilities[k];
            entry["faces"].push_back({{"box", {b.x, b.y, b.width, b.height}},
                                      {"detection_confidence", faces[i].detection.confidence},
                                      {"label", info.labels[e.labelId]},
                                      {"confidence", e.confidence},
                                      {"probabilities", probabilities}});
            if (!o.json) {
                std::printf("  face %zu at %.0f,%.0f %.0fx%.0f: %s %.1f%%  (", i + 1, b.x, b.y, b.width, b.height,
                            info.labels[e.labelId].c_str(), 100 * e.confidence);
                for (size_t k = 0; k < info.labels.size(); ++k)
                    std::printf("%s%s %.2f", k ? ", " : "", info.labels[k].c_str(), e.probabilities[k]);
                std::printf(")\n");
            }
        }
        all.push_back(entry);
    }
    if (o.json)
        std::printf("%s\n", jsonText(all, 2).c_str());
    return failures ? 2 : 0;
#else
    (void)o;
    throw std::invalid_argument("predict needs OpenCV; this feremotion-trainer was built without it");
#endif
}

int runCurves(const CurvesOptions &o)
{
    checkPngOutput(o.out, "--out");
    std::ifstream file(o.metrics);
    if (!file)
        throw std::invalid_argument("metrics file '" + o.metrics + "' cannot be opened");
    std::vector<EpochRecord> history;
    try {
        const json metrics = json::parse(file);
        for (const auto &r : metrics.at("history"))
            history.push_back({r.at(0), r.at(1), r.at(2), r.at(3), r.at(4), r.at(5), r.at(6), r.at(7)});
    } catch (const json::exception &e) {
        throw std::invalid_argument("metrics file '" + o.metrics +
                                    "' is not a training run's metrics JSON (an epoch history): " + e.what());
    }
    if (history.empty())
        throw std::invalid_argument("metrics file '" + o.metrics + "' records no epochs");
    if (!writeLearningCurves(history, o.out))
        throw std::invalid_argument("this feremotion-trainer was built without OpenCV and draws no pictures");
    std::printf("wrote %s: %zu epochs\n", o.out.c_str(), history.size());
    return 0;
}

int runInfo(const InfoOptions &o)
{
    LoadedBundle loaded = loadBundle(o.model, c10::kCPU, modelTrust());
    int64_t parameters = 0;
    for (const auto &p : loaded.module.parameters())
        parameters += p.numel();
    std::printf("model: %s\nparameters: %lld (%.2f MB as float32)\n", o.model.c_str(),
                static_cast<long long>(parameters), parameters * 4.0 / 1e6);
    if (loaded.metadataJson.empty()) {
        std::printf("feremotion.json: none (a bare TorchScript file)\n");
        return 0;
    }
    parseModelInfo(loaded.metadataJson, o.model); // validates
    std::printf("feremotion.json:\n%s\n", json::parse(loaded.metadataJson).dump(2).c_str());
    return 0;
}

namespace {

constexpr const char *kWeightsFormat = "feremotion-weights";

// FNV-1a (64 bits) of the tensor bytes, in hex: a damaged copy is refused instead of rebuilt.
std::string checksumOf(const std::string &data)
{
    uint64_t hash = 14695981039346656037ULL;
    for (const unsigned char byte : data)
        hash = (hash ^ byte) * 1099511628211ULL;
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

// The exported module's names: the network's dotted names with '_' for '.' (exportTorchScript).
std::string exportedName(std::string name)
{
    std::replace(name.begin(), name.end(), '.', '_');
    return name;
}

} // namespace

int runExportWeights(const ExportWeightsOptions &o)
{
    checkWritable(o.out, "--out");
    LoadedBundle loaded = loadBundle(o.model, c10::kCPU, modelTrust());
    if (loaded.metadataJson.empty())
        throw ModelError("model '" + o.model + "' has no feremotion.json; only bundles can be exported");
    const json training = json::parse(loaded.metadataJson).value("training", json::object());
    if (training.contains("ensemble"))
        throw ModelError("model '" + o.model + "' is an ensemble of " +
                         std::to_string(training["ensemble"].value("members", json::array()).size()) +
                         " networks, which import-weights cannot rebuild: export each member's bundle");
    json tensors = json::array();
    std::string data;
    const auto add = [&](const std::string &name, torch::Tensor t) {
        t = t.detach().to(torch::kCPU).contiguous();
        if (t.scalar_type() != torch::kLong)
            t = t.to(torch::kFloat32);
        tensors.push_back({{"name", name},
                           {"dtype", t.scalar_type() == torch::kLong ? "int64" : "float32"},
                           {"shape", t.sizes().vec()},
                           {"offset", data.size()},
                           {"bytes", t.nbytes()}});
        data.append(static_cast<const char *>(t.data_ptr()), t.nbytes());
    };
    for (const auto &p : loaded.module.named_parameters())
        add(p.name, p.value);
    for (const auto &b : loaded.module.named_buffers())
        add(b.name, b.value);
    const json header = {{"format", kWeightsFormat},
                         {"version", 1},
                         {"metadata", loaded.metadataJson},
                         {"tensors", tensors},
                         {"fnv1a64", checksumOf(data)}};
    writeAtomically(o.out, jsonText(header) + '\n' + data);
    std::printf("wrote %s: %zu tensors, %zu bytes\n", o.out.c_str(), tensors.size(), data.size());
    return 0;
}

int runImportWeights(const ImportWeightsOptions &o)
{
    checkWritable(o.out, "--out");
    std::ifstream file(o.weights, std::ios::binary);
    if (!file)
        throw ModelError("weights file '" + o.weights + "' does not exist or cannot be read");
    std::string headerLine;
    std::getline(file, headerLine);
    const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    json header, meta;
    try {
        header = json::parse(headerLine);
        if (header.value("format", "") != kWeightsFormat || header.value("version", 0) != 1)
            throw ModelError("weights file '" + o.weights + "' is not a feremotion-weights file (version 1)");
        meta = json::parse(header.at("metadata").get<std::string>());
    } catch (const json::exception &e) {
        throw ModelError("weights file '" + o.weights + "' has an invalid header: " + std::string(e.what()).substr(0, 160));
    }
    // Files written before the checksum existed have none.
    if (header.contains("fnv1a64") && header["fnv1a64"] != checksumOf(data))
        throw ModelError("weights file '" + o.weights + "' is damaged: its tensor data does not match the checksum in "
                         "its header");
    const ModelInfo info = parseModelInfo(header["metadata"].get<std::string>(), o.weights);
    const json recipe = meta.contains("training") ? meta["training"].value("recipe", json()) : json();
    if (!recipe.is_object() || !recipe.contains("arch"))
        throw ModelError("weights file '" + o.weights + "': its feremotion.json has no training recipe to rebuild the "
                         "network from");
    if (!recipe.value("init", std::string()).empty())
        throw ModelError("weights file '" + o.weights + "': a network trained on an --init backbone cannot be rebuilt");
    ArchitectureOptions arch;
    arch.name = recipe.at("arch").get<std::string>();
    arch.width = recipe.value("width", 0);
    arch.hidden = recipe.value("hidden", 0);
    arch.dropout = recipe.value("dropout", 0.0f);
    arch.inputSize = info.input.width;
    arch.channels = info.input.channels();
    arch.classes = static_cast<int>(info.labels.size());
    EmotionNet net(arch);

    std::map<std::string, torch::Tensor> stored;
    for (const json &t : header.at("tensors")) {
        const auto offset = t.at("offset").get<size_t>(), bytes = t.at("bytes").get<size_t>();
        if (offset > data.size() || bytes > data.size() - offset)
            throw ModelError("weights file '" + o.weights + "' is truncated");
        const auto dtype = t.at("dtype").get<std::string>() == "int64" ? torch::kLong : torch::kFloat32;
        torch::Tensor tensor = torch::empty(t.at("shape").get<std::vector<int64_t>>(), dtype);
        if (static_cast<size_t>(tensor.nbytes()) != bytes)
            throw ModelError("weights file '" + o.weights + "': tensor " + t.at("name").get<std::string>() +
                             " has the wrong size");
        std::memcpy(tensor.data_ptr(), data.data() + offset, bytes);
        stored[t.at("name").get<std::string>()] = tensor;
    }
    torch::NoGradGuard noGrad;
    size_t used = 0;
    const auto assign = [&](const std::string &name, torch::Tensor target) {
        const auto it = stored.find(exportedName(name));
        if (it == stored.end() || !it->second.sizes().equals(target.sizes()))
            throw ModelError("weights file '" + o.weights + "' does not fit " + meta.value("architecture", arch.name) +
                             ": " + (it == stored.end() ? "no " : "wrong shape for ") + exportedName(name));
        target.copy_(it->second);
        ++used;
    };
    for (const auto &p : net->named_parameters(true))
        assign(p.key(), p.value());
    for (const auto &b : net->named_buffers(true))
        assign(b.key(), b.value());
    if (used != stored.size())
        throw ModelError("weights file '" + o.weights + "' holds " + std::to_string(stored.size() - used) +
                         " tensors the network does not have");
    net->eval();
    saveBundle(exportTorchScript(net), header["metadata"].get<std::string>(), o.out);
    std::printf("wrote %s from %s (%s)\n", o.out.c_str(), o.weights.c_str(), meta.value("architecture", arch.name).c_str());
    return 0;
}

namespace {

// TorchScript source of the ensemble's forward: the mean of the members' log-probabilities, so the
// output is still logits (their softmax is the normalised geometric mean of the members' outputs).
std::string ensembleForward(size_t members, bool flip)
{
    std::string terms;
    for (size_t i = 0; i < members; ++i) {
        const std::string member = "self.member" + std::to_string(i);
        terms += (i ? " + " : "") + ("torch.log_softmax(" + member + ".forward(x), 1)");
        if (flip)
            terms += " + torch.log_softmax(" + member + ".forward(torch.flip(x, [3])), 1)";
    }
    return "def forward(self, x):\n    return (" + terms + ") / " + std::to_string(members * (flip ? 2 : 1)) + ".0\n";
}

} // namespace

int runEnsemble(const EnsembleOptions &o)
{
    if (o.models.size() < 2 && !o.flip)
        throw std::invalid_argument("an ensemble needs two or more --models (or --flip for one)");
    checkWritable(o.out, "--out");
    setThreads(o.threads);
    std::vector<Bundle> members;
    for (const std::string &path : o.models) {
        members.push_back(openBundle(path));
        if (const char *differs = interfaceDifference(members.front().info, members.back().info))
            throw ModelError("model '" + path + "' cannot join an ensemble with '" + o.models.front() + "': its " +
                             differs + " differ");
    }
    std::unique_ptr<Dataset> test;
    if (!o.test.empty())
        test = std::make_unique<Dataset>(loadRowsFor(members.front(), o.models.front(), o.test, o.testUsage, o.skipBad));

    torch::jit::Module ensemble("FeremotionEnsemble");
    json memberInfo = json::array();
    std::string architectures;
    long long parameters = 0, work = 0;
    for (size_t i = 0; i < members.size(); ++i) {
        ensemble.register_module("member" + std::to_string(i), members[i].module);
        const json meta = json::parse(members[i].info.jsonText);
        memberInfo.push_back({{"file", fs::path(o.models[i]).filename().string()},
                              {"architecture", meta.value("architecture", "")},
                              {"parameters", members[i].info.parameters},
                              {"training", meta.value("training", json::object())}});
        architectures += (i ? ", " : "") + meta.value("architecture", std::string("?"));
        parameters += members[i].info.parameters;
        work += meta.value("multiply_accumulates", 0LL);
    }
    ensemble.define(ensembleForward(members.size(), o.flip));
    ensemble.eval();

    json metrics = json::object();
    if (test) {
        const Metrics m = computeMetrics(
            predictLogits([&](const torch::Tensor &x) {
                return checkedForward([&](const torch::Tensor &t) { return ensemble.forward({t}).toTensor(); }, x,
                                      "the ensemble of " + joined(o.models), static_cast<int64_t>(test->labelNames.size()));
            }, *test,
                          members.front().info.input, false, 256, torch::kCPU),
            test->labels, test->labelNames);
        metrics[testSplitName(o.test, o.testUsage)] = m.summaryJson();
        std::printf("test: %lld faces from %s: accuracy %.2f%%, macro-F1 %.3f\n", static_cast<long long>(m.count),
                    test->description.c_str(), 100 * m.accuracy, m.macroF1);
    }

    // absent in bundles written elsewhere
    const json firstTraining = json::parse(members.front().info.jsonText).value("training", json::object());
    ModelInfo info = members.front().info; // the members agree on labels, input and face crop
    info.architecture = "ensemble of " + std::to_string(members.size()) + " (mean log-probabilities" +
                        (o.flip ? " of each face and its mirror image" : "") + "): " + architectures;
    info.parameters = parameters;
    json meta = modelInfoJson(info);
    if (work > 0)
        meta["multiply_accumulates"] = work * (o.flip ? 2 : 1);
    json training = {{"dataset", firstTraining.value("dataset", json())},
                     {"epochs", firstTraining.value("epochs", 0)},
                     {"seed", firstTraining.value("seed", 0)},
                     {"metrics", metrics},
                     {"ensemble", {{"flip", o.flip}, {"members", memberInfo}}}};
    meta["training"] = training;
    meta["created"] = utcNow();
    meta["producer"] = "feremotion-trainer " FEREMOTION_VERSION;
    saveBundle(ensemble, jsonText(meta, 2), o.out);
    std::printf("wrote %s: %s, %lld parameters\n", o.out.c_str(), meta["architecture"].get<std::string>().c_str(),
                parameters);
    return 0;
}

int runSoftLabels(const SoftLabelsOptions &o)
{
    checkWritable(o.out, "--out");
    setThreads(o.threads);
    const torch::Device device = resolveDevice(o.device);
    Bundle bundle = openBundle(o.model);
    const Dataset data = firstRows(loadRowsFor(bundle, o.model, o.data, o.usage, o.skipBad), o.limit);
    if (data.images.scalar_type() != torch::kByte)
        throw ModelError("model '" + o.model + "' takes other faces than the data's " +
                         std::to_string(data.images.size(3)) + "x" + std::to_string(data.images.size(2)) +
                         " ones; soft labels must be computed on the faces the student trains on");
    bundle.module.to(device);
    if (device.is_cpu())
        optimizeForCpuInference(bundle.module, bundle.info.input);
    SoftLabels soft;
    soft.labels = bundle.info.labels;
    soft.teacher = fs::path(o.model).filename().string();
    soft.data = data.description;
    soft.flip = o.flip;
    const auto labelCount = static_cast<int64_t>(bundle.info.labels.size());
    soft.logits = predictLogits([&](const torch::Tensor &x) {
        return checkedForward([&](const torch::Tensor &t) { return bundle.module.forward({t}).toTensor(); }, x, o.model,
                              labelCount);
    }, data,
                                bundle.info.input, o.flip, 256, device);
    soft.fingerprints.reserve(static_cast<size_t>(data.size()));
    for (int64_t i = 0; i < data.size(); ++i)
        soft.fingerprints.push_back(faceFingerprint(data.images[i]));
    writeSoftLabels(soft, o.out);
    std::printf("wrote %s: %s's outputs%s on %lld faces of %s\n", o.out.c_str(), soft.teacher.c_str(),
                o.flip ? " (with mirror images)" : "", static_cast<long long>(data.size()), data.description.c_str());
    return 0;
}

} // namespace feremotion::trainer
