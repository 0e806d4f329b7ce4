#include "model_mutator.h"

#include <cstring>
#include <random>
#include <vector>

#include "aligned_buffer.h"
#include "tflite_generated.h"

namespace litetrain::fuzz {
namespace {

namespace fb = tflite_fb;

// What a field holds, which decides the values worth trying in it.
enum class Kind : uint8_t { kTensorIndex, kBufferIndex, kOpcodeIndex, kSubgraphIndex, kDim, kType, kCode, kFlag };

struct Slot {
  std::size_t offset;  // from the start of the file
  uint8_t width;       // 1 or 4 bytes, little-endian
  Kind kind;
  uint32_t range;  // how many things an index may name
};

class SlotCollector {
 public:
  explicit SlotCollector(const uint8_t* base) : base_(base) {}

  void Vector(const flatbuffers::Vector<int32_t>* v, Kind kind, uint32_t range) {
    if (v == nullptr) return;
    for (uint32_t i = 0; i < v->size(); ++i) Add(v->Data() + 4 * i, 4, kind, range);
  }

  // A scalar field, only where it is stored: an absent one holds its default
  // and has no bytes to rewrite.
  template <typename T>
  void Field(const T* table, flatbuffers::voffset_t field, uint8_t width, Kind kind, uint32_t range) {
    if (table == nullptr) return;
    // Generated tables inherit flatbuffers::Table privately; the address is the same.
    const uint8_t* p = reinterpret_cast<const flatbuffers::Table*>(table)->GetAddressOf(field);
    if (p != nullptr) Add(p, width, kind, range);
  }

  const std::vector<Slot>& slots() const { return slots_; }

 private:
  void Add(const uint8_t* p, uint8_t width, Kind kind, uint32_t range) {
    slots_.push_back({static_cast<std::size_t>(p - base_), width, kind, range});
  }

  const uint8_t* base_;
  std::vector<Slot> slots_;
};

std::vector<Slot> CollectSlots(const fb::Model& model, const uint8_t* base) {
  SlotCollector c(base);
  const uint32_t buffers = model.buffers() ? model.buffers()->size() : 0;
  const uint32_t codes = model.operator_codes() ? model.operator_codes()->size() : 0;
  const uint32_t subgraphs = model.subgraphs() ? model.subgraphs()->size() : 0;
  if (model.operator_codes()) {
    for (const fb::OperatorCode* code : *model.operator_codes()) {
      c.Field(code, fb::OperatorCode::VT_BUILTIN_CODE, 4, Kind::kCode, 0);
      c.Field(code, fb::OperatorCode::VT_DEPRECATED_BUILTIN_CODE, 1, Kind::kCode, 0);
      c.Field(code, fb::OperatorCode::VT_VERSION, 4, Kind::kDim, 0);
    }
  }
  if (model.subgraphs()) {
    for (const fb::SubGraph* subgraph : *model.subgraphs()) {
      const uint32_t tensors = subgraph->tensors() ? subgraph->tensors()->size() : 0;
      c.Vector(subgraph->inputs(), Kind::kTensorIndex, tensors);
      c.Vector(subgraph->outputs(), Kind::kTensorIndex, tensors);
      if (subgraph->tensors()) {
        for (const fb::Tensor* tensor : *subgraph->tensors()) {
          c.Vector(tensor->shape(), Kind::kDim, 0);
          c.Vector(tensor->shape_signature(), Kind::kDim, 0);
          c.Field(tensor, fb::Tensor::VT_BUFFER, 4, Kind::kBufferIndex, buffers);
          c.Field(tensor, fb::Tensor::VT_TYPE, 1, Kind::kType, 0);
          c.Field(tensor, fb::Tensor::VT_IS_VARIABLE, 1, Kind::kFlag, 0);
        }
      }
      if (subgraph->operators()) {
        for (const fb::Operator* op : *subgraph->operators()) {
          c.Vector(op->inputs(), Kind::kTensorIndex, tensors);
          c.Vector(op->outputs(), Kind::kTensorIndex, tensors);
          c.Vector(op->intermediates(), Kind::kTensorIndex, tensors);
          c.Field(op, fb::Operator::VT_OPCODE_INDEX, 4, Kind::kOpcodeIndex, codes);
        }
      }
    }
  }
  if (model.signature_defs()) {
    for (const fb::SignatureDef* signature : *model.signature_defs()) {
      c.Field(signature, fb::SignatureDef::VT_SUBGRAPH_INDEX, 4, Kind::kSubgraphIndex, subgraphs);
      for (const auto* maps : {signature->inputs(), signature->outputs()}) {
        if (maps == nullptr) continue;
        // The tensor count of the signature's subgraph is not checked here:
        // out-of-range values are what the checker must catch.
        for (const fb::TensorMap* map : *maps) c.Field(map, fb::TensorMap::VT_TENSOR_INDEX, 4, Kind::kTensorIndex, 0);
      }
    }
  }
  return c.slots();
}

int32_t NewValue(const Slot& slot, int32_t old, std::minstd_rand& rng) {
  auto pick = [&](uint32_t n) { return static_cast<int32_t>(rng() % n); };
  // Arithmetic on the old value wraps (in unsigned): overflow is a value to try.
  auto wrap = [](uint32_t v) { return static_cast<int32_t>(v); };
  const uint32_t u = static_cast<uint32_t>(old);
  switch (slot.kind) {
    case Kind::kTensorIndex:
    case Kind::kBufferIndex:
    case Kind::kOpcodeIndex:
    case Kind::kSubgraphIndex:
      switch (pick(6)) {
        case 0: return -1;                                // "optional input omitted" for operator inputs
        case 1: return static_cast<int32_t>(slot.range);  // one past the end
        case 2: return wrap(u + (pick(2) ? 1u : ~0u));
        case 3: return 0;
        default: return slot.range ? pick(slot.range) : pick(64);  // another valid index
      }
    case Kind::kDim:
      switch (pick(7)) {
        case 0: return 0;
        case 1: return 1;
        case 2: return -1;
        case 3: return wrap(u * 2u);
        case 4: return wrap(u + (pick(2) ? 1u : ~0u));
        case 5: return pick(2) ? 0x7fffffff : 65536;
        default: return pick(16);
      }
    case Kind::kType: return pick(20);
    case Kind::kCode: return pick(8) == 0 ? pick(256) : pick(210);
    case Kind::kFlag: return pick(2);
  }
  return old;
}

}  // namespace

bool MutateModelFields(uint8_t* data, std::size_t size, unsigned seed) {
  if (size < 8 || size > FLATBUFFERS_MAX_BUFFER_SIZE) return false;
  // FlatBuffers reads scalars in place: parse an aligned copy, write `data`.
  AlignedBuffer copy(size);
  std::memcpy(copy.data(), data, size);
  const auto* base = static_cast<const uint8_t*>(copy.data());
  if (!fb::ModelBufferHasIdentifier(base)) return false;
  flatbuffers::Verifier verifier(base, size);
  if (!fb::VerifyModelBuffer(verifier)) return false;
  const std::vector<Slot> slots = CollectSlots(*fb::GetModel(base), base);
  if (slots.empty()) return false;
  std::minstd_rand rng(seed);
  const int changes = 1 + static_cast<int>(rng() % 3 == 0) + static_cast<int>(rng() % 9 == 0);
  for (int i = 0; i < changes; ++i) {
    const Slot& slot = slots[rng() % slots.size()];
    if (slot.width == 4) {
      int32_t old = 0;
      std::memcpy(&old, data + slot.offset, 4);
      const int32_t value = NewValue(slot, old, rng);
      std::memcpy(data + slot.offset, &value, 4);
    } else {
      data[slot.offset] = static_cast<uint8_t>(NewValue(slot, data[slot.offset], rng));
    }
  }
  return true;
}

}  // namespace litetrain::fuzz
