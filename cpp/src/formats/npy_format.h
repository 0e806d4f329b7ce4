// The .npy header: encoding and parsing, in memory. File access is the
// caller's (npy.cc for plain files, checkpoint.cc for zip members).
//
// A .npy file is: "\x93NUMPY", major and minor version bytes, the header
// length (uint16 little-endian in version 1, uint32 in 2 and 3), the header
// (a Python dict literal such as {'descr': '<f4', 'fortran_order': False,
// 'shape': (64, 32), } padded with spaces and ending in '\n'), the data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "litetrain/dtype.h"
#include "litetrain/tensor.h"

namespace litetrain::detail {

// Bytes to read first: enough for the preamble of every version.
inline constexpr std::size_t kNpyPreambleMax = 12;
// Longest header accepted: ours are under 200 bytes; the cap keeps a damaged
// length field from asking for gigabytes.
inline constexpr std::size_t kNpyMaxHeader = 64 * 1024;

bool HasNpyMagic(const uint8_t* data, std::size_t size) noexcept;

// Size of the whole header (preamble included), i.e. where the data starts,
// from the first min(kNpyPreambleMax, file size) bytes.
// Throws FileFormatError (no magic, unknown version, absurd length).
std::size_t NpyHeaderSize(const uint8_t* start, std::size_t available);

struct NpyHeader {
  DType dtype = DType::kUnsupported;
  Shape shape;
  std::size_t data_offset = 0;  // == NpyHeaderSize
  uint64_t data_bytes = 0;      // elements * item size
};

// Parses a whole header (`size` == NpyHeaderSize(...)). Throws
// FileFormatError for a malformed header and for arrays litetrain does not
// read (unsupported dtype, other byte order, Fortran order, rank > 8).
NpyHeader ParseNpyHeader(const uint8_t* header, std::size_t size);

// The header numpy writes for a C-order array of `dtype` and `shape`
// (version 1.0; 2.0 only if the text would not fit, which rank <= 8 never
// needs), padded so that the data starts at a multiple of 64 bytes.
// Throws InvalidArgument for kUnsupported.
std::string EncodeNpyHeader(DType dtype, const Shape& shape);

// numpy's dtype string for `dtype` in native byte order ("<f4", "|b1").
std::string NpyDescr(DType dtype);

// Python's repr of the shape as a tuple: "()", "(3,)", "(2, 3)".
std::string ShapeTupleRepr(const Shape& shape);

}  // namespace litetrain::detail
