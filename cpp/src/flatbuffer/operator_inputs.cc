#include "flatbuffer/operator_inputs.h"

#include <initializer_list>

namespace litetrain::detail {
namespace {

// A set of input positions (all below 64) as bits.
constexpr uint64_t Positions(std::initializer_list<int> positions) {
  uint64_t bits = 0;
  for (int p : positions) bits |= uint64_t{1} << p;
  return bits;
}

struct OptionalInputs {
  int32_t code;
  uint64_t positions;  // inputs the kernel fetches as optional
  int from = -1;       // and every input from this one on (-1: none)
};

// From the kernels of the runtime (LiteRT's tflite/kernels/*.cc: the inputs
// read with GetOptionalInputTensor or tested against kTfLiteOptionalTensor),
// checked against the XNNPACK delegate, which handles -1 only for the FC and
// TRANSPOSE_CONV biases and refuses the rest before reading them. Left out on
// purpose: CONV_2D and DEPTHWISE_CONV_2D biases (both kernels require them)
// and RESHAPE's shape (its one-input form is the optional one; a -1 shape is
// dereferenced in Prepare).
constexpr OptionalInputs kOptionalInputs[] = {
    {9, Positions({2})},                                             // FULLY_CONNECTED: bias
    {16, Positions({1, 5, 9, 10, 11, 12, 16, 17, 20, 21, 22, 23})},  // LSTM (lstm_shared.h)
    {27, Positions({3})},                                            // SVDF: bias
    {34, Positions({2})},                                            // PAD: constant values (pad.cc)
    {44, Positions({1, 5, 9, 10, 11, 12, 16, 17, 20, 21, 22, 23})},  // UNIDIRECTIONAL_SEQUENCE_LSTM
    {46, Positions({9, 10, 11})},                                    // BIDIRECTIONAL_SEQUENCE_RNN: aux input, weights
    // BIDIRECTIONAL_SEQUENCE_LSTM: both directions' optional weights and biases, the aux inputs
    {52, Positions({1, 5, 9, 10, 11, 12, 16, 17, 18, 22, 26, 27, 28, 29, 33, 34, 39, 40, 41, 42, 43, 44, 45, 46, 47})},
    {60, Positions({2})},     // PADV2: constant values
    {67, Positions({3})},     // TRANSPOSE_CONV: bias
    {118, Positions({}), 1},  // IF: branch inputs (if.cc skips them)
};

struct InputCount {
  int32_t code;
  int minimum;
};

// From the NumInputs checks of LiteRT's kernels (tflite/kernels/*.cc); the
// ops of converted training and inference graphs first.
constexpr InputCount kMinimumInputs[] = {
    {0, 2},  {2, 1},  {3, 2},  {4, 2},  {9, 2},  {18, 2},  {22, 1},  {34, 2},  {36, 2},  {39, 2}, {40, 2},
    {41, 2}, {42, 2}, {45, 4}, {49, 2}, {55, 2}, {56, 2},  {57, 2},  {58, 2},  {61, 2},  {62, 2}, {63, 2},
    {64, 3}, {65, 3}, {67, 3}, {69, 2}, {70, 2}, {71, 2},  {72, 2},  {74, 2},  {78, 2},  {79, 2}, {81, 2},
    {82, 2}, {85, 4}, {89, 2}, {94, 2}, {99, 2}, {107, 2}, {123, 3}, {126, 2}, {130, 2},
};

// Operators whose input 1 is the axes to reduce: MEAN, SUM, REDUCE_PROD,
// REDUCE_MAX, REDUCE_MIN, REDUCE_ANY, REDUCE_ALL (all take ReducerOptions).
constexpr int32_t kReductions[] = {40, 74, 81, 82, 89, 91, 140};

struct OperatorRow {
  int32_t code;
  const char* name;
  int32_t tflite_runtime_2_14;
};

constexpr OperatorRow kOperators[] = {
#include "runtime_op_versions.inc"
};

}  // namespace

bool InputMayBeOmitted(int32_t code, std::size_t position) noexcept {
  for (const OptionalInputs& row : kOptionalInputs) {
    if (row.code != code) continue;
    if (row.from >= 0 && position >= static_cast<std::size_t>(row.from)) return true;
    return position < 64 && (row.positions >> position & 1) != 0;
  }
  return false;
}

int MinimumInputs(int32_t code) noexcept {
  for (const InputCount& row : kMinimumInputs) {
    if (row.code == code) return row.minimum;
  }
  return 0;
}

bool InputMustBeConstant(int32_t code, std::size_t position) noexcept {
  if (position != 1) return false;
  for (int32_t reduction : kReductions) {
    if (reduction == code) return true;
  }
  return false;
}

std::string BuiltinOperatorName(int32_t code) {
  for (const OperatorRow& row : kOperators) {
    if (row.code == code) return std::string(row.name) + " (" + std::to_string(code) + ")";
  }
  return "builtin operator " + std::to_string(code);
}

}  // namespace litetrain::detail
