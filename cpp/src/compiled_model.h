// The LiteRT objects behind a Model: environment, model, compiled model, and
// the bytes they read. Shared by the Model and its runners.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aligned_buffer.h"
#include "litert/library.h"
#include "litetrain/model.h"

namespace litetrain::detail {

class CompiledModel {
 public:
  // `bytes` must already have passed VerifyModel.
  CompiledModel(AlignedBuffer bytes, const ModelOptions& options);
  ~CompiledModel();
  CompiledModel(const CompiledModel&) = delete;
  CompiledModel& operator=(const CompiledModel&) = delete;

  const litert::Api& api() const { return *api_; }
  LiteRtCompiledModel handle() const { return compiled_; }
  const std::vector<SignatureSpec>& signatures() const { return signatures_; }
  const ModelOptions& options() const { return options_; }
  // LiteRT's profiler of this model; null unless options().profiling.
  LiteRtProfiler profiler() const { return profiler_; }
  const AlignedBuffer& bytes() const { return bytes_; }
  // Held for the whole of every run: LiteRT's compiled model is not reentrant.
  std::mutex& run_mutex() { return run_mutex_; }
  // Counts the resizes of a signature's inputs, so that each runner knows
  // whether another one changed the shapes it set. Guarded by run_mutex().
  uint64_t& resize_generation(std::size_t signature) { return resize_generations_.at(signature); }

  // Throws RuntimeFailure for a failed call on the compiled model, with the
  // messages LiteRT's error reporter collected.
  void Check(LiteRtStatus status, const char* call, const std::string& context);

 private:
  void CreateEnvironment();
  void Compile();
  void ReadSignatures();
  void Release() noexcept;

  std::shared_ptr<const litert::Api> api_;
  AlignedBuffer bytes_;  // LiteRT reads the model in place: keep it alive
  ModelOptions options_;
  LiteRtEnvironment environment_ = nullptr;
  LiteRtModel model_ = nullptr;
  LiteRtCompiledModel compiled_ = nullptr;
  LiteRtProfiler profiler_ = nullptr;  // owned by compiled_
  std::vector<SignatureSpec> signatures_;
  std::mutex run_mutex_;
  std::vector<uint64_t> resize_generations_;
};

}  // namespace litetrain::detail
