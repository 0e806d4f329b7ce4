// Our own declarations of the part of LiteRT's C API that litetrain uses.
//
// libLiteRt.so (from the `ai-edge-litert` wheel) ships no headers, so the
// types and prototypes below are written from LiteRT's public C headers
// (litert/c/*.h) and checked against the library we pin (ai-edge-litert
// 2.3.x) by cpp/tests/litert_api_test.cc, which calls every one of them.
//
// The prototypes are never linked: litetrain resolves each function at run
// time (see library.h) and only uses `decltype(&Name)` of them, so that a
// mismatch between this file and a call site is a compile error.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

// --- litert_common.h ---------------------------------------------------------

typedef struct LiteRtEnvironmentT* LiteRtEnvironment;
typedef struct LiteRtModelT* LiteRtModel;
typedef struct LiteRtSignatureT* LiteRtSignature;
typedef struct LiteRtSubgraphT* LiteRtSubgraph;
typedef struct LiteRtTensorT* LiteRtTensor;
typedef struct LiteRtOptionsT* LiteRtOptions;
typedef struct LiteRtOpaqueOptionsT* LiteRtOpaqueOptions;
typedef struct LiteRtCompiledModelT* LiteRtCompiledModel;
typedef struct LiteRtTensorBufferT* LiteRtTensorBuffer;
typedef struct LiteRtTensorBufferRequirementsT* LiteRtTensorBufferRequirements;
typedef struct LiteRtProfilerT* LiteRtProfiler;

typedef size_t LiteRtParamIndex;
typedef int LiteRtHwAcceleratorSet;

// Status codes; the values are part of the C ABI.
typedef enum {
  kLiteRtStatusOk = 0,
  kLiteRtStatusErrorInvalidArgument = 1,
  kLiteRtStatusErrorMemoryAllocationFailure = 2,
  kLiteRtStatusErrorRuntimeFailure = 3,
  kLiteRtStatusErrorMissingInputTensor = 4,
  kLiteRtStatusErrorUnsupported = 5,
  kLiteRtStatusErrorNotFound = 6,
  kLiteRtStatusErrorTimeoutExpired = 7,
  kLiteRtStatusErrorWrongVersion = 8,
  kLiteRtStatusErrorUnknown = 9,
  kLiteRtStatusErrorAlreadyExists = 10,
  kLiteRtStatusCancelled = 100,
  kLiteRtStatusErrorFileIO = 500,
  kLiteRtStatusErrorInvalidFlatbuffer = 501,
  kLiteRtStatusErrorDynamicLoading = 502,
  kLiteRtStatusErrorSerialization = 503,
  kLiteRtStatusErrorCompilation = 504,
  kLiteRtStatusErrorIndexOOB = 1000,
  kLiteRtStatusErrorInvalidIrType = 1001,
} LiteRtStatus;

enum { kLiteRtHwAcceleratorCpu = 1 << 0 };

// --- litert_any.h / litert_environment_options.h -----------------------------

typedef enum {
  kLiteRtAnyTypeNone = 0,
  kLiteRtAnyTypeBool = 1,
  kLiteRtAnyTypeInt = 2,
  kLiteRtAnyTypeReal = 3,
  kLiteRtAnyTypeString = 8,
  kLiteRtAnyTypeVoidPtr = 9,
} LiteRtAnyType;

typedef struct {
  LiteRtAnyType type;
  union {
    bool bool_value;
    int64_t int_value;
    double real_value;
    const char* str_value;
    const void* ptr_value;
  };
} LiteRtAny;

// Only the tags litetrain sets.
typedef enum {
  kLiteRtEnvOptionTagMinLoggerSeverity = 25,
} LiteRtEnvOptionTag;

typedef struct {
  LiteRtEnvOptionTag tag;
  LiteRtAny value;
} LiteRtEnvOption;

// litert_logging.h: severities accepted by kLiteRtEnvOptionTagMinLoggerSeverity.
enum {
  kLiteRtLogSeverityVerbose = 0,
  kLiteRtLogSeverityInfo = 1,
  kLiteRtLogSeverityWarning = 2,
  kLiteRtLogSeverityError = 3,
  kLiteRtLogSeveritySilent = 4,
};

// litert_common.h: error reporter modes of the runtime options payload.
enum { kLiteRtErrorReporterModeBuffer = 2 };

// --- litert_layout.h / litert_model_types.h -----------------------------------

#define LITERT_TENSOR_MAX_RANK 8

typedef struct {
  unsigned int rank : 7;
  unsigned int has_strides : 1;
  int32_t dimensions[LITERT_TENSOR_MAX_RANK];
  uint32_t strides[LITERT_TENSOR_MAX_RANK];
} LiteRtLayout;

// Same numbering as TfLiteType.
typedef enum {
  kLiteRtElementTypeNone = 0,
  kLiteRtElementTypeFloat32 = 1,
  kLiteRtElementTypeInt32 = 2,
  kLiteRtElementTypeUInt8 = 3,
  kLiteRtElementTypeInt64 = 4,
  kLiteRtElementTypeTfString = 5,
  kLiteRtElementTypeBool = 6,
  kLiteRtElementTypeInt16 = 7,
  kLiteRtElementTypeComplex64 = 8,
  kLiteRtElementTypeInt8 = 9,
  kLiteRtElementTypeFloat16 = 10,
  kLiteRtElementTypeFloat64 = 11,
  kLiteRtElementTypeComplex128 = 12,
  kLiteRtElementTypeUInt64 = 13,
  kLiteRtElementTypeTfResource = 14,
  kLiteRtElementTypeTfVariant = 15,
  kLiteRtElementTypeUInt32 = 16,
  kLiteRtElementTypeUInt16 = 17,
  kLiteRtElementTypeInt4 = 18,
  kLiteRtElementTypeBFloat16 = 19,
} LiteRtElementType;

typedef struct {
  LiteRtElementType element_type;
} LiteRtUnrankedTensorType;

typedef struct {
  LiteRtElementType element_type;
  LiteRtLayout layout;
} LiteRtRankedTensorType;

typedef enum {
  kLiteRtRankedTensorType = 0,
  kLiteRtUnrankedTensorType = 1,
} LiteRtTensorTypeId;

typedef void (*LiteRtHostMemoryDeallocator)(void* addr);

// --- litert_environment.h -----------------------------------------------------

LiteRtStatus LiteRtCreateEnvironment(int num_options, const LiteRtEnvOption* options, LiteRtEnvironment* environment);
void LiteRtDestroyEnvironment(LiteRtEnvironment environment);

// --- litert_model.h -----------------------------------------------------------

LiteRtStatus LiteRtCreateModelFromBuffer(LiteRtEnvironment environment, const void* buffer_addr, size_t buffer_size,
                                         LiteRtModel* model);
void LiteRtDestroyModel(LiteRtModel model);
LiteRtStatus LiteRtGetNumModelSignatures(LiteRtModel model, LiteRtParamIndex* num_signatures);
LiteRtStatus LiteRtGetModelSignature(LiteRtModel model, LiteRtParamIndex signature_index, LiteRtSignature* signature);
LiteRtStatus LiteRtGetSignatureKey(LiteRtSignature signature, const char** signature_key);
LiteRtStatus LiteRtGetSignatureSubgraph(LiteRtSignature signature, LiteRtSubgraph* subgraph);
LiteRtStatus LiteRtGetNumSubgraphOps(LiteRtSubgraph subgraph, LiteRtParamIndex* num_ops);
LiteRtStatus LiteRtGetNumSignatureInputs(LiteRtSignature signature, LiteRtParamIndex* num_inputs);
LiteRtStatus LiteRtGetSignatureInputName(LiteRtSignature signature, LiteRtParamIndex input_idx,
                                         const char** input_name);
LiteRtStatus LiteRtGetSignatureInputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex input_idx,
                                                  LiteRtTensor* tensor);
LiteRtStatus LiteRtGetNumSignatureOutputs(LiteRtSignature signature, LiteRtParamIndex* num_outputs);
LiteRtStatus LiteRtGetSignatureOutputName(LiteRtSignature signature, LiteRtParamIndex output_idx,
                                          const char** output_name);
LiteRtStatus LiteRtGetSignatureOutputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex output_idx,
                                                   LiteRtTensor* tensor);
LiteRtStatus LiteRtGetTensorTypeId(LiteRtTensor tensor, LiteRtTensorTypeId* type_id);
LiteRtStatus LiteRtGetRankedTensorType(LiteRtTensor tensor, LiteRtRankedTensorType* ranked_type);
LiteRtStatus LiteRtGetUnrankedTensorType(LiteRtTensor tensor, LiteRtUnrankedTensorType* unranked_type);

// --- litert_options.h / litert_opaque_options.h ------------------------------

LiteRtStatus LiteRtCreateOptions(LiteRtOptions* options);
void LiteRtDestroyOptions(LiteRtOptions options);
LiteRtStatus LiteRtSetOptionsHardwareAccelerators(LiteRtOptions options, LiteRtHwAcceleratorSet hardware_accelerators);
LiteRtStatus LiteRtAddOpaqueOptions(LiteRtOptions options, LiteRtOpaqueOptions opaque_options);
LiteRtStatus LiteRtCreateOpaqueOptions(const char* payload_identifier, void* payload_data,
                                       void (*payload_destructor)(void*), LiteRtOpaqueOptions* options);
void LiteRtDestroyOpaqueOptions(LiteRtOpaqueOptions options);

// --- litert_compiled_model.h --------------------------------------------------

LiteRtStatus LiteRtCreateCompiledModel(LiteRtEnvironment environment, LiteRtModel model,
                                       LiteRtOptions compilation_options, LiteRtCompiledModel* compiled_model);
void LiteRtDestroyCompiledModel(LiteRtCompiledModel compiled_model);
LiteRtStatus LiteRtGetCompiledModelInputBufferRequirements(LiteRtCompiledModel compiled_model,
                                                           LiteRtParamIndex signature_index,
                                                           LiteRtParamIndex input_index,
                                                           LiteRtTensorBufferRequirements* buffer_requirements);
LiteRtStatus LiteRtGetCompiledModelOutputBufferRequirements(LiteRtCompiledModel compiled_model,
                                                            LiteRtParamIndex signature_index,
                                                            LiteRtParamIndex output_index,
                                                            LiteRtTensorBufferRequirements* buffer_requirements);
LiteRtStatus LiteRtGetCompiledModelOutputTensorLayouts(LiteRtCompiledModel compiled_model,
                                                       LiteRtParamIndex signature_index, size_t num_layouts,
                                                       LiteRtLayout* layouts, bool update_allocation);
LiteRtStatus LiteRtCompiledModelResizeInputTensor(LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,
                                                  LiteRtParamIndex input_index, const int* dims, size_t dims_size);
LiteRtStatus LiteRtRunCompiledModel(LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,
                                    size_t num_input_buffers, LiteRtTensorBuffer* input_buffers,
                                    size_t num_output_buffers, LiteRtTensorBuffer* output_buffers);
// The returned string is malloc'ed; the caller frees it. Only filled when the
// runtime options select the buffer error reporter.
LiteRtStatus LiteRtCompiledModelGetErrorMessages(LiteRtCompiledModel compiled_model, char** error_messages);
LiteRtStatus LiteRtCompiledModelClearErrors(LiteRtCompiledModel compiled_model);

// Only set when the runtime options enable profiling; the compiled model owns it.
LiteRtStatus LiteRtCompiledModelGetProfiler(LiteRtCompiledModel compiled_model, LiteRtProfiler* profiler);

// --- litert_profiler.h / litert_profiler_event.h -------------------------------

// Event types (tflite::Profiler::EventType) litetrain reads.
enum {
  kLiteRtProfilerOperatorInvokeEvent = 1 << 1,          // metadata1: node, metadata2: subgraph
  kLiteRtProfilerDelegateOperatorInvokeEvent = 1 << 2,  // a delegate's own operator
  kLiteRtProfilerDelegateProfiledOperatorInvokeEvent = 1 << 3,
};

// LiteRT copies its own event records (whose memory-usage fields differ
// between releases) into this array; profile.cc reads it through a byte
// buffer of the measured record size (LiteRtProfilerEventRecord below).
LiteRtStatus LiteRtStartProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtStopProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtResetProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtGetNumProfilerEvents(LiteRtProfiler profiler, int* num_events);
LiteRtStatus LiteRtGetProfilerEvents(LiteRtProfiler profiler, int num_events, void* events);

// --- litert_tensor_buffer.h / litert_tensor_buffer_requirements.h ------------

LiteRtStatus LiteRtCreateTensorBufferFromHostMemory(const LiteRtRankedTensorType* tensor_type, void* host_buffer_addr,
                                                    size_t host_buffer_size, LiteRtHostMemoryDeallocator deallocator,
                                                    LiteRtTensorBuffer* buffer);
void LiteRtDestroyTensorBuffer(LiteRtTensorBuffer buffer);
LiteRtStatus LiteRtGetTensorBufferTensorType(LiteRtTensorBuffer tensor_buffer, LiteRtRankedTensorType* tensor_type);
LiteRtStatus LiteRtGetTensorBufferSize(LiteRtTensorBuffer tensor_buffer, size_t* size);
LiteRtStatus LiteRtGetTensorBufferHostMemory(LiteRtTensorBuffer tensor_buffer, void** host_memory_addr);
LiteRtStatus LiteRtGetTensorBufferRequirementsBufferSize(LiteRtTensorBufferRequirements requirements,
                                                         size_t* buffer_size);

}  // extern "C"

// The documented sizes on 64-bit targets (litert_layout.h,
// litert_model_types.h, litert_any.h, litert_environment_options.h).
static_assert(sizeof(void*) != 8 || sizeof(LiteRtLayout) == 68, "LiteRtLayout must be 68 bytes");
static_assert(sizeof(void*) != 8 || offsetof(LiteRtLayout, dimensions) == 4,
              "LiteRtLayout::dimensions must be at offset 4");
static_assert(sizeof(void*) != 8 || offsetof(LiteRtLayout, strides) == 36,
              "LiteRtLayout::strides must be at offset 36");
static_assert(sizeof(void*) != 8 || sizeof(LiteRtRankedTensorType) == 72, "LiteRtRankedTensorType must be 72 bytes");
static_assert(sizeof(void*) != 8 || offsetof(LiteRtRankedTensorType, layout) == 4,
              "LiteRtRankedTensorType::layout must be at offset 4");
static_assert(sizeof(void*) != 8 || sizeof(LiteRtAny) == 16, "LiteRtAny must be 16 bytes");
static_assert(sizeof(void*) != 8 || sizeof(LiteRtEnvOption) == 24, "LiteRtEnvOption must be 24 bytes");
static_assert(sizeof(void*) != 8 || offsetof(LiteRtEnvOption, value) == 8,
              "LiteRtEnvOption::value must be at offset 8");
