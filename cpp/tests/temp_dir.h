// A temporary folder for one test, removed with everything in it afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace litetrain::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `bytes` to path()/name (plainly: tests make damaged files with it).
  std::string Write(const std::string& name, const std::vector<uint8_t>& bytes) const;
  // Names of the entries in the folder, hidden ones included, sorted.
  std::vector<std::string> List() const;

 private:
  std::string path_;
};

}  // namespace litetrain::testing
