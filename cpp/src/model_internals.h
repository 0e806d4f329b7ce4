// What the library's own code beyond Model's API needs of a model: its
// compiled LiteRT instance (profile.cc reads its profiler; the bench's limit
// loop, cpp/bench/bare_step_loop.cc, binds buffers to it directly). Not a
// public header: hosts use Model's API.
#pragma once

#include <memory>

#include "compiled_model.h"
#include "litetrain/model.h"

namespace litetrain::detail {

struct ModelInternals {
  static const std::shared_ptr<CompiledModel>& Compiled(const Model& model) { return model.impl_; }
};

}  // namespace litetrain::detail
