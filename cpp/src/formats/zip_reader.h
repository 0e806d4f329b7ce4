// Reads the directory of a zip archive whose members are stored
// (uncompressed), as np.savez writes them, zip64 included.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/file_io.h"

namespace litetrain::detail {

struct ZipMember {
  std::string name;
  uint32_t crc32 = 0;        // as the directory records it; the reader checks the data
  uint64_t size = 0;         // bytes of data
  uint64_t data_offset = 0;  // where the data starts in the file
};

// The members in directory order, each checked against its local header and
// the file's bounds. Throws FileFormatError saying what is wrong (no end
// record: truncated or not a zip; a compressed or encrypted member; offsets
// out of range; a repeated name).
std::vector<ZipMember> ReadZipDirectory(const InputFile& file);

}  // namespace litetrain::detail
