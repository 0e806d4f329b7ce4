// Process-wide settings of the LiteRT runtime that litetrain drives.
#pragma once

#include <string>

#include "litetrain/export.h"

namespace litetrain {

// Where libLiteRt.so is looked for when a Model gets no explicit path and
// $LITETRAIN_LITERT_LIB is unset. The Python package sets it to the copy in
// the installed `ai_edge_litert` package; C++ hosts may set it or rely on the
// loader's search path ("libLiteRt.so").
LITETRAIN_API void SetDefaultLibraryPath(const std::string& path);
LITETRAIN_API std::string DefaultLibraryPath();

// How much LiteRT itself may print to stderr. Silent by default: a library
// should be quiet unless asked. $LITETRAIN_LOG (silent, error, warning, info,
// verbose) sets the initial value. Applies to models created afterwards.
enum class LogLevel { kVerbose, kInfo, kWarning, kError, kSilent };
LITETRAIN_API void SetLogLevel(LogLevel level);
LITETRAIN_API LogLevel GetLogLevel();
// Parses "silent" | "error" | "warning" | "info" | "verbose" (any case).
// Throws InvalidArgument for anything else.
LITETRAIN_API LogLevel ParseLogLevel(const std::string& name);

}  // namespace litetrain
