#include "litert/library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "aligned_buffer.h"
#include "litetrain/errors.h"
#include "litetrain/runtime.h"

namespace litetrain::litert {
namespace {

constexpr const char* kInstallHint =
    "install the runtime with `pip install \"ai-edge-litert>=2.3,<2.4\"` or set "
    "LITETRAIN_LITERT_LIB to the path of a libLiteRt.so from it";

// Where the library is looked for, and why that place was chosen.
struct Candidate {
  std::string path;
  std::string origin;
};

Candidate ChooseCandidate(const std::string& explicit_path) {
  if (!explicit_path.empty()) return {explicit_path, "the explicit path"};
  if (const char* env = std::getenv("LITETRAIN_LITERT_LIB"); env && *env) {
    return {env, "$LITETRAIN_LITERT_LIB"};
  }
  if (std::string path = DefaultLibraryPath(); !path.empty()) {
    return {path, "the installed ai_edge_litert package"};
  }
  return {"libLiteRt.so", "the dynamic loader's search path"};
}

void* ResolveSymbol(void* handle, const char* name) {
  // The wheel's library versions its symbols; prefer the version we were
  // written against, and accept an unversioned build (a host's own copy).
  if (void* symbol = dlvsym(handle, name, "VERS_1.0")) return symbol;
  return dlsym(handle, name);
}

// Round-trips a tensor type through the library: if our struct layouts did not
// match the library's, the dimensions would come back scrambled.
void CheckAbi(const Api& api) {
  LiteRtRankedTensorType type{};
  type.element_type = kLiteRtElementTypeFloat32;
  type.layout.rank = 3;
  type.layout.dimensions[0] = 2;
  type.layout.dimensions[1] = 3;
  type.layout.dimensions[2] = 4;
  AlignedBuffer memory(2 * 3 * 4 * sizeof(float));
  LiteRtTensorBuffer buffer = nullptr;
  LiteRtStatus status =
      api.LiteRtCreateTensorBufferFromHostMemory(&type, memory.data(), memory.size(), nullptr, &buffer);
  LiteRtRankedTensorType back{};
  size_t size = 0;
  if (status == kLiteRtStatusOk) {
    status = api.LiteRtGetTensorBufferTensorType(buffer, &back);
    if (status == kLiteRtStatusOk) status = api.LiteRtGetTensorBufferSize(buffer, &size);
    api.LiteRtDestroyTensorBuffer(buffer);
  }
  const bool same = status == kLiteRtStatusOk && back.element_type == type.element_type && back.layout.rank == 3 &&
                    back.layout.dimensions[0] == 2 && back.layout.dimensions[1] == 3 &&
                    back.layout.dimensions[2] == 4 && size == memory.size();
  if (!same) {
    throw LibraryError("libLiteRt.so at '" + api.path +
                       "' does not match the C API litetrain was built for (a tensor type "
                       "did not survive a round trip, status " +
                       std::to_string(status) + "); " + kInstallHint);
  }
}

std::shared_ptr<const Api> Load(const Candidate& candidate) {
  dlerror();
  void* handle = dlopen(candidate.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw LibraryError("cannot load libLiteRt.so from '" + candidate.path + "' (" + candidate.origin +
                       "): " + (why ? why : "unknown error") + "; " + kInstallHint);
  }
  auto api = std::make_shared<Api>();
  api->handle = handle;
  api->path = candidate.path;
  std::string missing;
#define LITETRAIN_RESOLVE(name)                                                    \
  api->name = reinterpret_cast<decltype(api->name)>(ResolveSymbol(handle, #name)); \
  if (api->name == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(#name);
  LITETRAIN_LITERT_FUNCTIONS(LITETRAIN_RESOLVE)
#undef LITETRAIN_RESOLVE
  if (!missing.empty()) {
    // Not dlclose'd: harmless, and unloading a half-used runtime is not.
    throw LibraryError("libLiteRt.so at '" + candidate.path + "' (" + candidate.origin + ") lacks " + missing +
                       ": it is not a LiteRT C API library of a supported version; " + kInstallHint);
  }
  CheckAbi(*api);
  return api;
}

}  // namespace

std::shared_ptr<const Api> LoadApi(const std::string& explicit_path) {
  // One load per path for the life of the process. Libraries are never
  // dlclose'd: LiteRT keeps threads and registries that outlive any model.
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Api>> loaded;
  const Candidate candidate = ChooseCandidate(explicit_path);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(candidate.path);
  if (it != loaded.end()) return it->second;
  auto api = Load(candidate);
  loaded.emplace(candidate.path, api);
  return api;
}

}  // namespace litetrain::litert
