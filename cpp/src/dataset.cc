#include "litetrain/dataset.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "litetrain/errors.h"

namespace litetrain {
namespace {

// SplitMix64: tiny, fast, and simple to reimplement anywhere.
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Dataset::Dataset(std::vector<Column> columns) : columns_(std::move(columns)) {
  if (columns_.empty()) throw InvalidArgument("a dataset needs at least one array");
  std::set<std::string> names;
  for (const Column& column : columns_) {
    const std::string where = "training array '" + column.name + "'";
    if (!names.insert(column.name).second) throw InvalidArgument(where + " is given twice");
    if (column.data.shape.rank() == 0) {
      throw InvalidArgument(where + " is a scalar; it needs a first dimension of samples");
    }
    if (column.data.data == nullptr && column.data.shape.num_elements() != 0) {
      throw InvalidArgument(where + " has no data (null pointer)");
    }
    const int64_t n = column.data.shape[0];
    if (&column == &columns_.front()) {
      size_ = n;
    } else if (n != size_) {
      throw InvalidArgument("training arrays must have the same number of samples: '" + columns_.front().name +
                            "' has " + std::to_string(size_) + ", '" + column.name + "' has " + std::to_string(n));
    }
  }
}

std::vector<int64_t> EpochOrder(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!shuffle) return order;
  uint64_t state = seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(epoch + 1);
  for (int64_t i = n - 1; i > 0; --i) {
    // Modulo bias is below 2^-40 for any realistic n; simplicity wins.
    const auto j = static_cast<int64_t>(SplitMix64(state) % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

Dataset Dataset::Slice(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first > size_ || count > size_ - first) {
    throw OutOfRange("samples [" + std::to_string(first) + ", " + std::to_string(first + count) +
                     ") are outside the dataset's " + std::to_string(size_));
  }
  std::vector<Column> columns = columns_;
  for (Column& column : columns) {
    const std::size_t row = static_cast<std::size_t>(column.data.shape.num_elements() / std::max<int64_t>(size_, 1)) *
                            ItemSize(column.data.dtype);
    column.data.data = static_cast<const uint8_t*>(column.data.data) + static_cast<std::size_t>(first) * row;
    column.data.shape[0] = count;
  }
  return Dataset(std::move(columns));
}

}  // namespace litetrain
