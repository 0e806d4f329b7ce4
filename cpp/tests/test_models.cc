#include "test_models.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace litetrain::testing {

std::string ModelPath(const std::string& name) {
  const char* dir = std::getenv("LITETRAIN_TEST_MODELS");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(
        "LITETRAIN_TEST_MODELS is not set: run the tests through tools/run-tests, which makes "
        "the models with tools/make_test_models.py");
  }
  return std::string(dir) + "/" + name;
}

MlpData::MlpData(int64_t n, unsigned seed)
    : n(n), x(static_cast<std::size_t>(n) * 32), y(static_cast<std::size_t>(n) * 4, 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (auto& v : x) v = normal(rng);
  for (int64_t i = 0; i < n; ++i) y[static_cast<std::size_t>(i * 4 + rng() % 4)] = 1.0f;
}

Dataset MlpData::dataset(const std::string& x_name) const {
  return Dataset(
      {{x_name, {DType::kFloat32, Shape{n, 32}, x.data()}}, {"y", {DType::kFloat32, Shape{n, 4}, y.data()}}});
}

Dataset MlpData::inputs() const { return Dataset({{"x", {DType::kFloat32, Shape{n, 32}, x.data()}}}); }

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace litetrain::testing
