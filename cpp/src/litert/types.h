// Conversions between litetrain's types and LiteRT's.
#pragma once

#include "litert/c_api.h"
#include "litetrain/dtype.h"
#include "litetrain/tensor.h"

namespace litetrain::litert {

DType FromLiteRt(LiteRtElementType type) noexcept;
// kLiteRtElementTypeNone for DType::kUnsupported.
LiteRtElementType ToLiteRt(DType dtype) noexcept;
// A ranked tensor type with concrete dimensions. `shape` must have none < 0.
LiteRtRankedTensorType MakeTensorType(DType dtype, const Shape& shape) noexcept;

}  // namespace litetrain::litert
