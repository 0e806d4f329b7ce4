// Paths of the .tflite models the C++ tests run, made beforehand by
// tools/make_test_models.py into $LITETRAIN_TEST_MODELS.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace litetrain::testing {

// Path of a model file; fails the test run (not skips) when the folder is unset.
std::string ModelPath(const std::string& name);
std::vector<uint8_t> ReadBytes(const std::string& path);

}  // namespace litetrain::testing
