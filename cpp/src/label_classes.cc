#include "label_classes.h"

#include <algorithm>
#include <cstring>

#include "flatbuffer/model_graph.h"
#include "litetrain/errors.h"

namespace litetrain::detail {
namespace {

// An int32 / int64 scalar constant's value, or -1.
int64_t ConstantInteger(const fb::Model& model, const fb::Tensor& tensor, const uint8_t* file, std::size_t size) {
  if (model.buffers() == nullptr || tensor.buffer() == 0 || tensor.buffer() >= model.buffers()->size()) return -1;
  const fb::Buffer& buffer = *model.buffers()->Get(tensor.buffer());
  const uint8_t* bytes = nullptr;
  std::size_t count = 0;
  if (buffer.data() != nullptr) {
    bytes = buffer.data()->data();
    count = buffer.data()->size();
  } else if (buffer.offset() > 1 && buffer.offset() + buffer.size() <= size) {  // data after the flatbuffer
    bytes = file + buffer.offset();
    count = static_cast<std::size_t>(buffer.size());
  }
  if (tensor.type() == fb::TensorType::INT32 && count == 4) {
    int32_t value;
    std::memcpy(&value, bytes, 4);
    return value;
  }
  if (tensor.type() == fb::TensorType::INT64 && count == 8) {
    int64_t value;
    std::memcpy(&value, bytes, 8);
    return value;
  }
  return -1;
}

int32_t Code(const fb::Model& model, const fb::Operator& op) {
  if (model.operator_codes() == nullptr || op.opcode_index() >= model.operator_codes()->size()) return -1;
  const fb::OperatorCode& code = *model.operator_codes()->Get(op.opcode_index());
  return std::max<int32_t>(code.builtin_code(), code.deprecated_builtin_code());
}

// The ONE_HOT depth `tensor` feeds, following ops that keep the values.
int64_t OneHotDepth(const fb::Model& model, const fb::SubGraph& subgraph, int32_t tensor, const uint8_t* file,
                    std::size_t size, int hops) {
  if (subgraph.operators() == nullptr || hops > 8) return -1;
  for (const fb::Operator* op : *subgraph.operators()) {
    if (op->inputs() == nullptr || op->inputs()->size() == 0 || op->inputs()->Get(0) != tensor) continue;
    const int32_t code = Code(model, *op);
    if (code == builtin::kOneHot && op->inputs()->size() >= 2) {
      const int32_t depth = op->inputs()->Get(1);
      if (depth < 0 || subgraph.tensors() == nullptr || static_cast<uint32_t>(depth) >= subgraph.tensors()->size()) {
        return -1;
      }
      return ConstantInteger(model, *subgraph.tensors()->Get(static_cast<uint32_t>(depth)), file, size);
    }
    const bool keeps_values = code == builtin::kCast || code == builtin::kReshape || code == builtin::kSqueeze ||
                              code == builtin::kExpandDims;
    if (keeps_values && op->outputs() != nullptr && op->outputs()->size() == 1) {
      const int64_t depth = OneHotDepth(model, subgraph, op->outputs()->Get(0), file, size, hops + 1);
      if (depth > 0) return depth;
    }
  }
  return -1;
}

template <typename T>
void CheckRange(const std::string& what, const T* values, int64_t count, int64_t per_sample, int64_t classes) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t value = static_cast<int64_t>(values[i]);
    if (value < 0 || value >= classes) {
      throw InvalidArgument(what + " holds label " + std::to_string(value) + " at sample " +
                            std::to_string(i / per_sample) + ", but the model has " + std::to_string(classes) +
                            " classes: sparse labels must be in [0, " + std::to_string(classes) + ")");
    }
  }
}

}  // namespace

std::vector<int64_t> SparseLabelClasses(const Model& model, const SignatureSpec& spec) {
  std::vector<int64_t> classes(spec.inputs.size(), -1);
  const auto* file = static_cast<const uint8_t*>(model.file_data());
  const fb::Model& root = *fb::GetModel(file);  // verified when the model loaded
  if (root.signature_defs() == nullptr || root.subgraphs() == nullptr) return classes;
  for (const fb::SignatureDef* signature : *root.signature_defs()) {
    if (signature->signature_key() == nullptr || signature->signature_key()->str() != spec.key ||
        signature->inputs() == nullptr || signature->subgraph_index() >= root.subgraphs()->size()) {
      continue;
    }
    const fb::SubGraph& subgraph = *root.subgraphs()->Get(signature->subgraph_index());
    for (const fb::TensorMap* input : *signature->inputs()) {
      if (input->name() == nullptr) continue;
      const std::size_t i = spec.input_index(input->name()->str());
      const DType dtype = spec.inputs[i].dtype;
      if (dtype != DType::kInt32 && dtype != DType::kInt64) continue;
      classes[i] = OneHotDepth(root, subgraph, static_cast<int32_t>(input->tensor_index()), file, model.file_size(), 0);
    }
  }
  return classes;
}

void CheckLabelRange(const std::string& what, const ConstTensorView& labels, int64_t classes) {
  const int64_t count = labels.shape.num_elements();
  const int64_t samples = labels.shape.rank() > 0 ? labels.shape[0] : 1;
  const int64_t per_sample = samples > 0 ? std::max<int64_t>(count / samples, 1) : 1;
  if (labels.dtype == DType::kInt32) {
    CheckRange(what, static_cast<const int32_t*>(labels.data), count, per_sample, classes);
  } else if (labels.dtype == DType::kInt64) {
    CheckRange(what, static_cast<const int64_t*>(labels.data), count, per_sample, classes);
  }
}

}  // namespace litetrain::detail
