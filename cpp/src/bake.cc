#include "litetrain/bake.h"

#include <algorithm>

#include "atomic_file.h"
#include "bake_checks.h"
#include "bake_rewrite.h"
#include "flatbuffer/model_file.h"
#include "litetrain/compatibility.h"
#include "litetrain/errors.h"
#include "litetrain/signature_roles.h"

namespace litetrain {
namespace {

// The signature returning the variables: the one asked for, else found by
// its known names (signature_roles.h).
std::string SaveSignature(const fb::ModelT& model, const std::string& requested) {
  std::vector<std::string> keys;
  std::vector<std::size_t> input_counts;
  for (const auto& signature : model.signature_defs) {
    keys.push_back(signature->signature_key);
    input_counts.push_back(signature->inputs.size());
  }
  const std::optional<std::string> key = FindRole(keys, input_counts, requested, SignatureRole::kSave);
  if (!key) {
    std::string listed;
    for (const std::string& k : keys) listed += (listed.empty() ? "'" : ", '") + k + "'";
    throw InvalidArgument(
        "the model is not a litetrain training model: it has no 'save' signature returning its "
        "variables (looked for " +
        KnownNames(SignatureRole::kSave) + " taking no inputs; its signatures: " + (listed.empty() ? "none" : listed) +
        "); name the one that returns them with save_signature");
  }
  return *key;
}

}  // namespace

std::vector<uint8_t> BakeModel(const void* model, std::size_t size, const Snapshot& weights, const BakeOptions& options,
                               BakeReport* report) {
  if (model == nullptr && size != 0) throw InvalidArgument("model bytes: null pointer");
  if (!options.allow_nonfinite) detail::CheckFinite(weights);
  if (!options.require_runtime.empty()) {
    const std::vector<std::string> known = KnownRuntimes();
    if (std::find(known.begin(), known.end(), options.require_runtime) == known.end()) {
      FindIncompatibilities(nullptr, 0, options.require_runtime);  // throws, naming the known ones
    }
  }
  std::unique_ptr<fb::ModelT> tree = ReadModelTree(static_cast<const uint8_t*>(model), size);
  BakeOptions resolved = options;
  resolved.save_signature = SaveSignature(*tree, options.save_signature);
  detail::BakeInitialValues(*tree, weights, resolved.save_signature);
  std::vector<uint8_t> trained_bytes = WriteModelTree(*tree);
  const Model trained = Model::FromBytes(trained_bytes.data(), trained_bytes.size(), options.check_with);
  detail::CheckSave(trained, weights, resolved.save_signature);
  if (report != nullptr) {
    report->variables.clear();
    for (const NamedTensor& w : weights) report->variables.push_back(w.name);
    report->infer_difference = -1.0;
  }
  if (!options.inference_only) {
    if (!options.require_runtime.empty() &&
        !FindIncompatibilities(trained_bytes.data(), trained_bytes.size(), options.require_runtime).empty()) {
      // The inference-only form drops the training operators: say so if that is enough.
      BakeOptions frozen = options;
      frozen.inference_only = true;
      std::string offer;
      try {
        if (BakeModel(model, size, weights, frozen).size() > 0) {
          offer = "; its inference-only form loads there (inference_only=True, --inference-only)";
        }
      } catch (const InvalidArgument&) {
      }
      detail::CheckRuntime(trained_bytes, options, offer);
    }
    return trained_bytes;
  }
  detail::FreezeInference(*tree, options.infer_signature);
  std::vector<uint8_t> frozen_bytes = WriteModelTree(*tree);
  const Model frozen = Model::FromBytes(frozen_bytes.data(), frozen_bytes.size(), options.check_with);
  const double difference = detail::CheckInferSame(trained, frozen, options.infer_signature);
  if (report != nullptr) report->infer_difference = difference;
  if (!options.require_runtime.empty()) detail::CheckRuntime(frozen_bytes, options, "");
  return frozen_bytes;
}

std::vector<uint8_t> BakeModel(const Model& model, const Snapshot& weights, BakeOptions options, BakeReport* report) {
  if (options.check_with.litert_library.empty()) options.check_with.litert_library = model.library_path();
  return BakeModel(model.file_data(), model.file_size(), weights, options, report);
}

void BakeModelToFile(const void* model, std::size_t size, const Snapshot& weights, const std::string& path,
                     const BakeOptions& options, BakeReport* report) {
  const std::vector<uint8_t> bytes = BakeModel(model, size, weights, options, report);
  WriteFileAtomically(path, bytes.data(), bytes.size());
}

void BakeModelToFile(const Model& model, const Snapshot& weights, const std::string& path, BakeOptions options,
                     BakeReport* report) {
  const std::vector<uint8_t> bytes = BakeModel(model, weights, std::move(options), report);
  WriteFileAtomically(path, bytes.data(), bytes.size());
}

}  // namespace litetrain
