// Reading one .npy array out of a file: a whole .npy file, or a stored member
// of an .npz archive.
#pragma once

#include <cstdint>

#include "formats/file_io.h"
#include "litetrain/snapshot.h"

namespace litetrain::detail {

// Reads the .npy array in [offset, offset + size) of `file`; its bytes must
// be exactly a header and the data it declares. If `crc32` is not null it
// receives the CRC-32 of all those bytes. Throws FileFormatError with the
// reason alone (the caller names the file), IoError.
NamedTensor ReadNpyAt(const InputFile& file, uint64_t offset, uint64_t size, uint32_t* crc32 = nullptr);

}  // namespace litetrain::detail
