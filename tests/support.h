// SPDX-License-Identifier: LGPL-2.1-or-later
// Test helpers: shared media location, temporary folders and small model bundles built by the tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace feremotion {
struct ClassifierOptions;
}

namespace feremotion::test {

// ../shared beside the checkout, or $FEREMOTION_SHARED; nullopt when absent.
std::optional<std::string> sharedDir();
// The path of a file under ../shared, or nullopt (then the test should skip).
std::optional<std::string> sharedFile(const std::string &relative);
// ../shared/models' YuNet release that this OpenCV runs (2022mar below 4.8, 2023mar from 4.8), or nullopt.
std::optional<std::string> sharedYuNetModel();
// The message a test skips with when sharedYuNetModel() is absent.
std::string missingYuNetModel();

// A fresh folder removed at destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

struct TestBundle {
    int width = 48;
    int height = 48;
    std::string color = "gray";   // "gray" or "rgb"
    int outputs = 7;              // logits per face
    std::vector<std::string> labels{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};
    bool writeMetadata = true;    // false: a bare TorchScript file
    std::string metadataOverride; // written verbatim as feremotion.json when not empty
    std::string std = "0.5";      // input.std in the metadata, as JSON
    bool nanOutput = false;       // the forward returns NaN
    bool firstLabelWins = false;  // a large bias on output 0: every face gets the first label
    bool convolutional = false;   // conv+pool+linear instead of one linear layer
    bool float32Only = false;     // the forward casts its weights to float32, so it fails in bfloat16
    bool squeezeOutput = false;   // the forward squeezes its output: one face gives 7 values, not 1x7
    std::string outputCast;       // appended to the forward's result, e.g. ".long()"
    bool emptyMetadata = false;   // feremotion.json is there but empty
    std::string forwardPrelude;   // TorchScript statements the forward runs first (one per line)
    std::string setstateCode;     // statements of a __setstate__, which loading the bundle runs
    int seed = 1;
};

// The feremotion.json a TestBundle writes.
std::string metadataJson(const TestBundle &spec);
// Writes a TorchScript bundle made in C++ (torch::jit::Module::define) and returns its path.
std::string writeTestBundle(const std::string &path, const TestBundle &spec = {});
// The ModelError message of loading `path` as a classifier with `options`, or "(loaded without error)".
std::string classifierLoadError(const std::string &path, const ClassifierOptions &options);
// Writes a TorchScript module without a forward method.
std::string writeModuleWithoutForward(const std::string &path);

// A file of the user's that a hostile bundle overwrites with 'A's through torch.from_file.
struct Victim {
    explicit Victim(const TempDir &dir);
    // TorchScript statements that overwrite it and make `used` depend on that (TorchScript drops
    // code whose result is not used).
    std::string overwrite(const std::string &used) const;
    bool untouched() const;
    std::string contents() const;

    std::string path;
};

// TorchScript statements for TestBundle::forwardPrelude that take a second or so of interpreter
// time when `condition` holds: long enough to run past a short forward-timeout, short enough to
// end by themselves.
std::string slowForwardWhen(const std::string &condition);

// The source tree's tests/ folder.
std::string testsSourceDir();

} // namespace feremotion::test
