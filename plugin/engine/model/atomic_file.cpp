// SPDX-License-Identifier: LGPL-2.1-or-later
// Temporary file + fsync + rename + fsync of the folder; stale temporaries of dead processes removed.
#include "engine/model/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace feremotion {

namespace fs = std::filesystem;

namespace {

// Makes the file's (or folder's) contents durable: a rename is only as safe as what it points at.
void syncToDisk(const fs::path &path, bool folder)
{
    const int fd = ::open(path.c_str(), folder ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0)
        return;
    ::fsync(fd);
    ::close(fd);
}

// Temporary files of earlier writes to `target` whose process is gone (killed while writing).
void removeStaleTemporaries(const fs::path &directory, const fs::path &target)
{
    const std::string prefix = "." + target.filename().string() + ".tmp-";
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(directory, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.compare(0, prefix.size(), prefix) != 0)
            continue;
        const std::string pid = name.substr(prefix.size());
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos || pid.size() > 9)
            continue;
        if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH)
            fs::remove(entry.path(), ec);
    }
}

std::string firstLine(const std::string &text)
{
    return text.substr(0, text.find('\n'));
}

} // namespace

void writeAtomically(const std::string &path, const std::function<void(const std::string &temporary)> &write)
{
    const fs::path target(path);
    const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    if (fs::is_directory(target, ec))
        throw std::runtime_error("cannot write '" + path + "': it is a folder");
    if (!fs::is_directory(directory, ec))
        throw std::runtime_error("cannot write '" + path + "': folder '" + directory.string() + "' does not exist");
    removeStaleTemporaries(directory, target);
    const fs::path temporary = directory / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    try {
        write(temporary.string());
        syncToDisk(temporary, false);
    } catch (const std::exception &e) {
        fs::remove(temporary, ec);
        throw std::runtime_error("cannot write '" + path + "': " + firstLine(e.what()));
    }
    fs::rename(temporary, target, ec);
    if (ec) {
        fs::remove(temporary, ec);
        throw std::runtime_error("cannot write '" + path + "': " + ec.message());
    }
    syncToDisk(directory, true);
}

void writeAtomically(const std::string &path, const std::string &bytes)
{
    writeAtomically(path, [&bytes](const std::string &temporary) {
        std::ofstream file(temporary, std::ios::binary);
        file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        file.close();
        if (!file)
            throw std::runtime_error(std::string("writing failed: ") + std::strerror(errno));
    });
}

} // namespace feremotion
