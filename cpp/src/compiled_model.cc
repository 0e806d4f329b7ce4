#include "compiled_model.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "litert/status.h"
#include "litert/types.h"
#include "litetrain/errors.h"
#include "litetrain/runtime.h"

namespace litetrain::detail {
namespace {

int ToLiteRtSeverity(LogLevel level) {
  switch (level) {
    case LogLevel::kVerbose: return kLiteRtLogSeverityVerbose;
    case LogLevel::kInfo: return kLiteRtLogSeverityInfo;
    case LogLevel::kWarning: return kLiteRtLogSeverityWarning;
    case LogLevel::kError: return kLiteRtLogSeverityError;
    case LogLevel::kSilent: break;
  }
  return kLiteRtLogSeveritySilent;
}

// Opaque options carry a TOML text that LiteRT parses; we own the copy until
// LiteRtCreateOpaqueOptions succeeds, then LiteRT frees it with FreeText.
void FreeText(void* text) { std::free(text); }

void AddTomlOptions(const litert::Api& api, LiteRtOptions options, const char* identifier, const std::string& toml) {
  char* text = static_cast<char*>(std::malloc(toml.size() + 1));
  if (text == nullptr) throw std::bad_alloc();
  std::memcpy(text, toml.c_str(), toml.size() + 1);
  LiteRtOpaqueOptions opaque = nullptr;
  LiteRtStatus status = api.LiteRtCreateOpaqueOptions(identifier, text, FreeText, &opaque);
  if (status != kLiteRtStatusOk) {
    std::free(text);
    litert::ThrowFailure(status, "LiteRtCreateOpaqueOptions", std::string("for '") + identifier + "'");
  }
  status = api.LiteRtAddOpaqueOptions(options, opaque);  // takes ownership
  if (status != kLiteRtStatusOk) {
    api.LiteRtDestroyOpaqueOptions(opaque);
    litert::ThrowFailure(status, "LiteRtAddOpaqueOptions", std::string("for '") + identifier + "'");
  }
}

TensorSpec ReadTensorSpec(const litert::Api& api, const char* name, LiteRtTensor tensor, const std::string& where) {
  // A damaged file can leave a tensor unnamed; std::string(nullptr) would
  // throw logic_error ("basic_string::_M_construct null not valid").
  if (name == nullptr) throw ModelFormatError("a tensor " + where + " has no name");
  TensorSpec spec;
  spec.name = name;
  LiteRtTensorTypeId type_id{};
  litert::Check(api.LiteRtGetTensorTypeId(tensor, &type_id), "LiteRtGetTensorTypeId", where);
  if (type_id == kLiteRtRankedTensorType) {
    LiteRtRankedTensorType type{};
    litert::Check(api.LiteRtGetRankedTensorType(tensor, &type), "LiteRtGetRankedTensorType", where);
    spec.dtype = litert::FromLiteRt(type.element_type);
    int64_t dims[LITERT_TENSOR_MAX_RANK];
    for (unsigned i = 0; i < type.layout.rank; ++i) dims[i] = type.layout.dimensions[i];
    spec.shape = Shape(dims, static_cast<int>(type.layout.rank));
  } else {
    // Unranked tensors cannot be fed with a fixed layout; report them as such
    // so that Run refuses them by name.
    LiteRtUnrankedTensorType type{};
    litert::Check(api.LiteRtGetUnrankedTensorType(tensor, &type), "LiteRtGetUnrankedTensorType", where);
    spec.dtype = DType::kUnsupported;
  }
  return spec;
}

// The inputs or the outputs of a signature, through the matching trio of
// LiteRT getters (count, name, tensor).
template <typename CountFn, typename NameFn, typename TensorFn>
std::vector<TensorSpec> ReadTensorSpecs(const litert::Api& api, LiteRtSignature signature, const std::string& where,
                                        CountFn count_fn, NameFn name_fn, TensorFn tensor_fn) {
  LiteRtParamIndex n = 0;
  litert::Check(count_fn(signature, &n), "LiteRtGetNumSignature{Inputs,Outputs}", where);
  std::vector<TensorSpec> specs;
  for (LiteRtParamIndex i = 0; i < n; ++i) {
    const char* name = nullptr;
    LiteRtTensor tensor = nullptr;
    litert::Check(name_fn(signature, i, &name), "LiteRtGetSignature{Input,Output}Name", where);
    litert::Check(tensor_fn(signature, i, &tensor), "LiteRtGetSignature{Input,Output}TensorByIndex", where);
    specs.push_back(ReadTensorSpec(api, name, tensor, where));
  }
  return specs;
}

// TFLite prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to
// stderr when the first compiled model of a process creates its CPU delegate,
// through a logger that libLiteRt.so neither exports nor ties to LiteRT's
// log level. When the level is silent, stderr points at /dev/null for the
// duration of that first compilation only (a few milliseconds, once).
class SilenceFirstCompilation {
 public:
  SilenceFirstCompilation() {
    static std::atomic<bool> first{true};
    if (GetLogLevel() != LogLevel::kSilent || !first.exchange(false)) return;
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ < 0 || null < 0 || ::dup2(null, STDERR_FILENO) < 0) Restore();
    if (null >= 0) ::close(null);
  }
  ~SilenceFirstCompilation() { Restore(); }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }
  int saved_ = -1;
};

}  // namespace

CompiledModel::CompiledModel(AlignedBuffer bytes, const ModelOptions& options)
    : bytes_(std::move(bytes)), options_(options) {
  CpuOptionsToml(options_.cpu);  // refuses bad options before any LiteRT work
  api_ = litert::LoadApi(options.litert_library);
  try {
    CreateEnvironment();
    litert::Check(api_->LiteRtCreateModelFromBuffer(environment_, bytes_.data(), bytes_.size(), &model_),
                  "LiteRtCreateModelFromBuffer");
    Compile();
    ReadSignatures();
    resize_generations_.assign(signatures_.size(), 0);
  } catch (...) {
    Release();
    throw;
  }
}

CompiledModel::~CompiledModel() { Release(); }

void CompiledModel::Release() noexcept {
  if (compiled_) api_->LiteRtDestroyCompiledModel(compiled_);
  if (model_) api_->LiteRtDestroyModel(model_);
  if (environment_) api_->LiteRtDestroyEnvironment(environment_);
  compiled_ = nullptr;
  profiler_ = nullptr;
  model_ = nullptr;
  environment_ = nullptr;
}

void CompiledModel::CreateEnvironment() {
  LiteRtEnvOption option{};
  option.tag = kLiteRtEnvOptionTagMinLoggerSeverity;
  option.value.type = kLiteRtAnyTypeInt;
  option.value.int_value = ToLiteRtSeverity(GetLogLevel());
  litert::Check(api_->LiteRtCreateEnvironment(1, &option, &environment_), "LiteRtCreateEnvironment");
}

void CompiledModel::Compile() {
  LiteRtOptions options = nullptr;
  litert::Check(api_->LiteRtCreateOptions(&options), "LiteRtCreateOptions");
  struct OptionsGuard {
    const litert::Api& api;
    LiteRtOptions options;
    ~OptionsGuard() { api.LiteRtDestroyOptions(options); }
  } guard{*api_, options};
  litert::Check(api_->LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu),
                "LiteRtSetOptionsHardwareAccelerators");
  // Collect the runtime's error messages in a buffer instead of printing them,
  // so that exceptions can carry them (see Check).
  AddTomlOptions(*api_, options, "runtime_options_string",
                 "error_reporter_mode = " + std::to_string(kLiteRtErrorReporterModeBuffer) + "\n" +
                     (options_.profiling ? "enable_profiling = true\n" : ""));
  // libLiteRt.so 2.3 exports no CPU-options builders; its CPU accelerator
  // reads this TOML payload under the identifier "xnnpack".
  AddTomlOptions(*api_, options, "xnnpack", CpuOptionsToml(options_.cpu));
  LiteRtStatus status;
  {
    SilenceFirstCompilation quiet;
    status = api_->LiteRtCreateCompiledModel(environment_, model_, options, &compiled_);
  }
  litert::Check(status, "LiteRtCreateCompiledModel");
  if (options_.profiling) {
    litert::Check(api_->LiteRtCompiledModelGetProfiler(compiled_, &profiler_), "LiteRtCompiledModelGetProfiler");
    if (profiler_ == nullptr)
      throw RuntimeFailure("LiteRT compiled the model without a profiler", kLiteRtStatusErrorRuntimeFailure);
  }
}

void CompiledModel::ReadSignatures() {
  const litert::Api& api = *api_;
  LiteRtParamIndex count = 0;
  litert::Check(api.LiteRtGetNumModelSignatures(model_, &count), "LiteRtGetNumModelSignatures");
  signatures_.reserve(count);
  for (LiteRtParamIndex s = 0; s < count; ++s) {
    LiteRtSignature signature = nullptr;
    litert::Check(api.LiteRtGetModelSignature(model_, s, &signature), "LiteRtGetModelSignature");
    SignatureSpec spec;
    spec.index = s;
    const char* key = nullptr;
    litert::Check(api.LiteRtGetSignatureKey(signature, &key), "LiteRtGetSignatureKey");
    spec.key = key ? key : "";
    const std::string where = "in signature '" + spec.key + "'";
    LiteRtSubgraph subgraph = nullptr;
    litert::Check(api.LiteRtGetSignatureSubgraph(signature, &subgraph), "LiteRtGetSignatureSubgraph", where);
    LiteRtParamIndex num_ops = 0;
    litert::Check(api.LiteRtGetNumSubgraphOps(subgraph, &num_ops), "LiteRtGetNumSubgraphOps", where);
    spec.num_ops = num_ops;

    spec.inputs = ReadTensorSpecs(api, signature, where, api.LiteRtGetNumSignatureInputs,
                                  api.LiteRtGetSignatureInputName, api.LiteRtGetSignatureInputTensorByIndex);
    spec.outputs = ReadTensorSpecs(api, signature, where, api.LiteRtGetNumSignatureOutputs,
                                   api.LiteRtGetSignatureOutputName, api.LiteRtGetSignatureOutputTensorByIndex);
    signatures_.push_back(std::move(spec));
  }
}

void CompiledModel::Check(LiteRtStatus status, const char* call, const std::string& context) {
  if (status == kLiteRtStatusOk) return;
  std::string detail;
  char* messages = nullptr;
  if (api_->LiteRtCompiledModelGetErrorMessages(compiled_, &messages) == kLiteRtStatusOk && messages != nullptr) {
    detail = messages;
    std::free(messages);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    api_->LiteRtCompiledModelClearErrors(compiled_);
  }
  litert::ThrowFailure(status, call, context, detail);
}

}  // namespace litetrain::detail
