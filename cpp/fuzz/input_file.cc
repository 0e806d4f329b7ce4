#include "input_file.h"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace litetrain::fuzz {
namespace {

// Removes the file at exit; libFuzzer ends runs with exit(), which runs this.
struct InputFile {
  std::string path;
  int fd = -1;
  ~InputFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

const std::string& WriteInputFile(const uint8_t* data, std::size_t size, const char* suffix) {
  static InputFile file;
  if (file.fd < 0) {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/litetrain-fuzz-XXXXXX" + suffix;
    file.fd = ::mkstemps(pattern.data(), static_cast<int>(std::string(suffix).size()));
    if (file.fd < 0) throw std::runtime_error("cannot create the fuzzer's input file");
    file.path = pattern;
  }
  // Every failure here is the harness's, not the reader's: abort loudly.
  if (::ftruncate(file.fd, 0) != 0) std::abort();
  for (std::size_t done = 0; done < size;) {
    const ssize_t n = ::pwrite(file.fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  return file.path;
}

}  // namespace litetrain::fuzz
