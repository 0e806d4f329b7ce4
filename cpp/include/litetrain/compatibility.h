// Which TFLite runtimes can run a model: the builtin operators and versions
// it uses, checked against what a runtime registers.
//
// Known runtimes: "tflite-runtime-2.14" (the last release of the classic
// runtime, 2023; many boards and apps still ship it). Its table comes from
// loading one probe model per operator code and version in that runtime
// (tools/probe_runtime_ops.py; the test suite checks it against the runtime).
// ai-edge-litert, which litetrain runs on, and TensorFlow of the same age run
// everything their converter writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "litetrain/export.h"

namespace litetrain {

// One operator code of a model and the signatures whose runs use it.
struct OperatorUse {
  std::string name;          // "FULLY_CONNECTED"; a custom op's own code
  int32_t builtin_code = 0;  // 32 (CUSTOM) for custom ops
  int32_t version = 1;
  bool custom = false;
  // Signatures that run it: directly, through control flow or through the
  // variable initializer they call. "<main>" for subgraph 0 of a model
  // without signatures; empty when nothing runs it.
  std::vector<std::string> signatures;
};

// A use the runtime cannot load.
struct Incompatibility {
  OperatorUse op;
  int32_t max_version = 0;  // the highest version the runtime has; 0: none
};

// Every operator code the model uses, in the file's order.
// Throws ModelFormatError for damaged bytes.
LITETRAIN_API std::vector<OperatorUse> ListOperators(const void* model, std::size_t size);

// Variables the model reads but its initializer (the CALL_ONCE subgraph the
// converter writes) never assigns, by shared name, sorted. TensorFlow drops
// the values of Keras 3 layers' variables held by a tf.Module, so such a
// file reads garbage (or fails) until something restores them.
// Throws ModelFormatError for damaged bytes.
LITETRAIN_API std::vector<std::string> UninitializedVariables(const void* model, std::size_t size);

// The runtimes FindIncompatibilities knows.
LITETRAIN_API std::vector<std::string> KnownRuntimes();

// The operators of the model that `runtime` cannot load (empty: it can run
// every signature). Throws InvalidArgument for an unknown runtime,
// ModelFormatError for damaged bytes.
LITETRAIN_API std::vector<Incompatibility> FindIncompatibilities(const void* model, std::size_t size,
                                                                 const std::string& runtime);

// One line naming each problem, e.g. "FULLY_CONNECTED version 12 (it has up
// to 10; used by 'infer')".
LITETRAIN_API std::string DescribeIncompatibilities(const std::vector<Incompatibility>& problems);

}  // namespace litetrain
