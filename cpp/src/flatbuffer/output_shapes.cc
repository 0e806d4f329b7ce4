#include "flatbuffer/output_shapes.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>

#include "flatbuffer/builtin_codes.h"
#include "flatbuffer/operator_inputs.h"
#include "litetrain/errors.h"

namespace litetrain::detail {
namespace {

namespace fb = tflite_fb;

using builtin::kFullyConnected, builtin::kMirrorPad, builtin::kPad, builtin::kPadV2, builtin::kReshape,
    builtin::kTranspose;

// int64 so that damaged constants cannot overflow the arithmetic.
using Shape = std::vector<int64_t>;

// The shape the kernel will compute, and from what (for the message).
struct Computed {
  Shape shape;
  std::string from;
};

// Elementwise operators whose output is their inputs broadcast together.
bool Broadcasts(int32_t code) {
  static constexpr int32_t kCodes[] = {builtin::kAdd,
                                       builtin::kMul,
                                       builtin::kSub,
                                       builtin::kDiv,
                                       builtin::kMaximum,
                                       builtin::kMinimum,
                                       builtin::kSquaredDifference};
  return std::find(std::begin(kCodes), std::end(kCodes), code) != std::end(kCodes);
}

std::string Text(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

int64_t Elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) return INT64_MAX;  // a damaged constant's shape
  }
  return n;
}

// Operand `position` of `op`, if present and not omitted.
const fb::Tensor* Operand(const flatbuffers::Vector<int32_t>* list, uint32_t position, const fb::SubGraph& subgraph) {
  if (list == nullptr || list->size() <= position || list->Get(position) < 0) return nullptr;
  return subgraph.tensors()->Get(static_cast<uint32_t>(list->Get(position)));
}

std::optional<Shape> Static(const fb::Tensor* tensor) {
  std::vector<int32_t> shape;
  if (tensor == nullptr || !StaticShape(*tensor, shape)) return std::nullopt;
  return Shape(shape.begin(), shape.end());
}

// A constant integer tensor's values (int32 or int64), or nothing when the
// tensor is computed or of another type.
std::optional<Shape> ConstantIntegers(const fb::Tensor& tensor, const fb::Model& model) {
  const auto* data = model.buffers()->Get(tensor.buffer())->data();
  if (data == nullptr) return std::nullopt;  // computed, or stored past 2 GB
  const std::size_t width = tensor.type() == fb::TensorType::INT32 ? 4 : tensor.type() == fb::TensorType::INT64 ? 8 : 0;
  if (width == 0 || data->size() % width != 0) return std::nullopt;
  Shape values(data->size() / width);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (width == 4) {
      int32_t v = 0;
      std::memcpy(&v, data->data() + 4 * i, 4);
      values[i] = v;
    } else {
      std::memcpy(&values[i], data->data() + 8 * i, 8);
    }
  }
  return values;
}

std::optional<Computed> Transposed(const fb::Operator& op, const fb::SubGraph& subgraph, const fb::Model& model) {
  const auto input = Static(Operand(op.inputs(), 0, subgraph));
  const fb::Tensor* perm_tensor = Operand(op.inputs(), 1, subgraph);
  if (!input || perm_tensor == nullptr) return std::nullopt;
  const auto perm = ConstantIntegers(*perm_tensor, model);
  const auto rank = static_cast<int64_t>(input->size());
  if (!perm || static_cast<int64_t>(perm->size()) != rank) return std::nullopt;  // the kernel refuses it
  Shape permuted(input->size());
  for (std::size_t i = 0; i < permuted.size(); ++i) {
    int64_t axis = (*perm)[i] < 0 ? (*perm)[i] + rank : (*perm)[i];
    if (axis < 0 || axis >= rank) return std::nullopt;  // and an axis out of range
    permuted[i] = (*input)[static_cast<std::size_t>(axis)];
  }
  return Computed{permuted, "transposing tensor " + std::to_string(op.inputs()->Get(0)) + " of " + Text(*input)};
}

std::optional<Computed> Broadcast(const fb::Operator& op, const fb::SubGraph& subgraph) {
  if (op.inputs()->size() != 2) return std::nullopt;
  const auto a = Static(Operand(op.inputs(), 0, subgraph));
  const auto b = Static(Operand(op.inputs(), 1, subgraph));
  if (!a || !b) return std::nullopt;
  // Right-aligned, numpy's rule: equal dimensions, or one of them 1.
  Shape result(std::max(a->size(), b->size()));
  for (std::size_t i = 0; i < result.size(); ++i) {
    const int64_t da = i < a->size() ? (*a)[a->size() - 1 - i] : 1;
    const int64_t db = i < b->size() ? (*b)[b->size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) return std::nullopt;  // the kernel refuses it
    result[result.size() - 1 - i] = da == 1 ? db : da;
  }
  return Computed{result, "tensors " + std::to_string(op.inputs()->Get(0)) + " " + Text(*a) + " and " +
                              std::to_string(op.inputs()->Get(1)) + " " + Text(*b)};
}

std::optional<Computed> Padded(const fb::Operator& op, const fb::SubGraph& subgraph, const fb::Model& model) {
  const auto input = Static(Operand(op.inputs(), 0, subgraph));
  const fb::Tensor* paddings_tensor = Operand(op.inputs(), 1, subgraph);
  if (!input || paddings_tensor == nullptr) return std::nullopt;
  const auto paddings = ConstantIntegers(*paddings_tensor, model);
  if (!paddings || paddings->size() != 2 * input->size()) return std::nullopt;  // the kernel refuses it
  Shape padded(*input);
  for (std::size_t i = 0; i < padded.size(); ++i) {
    const int64_t before = (*paddings)[2 * i], after = (*paddings)[2 * i + 1];
    if (before < 0 || after < 0) return std::nullopt;  // the kernel refuses it
    // Clamped so that int64 paddings cannot overflow; the result still differs.
    padded[i] += std::min<int64_t>(before, INT32_MAX) + std::min<int64_t>(after, INT32_MAX);
  }
  return Computed{padded, "padding tensor " + std::to_string(op.inputs()->Get(0)) + " of " + Text(*input) +
                              " by tensor " + std::to_string(op.inputs()->Get(1)) + " " + Text(*paddings)};
}

// RESHAPE takes its new shape from a 1-D int32 second input when there is
// one, from its options otherwise (TFLite's reshape kernel).
std::optional<Computed> Reshaped(const fb::Operator& op, const fb::SubGraph& subgraph, const fb::Model& model) {
  const auto input = Static(Operand(op.inputs(), 0, subgraph));
  if (!input) return std::nullopt;
  std::optional<Shape> target;
  std::string from;
  const fb::Tensor* shape_tensor = Operand(op.inputs(), 1, subgraph);
  if (shape_tensor != nullptr && shape_tensor->type() == fb::TensorType::INT32 && shape_tensor->shape() &&
      shape_tensor->shape()->size() == 1) {
    target = ConstantIntegers(*shape_tensor, model);
    if (!target) return std::nullopt;  // computed at run time
    from = "tensor " + std::to_string(op.inputs()->Get(1)) + " " + Text(*target);
  } else if (const auto* options = op.builtin_options_as_ReshapeOptions(); options && options->new_shape()) {
    target = Shape(options->new_shape()->begin(), options->new_shape()->end());
    if (target->size() == 1 && (*target)[0] == 0) target->clear();  // legacy files write a scalar as [0]
    from = "its options' new shape " + Text(*target);
  } else {
    return std::nullopt;
  }
  int64_t known = 1, stretch = -1;
  for (std::size_t i = 0; i < target->size(); ++i) {
    const int64_t d = (*target)[i];
    if (d == -1 && stretch < 0) {
      stretch = static_cast<int64_t>(i);
    } else if (d < 0 || d > INT32_MAX) {
      return std::nullopt;  // the kernel refuses it
    } else {
      known *= d;
      if (known > INT32_MAX) return std::nullopt;
    }
  }
  const int64_t elements = Elements(*input);
  if (stretch >= 0) {
    if (known == 0 || elements % known != 0) return std::nullopt;
    (*target)[static_cast<std::size_t>(stretch)] = elements / known;
  } else if (known != elements) {
    return std::nullopt;  // the kernel refuses a reshape that changes the element count
  }
  return Computed{*target,
                  "reshaping tensor " + std::to_string(op.inputs()->Get(0)) + " of " + Text(*input) + " by " + from};
}

// FULLY_CONNECTED: [elements / input depth, units], or the input's leading
// dimensions and units with keep_num_dims (TFLite's kernel).
std::optional<Computed> FullyConnected(const fb::Operator& op, const fb::SubGraph& subgraph) {
  const auto input = Static(Operand(op.inputs(), 0, subgraph));
  const auto weights = Static(Operand(op.inputs(), 1, subgraph));
  if (!input || !weights || weights->size() != 2 || input->empty() || (*weights)[1] <= 0) return std::nullopt;
  const int64_t units = (*weights)[0], depth = (*weights)[1];
  const int64_t elements = Elements(*input);
  if (elements % depth != 0) return std::nullopt;  // the kernel refuses it
  const auto* options = op.builtin_options_as_FullyConnectedOptions();
  Shape result;
  if (options && options->keep_num_dims()) {
    if (input->back() != depth) return std::nullopt;
    result.assign(input->begin(), input->end() - 1);
    result.push_back(units);
  } else {
    result = {elements / depth, units};
  }
  return Computed{result, "tensor " + std::to_string(op.inputs()->Get(0)) + " " + Text(*input) + " times tensor " +
                              std::to_string(op.inputs()->Get(1)) + " " + Text(*weights)};
}

std::optional<Computed> ComputedShape(int32_t code, const fb::Operator& op, const fb::SubGraph& subgraph,
                                      const fb::Model& model) {
  if (code == kTranspose) return Transposed(op, subgraph, model);
  if (Broadcasts(code)) return Broadcast(op, subgraph);
  if (code == kPad || code == kPadV2 || code == kMirrorPad) return Padded(op, subgraph, model);
  if (code == kReshape) return Reshaped(op, subgraph, model);
  if (code == kFullyConnected) return FullyConnected(op, subgraph);
  return std::nullopt;
}

}  // namespace

bool StaticShape(const fb::Tensor& tensor, std::vector<int32_t>& shape) {
  shape.clear();
  if (tensor.shape_signature()) {
    for (int32_t dim : *tensor.shape_signature()) {
      if (dim < 0) return false;
    }
  }
  if (tensor.shape()) shape.assign(tensor.shape()->begin(), tensor.shape()->end());
  return true;
}

std::string ShapeText(const std::vector<int32_t>& shape) { return Text(Shape(shape.begin(), shape.end())); }

// Why each operator is here, from damaged files that crashed:
// - TRANSPOSE: a `restore` input grown from [216, 4] to [432, 4] went
//   through TRANSPOSE, still declared [4, 216], into a variable; `save` and
//   `train` then worked on the larger value and broke the heap ("free():
//   invalid pointer", SIGABRT; test_damaged_variants).
// - SUB (broadcasting): a variable update SUB(b, grad) with its [3] gradient
//   moved onto a [2, 6, 6, 3] tensor stayed declared [3], and the larger
//   result stored in b crashed `train` (SIGSEGV, bad free; fuzz_model).
// - PAD: paddings changed from 1 to 16777472 made LiteRT allocate 3.2 GB for
//   an output still declared small, past the size limit on computed tensors,
//   which reads declared shapes (fuzz_model, out of memory).
// - RESHAPE, FULLY_CONNECTED: the same trust in a declared shape, on the
//   operators that make most shapes of a training graph.
void CheckOutputShape(const std::string& where, int32_t code, const fb::Operator& op, const fb::SubGraph& subgraph,
                      const fb::Model& model) {
  if (op.inputs() == nullptr || op.outputs() == nullptr || op.outputs()->size() < 1) return;
  const auto declared = Static(Operand(op.outputs(), 0, subgraph));
  if (!declared) return;
  const auto computed = ComputedShape(code, op, subgraph, model);
  if (computed && computed->shape != *declared) {
    throw ModelFormatError(where + " (" + BuiltinOperatorName(code) + ") declares output tensor " +
                           std::to_string(op.outputs()->Get(0)) + " as " + Text(*declared) + ", but " + computed->from +
                           " gives " + Text(computed->shape));
  }
}

}  // namespace litetrain::detail
