#include "flatbuffer/model_verifier.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "flatbuffer/builtin_codes.h"
#include "flatbuffer/operator_inputs.h"
#include "flatbuffer/output_shapes.h"
#include "formats/json.h"
#include "litetrain/errors.h"
#include "tflite_generated.h"

namespace litetrain {
namespace {

namespace fb = tflite_fb;
using builtin::kAssignVariable, builtin::kReadVariable, builtin::kVarHandle;

// The only schema version TFLite has written since 2018.
constexpr uint32_t kSchemaVersion = 3;

[[noreturn]] void Fail(const std::string& what) { throw ModelFormatError(what); }

// Size in bytes of one element, 0 where it is not a whole number of bytes or
// varies (strings, int4, resources, variants).
std::size_t ElementBytes(fb::TensorType type) {
  switch (type) {
    case fb::TensorType::FLOAT64:
    case fb::TensorType::INT64:
    case fb::TensorType::UINT64:
    case fb::TensorType::COMPLEX64: return 8;
    case fb::TensorType::COMPLEX128: return 16;
    case fb::TensorType::FLOAT32:
    case fb::TensorType::INT32:
    case fb::TensorType::UINT32: return 4;
    case fb::TensorType::FLOAT16:
    case fb::TensorType::BFLOAT16:
    case fb::TensorType::INT16:
    case fb::TensorType::UINT16: return 2;
    case fb::TensorType::INT8:
    case fb::TensorType::UINT8:
    case fb::TensorType::BOOL: return 1;
    default: return 0;
  }
}

class SemanticChecker {
 public:
  SemanticChecker(const fb::Model& model, std::size_t file_size) : model_(model), file_size_(file_size) {}

  void Check() {
    if (model_.version() != kSchemaVersion) {
      Fail("schema version " + std::to_string(model_.version()) + " (expected " + std::to_string(kSchemaVersion) + ")");
    }
    num_buffers_ = model_.buffers() ? model_.buffers()->size() : 0;
    num_opcodes_ = model_.operator_codes() ? model_.operator_codes()->size() : 0;
    num_subgraphs_ = model_.subgraphs() ? model_.subgraphs()->size() : 0;
    if (num_subgraphs_ == 0) Fail("no subgraphs");
    CheckNames();  // first: the other messages quote names
    CheckBuffers();
    CheckOperatorCodes();
    for (uint32_t s = 0; s < num_subgraphs_; ++s) CheckSubgraph(s, *model_.subgraphs()->Get(s));
    CheckSignatures();
    CheckMetadata();
    CheckResourceVariables();
  }

 private:
  // Names reach Python as str (signature keys, tensor names, variable names
  // in messages): bytes that are not UTF-8 raised UnicodeDecodeError there,
  // and a NUL would cut the name short in LiteRT's C strings.
  static void CheckName(const flatbuffers::String* name, const std::string& what) {
    if (name == nullptr) return;
    const std::string_view text(name->c_str(), name->size());
    if (text.find('\0') != std::string_view::npos || !detail::IsValidUtf8(text)) {
      Fail(what + " has a name that is not UTF-8 text");
    }
  }

  void CheckNames() {
    for (uint32_t s = 0; s < num_subgraphs_; ++s) {
      const fb::SubGraph& subgraph = *model_.subgraphs()->Get(s);
      const std::string where = "subgraph " + std::to_string(s);
      CheckName(subgraph.name(), where);
      if (subgraph.tensors()) {
        for (uint32_t t = 0; t < subgraph.tensors()->size(); ++t) {
          CheckName(subgraph.tensors()->Get(t)->name(), where + " tensor " + std::to_string(t));
        }
      }
      if (subgraph.operators()) {
        for (uint32_t o = 0; o < subgraph.operators()->size(); ++o) {
          if (const auto* v = subgraph.operators()->Get(o)->builtin_options_as_VarHandleOptions()) {
            const std::string op_where = where + " operator " + std::to_string(o) + "'s variable";
            CheckName(v->container(), op_where);
            CheckName(v->shared_name(), op_where);
          }
        }
      }
    }
    if (model_.signature_defs()) {
      for (uint32_t i = 0; i < model_.signature_defs()->size(); ++i) {
        const fb::SignatureDef& signature = *model_.signature_defs()->Get(i);
        const std::string where = "signature " + std::to_string(i);
        CheckName(signature.signature_key(), where);
        for (const auto* maps : {signature.inputs(), signature.outputs()}) {
          if (maps == nullptr) continue;
          for (const fb::TensorMap* map : *maps) CheckName(map->name(), where + " tensor");
        }
      }
    }
    if (model_.metadata()) {
      for (const fb::Metadata* metadata : *model_.metadata()) CheckName(metadata->name(), "a metadata entry");
    }
  }

  void CheckBuffers() {
    for (uint32_t b = 0; b < num_buffers_; ++b) {
      const fb::Buffer* buffer = model_.buffers()->Get(b);
      // Buffers of models over 2 GB live after the flatbuffer: offset + size.
      if (buffer->offset() > 1) {
        const uint64_t end = buffer->offset() + buffer->size();
        if (end < buffer->offset() || end > file_size_) {
          Fail("buffer " + std::to_string(b) + " points past the end of the file");
        }
      }
    }
  }

  void CheckOperatorCodes() {
    for (uint32_t c = 0; c < num_opcodes_; ++c) {
      const fb::OperatorCode* code = model_.operator_codes()->Get(c);
      if (code->builtin_code() < 0 || code->deprecated_builtin_code() < 0) {
        Fail("operator code " + std::to_string(c) + " has a negative builtin code");
      }
      // The two fields must agree, or one be 0: the converter writes
      // min(code, 127) in the old one, files older than the new field leave
      // that 0. TFLite takes the larger and LiteRT's own graph another:
      // SOFTMAX (25) beside a deprecated SLICE (65) crashed the second
      // compilation of the model.
      const int32_t builtin = std::max<int32_t>(code->builtin_code(), code->deprecated_builtin_code());
      const int32_t deprecated = code->deprecated_builtin_code();
      if ((deprecated != 0 && deprecated != std::min(builtin, 127)) ||
          (code->builtin_code() != 0 && code->builtin_code() != builtin)) {
        Fail("operator code " + std::to_string(c) + " has builtin code " + std::to_string(code->builtin_code()) +
             " but deprecated code " + std::to_string(code->deprecated_builtin_code()));
      }
    }
  }

  // Bytes the tensor's data needs, or nothing when that cannot be known
  // statically. 0 is an answer: a shape with a zero dimension holds no data.
  static std::optional<uint64_t> DataBytes(const fb::Tensor& tensor) {
    const std::size_t item = ElementBytes(tensor.type());
    if (item == 0 || tensor.sparsity() != nullptr || tensor.shape() == nullptr) return std::nullopt;
    uint64_t count = 1;
    for (int32_t dim : *tensor.shape()) {
      if (dim < 0) return std::nullopt;
      if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(dim)) {
        return std::numeric_limits<uint64_t>::max();
      }
      count *= static_cast<uint64_t>(dim);
    }
    if (count > std::numeric_limits<uint64_t>::max() / item) return std::numeric_limits<uint64_t>::max();
    return count * item;
  }

  // Largest tensor not backed by its data (an activation, a variable): 2 GiB,
  // far above what an on-device model computes, and TFLite's kernels count
  // elements in int.
  static constexpr uint64_t kMaxComputedTensorBytes = uint64_t{1} << 31;

  // Bytes of the tensor with each zero dimension counted as 1: kernels size
  // packed weights and scratch by the other dimensions, so [0, 2147483647]
  // asked for 8 GB although it holds no element.
  static uint64_t SpanBytes(const fb::Tensor& tensor) {
    uint64_t bytes = std::max<std::size_t>(ElementBytes(tensor.type()), 1);
    if (tensor.shape() == nullptr) return bytes;
    for (int32_t dim : *tensor.shape()) {
      const uint64_t d = dim > 1 ? static_cast<uint64_t>(dim) : 1;
      if (bytes > std::numeric_limits<uint64_t>::max() / d) return std::numeric_limits<uint64_t>::max();
      bytes *= d;
    }
    return bytes;
  }

  void CheckTensor(const std::string& where, const fb::Tensor& tensor) {
    if (tensor.type() < fb::TensorType::MIN || tensor.type() > fb::TensorType::MAX) {
      Fail(where + " has an unknown type " + std::to_string(static_cast<int>(tensor.type())));
    }
    if (tensor.buffer() >= num_buffers_) {
      Fail(where + " refers to buffer " + std::to_string(tensor.buffer()) + " of " + std::to_string(num_buffers_));
    }
    const int rank = tensor.shape() ? static_cast<int>(tensor.shape()->size()) : 0;
    if (tensor.shape()) {
      for (int32_t dim : *tensor.shape()) {
        if (dim < 0) Fail(where + " has a negative dimension");
      }
    }
    if (tensor.shape_signature()) {
      if (static_cast<int>(tensor.shape_signature()->size()) != rank) {
        Fail(where + " has a shape signature of another rank than its shape");
      }
      for (int32_t dim : *tensor.shape_signature()) {
        if (dim < -1) Fail(where + " has an invalid dynamic dimension");
      }
      // Data has one shape: a constant signature output declared [-1, 4]
      // made LiteRT copy 64 MiB out of its 16 bytes (fuzz_model, ASan).
      const bool dynamic = std::count(tensor.shape_signature()->begin(), tensor.shape_signature()->end(), -1) > 0;
      if (dynamic && HasData(tensor)) Fail(where + " holds constant data but has a dynamic dimension");
    }
    if (const fb::QuantizationParameters* q = tensor.quantization()) {
      const uint32_t scales = q->scale() ? q->scale()->size() : 0;
      const uint32_t zero_points = q->zero_point() ? q->zero_point()->size() : 0;
      if (zero_points != 0 && zero_points != scales) {
        Fail(where + " has " + std::to_string(scales) + " quantization scales but " + std::to_string(zero_points) +
             " zero points");
      }
      // A zero point outside the type's range (2147483648 on an int8
      // tensor, seen) crashed the quantized kernels.
      int64_t low = 0, high = -1;
      if (tensor.type() == fb::TensorType::INT8) low = -128, high = 127;
      if (tensor.type() == fb::TensorType::UINT8) low = 0, high = 255;
      if (tensor.type() == fb::TensorType::INT16) low = -32768, high = 32767;
      if (high >= low && q->zero_point()) {
        for (int64_t z : *q->zero_point()) {
          if (z < low || z > high) Fail(where + " has zero point " + std::to_string(z) + " outside its type's range");
        }
      }
      if (scales > 1 && (q->quantized_dimension() < 0 || q->quantized_dimension() >= rank)) {
        Fail(where + " is quantized along dimension " + std::to_string(q->quantized_dimension()) + " of a rank-" +
             std::to_string(rank) + " tensor");
      }
    }
    const fb::Buffer* buffer = model_.buffers()->Get(tensor.buffer());
    const uint64_t stored = buffer->data() ? buffer->data()->size() : (buffer->offset() > 1 ? buffer->size() : 0);
    // A constant whose dimension became 0 keeps its data: SUM's axes [3]
    // damaged to [0] reduced nothing, and LiteRT then broke the heap
    // ("free(): invalid pointer", SIGABRT; test_damaged_variants).
    const std::optional<uint64_t> needed = DataBytes(tensor);
    if (stored != 0 && needed && *needed != stored) {
      Fail(where + " needs " + std::to_string(*needed) + " bytes of data but its buffer " +
           std::to_string(tensor.buffer()) + " holds " + std::to_string(stored));
    }
    // Constants whose data matches their shape may be large (models over 2 GB).
    if ((stored == 0 || needed != stored) && SpanBytes(tensor) > kMaxComputedTensorBytes) {
      // LiteRT allocates such a tensor when it compiles or runs the model;
      // one damaged dimension (2147483647) asked for gigabytes of memory.
      Fail(where + " needs " + std::to_string(SpanBytes(tensor)) + " bytes, more than the " +
           std::to_string(kMaxComputedTensorBytes) + " a computed tensor may take");
    }
  }

  void CheckTensorIndex(const std::string& where, int32_t index, uint32_t num_tensors, bool optional) {
    if (optional && index == -1) return;
    if (index < 0 || static_cast<uint32_t>(index) >= num_tensors) {
      Fail(where + " refers to tensor " + std::to_string(index) + " of " + std::to_string(num_tensors));
    }
  }

  void CheckTensorList(const std::string& where, const flatbuffers::Vector<int32_t>* list, uint32_t num_tensors,
                       bool optional) {
    if (list == nullptr) return;
    for (int32_t index : *list) CheckTensorIndex(where, index, num_tensors, optional);
  }

  void CheckSubgraphIndex(const std::string& where, int32_t index) {
    if (index < 0 || static_cast<uint32_t>(index) >= num_subgraphs_) {
      Fail(where + " refers to subgraph " + std::to_string(index) + " of " + std::to_string(num_subgraphs_));
    }
  }

  // -1 only where the operator takes the input as optional (operator_inputs.h).
  void CheckOmittedInputs(const std::string& where, const fb::Operator& op) const {
    if (op.inputs() == nullptr) return;
    for (uint32_t i = 0; i < op.inputs()->size(); ++i) {
      if (op.inputs()->Get(i) != -1) continue;
      const int32_t code = BuiltinCode(op);
      if (!detail::InputMayBeOmitted(code, i)) {
        Fail(where + " (" + detail::BuiltinOperatorName(code) + ") omits input " + std::to_string(i) +
             " (-1), which the operator needs");
      }
    }
  }

  // Inputs that decide an output's shape must hold data in the file, not be
  // computed (operator_inputs.h): a tensor index moved onto another tensor of
  // the same type passes every other rule.
  void CheckConstantInputs(const std::string& where, const fb::Operator& op, const fb::SubGraph& subgraph) const {
    if (op.inputs() == nullptr) return;
    const int32_t code = BuiltinCode(op);
    for (uint32_t i = 0; i < op.inputs()->size(); ++i) {
      const int32_t t = op.inputs()->Get(i);
      if (t < 0 || !detail::InputMustBeConstant(code, i)) continue;
      if (!HasData(*subgraph.tensors()->Get(static_cast<uint32_t>(t)))) {
        Fail(where + " (" + detail::BuiltinOperatorName(code) + ") takes input " + std::to_string(i) + " from tensor " +
             std::to_string(t) + ", which is not a constant");
      }
    }
  }

  // Options that name other subgraphs (control flow, variable initialisers).
  void CheckOperatorOptions(const std::string& where, const fb::Operator& op) {
    if (const auto* o = op.builtin_options_as_CallOnceOptions()) {
      CheckSubgraphIndex(where, o->init_subgraph_index());
    } else if (const auto* o = op.builtin_options_as_IfOptions()) {
      CheckSubgraphIndex(where, o->then_subgraph_index());
      CheckSubgraphIndex(where, o->else_subgraph_index());
    } else if (const auto* o = op.builtin_options_as_WhileOptions()) {
      CheckSubgraphIndex(where, o->cond_subgraph_index());
      CheckSubgraphIndex(where, o->body_subgraph_index());
    } else if (const auto* o = op.builtin_options_as_CallOptions()) {
      CheckSubgraphIndex(where, static_cast<int32_t>(o->subgraph()));
    }
  }

  void CheckSubgraph(uint32_t s, const fb::SubGraph& subgraph) {
    const std::string where = "subgraph " + std::to_string(s);
    const uint32_t num_tensors = subgraph.tensors() ? subgraph.tensors()->size() : 0;
    for (uint32_t t = 0; t < num_tensors; ++t) {
      CheckTensor(where + " tensor " + std::to_string(t), *subgraph.tensors()->Get(t));
    }
    CheckTensorList(where + " inputs", subgraph.inputs(), num_tensors, false);
    CheckTensorList(where + " outputs", subgraph.outputs(), num_tensors, false);
    // Without signatures LiteRT names the inputs and outputs after their
    // tensors, through std::string: a missing name there is a null pointer.
    if (model_.signature_defs() == nullptr || model_.signature_defs()->size() == 0) {
      for (const auto* list : {subgraph.inputs(), subgraph.outputs()}) {
        if (list == nullptr) continue;
        for (int32_t t : *list) {
          if (subgraph.tensors()->Get(static_cast<uint32_t>(t))->name() == nullptr) {
            Fail(where + " input or output tensor " + std::to_string(t) + " has no name");
          }
        }
      }
    }
    if (subgraph.operators() == nullptr) return;
    for (uint32_t o = 0; o < subgraph.operators()->size(); ++o) {
      const fb::Operator& op = *subgraph.operators()->Get(o);
      const std::string op_where = where + " operator " + std::to_string(o);
      if (op.opcode_index() >= num_opcodes_) {
        Fail(op_where + " uses operator code " + std::to_string(op.opcode_index()) + " of " +
             std::to_string(num_opcodes_));
      }
      CheckTensorList(op_where + " inputs", op.inputs(), num_tensors, true);
      CheckOmittedInputs(op_where, op);
      CheckConstantInputs(op_where, op, subgraph);
      CheckTensorList(op_where + " outputs", op.outputs(), num_tensors, false);
      CheckTensorList(op_where + " intermediates", op.intermediates(), num_tensors, false);
      CheckVariableOperands(op_where, op, subgraph);
      detail::CheckOutputShape(op_where, BuiltinCode(op), op, subgraph, model_);
      if (op.large_custom_options_offset() > 1) {
        const uint64_t end = op.large_custom_options_offset() + op.large_custom_options_size();
        if (end < op.large_custom_options_offset() || end > file_size_) {
          Fail(op_where + " has custom options past the end of the file");
        }
      }
      CheckOperatorOptions(op_where, op);
    }
    CheckDataflow(where, subgraph, num_tensors);
    CheckVariableReadsTakenOnce(where, subgraph, num_tensors);
  }

  // A constant: its buffer holds bytes, inside the flatbuffer or after it.
  bool HasData(const fb::Tensor& tensor) const {
    const fb::Buffer* buffer = model_.buffers()->Get(tensor.buffer());
    return (buffer->data() && buffer->data()->size() > 0) || buffer->offset() > 1;
  }

  // A tensor that has data before any operator runs: a constant, a variable,
  // or an empty tensor.
  bool HasInitialValue(const fb::Tensor& tensor) const {
    if (tensor.is_variable() || HasData(tensor)) return true;
    if (tensor.shape() == nullptr) return false;
    for (int32_t dim : *tensor.shape()) {
      if (dim == 0) return true;
    }
    return false;
  }

  // Converted graphs are in single-assignment form, in execution order: every
  // tensor an operator reads is an input, has an initial value or was written
  // by an earlier operator, and no tensor is written twice. A flipped tensor
  // index that stays in range breaks this, and LiteRT would then run kernels
  // on tensors of the wrong type (seen: SIGSEGV in `infer`).
  void CheckDataflow(const std::string& where, const fb::SubGraph& subgraph, uint32_t num_tensors) {
    std::vector<uint8_t> defined(num_tensors, 0);  // 1: has a value, 2: written by an operator
    for (uint32_t t = 0; t < num_tensors; ++t) {
      if (HasInitialValue(*subgraph.tensors()->Get(t))) defined[t] = 1;
    }
    if (subgraph.inputs()) {
      for (int32_t t : *subgraph.inputs()) defined[static_cast<uint32_t>(t)] = 1;
    }
    for (uint32_t o = 0; o < subgraph.operators()->size(); ++o) {
      const fb::Operator& op = *subgraph.operators()->Get(o);
      const std::string op_where = where + " operator " + std::to_string(o);
      if (op.inputs()) {
        for (int32_t t : *op.inputs()) {
          if (t >= 0 && !defined[static_cast<uint32_t>(t)]) {
            Fail(op_where + " reads tensor " + std::to_string(t) + " before anything writes it");
          }
        }
      }
      if (op.outputs()) {
        for (int32_t t : *op.outputs()) {
          if (defined[static_cast<uint32_t>(t)] == 2) {
            Fail(op_where + " writes tensor " + std::to_string(t) + ", which an earlier operator wrote");
          }
          defined[static_cast<uint32_t>(t)] = 2;
        }
      }
    }
    if (subgraph.outputs()) {
      for (int32_t t : *subgraph.outputs()) {
        if (!defined[static_cast<uint32_t>(t)]) {
          Fail(where + " output tensor " + std::to_string(t) + " is never written");
        }
      }
    }
  }

  // One READ_VARIABLE result at two inputs of one operator (SUB(w, w) stored
  // back into w, MUL(w, w), SUB(w, w) as a signature output) crashed LiteRT's
  // CPU path at run time, reading address 0 (fuzz_model); the same computed
  // tensor twice (SUB(x, x) of a RESHAPE result) ran fine.
  void CheckVariableReadsTakenOnce(const std::string& where, const fb::SubGraph& subgraph, uint32_t num_tensors) const {
    std::vector<bool> read_result(num_tensors, false);
    for (const fb::Operator* op : *subgraph.operators()) {
      if (BuiltinCode(*op) == kReadVariable && op->outputs() && op->outputs()->size() == 1) {
        read_result[static_cast<uint32_t>(op->outputs()->Get(0))] = true;
      }
    }
    for (uint32_t o = 0; o < subgraph.operators()->size(); ++o) {
      const fb::Operator& op = *subgraph.operators()->Get(o);
      if (op.inputs() == nullptr) continue;
      for (uint32_t i = 0; i < op.inputs()->size(); ++i) {
        const int32_t t = op.inputs()->Get(i);
        if (t < 0 || !read_result[static_cast<uint32_t>(t)]) continue;
        for (uint32_t j = i + 1; j < op.inputs()->size(); ++j) {
          if (op.inputs()->Get(j) != t) continue;
          Fail(where + " operator " + std::to_string(o) + " (" + detail::BuiltinOperatorName(BuiltinCode(op)) +
               ") reads tensor " + std::to_string(t) + ", a READ_VARIABLE result, at inputs " + std::to_string(i) +
               " and " + std::to_string(j) + ", which crashes LiteRT's CPU kernels");
        }
      }
    }
  }

  // LiteRT names each subgraph input and output by looking it up in the
  // signature; a tensor the map misses, or one mapped twice (leaving another
  // unnamed), made it build a std::string from a null name inside
  // LiteRtGetCompiledModelInputBufferRequirements. So the map must name the
  // subgraph's list exactly: every entry once, nothing else.
  void CheckTensorMaps(const std::string& where, const flatbuffers::Vector<flatbuffers::Offset<fb::TensorMap>>* maps,
                       const flatbuffers::Vector<int32_t>* list, uint32_t num_tensors) {
    const uint32_t num_maps = maps ? maps->size() : 0;
    const uint32_t num_listed = list ? list->size() : 0;
    if (num_maps != num_listed) {
      Fail(where + "s name " + std::to_string(num_maps) + " tensors, the subgraph has " + std::to_string(num_listed));
    }
    std::vector<bool> named(num_listed, false);
    std::set<std::string_view> names;
    for (uint32_t m = 0; m < num_maps; ++m) {
      const fb::TensorMap* map = maps->Get(m);
      if (map->name() == nullptr) Fail(where + " has a tensor without a name");
      const std::string map_where = where + " '" + map->name()->str() + "'";
      // Bound by name: a second tensor of the same name is never found and
      // LiteRT then built a std::string from a null name at run time.
      if (!names.insert(map->name()->string_view()).second) Fail(map_where + " appears twice");
      CheckTensorIndex(map_where, static_cast<int32_t>(map->tensor_index()), num_tensors, false);
      uint32_t at = 0;
      while (at < num_listed && static_cast<uint32_t>(list->Get(at)) != map->tensor_index()) ++at;
      if (at == num_listed) Fail(map_where + " is not one of the subgraph's tensors of that kind");
      if (named[at]) Fail(map_where + " names a tensor another entry already names");
      named[at] = true;
    }
  }

  void CheckSignatures() {
    if (model_.signature_defs() == nullptr) return;
    std::set<std::string_view> keys;  // signatures are looked up by key
    for (uint32_t i = 0; i < model_.signature_defs()->size(); ++i) {
      const fb::SignatureDef& signature = *model_.signature_defs()->Get(i);
      if (signature.signature_key() == nullptr) Fail("signature " + std::to_string(i) + " has no key");
      const std::string where = "signature '" + signature.signature_key()->str() + "'";
      if (!keys.insert(signature.signature_key()->string_view()).second) Fail(where + " appears twice");
      CheckSubgraphIndex(where, static_cast<int32_t>(signature.subgraph_index()));
      const fb::SubGraph& subgraph = *model_.subgraphs()->Get(signature.subgraph_index());
      const uint32_t num_tensors = subgraph.tensors() ? subgraph.tensors()->size() : 0;
      CheckTensorMaps(where + " input", signature.inputs(), subgraph.inputs(), num_tensors);
      CheckTensorMaps(where + " output", signature.outputs(), subgraph.outputs(), num_tensors);
    }
  }

  // LiteRT's variable kernels index their operands without counting them: a
  // READ_VARIABLE without an output overflowed the heap, an ASSIGN_VARIABLE
  // with one input threw out of LiteRT's loader (fuzz_model findings).
  void CheckVariableOperands(const std::string& where, const fb::Operator& op, const fb::SubGraph& subgraph) const {
    const int32_t code = BuiltinCode(op);
    int inputs = -1, outputs = -1;
    if (code == kVarHandle) inputs = 0, outputs = 1;
    if (code == kReadVariable) inputs = 1, outputs = 1;
    if (code == kAssignVariable) inputs = 2, outputs = 0;
    const int have = op.inputs() ? static_cast<int>(op.inputs()->size()) : 0;
    if (have < detail::MinimumInputs(code)) {
      Fail(where + " (" + detail::BuiltinOperatorName(code) + ") has " + std::to_string(have) +
           " inputs; it takes at least " + std::to_string(detail::MinimumInputs(code)));
    }
    if (inputs < 0) {
      // Only these write nothing but state: another operator without an
      // output (RESHAPE, seen) threw out of LiteRT's loader.
      using builtin::kCallOnce, builtin::kCustom, builtin::kIf, builtin::kWhile;
      const bool may_have_no_output = code == kCustom || code == kIf || code == kWhile || code == kCallOnce;
      if (!may_have_no_output && (op.outputs() == nullptr || op.outputs()->size() == 0)) {
        Fail(where + " (" + detail::BuiltinOperatorName(code) + ") has no output");
      }
      return;
    }
    const int have_inputs = op.inputs() ? static_cast<int>(op.inputs()->size()) : 0;
    const int have_outputs = op.outputs() ? static_cast<int>(op.outputs()->size()) : 0;
    if (have_inputs != inputs || have_outputs != outputs) {
      Fail(where + " (" + detail::BuiltinOperatorName(code) + ") has " + std::to_string(have_inputs) + " inputs and " +
           std::to_string(have_outputs) + " outputs; it takes " + std::to_string(inputs) + " and " +
           std::to_string(outputs));
    }
    // The handle must be a RESOURCE tensor: a damaged type made LiteRT treat
    // a float as a variable handle and crash.
    const int32_t handle = code == kVarHandle ? op.outputs()->Get(0) : op.inputs()->Get(0);
    if (handle < 0 || subgraph.tensors()->Get(static_cast<uint32_t>(handle))->type() != fb::TensorType::RESOURCE) {
      Fail(where + " (" + detail::BuiltinOperatorName(code) + ") has a variable handle that is not a RESOURCE tensor");
    }
  }

  int32_t BuiltinCode(const fb::Operator& op) const {
    const fb::OperatorCode* code = model_.operator_codes()->Get(op.opcode_index());
    return std::max<int32_t>(code->builtin_code(), code->deprecated_builtin_code());
  }

  // Training graphs keep their weights in resource variables: VAR_HANDLE
  // names one, ASSIGN_VARIABLE stores a value, READ_VARIABLE copies it out.
  // LiteRT's kernels trust the shapes on both sides, so a damaged shape there
  // reads past the variable's memory (seen: SIGSEGV in `save`). Every value
  // stored in one variable must have one shape, and every read must declare it.
  void CheckResourceVariables() {
    // Variable names of the handle tensors, per subgraph.
    std::vector<std::vector<std::string>> handles(num_subgraphs_);
    std::map<std::string, std::vector<int32_t>> shapes;
    for (uint32_t s = 0; s < num_subgraphs_; ++s) {
      const fb::SubGraph& subgraph = *model_.subgraphs()->Get(s);
      if (subgraph.operators() == nullptr) continue;
      handles[s].assign(subgraph.tensors() ? subgraph.tensors()->size() : 0, std::string());
      for (const fb::Operator* op : *subgraph.operators()) {
        if (BuiltinCode(*op) != kVarHandle || !op->outputs() || op->outputs()->size() != 1) continue;
        const auto* options = op->builtin_options_as_VarHandleOptions();
        std::string name = "/";
        if (options) {
          name = (options->container() ? options->container()->str() : "") + "/" +
                 (options->shared_name() ? options->shared_name()->str() : "");
        }
        handles[s][static_cast<uint32_t>(op->outputs()->Get(0))] = name;
      }
    }
    std::vector<int32_t> shape;
    for (int pass = 0; pass < 2; ++pass) {  // all stores first, then the reads
      for (uint32_t s = 0; s < num_subgraphs_; ++s) {
        const fb::SubGraph& subgraph = *model_.subgraphs()->Get(s);
        if (subgraph.operators() == nullptr) continue;
        for (uint32_t o = 0; o < subgraph.operators()->size(); ++o) {
          const fb::Operator& op = *subgraph.operators()->Get(o);
          const int32_t code = BuiltinCode(op);
          const bool store = pass == 0 && code == kAssignVariable && op.inputs() && op.inputs()->size() == 2;
          const bool read = pass == 1 && code == kReadVariable && op.inputs() && op.inputs()->size() == 1 &&
                            op.outputs() && op.outputs()->size() == 1;
          if (!store && !read) continue;
          const int32_t handle = op.inputs()->Get(0);
          if (handle < 0 || handles[s][static_cast<uint32_t>(handle)].empty()) continue;
          const std::string& name = handles[s][static_cast<uint32_t>(handle)];
          const int32_t value = store ? op.inputs()->Get(1) : op.outputs()->Get(0);
          if (value < 0 || !detail::StaticShape(*subgraph.tensors()->Get(static_cast<uint32_t>(value)), shape))
            continue;
          auto known = shapes.find(name);
          if (known == shapes.end()) {
            if (store) shapes.emplace(name, shape);
          } else if (known->second != shape) {
            Fail("subgraph " + std::to_string(s) + " operator " + std::to_string(o) + (store ? " stores " : " reads ") +
                 detail::ShapeText(shape) + " in variable '" + name + "', which holds " +
                 detail::ShapeText(known->second));
          }
        }
      }
    }
  }

  void CheckMetadata() {
    if (model_.metadata() == nullptr) return;
    for (const fb::Metadata* metadata : *model_.metadata()) {
      if (metadata->buffer() >= num_buffers_) {
        Fail("metadata refers to buffer " + std::to_string(metadata->buffer()) + " of " + std::to_string(num_buffers_));
      }
    }
  }

  const fb::Model& model_;
  std::size_t file_size_;
  uint32_t num_buffers_ = 0;
  uint32_t num_opcodes_ = 0;
  uint32_t num_subgraphs_ = 0;
};

}  // namespace

void VerifyModel(const uint8_t* data, std::size_t size) {
  if (size < 8) Fail("it is " + std::to_string(size) + " bytes long, too short for a model");
  if (!fb::ModelBufferHasIdentifier(data)) {
    Fail("it lacks the TFLite file identifier 'TFL3' (not a .tflite file?)");
  }
  // Models over 2 GB keep buffers after the flatbuffer, which the verifier
  // does not need to see; it refuses sizes it cannot address.
  const std::size_t verified_size = std::min<std::size_t>(size, FLATBUFFERS_MAX_BUFFER_SIZE);
  flatbuffers::Verifier::Options options;
  options.max_tables = 100'000'000;  // large models have many tensors
  flatbuffers::Verifier verifier(data, verified_size, options);
  if (!fb::VerifyModelBuffer(verifier)) {
    Fail("its structure is damaged (truncated or corrupt; the FlatBuffers verifier rejected it)");
  }
  SemanticChecker(*fb::GetModel(data), size).Check();
}

}  // namespace litetrain
