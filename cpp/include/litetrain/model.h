// A TFLite / LiteRT model loaded, verified and compiled for the CPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "litetrain/cpu_options.h"
#include "litetrain/export.h"
#include "litetrain/tensor.h"

namespace litetrain {

namespace detail {
class CompiledModel;
struct ModelInternals;
}  // namespace detail
class SignatureRunner;

struct ModelOptions {
  CpuOptions cpu;
  // Lets ProfileSignature (profile.h) record each operator's time. Costs a
  // little per operator, so it is off for training.
  bool profiling = false;
  // Path of libLiteRt.so; empty means the default search (see runtime.h).
  std::string litert_library;
};

// One signature (train, infer, save, ...) as the model declares it. Inputs and
// outputs are in the runtime's order, which is not the order of the Python
// function's arguments: always bind by name.
struct LITETRAIN_API SignatureSpec {
  std::string key;
  std::size_t index = 0;  // position among the model's signatures
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::size_t num_ops = 0;  // operators in the signature's subgraph

  // Position of the input / output called `name`.
  // Throws InvalidArgument naming the signature and the valid names.
  std::size_t input_index(std::string_view name) const;
  std::size_t output_index(std::string_view name) const;
};

class LITETRAIN_API Model {
 public:
  // Reads, verifies and compiles a model file.
  // Throws FileNotFound, ModelFormatError (truncated, corrupt or
  // inconsistent file: checked before LiteRT sees it, since LiteRT's loader
  // crashes on damaged files), LibraryError, RuntimeFailure.
  static Model FromFile(const std::string& path, const ModelOptions& options = {});
  // The same from bytes in memory (copied into 64-byte aligned storage).
  static Model FromBytes(const void* data, std::size_t size, const ModelOptions& options = {});

  const std::vector<SignatureSpec>& signatures() const;
  // Throws InvalidArgument naming the missing key and the available ones.
  const SignatureSpec& signature(std::string_view key) const;
  // A runner for one signature. Several runners may share a model; runs of
  // the same model are serialised (LiteRT's compiled model is not reentrant).
  SignatureRunner runner(std::string_view key) const;

  // The model file's bytes as loaded and verified (what BakeModel rewrites);
  // valid as long as the model.
  const void* file_data() const;
  std::size_t file_size() const;

  // The libLiteRt.so file in use.
  const std::string& library_path() const;
  int threads() const;
  const CpuOptions& cpu_options() const;

 private:
  friend struct detail::ModelInternals;  // the library's own code past this API (src/model_internals.h)
  explicit Model(std::shared_ptr<detail::CompiledModel> impl);
  std::shared_ptr<detail::CompiledModel> impl_;
};

}  // namespace litetrain
