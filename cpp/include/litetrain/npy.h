// numpy's .npy files: how a C++ host gets arrays from Python (np.save) and
// hands them back (np.load).
#pragma once

#include <string>

#include "litetrain/export.h"
#include "litetrain/snapshot.h"
#include "litetrain/tensor.h"

namespace litetrain {

// Reads a .npy file (format 1.0-3.0) into memory. The returned tensor's name
// is empty; use view() to feed it to a Dataset.
// Supported: the dtypes of DType (bool, int8..int64, uint8..uint64,
// float16/32/64) in native byte order, C order, rank <= Shape::kMaxRank.
// Throws FileNotFound, IoError, FileFormatError naming the file and the
// problem (damaged header, size mismatch, unsupported dtype or order).
LITETRAIN_API NamedTensor ReadNpy(const std::string& path);

// Writes `tensor` as a .npy file (format 1.0, as np.save does), atomically:
// a temporary file in the same folder renamed over `path`.
// Throws InvalidArgument (unsupported dtype, null data), FileNotFound (no
// such folder), IoError.
LITETRAIN_API void WriteNpy(const std::string& path, const ConstTensorView& tensor);

}  // namespace litetrain
