// How LiteRT runs a model on the CPU: threads, XNNPACK delegate flags,
// kernels, XNNPACK's weight cache.
//
// libLiteRt.so 2.3 takes these as TOML under the opaque-options identifier
// "xnnpack" (its CPU accelerator's parser); CpuOptionsToml writes that text.
#pragma once

#include <cstdint>
#include <string>

#include "litetrain/export.h"

namespace litetrain {

// XNNPACK delegate flags (TFLite's xnnpack_delegate.h).
namespace xnnpack_flags {
inline constexpr uint32_t kQs8 = 0x1;  // signed int8 operators
inline constexpr uint32_t kQu8 = 0x2;  // unsigned int8 operators
inline constexpr uint32_t kForceFp16 = 0x4;
// FULLY_CONNECTED whose weights are not constant: every trainable dense
// layer. Without it those operators run on LiteRT's builtin kernels.
inline constexpr uint32_t kDynamicFullyConnected = 0x8;
inline constexpr uint32_t kTransientIndirectionBuffer = 0x20;
inline constexpr uint32_t kEnableLatestOperators = 0x40;
inline constexpr uint32_t kSlowConsistentArithmetic = 0x200;
inline constexpr uint32_t kKnown = kQs8 | kQu8 | kForceFp16 | kDynamicFullyConnected | kTransientIndirectionBuffer |
                                   kEnableLatestOperators | kSlowConsistentArithmetic;
// The flags the wheel's delegate starts from (its build enables int8 and
// uint8) plus kDynamicFullyConnected. LiteRT's "flags" key replaces the
// delegate's defaults instead of adding to them, so they are spelled out.
inline constexpr uint32_t kDefault = kQs8 | kQu8 | kDynamicFullyConnected;
}  // namespace xnnpack_flags

enum class KernelMode {
  kXnnpack,    // XNNPACK takes every operator it supports, builtin kernels the rest
  kBuiltin,    // LiteRT's builtin kernels only
  kReference,  // TFLite's reference kernels (slow; for checking results)
};

struct CpuOptions {
  // CPU threads; 0 keeps the runtime's default (1).
  int threads = 0;
  // XNNPACK delegate flags (xnnpack_flags::*).
  uint32_t xnnpack_flags = xnnpack_flags::kDefault;
  KernelMode kernel_mode = KernelMode::kXnnpack;
  // File where XNNPACK keeps its packed copy of constant weights, so that
  // the next load of the same model maps it instead of packing again. Only
  // constant weights (frozen layers, inference-only files) are cached; empty:
  // no cache.
  std::string weight_cache_path;
};

// The TOML text LiteRT's CPU accelerator reads. Throws InvalidArgument for
// a negative thread count, unknown flag bits, or a cache path a TOML string
// cannot hold (a quote or a line break).
LITETRAIN_API std::string CpuOptionsToml(const CpuOptions& options);

// "xnnpack", "builtin", "reference"; KernelModeFromName throws
// InvalidArgument listing the valid names.
LITETRAIN_API const char* KernelModeName(KernelMode mode);
LITETRAIN_API KernelMode KernelModeFromName(const std::string& name);

}  // namespace litetrain
