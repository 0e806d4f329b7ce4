#include "flatbuffer/model_graph.h"

#include <algorithm>

#include "litetrain/errors.h"

namespace litetrain::graph {
namespace {

// old index -> new index (-1: dropped) for the kept entries of `used`.
std::vector<int32_t> Renumbering(const std::vector<bool>& used) {
  std::vector<int32_t> renumber(used.size(), -1);
  int32_t next = 0;
  for (std::size_t i = 0; i < used.size(); ++i) {
    if (used[i]) renumber[i] = next++;
  }
  return renumber;
}

template <typename T>
void KeepRenumbered(std::vector<T>& items, const std::vector<int32_t>& renumber) {
  std::vector<T> kept;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (renumber[i] >= 0) kept.push_back(std::move(items[i]));
  }
  items = std::move(kept);
}

// Tensor indices a tensor's quantization parameters hold (block-wise scales).
void VisitQuantizationTensors(fb::TensorT& tensor, const std::function<void(int32_t&)>& visit) {
  if (!tensor.quantization) return;
  if (auto* q = tensor.quantization->details.AsBlockwiseQuantization()) {
    visit(q->scales);
    visit(q->zero_points);
  } else if (auto* m = tensor.quantization->details.AsMultiAxisQuantization()) {
    visit(m->scales);
    visit(m->zero_points);
  }
}

}  // namespace

int32_t BuiltinCode(const fb::ModelT& model, const fb::OperatorT& op) {
  const fb::OperatorCodeT& code = *model.operator_codes.at(op.opcode_index);
  return std::max<int32_t>(code.builtin_code, code.deprecated_builtin_code);
}

void VisitSubgraphReferences(fb::OperatorT& op, const std::function<void(int32_t&)>& visit) {
  auto& o1 = op.builtin_options;
  auto& o2 = op.builtin_options_2;
  if (auto* o = o1.AsCallOnceOptions()) {
    visit(o->init_subgraph_index);
  } else if (auto* o = o1.AsIfOptions()) {
    visit(o->then_subgraph_index);
    visit(o->else_subgraph_index);
  } else if (auto* o = o1.AsWhileOptions()) {
    visit(o->cond_subgraph_index);
    visit(o->body_subgraph_index);
  } else if (auto* o = o1.AsCallOptions()) {
    int32_t index = static_cast<int32_t>(o->subgraph);
    visit(index);
    o->subgraph = static_cast<uint32_t>(index);
  }
  if (auto* o = o2.AsStablehloWhileOptions()) {
    visit(o->cond_subgraph_index);
    visit(o->body_subgraph_index);
  } else if (auto* o = o2.AsStablehloReduceOptions()) {
    visit(o->body_subgraph_index);
  } else if (auto* o = o2.AsStablehloReduceWindowOptions()) {
    visit(o->body_subgraph_index);
  } else if (auto* o = o2.AsStablehloSortOptions()) {
    visit(o->comparator_subgraph_index);
  } else if (auto* o = o2.AsStablehloScatterOptions()) {
    visit(o->update_computation_subgraph_index);
  } else if (auto* o = o2.AsStableHLOCompositeOptions()) {
    visit(o->decomposition_subgraph_index);
  } else if (auto* o = o2.AsStablehloCaseOptions()) {
    for (int32_t& index : o->branch_subgraph_indices) visit(index);
  } else if (auto* o = o2.AsStablehloCustomCallOptions()) {
    for (int32_t& index : o->called_computations) visit(index);
  }
}

std::vector<int32_t> ReachableSubgraphs(fb::ModelT& model, int32_t root, bool follow_initializers) {
  std::vector<int32_t> order{root};
  std::vector<bool> seen(model.subgraphs.size(), false);
  seen.at(static_cast<std::size_t>(root)) = true;
  for (std::size_t next = 0; next < order.size(); ++next) {
    for (auto& op : model.subgraphs[static_cast<std::size_t>(order[next])]->operators) {
      if (!follow_initializers && BuiltinCode(model, *op) == builtin::kCallOnce) continue;
      VisitSubgraphReferences(*op, [&](int32_t& index) {
        if (index >= 0 && static_cast<std::size_t>(index) < seen.size() && !seen[static_cast<std::size_t>(index)]) {
          seen[static_cast<std::size_t>(index)] = true;
          order.push_back(index);
        }
      });
    }
  }
  return order;
}

std::vector<int32_t> Producers(const fb::SubGraphT& subgraph) {
  std::vector<int32_t> producer(subgraph.tensors.size(), -1);
  for (std::size_t o = 0; o < subgraph.operators.size(); ++o) {
    for (int32_t t : subgraph.operators[o]->outputs) {
      if (t >= 0 && static_cast<std::size_t>(t) < producer.size())
        producer[static_cast<std::size_t>(t)] = static_cast<int32_t>(o);
    }
  }
  return producer;
}

std::string VariableKey(const fb::OperatorT& var_handle) {
  const auto* options = var_handle.builtin_options.AsVarHandleOptions();
  if (options == nullptr) return "/";
  return options->container + "/" + options->shared_name;
}

fb::SignatureDefT* FindSignature(fb::ModelT& model, const std::string& key) {
  for (auto& signature : model.signature_defs) {
    if (signature->signature_key == key) return signature.get();
  }
  return nullptr;
}

void KeepSubgraphs(fb::ModelT& model, const std::vector<int32_t>& order) {
  std::vector<int32_t> renumber(model.subgraphs.size(), -1);
  for (std::size_t i = 0; i < order.size(); ++i)
    renumber.at(static_cast<std::size_t>(order[i])) = static_cast<int32_t>(i);
  std::vector<std::unique_ptr<fb::SubGraphT>> kept;
  for (int32_t old : order) kept.push_back(std::move(model.subgraphs[static_cast<std::size_t>(old)]));
  model.subgraphs = std::move(kept);
  for (auto& subgraph : model.subgraphs) {
    for (auto& op : subgraph->operators) {
      VisitSubgraphReferences(*op, [&](int32_t& index) {
        const int32_t now = index >= 0 && static_cast<std::size_t>(index) < renumber.size()
                                ? renumber[static_cast<std::size_t>(index)]
                                : -1;
        if (now < 0) throw Error("internal error: a kept subgraph refers to dropped subgraph " + std::to_string(index));
        index = now;
      });
    }
  }
  std::vector<std::unique_ptr<fb::SignatureDefT>> signatures;
  for (auto& signature : model.signature_defs) {
    const int32_t now = renumber.at(signature->subgraph_index);
    if (now < 0) continue;
    signature->subgraph_index = static_cast<uint32_t>(now);
    signatures.push_back(std::move(signature));
  }
  model.signature_defs = std::move(signatures);
}

void RemoveUnusedTensors(fb::ModelT& model, int32_t subgraph_index) {
  fb::SubGraphT& subgraph = *model.subgraphs.at(static_cast<std::size_t>(subgraph_index));
  std::vector<bool> used(subgraph.tensors.size(), false);
  auto mark = [&](int32_t& t) {
    if (t >= 0 && static_cast<std::size_t>(t) < used.size()) used[static_cast<std::size_t>(t)] = true;
  };
  auto mark_all = [&](std::vector<int32_t>& list) {
    for (int32_t& t : list) mark(t);
  };
  for (auto& op : subgraph.operators) {
    mark_all(op->inputs);
    mark_all(op->outputs);
    mark_all(op->intermediates);
  }
  mark_all(subgraph.inputs);
  mark_all(subgraph.outputs);
  for (auto& signature : model.signature_defs) {
    if (signature->subgraph_index != static_cast<uint32_t>(subgraph_index)) continue;
    for (auto* maps : {&signature->inputs, &signature->outputs}) {
      for (auto& map : *maps) used.at(map->tensor_index) = true;
    }
  }
  for (std::size_t t = 0; t < subgraph.tensors.size(); ++t) {
    if (used[t]) VisitQuantizationTensors(*subgraph.tensors[t], mark);
  }

  const std::vector<int32_t> renumber = Renumbering(used);
  auto move = [&](int32_t& t) {
    if (t >= 0 && static_cast<std::size_t>(t) < renumber.size()) t = renumber[static_cast<std::size_t>(t)];
  };
  auto move_all = [&](std::vector<int32_t>& list) {
    for (int32_t& t : list) move(t);
  };
  for (auto& op : subgraph.operators) {
    move_all(op->inputs);
    move_all(op->outputs);
    move_all(op->intermediates);
  }
  move_all(subgraph.inputs);
  move_all(subgraph.outputs);
  for (auto& signature : model.signature_defs) {
    if (signature->subgraph_index != static_cast<uint32_t>(subgraph_index)) continue;
    for (auto* maps : {&signature->inputs, &signature->outputs}) {
      for (auto& map : *maps) map->tensor_index = static_cast<uint32_t>(renumber.at(map->tensor_index));
    }
  }
  KeepRenumbered(subgraph.tensors, renumber);
  for (auto& tensor : subgraph.tensors) VisitQuantizationTensors(*tensor, move);
}

void RemoveUnusedOperatorCodes(fb::ModelT& model) {
  std::vector<bool> used(model.operator_codes.size(), false);
  for (auto& subgraph : model.subgraphs) {
    for (auto& op : subgraph->operators) used.at(op->opcode_index) = true;
  }
  const std::vector<int32_t> renumber = Renumbering(used);
  for (auto& subgraph : model.subgraphs) {
    for (auto& op : subgraph->operators) op->opcode_index = static_cast<uint32_t>(renumber[op->opcode_index]);
  }
  KeepRenumbered(model.operator_codes, renumber);
}

void RemoveUnusedBuffers(fb::ModelT& model) {
  std::vector<bool> used(model.buffers.size(), false);
  if (!used.empty()) used[0] = true;  // the empty sentinel every data-less tensor points at
  for (auto& subgraph : model.subgraphs) {
    for (auto& tensor : subgraph->tensors) used.at(tensor->buffer) = true;
  }
  for (auto& entry : model.metadata) used.at(entry->buffer) = true;
  for (int32_t b : model.metadata_buffer) {
    if (b >= 0 && static_cast<std::size_t>(b) < used.size()) used[static_cast<std::size_t>(b)] = true;
  }
  const std::vector<int32_t> renumber = Renumbering(used);
  for (auto& subgraph : model.subgraphs) {
    for (auto& tensor : subgraph->tensors) tensor->buffer = static_cast<uint32_t>(renumber[tensor->buffer]);
  }
  for (auto& entry : model.metadata) entry->buffer = static_cast<uint32_t>(renumber[entry->buffer]);
  for (int32_t& b : model.metadata_buffer) {
    if (b >= 0 && static_cast<std::size_t>(b) < renumber.size()) b = renumber[static_cast<std::size_t>(b)];
  }
  KeepRenumbered(model.buffers, renumber);
}

}  // namespace litetrain::graph
