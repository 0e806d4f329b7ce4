// Owned copies of tensors: what Trainer::TakeSnapshot, Trainer::Predict,
// LoadCheckpoint and ReadNpy return.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "litetrain/dtype.h"
#include "litetrain/tensor.h"

namespace litetrain {

// One tensor with its own bytes (dense, C order, native byte order).
struct NamedTensor {
  std::string name;
  DType dtype = DType::kUnsupported;
  Shape shape;
  std::vector<uint8_t> bytes;

  // A view of the bytes, e.g. for a Dataset column; valid while this lives.
  ConstTensorView view() const { return ConstTensorView{dtype, shape, bytes.data()}; }
};

// Every variable a model's `save` signature returns (weights and optimizer
// state), in its output order.
using Snapshot = std::vector<NamedTensor>;

}  // namespace litetrain
