// The one place LiteRT status codes become exceptions.
#pragma once

#include <string>

#include "litert/c_api.h"

namespace litetrain::litert {

// A short name for a status code ("runtime failure", "invalid flatbuffer").
const char* StatusName(LiteRtStatus status) noexcept;

// Throws RuntimeFailure: "<call> failed (status N: <name>) <context>: <detail>".
// `detail` is the runtime's own message, when it gave one.
[[noreturn]] void ThrowFailure(LiteRtStatus status, const char* call, const std::string& context,
                               const std::string& detail = {});

inline void Check(LiteRtStatus status, const char* call, const std::string& context = {}) {
  if (status != kLiteRtStatusOk) ThrowFailure(status, call, context);
}

}  // namespace litetrain::litert
