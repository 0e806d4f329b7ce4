// Zip archives of stored (uncompressed) members, the container of .npz files:
// what numpy, Python's zipfile and unzip read. Zip64 records are written
// where a size, an offset or the member count needs them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "formats/file_io.h"

namespace litetrain::detail {

class ZipWriter {
 public:
  struct Part {
    const void* data;
    std::size_t size;
  };

  // Writes to `out` from its current offset. `force_zip64` writes zip64
  // records for every member and the end, as a 4 GiB archive would need
  // (lets tests cover that path with small files).
  explicit ZipWriter(AtomicFileWriter& out, bool force_zip64 = false);

  // Adds a member whose bytes are `parts` in order. Throws InvalidArgument
  // for a name longer than zip allows (65,535 bytes) or a repeated one.
  void Add(const std::string& name, const std::vector<Part>& parts);

  // Writes the central directory and the end records. Call once, last.
  void Finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc32;
    uint64_t size;
    uint64_t offset;  // of the local header
  };

  AtomicFileWriter& out_;
  bool force_zip64_;
  std::vector<Entry> entries_;
  std::set<std::string> names_;
};

}  // namespace litetrain::detail
