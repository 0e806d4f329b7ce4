#include "test_models.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
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

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace litetrain::testing
