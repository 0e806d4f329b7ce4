// Element types of tensors, independent of LiteRT's numbering.
#pragma once

#include <cstddef>
#include <string_view>

#include "litetrain/export.h"

namespace litetrain {

enum class DType {
  kFloat32,
  kFloat64,
  kFloat16,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kBool,
  // Types a signature may declare but litetrain cannot feed or read (string,
  // resource, variant, complex, int4, bfloat16).
  kUnsupported,
};

// Size of one element in bytes; 0 for kUnsupported.
LITETRAIN_API std::size_t ItemSize(DType dtype) noexcept;

// numpy's name for the type ("float32", "int64", "bool", ...).
LITETRAIN_API std::string_view DTypeName(DType dtype) noexcept;

}  // namespace litetrain
