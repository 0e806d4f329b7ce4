// The LiteRT C API, resolved at run time from libLiteRt.so.
//
// litetrain never links libLiteRt.so: the library is found at run time (an
// explicit path, $LITETRAIN_LITERT_LIB, the path Python registers from the
// installed `ai_edge_litert` package, or the system's search path), so one
// build works with the wheel's copy or a host's own.
#pragma once

#include <memory>
#include <string>

#include "litert/c_api.h"

namespace litetrain::litert {

// Every LiteRT function litetrain calls. One line here, one pointer below.
#define LITETRAIN_LITERT_FUNCTIONS(X)               \
  X(LiteRtCreateEnvironment)                        \
  X(LiteRtDestroyEnvironment)                       \
  X(LiteRtCreateModelFromBuffer)                    \
  X(LiteRtDestroyModel)                             \
  X(LiteRtGetNumModelSignatures)                    \
  X(LiteRtGetModelSignature)                        \
  X(LiteRtGetSignatureKey)                          \
  X(LiteRtGetSignatureSubgraph)                     \
  X(LiteRtGetNumSubgraphOps)                        \
  X(LiteRtGetNumSignatureInputs)                    \
  X(LiteRtGetSignatureInputName)                    \
  X(LiteRtGetSignatureInputTensorByIndex)           \
  X(LiteRtGetNumSignatureOutputs)                   \
  X(LiteRtGetSignatureOutputName)                   \
  X(LiteRtGetSignatureOutputTensorByIndex)          \
  X(LiteRtGetTensorTypeId)                          \
  X(LiteRtGetRankedTensorType)                      \
  X(LiteRtGetUnrankedTensorType)                    \
  X(LiteRtCreateOptions)                            \
  X(LiteRtDestroyOptions)                           \
  X(LiteRtSetOptionsHardwareAccelerators)           \
  X(LiteRtAddOpaqueOptions)                         \
  X(LiteRtCreateOpaqueOptions)                      \
  X(LiteRtDestroyOpaqueOptions)                     \
  X(LiteRtCreateCompiledModel)                      \
  X(LiteRtDestroyCompiledModel)                     \
  X(LiteRtGetCompiledModelInputBufferRequirements)  \
  X(LiteRtGetCompiledModelOutputBufferRequirements) \
  X(LiteRtGetCompiledModelOutputTensorLayouts)      \
  X(LiteRtCompiledModelResizeInputTensor)           \
  X(LiteRtRunCompiledModel)                         \
  X(LiteRtCompiledModelGetErrorMessages)            \
  X(LiteRtCompiledModelClearErrors)                 \
  X(LiteRtCompiledModelGetProfiler)                 \
  X(LiteRtStartProfiler)                            \
  X(LiteRtStopProfiler)                             \
  X(LiteRtResetProfiler)                            \
  X(LiteRtGetNumProfilerEvents)                     \
  X(LiteRtGetProfilerEvents)                        \
  X(LiteRtCreateTensorBufferFromHostMemory)         \
  X(LiteRtDestroyTensorBuffer)                      \
  X(LiteRtGetTensorBufferTensorType)                \
  X(LiteRtGetTensorBufferSize)                      \
  X(LiteRtGetTensorBufferHostMemory)                \
  X(LiteRtGetTensorBufferRequirementsBufferSize)

// A loaded libLiteRt.so and the addresses of the functions above.
struct Api {
#define LITETRAIN_DECLARE_POINTER(name) decltype(&::name) name = nullptr;
  LITETRAIN_LITERT_FUNCTIONS(LITETRAIN_DECLARE_POINTER)
#undef LITETRAIN_DECLARE_POINTER

  std::string path;        // the file that was loaded
  void* handle = nullptr;  // from dlopen; never closed (see library.cc)
};

// Loads libLiteRt.so once per distinct path and returns its function table.
// `explicit_path` empty means: $LITETRAIN_LITERT_LIB, else the default path
// (set_default_library_path), else "libLiteRt.so" on the loader's search path.
// Throws litetrain::LibraryError naming what was tried and what to install.
std::shared_ptr<const Api> LoadApi(const std::string& explicit_path);

}  // namespace litetrain::litert
