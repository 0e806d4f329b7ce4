// Which operator inputs a model may omit. An operator input index of -1 means
// "optional input omitted"; where the operator needs that input, LiteRT's
// CPU path (the XNNPACK delegate's node checks, some builtin kernels) reads
// tensor -1 and the process dies (seen for QUANTIZE, CONV_2D, MUL, ADD, SUB,
// DIV, SQRT, RESHAPE, TRANSPOSE, FULLY_CONNECTED, ONE_HOT, STRIDED_SLICE,
// BATCH_MATMUL, DEQUANTIZE). The checker refuses every -1 outside this table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace litetrain::detail {

// True when input `position` of builtin operator `code` may be -1. False for
// every position of an operator the table does not list, custom ops included.
bool InputMayBeOmitted(int32_t code, std::size_t position) noexcept;

// The fewest inputs builtin operator `code` takes, for the operators whose
// kernels (or LiteRT's loader) index inputs without counting them: a
// BATCH_MATMUL with one input threw out of LiteRT's loader. 0 for the rest.
int MinimumInputs(int32_t code) noexcept;

// True when input `position` of builtin operator `code` decides the shape of
// its output and converters always write it as a constant: the axes of the
// reductions (SUM, MEAN, REDUCE_*). Computed there, the output shape is known
// only at run time; a SUM whose axes index was moved onto an ARG_MAX result
// made LiteRT overflow a heap block during `train`: a bad free in
// LiteRtDestroyCompiledModel under ASan, "free(): invalid next size" and
// SIGABRT without it (fuzz_model).
bool InputMustBeConstant(int32_t code, std::size_t position) noexcept;

// "CONV_2D (3)", or "builtin operator 999" for a code the runtime table
// (runtime_op_versions.inc) does not name.
std::string BuiltinOperatorName(int32_t code);

}  // namespace litetrain::detail
