// TFLite's BuiltinOperator codes that litetrain's checks and rewrites name.
// Our schema (cpp/schema/tflite.fbs) keeps operator codes as plain integers,
// so this is the one list of the ones we use; tests/model_verifier_test.cc
// (BuiltinCodes) checks every one against the runtime's operator table.
#pragma once

#include <cstdint>

namespace litetrain::builtin {

inline constexpr int32_t kAdd = 0;
inline constexpr int32_t kConv2d = 3;
inline constexpr int32_t kDepthwiseConv2d = 4;
inline constexpr int32_t kFullyConnected = 9;
inline constexpr int32_t kMul = 18;
inline constexpr int32_t kReshape = 22;
inline constexpr int32_t kCustom = 32;
inline constexpr int32_t kPad = 34;
inline constexpr int32_t kTranspose = 39;
inline constexpr int32_t kSub = 41;
inline constexpr int32_t kDiv = 42;
inline constexpr int32_t kSqueeze = 43;
inline constexpr int32_t kCast = 53;
inline constexpr int32_t kMaximum = 55;
inline constexpr int32_t kMinimum = 57;
inline constexpr int32_t kPadV2 = 60;
inline constexpr int32_t kTransposeConv = 67;
inline constexpr int32_t kExpandDims = 70;
inline constexpr int32_t kOneHot = 85;
inline constexpr int32_t kSquaredDifference = 99;
inline constexpr int32_t kMirrorPad = 100;
inline constexpr int32_t kIf = 118;
inline constexpr int32_t kWhile = 119;
inline constexpr int32_t kCallOnce = 129;
inline constexpr int32_t kVarHandle = 142;
inline constexpr int32_t kReadVariable = 143;
inline constexpr int32_t kAssignVariable = 144;

}  // namespace litetrain::builtin
