#include "bake_rewrite.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "flatbuffer/model_graph.h"
#include "litetrain/errors.h"
#include "transpose.h"

namespace litetrain::detail {
namespace {

using graph::BuiltinCode;

DType FromTensorType(fb::TensorType type) {
  switch (type) {
    case fb::TensorType::FLOAT32: return DType::kFloat32;
    case fb::TensorType::FLOAT64: return DType::kFloat64;
    case fb::TensorType::FLOAT16: return DType::kFloat16;
    case fb::TensorType::INT8: return DType::kInt8;
    case fb::TensorType::INT16: return DType::kInt16;
    case fb::TensorType::INT32: return DType::kInt32;
    case fb::TensorType::INT64: return DType::kInt64;
    case fb::TensorType::UINT8: return DType::kUInt8;
    case fb::TensorType::UINT16: return DType::kUInt16;
    case fb::TensorType::UINT32: return DType::kUInt32;
    case fb::TensorType::UINT64: return DType::kUInt64;
    case fb::TensorType::BOOL: return DType::kBool;
    default: return DType::kUnsupported;
  }
}

std::string Describe(DType dtype, const Shape& shape) { return std::string(DTypeName(dtype)) + shape.to_string(); }

Shape ToShape(const std::vector<int32_t>& dims) {
  if (dims.size() > static_cast<std::size_t>(Shape::kMaxRank)) {
    throw InvalidArgument("a variable of rank " + std::to_string(dims.size()) + " (litetrain handles up to " +
                          std::to_string(Shape::kMaxRank) + ")");
  }
  int64_t wide[Shape::kMaxRank];
  for (std::size_t i = 0; i < dims.size(); ++i) wide[i] = dims[i];
  return Shape(wide, static_cast<int>(dims.size()));
}

[[noreturn]] void NotTraining(const std::string& why) {
  throw InvalidArgument("the model is not a litetrain training model: " + why);
}

// One layout change on the way from the variable to the `save` output.
struct LayoutStep {
  std::vector<int64_t> input_shape;  // the tensor it changes
  std::vector<int32_t> perm;         // TRANSPOSE's permutation; empty: a reshape (bytes unchanged)
};

// One output of the `save` signature and the variable it reads.
struct SavedVariable {
  std::string name;  // the output's name = the weight's name
  std::string key;   // container/shared_name
  std::string container;
  std::string shared_name;
  fb::TensorType type = fb::TensorType::FLOAT32;
  Shape shape;                        // of the output, i.e. of the weight
  const fb::TensorT* read = nullptr;  // the READ_VARIABLE output: the variable's own shape; template for new constants
  std::vector<LayoutStep> steps;      // from the variable to the output, in order
  const NamedTensor* weight = nullptr;
  std::vector<uint8_t> value;  // the weight in the variable's layout
};

std::vector<int64_t> Dims(const std::vector<int32_t>& shape) { return {shape.begin(), shape.end()}; }

// The weight (laid out as `save` returns it) in the variable's own layout.
std::vector<uint8_t> VariableLayout(const SavedVariable& v) {
  std::vector<uint8_t> bytes = v.weight->bytes;
  std::vector<int64_t> shape(v.shape.begin(), v.shape.end());
  for (auto step = v.steps.rbegin(); step != v.steps.rend(); ++step) {
    if (!step->perm.empty()) {  // undo output = transpose(input, perm)
      std::vector<int32_t> inverse(step->perm.size());
      for (std::size_t i = 0; i < step->perm.size(); ++i)
        inverse[static_cast<std::size_t>(step->perm[i])] = static_cast<int32_t>(i);
      bytes = TransposeBytes(bytes.data(), shape, inverse, ItemSize(v.weight->dtype));
    }
    shape = step->input_shape;
  }
  return bytes;
}

class Baker {
 public:
  Baker(fb::ModelT& model, const Snapshot& weights, const std::string& save_signature)
      : model_(model), weights_(weights), save_signature_(save_signature) {}

  // Points every initial value of a saved variable at its weight.
  void BakeInitialValues() {
    FindSavedVariables();
    MatchWeights();
    FindInitializers();
    std::set<std::string> assigned;
    for (int32_t s : initializers_) ReplaceAssignments(s, assigned);
    for (const SavedVariable& v : saved_) {
      if (!assigned.count(v.key)) AddAssignment(initializers_.front(), v);
      assigned.insert(v.key);
    }
    for (int32_t s : initializers_) graph::RemoveUnusedTensors(model_, s);
    graph::RemoveUnusedBuffers(model_);
  }

  // Turns a baked model into its inference-only form: its initializers
  // hold every value `infer` reads (needs no weights or save signature).
  void FreezeInference(const std::string& infer_signature) {
    FindInitializers();
    fb::SignatureDefT* infer = graph::FindSignature(model_, infer_signature);
    if (infer == nullptr) NotTraining("it has no '" + infer_signature + "' signature" + SignatureList());
    const std::map<std::string, const fb::TensorT*> values = InitialValues();
    const std::vector<int32_t> kept =
        graph::ReachableSubgraphs(model_, static_cast<int32_t>(infer->subgraph_index), /*follow_initializers=*/false);
    for (int32_t s : kept) FreezeSubgraph(s, values, infer_signature);
    graph::KeepSubgraphs(model_, kept);  // `infer` becomes subgraph 0, the main one
    for (std::size_t s = 0; s < model_.subgraphs.size(); ++s)
      graph::RemoveUnusedTensors(model_, static_cast<int32_t>(s));
    graph::RemoveUnusedOperatorCodes(model_);
    graph::RemoveUnusedBuffers(model_);
  }

 private:
  std::string SignatureList() const {
    std::string keys;
    for (const auto& signature : model_.signature_defs)
      keys += (keys.empty() ? "'" : ", '") + signature->signature_key + "'";
    return " (its signatures: " + (keys.empty() ? std::string("none") : keys) + ")";
  }

  // Follows each `save` output back to the variable it reads:
  // output <- [RESHAPE | TRANSPOSE(constant perm)]* <- READ_VARIABLE <- VAR_HANDLE(container, shared_name).
  // (litetrain.build stores dense kernels transposed and returns scalars as
  // shape [1]; `save` presents them in the weights' layout.)
  void FindSavedVariables() {
    const std::string& key = save_signature_;
    fb::SignatureDefT* save = graph::FindSignature(model_, key);
    if (save == nullptr) NotTraining("it has no '" + key + "' signature returning its variables" + SignatureList());
    if (!save->inputs.empty())
      NotTraining("its '" + key + "' signature takes inputs; it must take none and return every variable");
    if (save->outputs.empty()) NotTraining("its '" + key + "' signature returns nothing");
    const fb::SubGraphT& subgraph = *model_.subgraphs.at(save->subgraph_index);
    const std::vector<int32_t> producers = graph::Producers(subgraph);
    for (const auto& output : save->outputs) {
      const std::string where = "output '" + output->name + "' of '" + key + "'";
      std::vector<LayoutStep> steps;
      const fb::OperatorT* read_op =
          FollowLayoutSteps(subgraph, producers, static_cast<int32_t>(output->tensor_index), steps);
      if (read_op == nullptr || BuiltinCode(model_, *read_op) != builtin::kReadVariable ||
          read_op->inputs.size() != 1) {
        NotTraining(where + " is not a variable read from a resource variable (directly, or reshaped or transposed)");
      }
      const int32_t handle = read_op->inputs[0] >= 0 ? producers.at(static_cast<std::size_t>(read_op->inputs[0])) : -1;
      const fb::OperatorT* handle_op =
          handle >= 0 ? subgraph.operators[static_cast<std::size_t>(handle)].get() : nullptr;
      if (handle_op == nullptr || BuiltinCode(model_, *handle_op) != builtin::kVarHandle) {
        NotTraining(where + " reads a variable whose handle does not come from VAR_HANDLE");
      }
      const fb::TensorT& returned = *subgraph.tensors.at(output->tensor_index);
      const fb::TensorT* read_tensor = subgraph.tensors.at(static_cast<std::size_t>(read_op->outputs.at(0))).get();
      for (const fb::TensorT* t : {&returned, read_tensor}) {
        for (int32_t dim : t->shape_signature) {
          if (dim < 0) NotTraining(where + " has a dynamic shape; variables must have a fixed one");
        }
      }
      if (ToShape(read_tensor->shape).num_elements() != ToShape(returned.shape).num_elements()) {
        NotTraining(where + " has another number of values than the variable it reads");
      }
      SavedVariable v;
      v.name = output->name;
      v.key = graph::VariableKey(*handle_op);
      v.type = returned.type;
      v.shape = ToShape(returned.shape);
      v.read = read_tensor;
      v.steps = std::move(steps);
      if (const auto* o = handle_op->builtin_options.AsVarHandleOptions()) {
        v.container = o->container;
        v.shared_name = o->shared_name;
      }
      for (const SavedVariable& other : saved_) {
        if (other.key == v.key)
          NotTraining("outputs '" + other.name + "' and '" + v.name + "' of '" + key + "' read the same variable");
      }
      saved_.push_back(std::move(v));
    }
  }

  // Walks back from `tensor` over RESHAPE / SQUEEZE / EXPAND_DIMS and
  // TRANSPOSE by a constant permutation, recording them in `steps` (in
  // forward order); returns the operator found before them (or nullptr).
  const fb::OperatorT* FollowLayoutSteps(const fb::SubGraphT& subgraph, const std::vector<int32_t>& producers,
                                         int32_t tensor, std::vector<LayoutStep>& steps) const {
    for (int hops = 0; hops < 16; ++hops) {
      const int32_t p = producers.at(static_cast<std::size_t>(tensor));
      if (p < 0) return nullptr;
      const fb::OperatorT& op = *subgraph.operators[static_cast<std::size_t>(p)];
      const int32_t code = BuiltinCode(model_, op);
      const bool reshape = code == builtin::kReshape || code == builtin::kSqueeze || code == builtin::kExpandDims;
      if ((!reshape && code != builtin::kTranspose) || op.inputs.empty() || op.inputs[0] < 0) return &op;
      const fb::TensorT& input = *subgraph.tensors.at(static_cast<std::size_t>(op.inputs[0]));
      LayoutStep step{Dims(input.shape), {}};
      if (code == builtin::kTranspose) {
        step.perm = ConstantInts(subgraph, op.inputs.size() == 2 ? op.inputs[1] : -1);
        std::vector<bool> seen(step.input_shape.size(), false);
        bool valid = step.perm.size() == step.input_shape.size();
        for (int32_t axis : step.perm) {
          valid = valid && axis >= 0 && static_cast<std::size_t>(axis) < seen.size() &&
                  !seen[static_cast<std::size_t>(axis)];
          if (valid) seen[static_cast<std::size_t>(axis)] = true;
        }
        if (!valid) return &op;  // not a layout change litetrain can undo
      }
      steps.insert(steps.begin(), std::move(step));
      tensor = op.inputs[0];
    }
    return nullptr;
  }

  // The values of a constant int32 / int64 tensor; empty if it is not one.
  std::vector<int32_t> ConstantInts(const fb::SubGraphT& subgraph, int32_t t) const {
    if (t < 0) return {};
    const fb::TensorT& tensor = *subgraph.tensors.at(static_cast<std::size_t>(t));
    const std::vector<uint8_t>& data = model_.buffers.at(tensor.buffer)->data;
    std::vector<int32_t> values;
    if (tensor.type == fb::TensorType::INT32) {
      values.resize(data.size() / 4);
      std::memcpy(values.data(), data.data(), values.size() * 4);
    } else if (tensor.type == fb::TensorType::INT64) {
      for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
        int64_t v;
        std::memcpy(&v, data.data() + i, 8);
        values.push_back(static_cast<int32_t>(v));
      }
    }
    return values;
  }

  void MatchWeights() {
    std::map<std::string, const NamedTensor*> by_name;
    for (const NamedTensor& w : weights_) {
      if (!by_name.emplace(w.name, &w).second) throw WeightsMismatch("the weights hold '" + w.name + "' twice");
    }
    for (SavedVariable& v : saved_) {
      auto found = by_name.find(v.name);
      if (found == by_name.end()) {
        throw WeightsMismatch("the weights lack variable '" + v.name + "' (the model's '" + save_signature_ +
                              "' returns " + std::to_string(saved_.size()) + " variables)");
      }
      const NamedTensor& w = *found->second;
      const DType dtype = FromTensorType(v.type);
      if (w.dtype != dtype || w.shape != v.shape) {
        throw WeightsMismatch("variable '" + v.name + "' is " + Describe(w.dtype, w.shape) + " in the weights but " +
                              Describe(dtype, v.shape) + " in the model");
      }
      if (w.bytes.size() != static_cast<std::size_t>(w.shape.num_elements()) * ItemSize(w.dtype)) {
        throw InvalidArgument("variable '" + v.name + "' holds " + std::to_string(w.bytes.size()) + " bytes, not the " +
                              std::to_string(w.shape.num_elements() * static_cast<int64_t>(ItemSize(w.dtype))) +
                              " its shape needs");
      }
      v.weight = &w;
      v.value = VariableLayout(v);
      by_name.erase(found);
    }
    if (!by_name.empty()) {
      throw WeightsMismatch("the weights hold '" + by_name.begin()->first + "', which the model's '" + save_signature_ +
                            "' does not return (weights of another model?)");
    }
  }

  // The subgraphs CALL_ONCE runs: the converter's variable initializers.
  void FindInitializers() {
    std::set<int32_t> found;
    for (auto& subgraph : model_.subgraphs) {
      for (auto& op : subgraph->operators) {
        if (const auto* o = op->builtin_options.AsCallOnceOptions()) found.insert(o->init_subgraph_index);
      }
    }
    if (found.empty()) {
      NotTraining("it has no variable initializer (no CALL_ONCE subgraph), so there are no initial values to replace");
    }
    initializers_.assign(found.begin(), found.end());
  }

  // Handle tensor -> variable key, for the VAR_HANDLE outputs of a subgraph.
  std::vector<std::string> Handles(const fb::SubGraphT& subgraph) const {
    std::vector<std::string> handles(subgraph.tensors.size());
    for (const auto& op : subgraph.operators) {
      if (BuiltinCode(model_, *op) == builtin::kVarHandle && op->outputs.size() == 1 && op->outputs[0] >= 0) {
        handles.at(static_cast<std::size_t>(op->outputs[0])) = graph::VariableKey(*op);
      }
    }
    return handles;
  }

  // One buffer per weight, even when two weights hold equal bytes: the
  // converter shares buffers between equal constants, baking must not.
  uint32_t BufferFor(const SavedVariable& v) {
    auto found = buffers_.find(v.key);
    if (found != buffers_.end()) return found->second;
    auto buffer = std::make_unique<fb::BufferT>();
    buffer->data = v.value;
    model_.buffers.push_back(std::move(buffer));
    const auto index = static_cast<uint32_t>(model_.buffers.size() - 1);
    buffers_.emplace(v.key, index);
    return index;
  }

  const SavedVariable* Saved(const std::string& key) const {
    for (const SavedVariable& v : saved_) {
      if (v.key == key) return &v;
    }
    return nullptr;
  }

  void SetConstant(fb::TensorT& tensor, const SavedVariable& v) {
    tensor.type = v.type;
    tensor.shape = v.read->shape;  // the variable's own layout
    tensor.shape_signature.clear();
    tensor.is_variable = false;
    tensor.buffer = BufferFor(v);
  }

  // Every ASSIGN_VARIABLE of the initializer that sets a saved variable gets
  // the weight as its value: the constant it had when only this assignment
  // reads it, a new constant otherwise (converters share equal constants).
  void ReplaceAssignments(int32_t s, std::set<std::string>& assigned) {
    fb::SubGraphT& subgraph = *model_.subgraphs.at(static_cast<std::size_t>(s));
    const std::vector<std::string> handles = Handles(subgraph);
    std::vector<int> uses(subgraph.tensors.size(), 0);
    for (const auto& op : subgraph.operators) {
      for (int32_t t : op->inputs) {
        if (t >= 0) ++uses.at(static_cast<std::size_t>(t));
      }
    }
    for (int32_t t : subgraph.inputs) ++uses.at(static_cast<std::size_t>(t));
    for (int32_t t : subgraph.outputs) ++uses.at(static_cast<std::size_t>(t));
    for (auto& op : subgraph.operators) {
      if (BuiltinCode(model_, *op) != builtin::kAssignVariable || op->inputs.size() != 2 || op->inputs[0] < 0) continue;
      const SavedVariable* v = Saved(handles.at(static_cast<std::size_t>(op->inputs[0])));
      if (v == nullptr) continue;  // a variable `save` does not return keeps its value
      const int32_t value = op->inputs[1];
      const bool constant =
          value >= 0 &&
          model_.buffers.at(subgraph.tensors.at(static_cast<std::size_t>(value))->buffer)->data.size() > 0;
      if (constant && uses.at(static_cast<std::size_t>(value)) == 1) {
        SetConstant(*subgraph.tensors[static_cast<std::size_t>(value)], *v);
      } else {
        op->inputs[1] = AddConstant(subgraph, *v);
      }
      assigned.insert(v->key);
    }
  }

  int32_t AddConstant(fb::SubGraphT& subgraph, const SavedVariable& v) {
    auto tensor = std::make_unique<fb::TensorT>(*v.read);
    tensor->name = v.shared_name + "/baked";
    SetConstant(*tensor, v);
    subgraph.tensors.push_back(std::move(tensor));
    return static_cast<int32_t>(subgraph.tensors.size() - 1);
  }

  uint32_t OperatorCode(int32_t builtin) {
    for (std::size_t c = 0; c < model_.operator_codes.size(); ++c) {
      const auto& code = *model_.operator_codes[c];
      if (std::max<int32_t>(code.builtin_code, code.deprecated_builtin_code) == builtin && code.custom_code.empty()) {
        return static_cast<uint32_t>(c);
      }
    }
    auto code = std::make_unique<fb::OperatorCodeT>();
    code->builtin_code = builtin;
    code->deprecated_builtin_code = static_cast<int8_t>(std::min<int32_t>(builtin, 127));
    code->version = 1;
    model_.operator_codes.push_back(std::move(code));
    return static_cast<uint32_t>(model_.operator_codes.size() - 1);
  }

  // A saved variable the initializer never sets (its value was lost in
  // conversion, say) gets VAR_HANDLE + ASSIGN_VARIABLE of its weight there.
  void AddAssignment(int32_t s, const SavedVariable& v) {
    fb::SubGraphT& subgraph = *model_.subgraphs.at(static_cast<std::size_t>(s));
    auto handle = std::make_unique<fb::TensorT>();
    handle->type = fb::TensorType::RESOURCE;
    handle->name = v.shared_name + "/handle";
    subgraph.tensors.push_back(std::move(handle));
    const auto handle_index = static_cast<int32_t>(subgraph.tensors.size() - 1);
    const int32_t value_index = AddConstant(subgraph, v);

    auto var_handle = std::make_unique<fb::OperatorT>();
    var_handle->opcode_index = OperatorCode(builtin::kVarHandle);
    var_handle->outputs = {handle_index};
    fb::VarHandleOptionsT options;
    options.container = v.container;
    options.shared_name = v.shared_name;
    var_handle->builtin_options.Set(std::move(options));
    auto assign = std::make_unique<fb::OperatorT>();
    assign->opcode_index = OperatorCode(builtin::kAssignVariable);
    assign->inputs = {handle_index, value_index};
    assign->builtin_options.Set(fb::AssignVariableOptionsT());
    subgraph.operators.push_back(std::move(var_handle));
    subgraph.operators.push_back(std::move(assign));
  }

  // Variable key -> its constant initial value (the last assignment in the
  // initializers wins, as when they run); nullptr when it is computed.
  std::map<std::string, const fb::TensorT*> InitialValues() const {
    std::map<std::string, const fb::TensorT*> values;
    for (int32_t s : initializers_) {
      const fb::SubGraphT& subgraph = *model_.subgraphs.at(static_cast<std::size_t>(s));
      const std::vector<std::string> handles = Handles(subgraph);
      for (const auto& op : subgraph.operators) {
        if (BuiltinCode(model_, *op) != builtin::kAssignVariable || op->inputs.size() != 2 || op->inputs[0] < 0)
          continue;
        const std::string& key = handles.at(static_cast<std::size_t>(op->inputs[0]));
        if (key.empty()) continue;
        const fb::TensorT* value =
            op->inputs[1] >= 0 ? subgraph.tensors.at(static_cast<std::size_t>(op->inputs[1])).get() : nullptr;
        values[key] = value != nullptr && !model_.buffers.at(value->buffer)->data.empty() ? value : nullptr;
      }
    }
    return values;
  }

  static std::string VariableName(const std::string& key) { return key.substr(key.find('/') + 1); }

  // Reads of variables become constants; handles, initializer calls go.
  void FreezeSubgraph(int32_t s, const std::map<std::string, const fb::TensorT*>& values,
                      const std::string& infer_signature) {
    fb::SubGraphT& subgraph = *model_.subgraphs.at(static_cast<std::size_t>(s));
    const std::vector<std::string> handles = Handles(subgraph);
    const std::string where = "signature '" + infer_signature + "'";
    std::vector<std::unique_ptr<fb::OperatorT>> kept;
    for (auto& op : subgraph.operators) {
      const int32_t code = BuiltinCode(model_, *op);
      if (code == builtin::kCallOnce || code == builtin::kVarHandle) continue;
      if (code == builtin::kAssignVariable) {
        const std::string key =
            op->inputs.empty() || op->inputs[0] < 0 ? "" : handles.at(static_cast<std::size_t>(op->inputs[0]));
        throw InvalidArgument(where + " changes variable '" + VariableName(key) +
                              "', so it has no inference-only form with constant weights");
      }
      if (code == builtin::kReadVariable && op->inputs.size() == 1 && op->outputs.size() == 1 && op->inputs[0] >= 0) {
        const std::string& key = handles.at(static_cast<std::size_t>(op->inputs[0]));
        auto found = values.find(key);
        if (key.empty() || found == values.end() || found->second == nullptr) {
          throw InvalidArgument(where + " reads variable '" + VariableName(key) +
                                "', which has no constant initial value to freeze");
        }
        fb::TensorT& tensor = *subgraph.tensors.at(static_cast<std::size_t>(op->outputs[0]));
        const fb::TensorT& value = *found->second;
        if (tensor.type != value.type) {
          throw InvalidArgument(where + " reads variable '" + VariableName(key) + "' as another type than it holds");
        }
        tensor.buffer = value.buffer;  // shared with the initializer's constant until that is dropped
        tensor.shape = value.shape;
        tensor.shape_signature.clear();
        continue;
      }
      for (int32_t t : op->inputs) {
        if (t >= 0 && !handles.at(static_cast<std::size_t>(t)).empty()) {
          throw InvalidArgument(where + " passes variable '" + VariableName(handles[static_cast<std::size_t>(t)]) +
                                "' to an operator as a handle, so it cannot be frozen into a constant");
        }
      }
      kept.push_back(std::move(op));
    }
    subgraph.operators = std::move(kept);
    for (const auto* list : {&subgraph.inputs, &subgraph.outputs}) {
      for (int32_t t : *list) {
        if (subgraph.tensors.at(static_cast<std::size_t>(t))->type == fb::TensorType::RESOURCE) {
          throw InvalidArgument(where + " takes or returns a variable handle, so it cannot be frozen");
        }
      }
    }
  }

  fb::ModelT& model_;
  const Snapshot& weights_;
  const std::string& save_signature_;
  std::vector<SavedVariable> saved_;
  std::vector<int32_t> initializers_;
  std::map<std::string, uint32_t> buffers_;
};

}  // namespace

void BakeInitialValues(fb::ModelT& model, const Snapshot& weights, const std::string& save_signature) {
  Baker(model, weights, save_signature).BakeInitialValues();
}

void FreezeInference(fb::ModelT& model, const std::string& infer_signature) {
  const Snapshot no_weights;
  const std::string no_save_signature;
  Baker(model, no_weights, no_save_signature).FreezeInference(infer_signature);
}

}  // namespace litetrain::detail
