// SPDX-License-Identifier: LGPL-2.1-or-later
// PNG pictures drawn with OpenCV.
#include "plots.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#ifdef FEREMOTION_TRAINER_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/model/atomic_file.h"
#endif

namespace feremotion::trainer {

#ifdef FEREMOTION_TRAINER_OPENCV

namespace {

const cv::Scalar kBlack(30, 30, 30), kGrid(220, 220, 220), kTrain(200, 110, 30), kVal(40, 40, 220);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

std::string format(double value, int decimals)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

// One panel: train and validation series against epochs.
void drawPanel(cv::Mat &canvas, const cv::Rect &area, const std::string &title, const std::vector<EpochRecord> &history,
               double (*train)(const EpochRecord &), double (*val)(const EpochRecord &), bool percent)
{
    double low = 1e30, high = -1e30;
    for (const auto &r : history) {
        low = std::min({low, train(r), val(r)});
        high = std::max({high, train(r), val(r)});
    }
    if (high - low < 1e-9) {
        low -= 0.5;
        high += 0.5;
    }
    const double pad = 0.05 * (high - low);
    low -= pad;
    high += pad;
    const cv::Rect plot(area.x + 60, area.y + 30, area.width - 80, area.height - 70);
    cv::rectangle(canvas, plot, kBlack, 1);
    cv::putText(canvas, title, {area.x + 60, area.y + 20}, kFont, 0.6, kBlack, 1, cv::LINE_AA);
    const int epochs = std::max(1, history.back().epoch);
    auto point = [&](int epoch, double value) {
        return cv::Point(plot.x + static_cast<int>(plot.width * (epochs == 1 ? 0.5 : (epoch - 1.0) / (epochs - 1.0))),
                         plot.y + plot.height - static_cast<int>(plot.height * (value - low) / (high - low)));
    };
    for (int i = 0; i <= 4; ++i) {
        const double value = low + (high - low) * i / 4.0;
        const int y = plot.y + plot.height - plot.height * i / 4;
        cv::line(canvas, {plot.x, y}, {plot.x + plot.width, y}, kGrid, 1);
        cv::putText(canvas, percent ? format(100 * value, 1) + "%" : format(value, 2), {area.x + 5, y + 4}, kFont, 0.4,
                    kBlack, 1, cv::LINE_AA);
    }
    for (int e : {1, (epochs + 1) / 2, epochs})
        cv::putText(canvas, std::to_string(e), point(e, low) + cv::Point(-4, 18), kFont, 0.4, kBlack, 1, cv::LINE_AA);
    cv::putText(canvas, "epoch", {plot.x + plot.width / 2 - 20, plot.y + plot.height + 35}, kFont, 0.45, kBlack, 1,
                cv::LINE_AA);
    for (size_t i = 0; i < history.size(); ++i) {
        const auto &r = history[i];
        cv::circle(canvas, point(r.epoch, train(r)), 3, kTrain, cv::FILLED, cv::LINE_AA);
        cv::circle(canvas, point(r.epoch, val(r)), 3, kVal, cv::FILLED, cv::LINE_AA);
        if (i > 0) {
            const auto &p = history[i - 1];
            cv::line(canvas, point(p.epoch, train(p)), point(r.epoch, train(r)), kTrain, 2, cv::LINE_AA);
            cv::line(canvas, point(p.epoch, val(p)), point(r.epoch, val(r)), kVal, 2, cv::LINE_AA);
        }
    }
    // Loss falls and accuracy rises, so the legend goes where the curves are not: top right for
    // loss, bottom right for accuracy.
    const int legendY = percent ? plot.y + plot.height - 30 : plot.y + 18;
    cv::putText(canvas, "train", {plot.x + plot.width - 110, legendY}, kFont, 0.45, kTrain, 1, cv::LINE_AA);
    cv::putText(canvas, "validation", {plot.x + plot.width - 110, legendY + 18}, kFont, 0.45, kVal, 1, cv::LINE_AA);
}

// Encoded in memory (as its extension says), then written atomically: a run killed meanwhile leaves
// the earlier picture, not half of one.
bool save(const cv::Mat &image, const std::string &path)
{
    std::vector<uchar> bytes;
    bool encoded = false;
    try {
        encoded = cv::imencode(std::filesystem::path(path).extension().string(), image, bytes);
    } catch (const cv::Exception &e) {
        throw std::runtime_error("cannot write '" + path + "': " + e.err);
    }
    if (!encoded)
        throw std::runtime_error("cannot write '" + path + "': no encoder for its extension");
    writeAtomically(path, std::string(bytes.begin(), bytes.end()));
    return true;
}

} // namespace

bool writeLearningCurves(const std::vector<EpochRecord> &history, const std::string &path)
{
    if (history.empty())
        return false;
    cv::Mat canvas(360, 1000, CV_8UC3, cv::Scalar(255, 255, 255));
    drawPanel(canvas, {0, 0, 500, 360}, "loss", history, [](const EpochRecord &r) { return r.trainLoss; },
              [](const EpochRecord &r) { return r.valLoss; }, false);
    drawPanel(canvas, {500, 0, 500, 360}, "accuracy", history, [](const EpochRecord &r) { return r.trainAccuracy; },
              [](const EpochRecord &r) { return r.valAccuracy; }, true);
    return save(canvas, path);
}

bool writeConfusionMatrix(const Metrics &metrics, const std::string &path)
{
    const int k = static_cast<int>(metrics.labels.size());
    const int cell = 64, left = 110, top = 70;
    cv::Mat canvas(top + k * cell + 60, left + k * cell + 20, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(canvas, "confusion matrix (rows: true, columns: predicted; row-normalised)", {10, 22}, kFont, 0.45,
                kBlack, 1, cv::LINE_AA);
    cv::putText(canvas, "accuracy " + format(100 * metrics.accuracy, 2) + "%  macro-F1 " + format(metrics.macroF1, 3),
                {10, 44}, kFont, 0.45, kBlack, 1, cv::LINE_AA);
    for (int r = 0; r < k; ++r) {
        int64_t rowTotal = 0;
        for (int c = 0; c < k; ++c)
            rowTotal += metrics.confusion[r][c];
        cv::putText(canvas, metrics.labels[r], {5, top + r * cell + cell / 2 + 5}, kFont, 0.45, kBlack, 1, cv::LINE_AA);
        for (int c = 0; c < k; ++c) {
            const double share = rowTotal ? static_cast<double>(metrics.confusion[r][c]) / rowTotal : 0.0;
            const int shade = static_cast<int>(255 * (1.0 - share));
            const cv::Rect box(left + c * cell, top + r * cell, cell - 2, cell - 2);
            cv::rectangle(canvas, box, cv::Scalar(255, shade, shade), cv::FILLED);
            const cv::Scalar ink = share > 0.5 ? cv::Scalar(255, 255, 255) : kBlack;
            cv::putText(canvas, std::to_string(metrics.confusion[r][c]), {box.x + 6, box.y + 26}, kFont, 0.45, ink, 1,
                        cv::LINE_AA);
            cv::putText(canvas, format(100 * share, 0) + "%", {box.x + 6, box.y + 48}, kFont, 0.4, ink, 1, cv::LINE_AA);
        }
    }
    for (int c = 0; c < k; ++c) {
        // Column labels shrink to fit their cell ("surprise" did not at the row labels' size).
        std::string label = metrics.labels[c];
        double scale = 0.4;
        const auto width = [&] { return cv::getTextSize(label, kFont, scale, 1, nullptr).width; };
        while (width() > cell - 4 && scale > 0.3)
            scale -= 0.02;
        while (width() > cell - 4 && label.size() > 1)
            label.pop_back();
        cv::putText(canvas, label, {left + c * cell + 2, top + k * cell + 20}, kFont, scale, kBlack, 1, cv::LINE_AA);
    }
    return save(canvas, path);
}

bool writeSampleGrid(const torch::Tensor &images, const torch::Tensor &labels, const torch::Tensor &probabilities,
                     const std::vector<std::string> &labelNames, const std::string &path)
{
    const int64_t n = std::min<int64_t>(images.size(0), 32);
    if (n == 0)
        return false;
    const int columns = 8, tile = 144, caption = 38;
    const int rows = static_cast<int>((n + columns - 1) / columns);
    cv::Mat canvas(rows * (tile + caption), columns * tile, CV_8UC3, cv::Scalar(255, 255, 255));
    const torch::Tensor cpu = images.to(torch::kCPU).contiguous();
    for (int64_t i = 0; i < n; ++i) {
        const auto channels = cpu.size(1), h = cpu.size(2), w = cpu.size(3);
        torch::Tensor hwc = cpu[i].permute({1, 2, 0}).contiguous();
        cv::Mat face(static_cast<int>(h), static_cast<int>(w), channels == 1 ? CV_8UC1 : CV_8UC3, hwc.data_ptr<uint8_t>());
        cv::Mat colour;
        if (channels == 1)
            cv::cvtColor(face, colour, cv::COLOR_GRAY2BGR);
        else
            cv::cvtColor(face, colour, cv::COLOR_RGB2BGR);
        cv::resize(colour, colour, {tile - 8, tile - 8}, 0, 0, cv::INTER_NEAREST);
        const int x = static_cast<int>(i % columns) * tile, y = static_cast<int>(i / columns) * (tile + caption);
        colour.copyTo(canvas(cv::Rect(x + 4, y + 4, tile - 8, tile - 8)));
        const int64_t predicted = probabilities[i].argmax().item<int64_t>();
        const int64_t truth = labels[i].item<int64_t>();
        const cv::Scalar ink = predicted == truth ? cv::Scalar(40, 150, 40) : cv::Scalar(40, 40, 210);
        cv::putText(canvas, labelNames[predicted] + " " + format(100 * probabilities[i][predicted].item<double>(), 0) + "%",
                    {x + 4, y + tile + 12}, kFont, 0.42, ink, 1, cv::LINE_AA);
        cv::putText(canvas, "true: " + labelNames[truth], {x + 4, y + tile + 30}, kFont, 0.4, kBlack, 1, cv::LINE_AA);
    }
    return save(canvas, path);
}

#else

bool writeLearningCurves(const std::vector<EpochRecord> &, const std::string &) { return false; }
bool writeConfusionMatrix(const Metrics &, const std::string &) { return false; }
bool writeSampleGrid(const torch::Tensor &, const torch::Tensor &, const torch::Tensor &,
                     const std::vector<std::string> &, const std::string &)
{
    return false;
}

#endif

} // namespace feremotion::trainer
