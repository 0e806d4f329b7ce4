#include "formats/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "litetrain/errors.h"

namespace litetrain::detail {
namespace {

std::string Describe(const std::string& what, const std::string& path) { return what + " '" + path + "'"; }

std::string Folder(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Temporary files of earlier writers to `name` in `folder` whose process is
// gone (killed mid-write): ".NAME.PID.XXXXXX.tmp". A live writer's file is
// left alone, so two processes writing one path never remove each other's.
void RemoveStaleTemporaries(const std::string& folder, const std::string& name) {
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) return;  // the write itself will report the folder
  const std::string prefix = "." + name + ".";
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string file = entry->d_name;
    if (file.size() <= prefix.size() + 4 || file.compare(0, prefix.size(), prefix) != 0 ||
        file.compare(file.size() - 4, 4, ".tmp") != 0) {
      continue;
    }
    // PID.XXXXXX between the prefix and ".tmp".
    const std::string middle = file.substr(prefix.size(), file.size() - prefix.size() - 4);
    const std::size_t dot = middle.find('.');
    if (dot == 0 || dot == std::string::npos || middle.size() - dot - 1 != 6 ||
        middle.find_first_not_of("0123456789") != dot) {
      continue;
    }
    const long pid = std::strtol(middle.substr(0, dot).c_str(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(file);
  }
  ::closedir(dir);
  for (const std::string& file : stale) ::unlink((folder + "/" + file).c_str());
}

}  // namespace

InputFile::InputFile(const std::string& path, const std::string& what) : path_(path), what_(what) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    const int error = errno;
    if (error == ENOENT) throw FileNotFound(Describe(what, path) + " does not exist");
    throw IoError("cannot open " + Describe(what, path) + ": " + std::strerror(error), error);
  }
  struct stat info{};
  if (::fstat(fd_, &info) != 0) {
    const int error = errno;
    ::close(fd_);
    throw IoError("cannot read " + Describe(what, path) + ": " + std::strerror(error), error);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd_);
    const bool folder = S_ISDIR(info.st_mode);
    throw IoError(Describe(what, path) + (folder ? " is a folder" : " is not a regular file"),
                  folder ? EISDIR : EINVAL);
  }
  size_ = static_cast<uint64_t>(info.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::ReadAt(uint64_t offset, void* out, std::size_t size) const {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t got = ::pread(fd_, p, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      throw IoError("cannot read " + Describe(what_, path_) + ": " + std::strerror(error), error);
    }
    if (got == 0) {
      throw IoError("cannot read " + Describe(what_, path_) + ": it became shorter while being read", EIO);
    }
    p += got;
    offset += static_cast<uint64_t>(got);
    size -= static_cast<std::size_t>(got);
  }
}

AtomicFileWriter::AtomicFileWriter(const std::string& path, const std::string& what) : path_(path), what_(what) {
  const std::size_t slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty()) throw InvalidArgument(Describe(what, path) + " names a folder, not a file");
  const std::string prefix = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  RemoveStaleTemporaries(Folder(path), name);
  // Hidden and in the same folder: rename() is atomic only within one file
  // system. The pid tells a later writer whether this one is still alive.
  std::string temp = prefix + "." + name + "." + std::to_string(::getpid()) + ".XXXXXX.tmp";
  std::vector<char> buffer(temp.begin(), temp.end());
  buffer.push_back('\0');
  fd_ = ::mkstemps(buffer.data(), 4);
  if (fd_ < 0) {
    const int error = errno;
    if (error == ENOENT) {
      throw FileNotFound("cannot write " + Describe(what, path) + ": folder '" + Folder(path) + "' does not exist");
    }
    Fail("create a temporary file for", error);
  }
  temp_path_ = buffer.data();
  // mkstemp's 0600 would surprise whoever reads the file next; numpy's files are 0644 too.
  if (::fchmod(fd_, 0644) != 0) Fail("set the permissions of", errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::Fail(const std::string& action, int error) const {
  throw IoError("cannot " + action + " " + Describe(what_, path_) + ": " + std::strerror(error), error);
}

void AtomicFileWriter::Write(const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  offset_ += size;
  while (size > 0) {
    const ssize_t put = ::write(fd_, p, size);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) Fail("write", errno);
    p += put;
    size -= static_cast<std::size_t>(put);
  }
}

void AtomicFileWriter::Commit() {
  if (::fsync(fd_) != 0) Fail("flush", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) Fail("close", errno);
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) Fail("rename the temporary file onto", errno);
  temp_path_.clear();
  // The rename itself is durable only once the folder is.
  const int folder = ::open(Folder(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder < 0) Fail("open the folder of", errno);
  const int synced = ::fsync(folder);
  const int error = errno;
  ::close(folder);
  // Some file systems cannot fsync a folder (EINVAL); the file is still in place.
  if (synced != 0 && error != EINVAL) Fail("flush the folder of", error);
}

}  // namespace litetrain::detail
