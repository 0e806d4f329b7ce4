#include "formats/npy_io.h"

#include <algorithm>
#include <vector>

#include "formats/crc32.h"
#include "formats/npy_format.h"
#include "litetrain/errors.h"

namespace litetrain::detail {

NamedTensor ReadNpyAt(const InputFile& file, uint64_t offset, uint64_t size, uint32_t* crc32) {
  uint8_t preamble[kNpyPreambleMax];
  const std::size_t start = static_cast<std::size_t>(std::min<uint64_t>(size, sizeof preamble));
  file.ReadAt(offset, preamble, start);
  const std::size_t header_size = NpyHeaderSize(preamble, start);
  if (header_size > size) throw FileFormatError("the .npy header is truncated");
  std::vector<uint8_t> header(header_size);
  file.ReadAt(offset, header.data(), header.size());
  const NpyHeader parsed = ParseNpyHeader(header.data(), header.size());
  if (parsed.data_bytes != size - header_size) {
    throw FileFormatError("a " + std::string(DTypeName(parsed.dtype)) + parsed.shape.to_string() + " array needs " +
                          std::to_string(parsed.data_bytes) + " bytes of data, there are " +
                          std::to_string(size - header_size));
  }
  NamedTensor tensor;
  tensor.dtype = parsed.dtype;
  tensor.shape = parsed.shape;
  tensor.bytes.resize(static_cast<std::size_t>(parsed.data_bytes));
  file.ReadAt(offset + header_size, tensor.bytes.data(), tensor.bytes.size());
  if (crc32 != nullptr) *crc32 = Crc32(tensor.bytes.data(), tensor.bytes.size(), Crc32(header.data(), header.size()));
  return tensor;
}

}  // namespace litetrain::detail
