#include "model_claims.h"

#include <mutex>
#include <set>

#include "litetrain/errors.h"

namespace litetrain::detail {
namespace {

// Claimed models by their file's bytes: one buffer per loaded model, shared
// by every handle to it.
std::mutex g_mutex;
std::set<const void*> g_claimed;

}  // namespace

void ClaimForTrainer(const Model& model) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_claimed.insert(model.file_data()).second) {
    throw InvalidArgument(
        "this Model already has a Trainer, and two would share its weights and optimizer state: "
        "use that Trainer, or load the model file again for an independent one");
  }
}

void ReleaseFromTrainer(const void* file) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_claimed.erase(file);
}

}  // namespace litetrain::detail
