// SPDX-License-Identifier: LGPL-2.1-or-later
// feremotion-trainer: train, evaluate and inspect the emotion model bundles the element loads.
#include <cstdio>
#include <functional>

#include <malloc.h>

#include <CLI/CLI.hpp>

#include "architectures.h"
#include "commands.h"
#include "dataset.h"
#include "engine/model/model_info.h"
#include "train.h"

using namespace feremotion;
using namespace feremotion::trainer;

namespace {

// CLI11's PositiveNumber and NonNegativeNumber print their range with DBL_MAX's 309 digits.
CLI::Validator signCheck(bool zeroAllowed)
{
    return CLI::Validator(
        [zeroAllowed](std::string &text) -> std::string {
            double value = 0;
            if (!CLI::detail::lexical_cast(text, value))
                return "'" + text + "' is not a number";
            if (zeroAllowed ? value >= 0 : value > 0)
                return {};
            return std::string(zeroAllowed ? "must be at least 0" : "must be above 0") + ", not " + text;
        },
        zeroAllowed ? "NONNEGATIVE" : "POSITIVE");
}

const CLI::Validator kPositive = signCheck(false);
const CLI::Validator kNonNegative = signCheck(true);

// An option whose value is one of `choices`, given by name (toString) and stored as the enum: the
// names are checked and converted here, once.
template <typename Choice>
CLI::Option *addChoice(CLI::App *sub, const std::string &flag, Choice &target, std::initializer_list<Choice> choices,
                       const std::string &help)
{
    std::vector<std::string> names;
    for (Choice c : choices)
        names.push_back(toString(c));
    const std::vector<Choice> values(choices);
    return sub
        ->add_option_function<std::string>(
            flag,
            [&target, values](const std::string &name) {
                for (Choice c : values)
                    if (toString(c) == name)
                        target = c;
            },
            help)
        ->check(CLI::IsMember(names))
        ->default_str(toString(target));
}

// train: The rows trained, validated and tested on.
void addDataOptions(CLI::App *sub, TrainOptions &o)
{
    sub->add_option("--data", o.data,
                    "FER-2013 CSV files (emotion,pixels,Usage; .csv or .csv.gz), one compact folder "
                    "(<split>-images.u8[.xz] + <split>-labels.u8) or one image folder (root/<label>/*.png|jpg)")
        ->required();
    sub->add_option("--val", o.val, "Validation data, same kinds; default: the --val-usage rows of --data");
    sub->add_option("--train-usage", o.trainUsage, "Usage value of training rows in the CSVs")->capture_default_str();
    sub->add_option("--val-usage", o.valUsage, "Usage value of validation rows in the CSVs")->capture_default_str();
    sub->add_flag("--skip-bad", o.skipBad, "Skip and count malformed CSV rows and images that cannot be decoded, instead of stopping");
    sub->add_option("--limit", o.limit, "Use only the first N training rows (0 = all)")->check(kNonNegative)->capture_default_str();
    sub->add_option("--val-limit", o.valLimit, "Use only the first N validation rows (0 = all)")->check(kNonNegative)->capture_default_str();
    sub->add_option("--holdout", o.holdout,
                    "Validate on this fraction of the training rows (drawn with --seed, never trained on) "
                    "instead of --val or the --val-usage rows; 0 = off")
        ->check(CLI::Range(0.0, 0.5))
        ->capture_default_str();
    sub->add_option("--holdout-seed", o.holdoutSeed,
                    "Draw the --holdout rows with this seed instead of --seed (0 = --seed); give ensemble members and "
                    "distilled students one holdout, so none validates on rows another trained on")
        ->capture_default_str();
    sub->add_option("--test", o.test,
                    "Data to report the best epoch's metrics on, never used to choose (with --holdout: e.g. the "
                    "PublicTest CSV); same kinds as --data");
    sub->add_option("--test-usage", o.testUsage, "Usage value of the --test rows in CSVs and compact folders")
        ->capture_default_str();
}

// train: The network and its input.
void addModelOptions(CLI::App *sub, TrainOptions &o)
{
    addChoice(sub, "--color", o.color, {ColorMode::Gray, ColorMode::Rgb}, "Input colour: gray, or rgb (image folders only)");
    sub->add_option("--input-size", o.inputSize, "Input side in pixels")->check(CLI::Range(16, 512))->capture_default_str();
    sub->add_option("--face-margin", o.faceMargin, "Context the element adds around each detected box, as a fraction")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    sub->add_option("--arch", o.architecture.name, describeArchitectures())
        ->check(CLI::IsMember(architectureNames()))
        ->capture_default_str();
    sub->add_option("--width", o.architecture.width, "Base channel count (0 = the architecture's default)")
        ->check(CLI::Range(0, 1024))
        ->capture_default_str();
    sub->add_option("--hidden", o.architecture.hidden, "Units of a dense layer before the classifier (0 = none)")
        ->check(CLI::Range(0, 65536))
        ->capture_default_str();
    sub->add_option("--dropout", o.architecture.dropout, "Dropout before the classifier")
        ->check(CLI::Range(0.0, 0.95))
        ->capture_default_str();
}

// train: How it learns.
void addOptimisationOptions(CLI::App *sub, TrainOptions &o)
{
    addChoice(sub, "--optimizer", o.optimizer, {Optimizer::Adam, Optimizer::Sgd}, "adam or sgd (Nesterov momentum 0.9)");
    sub->add_option("--lr", o.learningRate, "Learning rate")->check(kPositive)->capture_default_str();
    sub->add_option("--weight-decay", o.weightDecay, "L2 weight decay")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    addChoice(sub, "--scheduler", o.scheduler, {Scheduler::Cosine, Scheduler::Plateau, Scheduler::None},
              "cosine, plateau (halve after 3 epochs without lower val loss) or none");
    sub->add_option("--warmup-epochs", o.warmupEpochs,
                    "Raise the learning rate linearly, step by step, from near 0 to the schedule's over the first N "
                    "epochs; for large batches, whose linearly scaled --lr otherwise stalls or diverges (0 = off)")
        ->check(kNonNegative)
        ->capture_default_str();
    sub->add_option("--epochs", o.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
    sub->add_option("--batch-size", o.batchSize, "Faces per training step")->check(CLI::Range(1, 65536))->capture_default_str();
    sub->add_option("--label-smoothing", o.labelSmoothing, "Label smoothing")->check(CLI::Range(0.0, 0.5))->capture_default_str();
    sub->add_option("--patience", o.patience, "Stop after N epochs without a better validation accuracy (0 = off)")
        ->check(kNonNegative)
        ->capture_default_str();
    addChoice(sub, "--balance", o.balance, {Balance::None, Balance::WeightedLoss, Balance::Oversample},
              "Class balancing: none, weighted-loss, oversample");
}

// train: What is done to the training faces.
void addAugmentationOptions(CLI::App *sub, TrainOptions &o)
{
    sub->add_flag("!--no-augment", o.augment.enabled, "Turn every augmentation off");
    sub->add_option("--crop-padding", o.augment.cropPadding, "Random crop with padding: shift up to N pixels (0 = off)")
        ->check(CLI::Range(0, 64))
        ->capture_default_str();
    sub->add_flag("!--no-flip", o.augment.flip, "No random horizontal flips");
    sub->add_option("--rotation", o.augment.rotation, "Random rotation, ± degrees")->check(CLI::Range(0.0, 90.0))->capture_default_str();
    sub->add_option("--scale", o.augment.scale, "Random zoom, ± fraction")->check(CLI::Range(0.0, 0.9))->capture_default_str();
    sub->add_option("--brightness", o.augment.brightness, "Random brightness, ± (pixels in 0-1)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    sub->add_option("--contrast", o.augment.contrast, "Random contrast, ± fraction")->check(CLI::Range(0.0, 1.0))->capture_default_str();
    sub->add_option("--erasing", o.augment.erasing, "Probability of random erasing")->check(CLI::Range(0.0, 1.0))->capture_default_str();
}

// train: Distillation and transfer learning.
void addTeacherOptions(CLI::App *sub, TrainOptions &o)
{
    sub->add_option("--soft-labels", o.softLabels,
                    "Soft-labels file (feremotion-trainer soft-labels) whose logits the network learns too: "
                    "distillation without running the teacher, at --distill-weight and --distill-temperature")
        ->check(CLI::ExistingFile);
    sub->add_option("--teacher", o.teacher, "Bundle whose outputs the network learns too (distillation, e.g. from an ensemble)");
    sub->add_option("--distill-weight", o.distillWeight, "Weight of the teacher's term in the loss; the labels get 1 minus it")
        ->check(CLI::Range(0.0, 1.0))->capture_default_str();
    sub->add_option("--distill-temperature", o.distillTemperature, "Temperature softening teacher and student outputs")
        ->check(kPositive)->capture_default_str();
    sub->add_option("--init", o.init, "TorchScript backbone to start from (transfer learning); a new head is trained")
        ->check(CLI::ExistingFile);
    sub->add_flag("--freeze-backbone", o.freezeBackbone, "Train only the head on top of --init");
}

// train: Where and how long it runs, and what it writes.
void addRunOptions(CLI::App *sub, TrainOptions &o)
{
    sub->add_option("--threads", o.threads, "CPU threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
    sub->add_option("--device", o.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    addChoice(sub, "--precision", o.precision, {Precision::Float32, Precision::BFloat16},
              "fp32, or bf16: forward passes in bfloat16 (CPU autocast with channels-last convolutions; "
              "weights and optimiser stay float32); faster only on CPUs with AMX, and most for wide "
              "networks; not on CUDA");
    sub->add_option("--seed", o.seed, "Seed of every random choice (same seed, data and 1 thread: same weights)")
        ->capture_default_str();
    sub->add_option("--time-limit", o.timeLimit,
                    "Seconds the run may take: after the first epoch, lower --epochs to what fits (the cosine "
                    "schedule's first epoch does not depend on it); 0 = no limit")
        ->check(kNonNegative)
        ->capture_default_str();
    sub->add_option("--checkpoint-dir", o.checkpointDir, "Folder for the per-epoch checkpoint, created when missing");
    sub->add_flag("--resume", o.resume, "Continue from the checkpoint in --checkpoint-dir");
    sub->add_option("--out", o.out, "Bundle to write (atomically), holding the best epoch; its folder must exist")->capture_default_str();
    sub->add_flag("--tta", o.evaluateTta, "Also report the best epoch's validation accuracy with flip averaging");
}

void setupTrain(CLI::App &app, std::function<int()> &run)
{
    auto o = std::make_shared<TrainOptions>();
    CLI::App *sub = app.add_subcommand("train", "Train a model and write a bundle the feremotion element loads");
    addDataOptions(sub, *o);
    addModelOptions(sub, *o);
    addOptimisationOptions(sub, *o);
    addAugmentationOptions(sub, *o);
    addTeacherOptions(sub, *o);
    addRunOptions(sub, *o);
    sub->callback([o, &run] { run = [o] { return runTrain(*o); }; });
}

void setupEvaluate(CLI::App &app, std::function<int()> &run)
{
    auto o = std::make_shared<EvaluateOptions>();
    CLI::App *sub = app.add_subcommand("evaluate", "Accuracy, macro-F1, per-class metrics and confusion matrix of a bundle");
    sub->add_option("--model", o->model, "Bundle (.pt)")->required()->check(CLI::ExistingFile);
    sub->add_option("--data", o->data, "FER-2013 CSV files, a compact folder or one image folder")->required();
    sub->add_option("--usage", o->usage, "CSV rows to evaluate by Usage (empty: all)")->capture_default_str();
    sub->add_option("--limit", o->limit, "Use only the first N rows (0 = all), as train's --limit")->check(kNonNegative)->capture_default_str();
    auto *holdout = sub->add_option("--holdout", o->holdout,
                                    "Evaluate only the rows that train --holdout held out of these (give the same "
                                    "--data, --usage Training and --limit as the training run)")
                        ->check(CLI::Range(0.0, 0.5));
    sub->add_option("--holdout-seed", o->holdoutSeed,
                    "The seed train drew its holdout with: its --holdout-seed, else its --seed")
        ->needs(holdout);
    holdout->needs("--holdout-seed");
    sub->add_flag("--skip-bad", o->skipBad, "Skip and count malformed CSV rows and images that cannot be decoded");
    sub->add_flag("--tta", o->tta, "Average each face with its mirror image");
    sub->add_flag("--tta-crops", o->ttaCrops, "Also average four 2-pixel shifts (implies --tta)");
    addChoice(sub, "--precision", o->precision, {Precision::Float32, Precision::BFloat16},
              "fp32, or bf16: the forward pass as the element's precision=bf16 runs it (also its "
              "precision=auto on a CPU with AMX)");
    sub->add_option("--out-json", o->outJson, "Metrics JSON (default: <model>-eval.json)");
    sub->add_option("--confusion-png", o->confusionPng, "Confusion matrix picture (default: <model>-eval-confusion.png)");
    sub->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
    sub->callback([o, &run] { run = [o] { return runEvaluate(*o); }; });
}

void setupPredict(CLI::App &app, std::function<int()> &run)
{
    auto o = std::make_shared<PredictOptions>();
    CLI::App *sub = app.add_subcommand("predict", "Classify the faces in image files");
    sub->add_option("--model", o->model, "Bundle (.pt)")->required()->check(CLI::ExistingFile);
    sub->add_option("images", o->images, "Image files")->required();
    sub->add_flag("--no-detect", o->noDetect, "The images are face crops: classify each whole image");
    addChoice(sub, "--detector", o->detector, {StillDetector::Haar, StillDetector::YuNet}, "haar or yunet");
    sub->add_option("--detector-model", o->detectorModel, "YuNet ONNX file, or another Haar cascade");
    sub->add_option("--threshold", o->threshold, "Detection threshold (as the element's; -1: the detector's default)")
        ->check(CLI::Range(-1.0, 1.0))
        ->capture_default_str();
    sub->add_option("--min-face-size", o->minFaceSize, "Smallest face side, pixels")->capture_default_str();
    sub->add_flag("--json", o->json, "Print JSON instead of text");
    sub->callback([o, &run] { run = [o] { return runPredict(*o); }; });
}

void setupInfo(CLI::App &app, std::function<int()> &run)
{
    auto o = std::make_shared<InfoOptions>();
    CLI::App *sub = app.add_subcommand("info", "Print a bundle's metadata and parameter count");
    sub->add_option("model", o->model, "Bundle (.pt)")->required();
    sub->callback([o, &run] { run = [o] { return runInfo(*o); }; });
}

void setupCurves(CLI::App &app, std::function<int()> &run)
{
    auto o = std::make_shared<CurvesOptions>();
    CLI::App *sub = app.add_subcommand(
        "curves", "Draw a training run's learning curves from its metrics JSON (e.g. a run on a GPU machine)");
    sub->add_option("--metrics", o->metrics, "The run's <out>-metrics.json")->required()->check(CLI::ExistingFile);
    sub->add_option("--out", o->out, "PNG to write")->required();
    sub->callback([o, &run] { run = [o] { return runCurves(*o); }; });
}

void setupWeights(CLI::App &app, std::function<int()> &run)
{
    auto out = std::make_shared<ExportWeightsOptions>();
    CLI::App *exporter = app.add_subcommand(
        "export-weights", "Write a bundle's tensors and metadata in a file any LibTorch version reads");
    exporter->add_option("--model", out->model, "Bundle (.pt)")->required()->check(CLI::ExistingFile);
    exporter->add_option("--out", out->out, "Weights file to write")->required();
    exporter->callback([out, &run] { run = [out] { return runExportWeights(*out); }; });

    auto in = std::make_shared<ImportWeightsOptions>();
    CLI::App *importer = app.add_subcommand(
        "import-weights", "Rebuild a bundle with this LibTorch from an export-weights file (e.g. trained on a GPU machine)");
    importer->add_option("--weights", in->weights, "Weights file from export-weights")->required()->check(CLI::ExistingFile);
    importer->add_option("--out", in->out, "Bundle to write")->required();
    importer->callback([in, &run] { run = [in] { return runImportWeights(*in); }; });
}

void setupEnsemble(CLI::App &app, std::function<int()> &run)
{
    auto o = std::make_shared<EnsembleOptions>();
    CLI::App *sub = app.add_subcommand(
        "ensemble", "Join bundles into one whose forward averages their outputs (optionally with each face's mirror image)");
    sub->add_option("--models", o->models, "Member bundles (.pt), same labels and input")->required()->check(CLI::ExistingFile);
    sub->add_flag("--flip", o->flip, "Also average each member's output on the mirror image (twice the work per face)");
    sub->add_option("--test", o->test, "Data to report the ensemble's metrics on (recorded in the bundle)");
    sub->add_option("--test-usage", o->testUsage, "Usage value of the --test rows in CSVs and compact folders")->capture_default_str();
    sub->add_flag("--skip-bad", o->skipBad, "Skip and count malformed CSV rows and images that cannot be decoded");
    sub->add_option("--out", o->out, "Bundle to write (atomically)")->required();
    sub->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
    sub->callback([o, &run] { run = [o] { return runEnsemble(*o); }; });
}

void setupSoftLabels(CLI::App &app, std::function<int()> &run)
{
    auto o = std::make_shared<SoftLabelsOptions>();
    CLI::App *sub = app.add_subcommand(
        "soft-labels", "Write a teacher bundle's outputs on every face of some data, for train --soft-labels");
    sub->add_option("--model", o->model, "Teacher bundle (.pt), e.g. an ensemble")->required()->check(CLI::ExistingFile);
    sub->add_option("--data", o->data, "Faces: FER-2013 CSVs, a compact folder or an image folder")->required();
    sub->add_option("--usage", o->usage, "Usage value of the rows in CSVs and compact folders")->capture_default_str();
    sub->add_flag("--skip-bad", o->skipBad, "Skip and count malformed CSV rows and images that cannot be decoded");
    sub->add_option("--limit", o->limit, "Only the first N rows (0 = all), as train's --limit")->check(kNonNegative)->capture_default_str();
    sub->add_flag("--flip", o->flip, "Average each face's outputs with its mirror image's");
    sub->add_option("--device", o->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    sub->add_option("--threads", o->threads, "CPU threads (0 = all cores)")->capture_default_str();
    sub->add_option("--out", o->out, "File to write")->required();
    sub->callback([o, &run] { run = [o] { return runSoftLabels(*o); }; });
}

} // namespace

int main(int argc, char **argv)
{
    // Batch tensors are larger than glibc's initial mmap threshold; without this, every step maps
    // and unmaps fresh pages (or trims the heap) and the first epoch runs 3x slower, mostly in the kernel.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024);
    CLI::App app{"feremotion-trainer " FEREMOTION_VERSION
                 ": trains, evaluates and inspects the emotion model bundles of the feremotion GStreamer element"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "feremotion-trainer " FEREMOTION_VERSION);
    bool trustModel = false;
    app.add_flag("--trust-model", trustModel,
                 "Run the code of the bundles and backbones given without checking it first: by default one "
                 "whose code runs while it loads or calls an operator a classifier does not need (files, "
                 "processes, network) is refused")
        ->configurable(false);
    app.fallthrough();
    std::function<int()> run;
    setupTrain(app, run);
    setupEvaluate(app, run);
    setupPredict(app, run);
    setupInfo(app, run);
    setupCurves(app, run);
    setupWeights(app, run);
    setupEnsemble(app, run);
    setupSoftLabels(app, run);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        const int status = app.exit(e);
        return status == 0 ? 0 : 2;
    }
    setModelTrust(trustModel ? ModelTrust::Trusted : ModelTrust::Checked);
    try {
        return run();
    } catch (const DataError &e) {
        std::fprintf(stderr, "feremotion-trainer: error: %s\n", e.what());
    } catch (const ModelError &e) {
        std::fprintf(stderr, "feremotion-trainer: error: %s\n", e.what());
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "feremotion-trainer: error: %s\n", e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "feremotion-trainer: failed: %s\n", e.what());
        return 1;
    }
    return 2;
}
