#include "litetrain/cpu_options.h"

#include <cstdio>

#include "litetrain/errors.h"

namespace litetrain {
namespace {

constexpr KernelMode kKernelModes[] = {KernelMode::kXnnpack, KernelMode::kBuiltin, KernelMode::kReference};

std::string Hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%X", value);
  return text;
}

}  // namespace

const char* KernelModeName(KernelMode mode) {
  switch (mode) {
    case KernelMode::kXnnpack: return "xnnpack";
    case KernelMode::kBuiltin: return "builtin";
    case KernelMode::kReference: return "reference";
  }
  return "xnnpack";
}

KernelMode KernelModeFromName(const std::string& name) {
  std::string names;
  for (KernelMode mode : kKernelModes) {
    if (name == KernelModeName(mode)) return mode;
    names += (names.empty() ? "'" : ", '") + std::string(KernelModeName(mode)) + "'";
  }
  throw InvalidArgument("unknown kernel mode '" + name + "'; the kernel modes are: " + names);
}

std::string CpuOptionsToml(const CpuOptions& options) {
  if (options.threads < 0) {
    throw InvalidArgument("threads must be >= 0 (0 keeps the runtime's default), got " +
                          std::to_string(options.threads));
  }
  const uint32_t unknown = options.xnnpack_flags & ~xnnpack_flags::kKnown;
  if (unknown != 0) {
    throw InvalidArgument("XNNPACK flags " + Hex(options.xnnpack_flags) + " set unknown bits " + Hex(unknown) +
                          "; the known flags are " + Hex(xnnpack_flags::kKnown) + " (litetrain/cpu_options.h)");
  }
  for (char c : options.weight_cache_path) {
    if (c == '"' || c == '\\' || c == '\n' || c == '\r') {
      throw InvalidArgument("weight cache path '" + options.weight_cache_path +
                            "' holds a quote, backslash or line break; choose another path");
    }
  }
  std::string toml;
  if (options.threads > 0) toml += "num_threads = " + std::to_string(options.threads) + "\n";
  toml += "flags = " + std::to_string(options.xnnpack_flags) + "\n";
  // Written only when asked for: XNNPACK is the runtime's default mode. The
  // other names are LiteRT's own.
  if (options.kernel_mode != KernelMode::kXnnpack) {
    toml += std::string("kernel_mode = \"") + KernelModeName(options.kernel_mode) + "\"\n";
  }
  if (!options.weight_cache_path.empty()) {
    toml += "weight_cache_file_path = \"" + options.weight_cache_path + "\"\n";
  }
  return toml;
}

}  // namespace litetrain
