// Training data as views of caller memory: one array per signature input,
// all with the same first dimension (the sample count). Nothing is copied;
// a memory-mapped file works like any other memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "litetrain/export.h"
#include "litetrain/tensor.h"

namespace litetrain {

class LITETRAIN_API Dataset {
 public:
  struct Column {
    std::string name;      // the signature input it feeds
    ConstTensorView data;  // [samples, ...], C-contiguous
  };

  // Throws InvalidArgument if there are no columns, a name repeats, a column
  // has rank 0, a null pointer, or a sample count that differs from the others.
  explicit Dataset(std::vector<Column> columns);

  const std::vector<Column>& columns() const { return columns_; }
  int64_t size() const { return size_; }  // number of samples
  // Samples [first, first + count) as a dataset over the same memory.
  // Throws OutOfRange outside [0, size()].
  Dataset Slice(int64_t first, int64_t count) const;

 private:
  std::vector<Column> columns_;
  int64_t size_ = 0;
};

// The order in which an epoch visits the samples: 0..n-1 without shuffling,
// else a Fisher-Yates shuffle driven by SplitMix64 seeded with
// seed + 0x9E3779B97F4A7C15 * (epoch + 1). Documented so that other code can
// reproduce it (litetrain.epoch_order in Python).
LITETRAIN_API std::vector<int64_t> EpochOrder(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace litetrain
