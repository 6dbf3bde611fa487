// SPDX-License-Identifier: LGPL-2.1-or-later
// Loads models on a thread of its own, so that a stream goes on with the model it has meanwhile.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/vision/analyzer.h"

namespace feremotion {

// One load at a time. A request made while another loads waits for it; of several waiting, only
// the newest is loaded, and a finished load that a newer request has overtaken is dropped.
class BackgroundModelLoader {
public:
    // Loads the model at `path`; throws (std::exception) naming the file and the cause.
    using Load = std::function<std::unique_ptr<FaceClassifier>(const std::string &path)>;
    struct Result {
        std::string path;
        std::unique_ptr<FaceClassifier> model; // null when the load failed
        std::string error;                     // why it failed
    };

    BackgroundModelLoader();
    ~BackgroundModelLoader(); // waits for a load in progress
    BackgroundModelLoader(const BackgroundModelLoader &) = delete;
    BackgroundModelLoader &operator=(const BackgroundModelLoader &) = delete;

    void request(const std::string &path, Load load);
    // The latest finished load, once: the caller swaps it in (or reports its error).
    std::optional<Result> takeResult();
    // True while a request waits or loads (tests wait on it).
    bool busy() const;

private:
    void run();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::optional<std::pair<std::string, Load>> waiting_;
    bool loading_ = false;
    bool stopping_ = false;
    std::optional<Result> result_;
    std::thread thread_;
};

} // namespace feremotion
