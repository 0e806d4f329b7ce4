// Tensor descriptions (what a signature declares) and views of caller memory
// (what a caller passes). Neither owns data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "litetrain/dtype.h"
#include "litetrain/export.h"

namespace litetrain {

// A shape of at most kMaxRank dimensions, stored inline so that passing one
// per step allocates nothing. In a TensorSpec, -1 marks a dynamic dimension.
class LITETRAIN_API Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;
  // Throws InvalidArgument if dims has more than kMaxRank entries.
  Shape(std::initializer_list<int64_t> dims);
  Shape(const int64_t* dims, int rank);

  int rank() const noexcept { return rank_; }
  int64_t operator[](int i) const noexcept { return dims_[i]; }
  int64_t& operator[](int i) noexcept { return dims_[i]; }
  const int64_t* begin() const noexcept { return dims_.data(); }
  const int64_t* end() const noexcept { return dims_.data() + rank_; }

  // Product of the dimensions (1 for a scalar); -1 if any is dynamic.
  int64_t num_elements() const noexcept;
  bool has_dynamic_dims() const noexcept;
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }
  // "[8, 32]", "[-1, 4]", "[]".
  std::string to_string() const;

  bool operator==(const Shape& other) const noexcept;
  bool operator!=(const Shape& other) const noexcept { return !(*this == other); }

 private:
  int rank_ = 0;
  std::array<int64_t, kMaxRank> dims_{};
};

// One input or output of a signature as the model declares it.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kUnsupported;
  Shape shape;  // -1 for dynamic dimensions
};

// Read-only view of caller memory holding one dense, C-contiguous tensor.
struct ConstTensorView {
  DType dtype = DType::kUnsupported;
  Shape shape;
  const void* data = nullptr;

  std::size_t byte_size() const noexcept { return static_cast<std::size_t>(shape.num_elements()) * ItemSize(dtype); }
};

}  // namespace litetrain
