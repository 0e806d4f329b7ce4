#include "litetrain/tensor.h"

#include <algorithm>

#include "litetrain/errors.h"

namespace litetrain {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(dims.begin(), static_cast<int>(dims.size())) {}

Shape::Shape(const int64_t* dims, int rank) {
  if (rank < 0 || rank > kMaxRank) {
    throw InvalidArgument("rank " + std::to_string(rank) + " is not supported (at most " + std::to_string(kMaxRank) +
                          " dimensions)");
  }
  rank_ = rank;
  std::copy(dims, dims + rank, dims_.begin());
}

int64_t Shape::num_elements() const noexcept {
  int64_t n = 1;
  for (int64_t d : *this) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

bool Shape::has_dynamic_dims() const noexcept {
  return std::any_of(begin(), end(), [](int64_t d) { return d < 0; });
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& other) const noexcept {
  return rank_ == other.rank_ && std::equal(begin(), end(), other.begin());
}

}  // namespace litetrain
