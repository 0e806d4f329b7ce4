#include "litert/status.h"

#include "litetrain/errors.h"

namespace litetrain::litert {

const char* StatusName(LiteRtStatus status) noexcept {
  switch (status) {
    case kLiteRtStatusOk: return "ok";
    case kLiteRtStatusErrorInvalidArgument: return "invalid argument";
    case kLiteRtStatusErrorMemoryAllocationFailure: return "memory allocation failure";
    case kLiteRtStatusErrorRuntimeFailure: return "runtime failure";
    case kLiteRtStatusErrorMissingInputTensor: return "missing input tensor";
    case kLiteRtStatusErrorUnsupported: return "unsupported";
    case kLiteRtStatusErrorNotFound: return "not found";
    case kLiteRtStatusErrorTimeoutExpired: return "timeout expired";
    case kLiteRtStatusErrorWrongVersion: return "wrong version";
    case kLiteRtStatusErrorUnknown: return "unknown error";
    case kLiteRtStatusErrorAlreadyExists: return "already exists";
    case kLiteRtStatusCancelled: return "cancelled";
    case kLiteRtStatusErrorFileIO: return "file I/O error";
    case kLiteRtStatusErrorInvalidFlatbuffer: return "invalid flatbuffer";
    case kLiteRtStatusErrorDynamicLoading: return "dynamic loading error";
    case kLiteRtStatusErrorSerialization: return "serialization error";
    case kLiteRtStatusErrorCompilation: return "compilation error";
    case kLiteRtStatusErrorIndexOOB: return "index out of bounds";
    case kLiteRtStatusErrorInvalidIrType: return "invalid IR type";
  }
  return "unrecognised status";
}

void ThrowFailure(LiteRtStatus status, const char* call, const std::string& context, const std::string& detail) {
  std::string message = std::string(call) + " failed (status " + std::to_string(static_cast<int>(status)) + ": " +
                        StatusName(status) + ")";
  if (!context.empty()) message += " " + context;
  if (!detail.empty()) message += ": " + detail;
  throw RuntimeFailure(message, static_cast<int>(status));
}

}  // namespace litetrain::litert
