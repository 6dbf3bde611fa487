// SPDX-License-Identifier: LGPL-2.1-or-later
#include "engine/vision/model_loader.h"

#include <exception>

namespace feremotion {

BackgroundModelLoader::BackgroundModelLoader() : thread_([this] { run(); }) {}

BackgroundModelLoader::~BackgroundModelLoader()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
        waiting_.reset();
    }
    wake_.notify_all();
    thread_.join();
}

void BackgroundModelLoader::request(const std::string &path, Load load)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        waiting_.emplace(path, std::move(load));
    }
    wake_.notify_all();
}

std::optional<BackgroundModelLoader::Result> BackgroundModelLoader::takeResult()
{
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<Result> result = std::move(result_);
    result_.reset();
    return result;
}

bool BackgroundModelLoader::busy() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return loading_ || waiting_.has_value();
}

void BackgroundModelLoader::run()
{
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || waiting_.has_value(); });
        if (stopping_)
            return;
        auto [path, load] = std::move(*waiting_);
        waiting_.reset();
        loading_ = true;
        lock.unlock();
        Result result;
        result.path = path;
        try {
            result.model = load(path);
        } catch (const std::exception &e) {
            result.error = e.what();
        }
        lock.lock();
        loading_ = false;
        // A model loaded for a request that a newer one has overtaken is not the one asked for.
        if (!waiting_ && !stopping_)
            result_ = std::move(result);
    }
}

} // namespace feremotion
