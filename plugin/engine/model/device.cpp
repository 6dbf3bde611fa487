// SPDX-License-Identifier: LGPL-2.1-or-later
// Device names to LibTorch devices, with the reason when CUDA cannot be used.
#include "engine/model/device.h"

#include <algorithm>
#include <thread>

#include <dlfcn.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <torch/cuda.h>

#include "engine/model/model_info.h"

namespace feremotion {

namespace {

// LibTorch's CUDA backend registers itself when libtorch_cuda is loaded, but no program calls into
// it directly, so a linker may leave it out (seen with PyTorch 2.11's LibTorch). Loading it here
// makes the GPU visible either way. Empty once it is loaded, else why it could not be.
const std::string &cudaBackendLoadError()
{
    static const std::string error = [] {
        if (dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) ||
            dlopen("libtorch_cuda.so", RTLD_NOW | RTLD_GLOBAL))
            return std::string();
        const char *why = dlerror();
        return std::string(why ? why : "unknown error");
    }();
    return error;
}

} // namespace

bool cudaAvailable()
{
    cudaBackendLoadError();
    return torch::cuda::is_available();
}

c10::Device resolveDevice(const std::string &name)
{
    if (name.empty() || name == "auto")
        return cudaAvailable() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
    if (name == "cpu")
        return c10::kCPU;
    if (name.rfind("cuda", 0) == 0) {
        int index = 0;
        if (name.size() > 4) {
            if (name[4] != ':' || name.size() == 5 || name.size() > 8 ||
                name.find_first_not_of("0123456789", 5) != std::string::npos)
                throw ModelError("device '" + name + "' is not one of auto, cpu, cuda, cuda:N");
            index = std::stoi(name.substr(5));
        }
        if (!cudaAvailable()) {
            const std::string &loadError = cudaBackendLoadError();
            throw ModelError("device '" + name + "' requested, but LibTorch sees no CUDA device (" +
                             (loadError.empty() ? std::string("no GPU is visible to its CUDA runtime")
                                                : "its CUDA library cannot be loaded: " + loadError) +
                             "); use cpu or auto");
        }
        const auto count = static_cast<int>(torch::cuda::device_count());
        if (index >= count)
            throw ModelError("device '" + name + "' requested, but only " + std::to_string(count) +
                             " CUDA device(s) are visible");
        return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    throw ModelError("device '" + name + "' is not one of auto, cpu, cuda, cuda:N");
}

int effectiveThreads(int threads)
{
    return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

bool cpuHasAmxBf16()
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
        return false;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(edx & (1u << 22))) // AMX-BF16
        return false;
    // XCR0 bits 17 and 18: the operating system saves the tile configuration and data.
    unsigned xcr0Low = 0, xcr0High = 0;
    __asm__("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
    return (xcr0Low & (3u << 17)) == (3u << 17);
#else
    return false;
#endif
}

Precision resolvePrecision(Precision requested, const c10::Device &device)
{
    if (requested != Precision::Auto)
        return requested;
    return device.is_cpu() && cpuHasAmxBf16() ? Precision::BFloat16 : Precision::Float32;
}

} // namespace feremotion
