#include "atomic_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "litetrain/errors.h"

namespace litetrain {
namespace {

std::string Folder(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

[[noreturn]] void Fail(const std::string& what, const std::string& path, int error) {
  const std::string message = "cannot write '" + path + "': " + what + ": " + std::strerror(error);
  if (error == ENOENT) throw FileNotFound(message);
  throw Error(message);
}

}  // namespace

void WriteFileAtomically(const std::string& path, const void* data, std::size_t size) {
  if (path.empty()) throw InvalidArgument("the output path is empty");
  if (!path.empty() && path.back() == '/') throw InvalidArgument("the output path '" + path + "' names a folder");
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw InvalidArgument("the output path '" + path + "' is a folder");
  }
  const std::string folder = Folder(path);
  const std::string name = path.substr(path.find_last_of('/') + 1);
  std::string temp = folder + "/." + name + ".XXXXXX";
  std::vector<char> temp_chars(temp.begin(), temp.end());
  temp_chars.push_back('\0');
  const int fd = ::mkstemp(temp_chars.data());
  if (fd < 0) Fail("cannot create a temporary file in '" + folder + "'", path, errno);
  temp.assign(temp_chars.data());
  auto abandon = [&](const std::string& what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    Fail(what, path, error);
  };
  // mkstemp makes the file 0600; a model is for others to read.
  if (::fchmod(fd, 0644) != 0) abandon("fchmod");
  const auto* bytes = static_cast<const uint8_t*>(data);
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, bytes + written, size - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon("write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) abandon("fsync");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    Fail("close", path, error);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    Fail("rename", path, error);
  }
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);  // best effort: some file systems refuse fsync on folders
    ::close(dir);
  }
}

}  // namespace litetrain
