#include "litetrain/compatibility.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "flatbuffer/model_file.h"
#include "flatbuffer/model_graph.h"
#include "flatbuffer/model_verifier.h"
#include "litetrain/errors.h"

namespace litetrain {
namespace {

struct OperatorRow {
  int32_t code;
  const char* name;
  int32_t tflite_runtime_2_14;
};

constexpr OperatorRow kOperators[] = {
#include "runtime_op_versions.inc"
};

const char* const kTfliteRuntime214 = "tflite-runtime-2.14";

const OperatorRow* Row(int32_t code) {
  for (const OperatorRow& row : kOperators) {
    if (row.code == code) return &row;
  }
  return nullptr;
}

// The parts of the model that say which operators run where (no buffers:
// a listing must not copy the weights).
fb::ModelT Skeleton(const uint8_t* data, std::size_t size) {
  VerifyModel(data, size);
  const fb::Model& model = *fb::GetModel(data);
  fb::ModelT skeleton;
  if (model.operator_codes()) {
    for (const fb::OperatorCode* code : *model.operator_codes()) skeleton.operator_codes.emplace_back(code->UnPack());
  }
  if (model.subgraphs()) {
    for (const fb::SubGraph* subgraph : *model.subgraphs()) skeleton.subgraphs.emplace_back(subgraph->UnPack());
  }
  if (model.signature_defs()) {
    for (const fb::SignatureDef* signature : *model.signature_defs()) {
      skeleton.signature_defs.emplace_back(signature->UnPack());
    }
  }
  return skeleton;
}

}  // namespace

std::vector<OperatorUse> ListOperators(const void* model, std::size_t size) {
  if (model == nullptr && size != 0) throw InvalidArgument("model bytes: null pointer");
  fb::ModelT skeleton = Skeleton(static_cast<const uint8_t*>(model), size);
  std::vector<OperatorUse> uses;
  for (const auto& code : skeleton.operator_codes) {
    OperatorUse use;
    use.builtin_code = std::max<int32_t>(code->builtin_code, code->deprecated_builtin_code);
    use.version = code->version;
    use.custom = use.builtin_code == builtin::kCustom;
    if (use.custom) {
      use.name = code->custom_code;
    } else if (const OperatorRow* row = Row(use.builtin_code)) {
      use.name = row->name;
    } else {
      use.name = "builtin operator " + std::to_string(use.builtin_code);
    }
    uses.push_back(std::move(use));
  }
  std::vector<std::pair<std::string, int32_t>> entries;
  for (const auto& signature : skeleton.signature_defs) {
    entries.emplace_back(signature->signature_key, static_cast<int32_t>(signature->subgraph_index));
  }
  if (entries.empty() && !skeleton.subgraphs.empty()) entries.emplace_back("<main>", 0);
  for (const auto& [key, root] : entries) {
    std::set<uint32_t> codes;
    for (int32_t s : graph::ReachableSubgraphs(skeleton, root, /*follow_initializers=*/true)) {
      for (const auto& op : skeleton.subgraphs[static_cast<std::size_t>(s)]->operators) codes.insert(op->opcode_index);
    }
    for (uint32_t c : codes) uses.at(c).signatures.push_back(key);
  }
  return uses;
}

std::vector<std::string> UninitializedVariables(const void* model, std::size_t size) {
  if (model == nullptr && size != 0) throw InvalidArgument("model bytes: null pointer");
  fb::ModelT skeleton = Skeleton(static_cast<const uint8_t*>(model), size);
  std::set<int32_t> initializers;
  for (const auto& subgraph : skeleton.subgraphs) {
    for (const auto& op : subgraph->operators) {
      if (const auto* o = op->builtin_options.AsCallOnceOptions()) initializers.insert(o->init_subgraph_index);
    }
  }
  std::set<std::string> assigned, read;
  for (std::size_t s = 0; s < skeleton.subgraphs.size(); ++s) {
    const fb::SubGraphT& subgraph = *skeleton.subgraphs[s];
    const bool initializer = initializers.count(static_cast<int32_t>(s)) > 0;
    std::map<int32_t, std::string> handles;  // VAR_HANDLE output tensor -> variable
    for (const auto& op : subgraph.operators) {
      const int32_t code = graph::BuiltinCode(skeleton, *op);
      if (code == builtin::kVarHandle && op->outputs.size() == 1 && op->builtin_options.AsVarHandleOptions()) {
        handles[op->outputs[0]] = graph::VariableKey(*op);
      }
      const bool assigns = code == builtin::kAssignVariable, reads = code == builtin::kReadVariable;
      if ((!assigns && !reads) || op->inputs.empty()) continue;
      const auto handle = handles.find(op->inputs[0]);
      if (handle == handles.end()) continue;  // a handle from elsewhere: not ours to judge
      if (assigns && initializer) assigned.insert(handle->second);
      if (reads && !initializer) read.insert(handle->second);
    }
  }
  std::vector<std::string> missing;
  for (const std::string& key : read) {
    if (assigned.count(key)) continue;
    // "container/shared_name": the container is empty in converted files.
    missing.push_back(key.front() == '/' ? key.substr(1) : key);
  }
  return missing;
}

std::vector<std::string> KnownRuntimes() { return {kTfliteRuntime214}; }

std::vector<Incompatibility> FindIncompatibilities(const void* model, std::size_t size, const std::string& runtime) {
  if (runtime != kTfliteRuntime214) {
    std::string known;
    for (const std::string& name : KnownRuntimes()) known += (known.empty() ? "'" : ", '") + name + "'";
    throw InvalidArgument("unknown runtime '" + runtime + "'; litetrain knows: " + known);
  }
  std::vector<Incompatibility> problems;
  for (OperatorUse& use : ListOperators(model, size)) {
    // Even a code no operator uses counts: runtimes resolve every code of the
    // file when they load it, and refuse the whole model for one they lack.
    const OperatorRow* row = use.custom ? nullptr : Row(use.builtin_code);
    const int32_t max_version = row ? row->tflite_runtime_2_14 : 0;
    if (use.version > max_version) problems.push_back({std::move(use), max_version});
  }
  return problems;
}

std::string DescribeIncompatibilities(const std::vector<Incompatibility>& problems) {
  std::string text;
  for (const Incompatibility& p : problems) {
    if (!text.empty()) text += "; ";
    if (p.op.custom) {
      text += "custom operator '" + p.op.name + "' (not built in)";
    } else if (p.max_version == 0) {
      text += p.op.name + " (not built in)";
    } else {
      text += p.op.name + " version " + std::to_string(p.op.version) + " (it has up to version " +
              std::to_string(p.max_version) + ")";
    }
    std::string users;
    for (const std::string& s : p.op.signatures) users += (users.empty() ? "'" : ", '") + s + "'";
    text += users.empty() ? ", declared but unused" : ", used by " + users;
  }
  return text;
}

}  // namespace litetrain
