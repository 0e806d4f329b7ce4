// Files for data (.npy, checkpoints): reads at offsets, whole writes, and
// atomic replacement. Failures become litetrain exceptions naming the path:
// FileNotFound for a missing file or folder, IoError for the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace litetrain::detail {

class InputFile {
 public:
  // `what` names the file in messages ("checkpoint", ".npy file").
  // Throws FileNotFound, IoError (also for a directory).
  InputFile(const std::string& path, const std::string& what);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }
  // Reads exactly `size` bytes at `offset` (callers check the range against
  // size() first; a short read means the file shrank: IoError).
  void ReadAt(uint64_t offset, void* out, std::size_t size) const;

 private:
  std::string path_;
  std::string what_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Writes under a temporary name in the target's folder; Commit() makes the
// bytes durable and renames them over the target, so that a reader sees the
// old file or the complete new one, never a part. Destroyed without a
// Commit (an exception on the way), it removes the temporary file; the
// temporary files of earlier writers to the same path that were killed
// before they could (SIGKILL, power cut) are removed when the next one starts.
class AtomicFileWriter {
 public:
  // Throws FileNotFound (no such folder), IoError.
  AtomicFileWriter(const std::string& path, const std::string& what);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void Write(const void* data, std::size_t size);
  uint64_t offset() const noexcept { return offset_; }
  // fsync, close, rename over the target, fsync of the folder.
  void Commit();

 private:
  [[noreturn]] void Fail(const std::string& action, int error) const;

  std::string path_;
  std::string what_;
  std::string temp_path_;
  int fd_ = -1;
  uint64_t offset_ = 0;
};

}  // namespace litetrain::detail
