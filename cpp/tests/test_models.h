// Paths of the .tflite models the C++ tests run, made beforehand by
// tools/make_test_models.py into $LITETRAIN_TEST_MODELS.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "litetrain/dataset.h"

namespace litetrain::testing {

// Samples for the 32-16-4 MLP test models: normal random inputs "x" and
// one-hot labels "y" over 4 classes, drawn from `seed`.
struct MlpData {
  explicit MlpData(int64_t n = 40, unsigned seed = 3);
  Dataset dataset(const std::string& x_name = "x") const;
  Dataset inputs() const;  // "x" only
  int64_t n;
  std::vector<float> x, y;
};

// Path of a model file; fails the test run (not skips) when the folder is unset.
std::string ModelPath(const std::string& name);
std::vector<uint8_t> ReadBytes(const std::string& path);

}  // namespace litetrain::testing
