#include "litert/types.h"

namespace litetrain::litert {

DType FromLiteRt(LiteRtElementType type) noexcept {
  switch (type) {
    case kLiteRtElementTypeFloat32: return DType::kFloat32;
    case kLiteRtElementTypeFloat64: return DType::kFloat64;
    case kLiteRtElementTypeFloat16: return DType::kFloat16;
    case kLiteRtElementTypeInt8: return DType::kInt8;
    case kLiteRtElementTypeInt16: return DType::kInt16;
    case kLiteRtElementTypeInt32: return DType::kInt32;
    case kLiteRtElementTypeInt64: return DType::kInt64;
    case kLiteRtElementTypeUInt8: return DType::kUInt8;
    case kLiteRtElementTypeUInt16: return DType::kUInt16;
    case kLiteRtElementTypeUInt32: return DType::kUInt32;
    case kLiteRtElementTypeUInt64: return DType::kUInt64;
    case kLiteRtElementTypeBool: return DType::kBool;
    default: return DType::kUnsupported;
  }
}

LiteRtElementType ToLiteRt(DType dtype) noexcept {
  switch (dtype) {
    case DType::kFloat32: return kLiteRtElementTypeFloat32;
    case DType::kFloat64: return kLiteRtElementTypeFloat64;
    case DType::kFloat16: return kLiteRtElementTypeFloat16;
    case DType::kInt8: return kLiteRtElementTypeInt8;
    case DType::kInt16: return kLiteRtElementTypeInt16;
    case DType::kInt32: return kLiteRtElementTypeInt32;
    case DType::kInt64: return kLiteRtElementTypeInt64;
    case DType::kUInt8: return kLiteRtElementTypeUInt8;
    case DType::kUInt16: return kLiteRtElementTypeUInt16;
    case DType::kUInt32: return kLiteRtElementTypeUInt32;
    case DType::kUInt64: return kLiteRtElementTypeUInt64;
    case DType::kBool: return kLiteRtElementTypeBool;
    case DType::kUnsupported: break;
  }
  return kLiteRtElementTypeNone;
}

LiteRtRankedTensorType MakeTensorType(DType dtype, const Shape& shape) noexcept {
  LiteRtRankedTensorType type{};
  type.element_type = ToLiteRt(dtype);
  type.layout.rank = static_cast<unsigned>(shape.rank());
  for (int i = 0; i < shape.rank(); ++i) {
    type.layout.dimensions[i] = static_cast<int32_t>(shape[i]);
  }
  return type;
}

}  // namespace litetrain::litert
