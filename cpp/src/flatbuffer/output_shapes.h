// Output shapes that LiteRT computes at run time, checked against the declared
// ones where static shapes and constant data decide them. LiteRT ignores a
// declared output shape, but the rest of the checker (the size limit on
// computed tensors, resource variables) trusts it, so a damaged one must be
// refused here (model_verifier.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tflite_generated.h"

namespace litetrain::detail {

// The tensor's shape when every dimension is static (false for a dynamic one).
bool StaticShape(const tflite_fb::Tensor& tensor, std::vector<int32_t>& shape);

// "[2, 3]".
std::string ShapeText(const std::vector<int32_t>& shape);

// For builtin operator `code`: where the operator's first output shape
// follows from static input shapes and constant inputs (TRANSPOSE, the
// broadcasting elementwise operators, PAD / PADV2 / MIRROR_PAD, RESHAPE,
// FULLY_CONNECTED), the declared shape must be that one; throws
// ModelFormatError naming `where` otherwise. Inputs the kernel itself
// refuses (ranks that disagree, negative paddings) are left to it.
void CheckOutputShape(const std::string& where, int32_t code, const tflite_fb::Operator& op,
                      const tflite_fb::SubGraph& subgraph, const tflite_fb::Model& model);

}  // namespace litetrain::detail
