// Graph-level helpers over a model tree (model_file.h): operator codes,
// subgraph references, and removal of what nothing uses any more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flatbuffer/builtin_codes.h"
#include "flatbuffer/model_file.h"

namespace litetrain::graph {

// The operator's builtin code (the larger of the two code fields: files
// before schema 3a only set the deprecated one).
int32_t BuiltinCode(const fb::ModelT& model, const fb::OperatorT& op);

// Calls `visit` on every subgraph index the operator's options hold (control
// flow bodies, CALL_ONCE initialisers, StableHLO regions); `visit` may change it.
void VisitSubgraphReferences(fb::OperatorT& op, const std::function<void(int32_t&)>& visit);

// Subgraphs `root` runs, itself first, following control flow; CALL_ONCE
// initialisers only when `follow_initializers`.
std::vector<int32_t> ReachableSubgraphs(fb::ModelT& model, int32_t root, bool follow_initializers);

// The index of the operator writing each tensor of `subgraph` (-1: none).
std::vector<int32_t> Producers(const fb::SubGraphT& subgraph);

// "container/shared_name" of a VAR_HANDLE operator: the variable's identity,
// shared by every subgraph of the model.
std::string VariableKey(const fb::OperatorT& var_handle);

// The signature called `key`, or nullptr.
fb::SignatureDefT* FindSignature(fb::ModelT& model, const std::string& key);

// Keeps only `order` (old indices) as the model's subgraphs, in that order,
// and renumbers every reference (operator options, signatures). Signatures
// of dropped subgraphs are dropped.
void KeepSubgraphs(fb::ModelT& model, const std::vector<int32_t>& order);

// Drops tensors of `subgraph` that no operator, subgraph input or output,
// signature of `subgraph_index` or quantization parameter refers to.
void RemoveUnusedTensors(fb::ModelT& model, int32_t subgraph_index);

// Drops operator codes no operator uses, and buffers (except the empty
// buffer 0) no tensor or metadata entry uses.
void RemoveUnusedOperatorCodes(fb::ModelT& model);
void RemoveUnusedBuffers(fb::ModelT& model);

}  // namespace litetrain::graph
