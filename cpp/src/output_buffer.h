// Memory for a signature's output, with room for shapes LiteRT only learns
// while it runs.
//
// LiteRT writes outputs straight into the buffers it is given (a TFLite
// "custom allocation"), and for a graph whose shapes follow from values
// computed at run time (RESHAPE to [tf.shape(x)[0], -1], variables converted
// without a shape) the shapes it reports before a run are stale: they are
// the previous run's. TFLite's own size check misses such outputs once a
// delegate is applied, so a buffer sized from those shapes overflows. An
// OutputBuffer therefore reserves address space well beyond the reported
// size (pages cost nothing until written: MAP_NORESERVE) and ends in an
// inaccessible guard page, so that even a write past the reservation stops
// the process at once instead of corrupting the heap.
#pragma once

#include <cstddef>

namespace litetrain {

class OutputBuffer {
 public:
  OutputBuffer() = default;
  // At least `capacity` writable bytes, page aligned (so 64-byte aligned).
  // Throws std::bad_alloc when the system refuses the mapping.
  explicit OutputBuffer(std::size_t capacity);
  // `wanted` bytes, or `needed` where the system will not reserve that much
  // (vm.overcommit_memory=2 counts even MAP_NORESERVE mappings).
  static OutputBuffer Reserve(std::size_t wanted, std::size_t needed);
  OutputBuffer(OutputBuffer&& other) noexcept;
  OutputBuffer& operator=(OutputBuffer&& other) noexcept;
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;
  ~OutputBuffer();

  void* data() noexcept { return data_; }
  const void* data() const noexcept { return data_; }
  // Writable bytes: the requested capacity rounded up to whole pages.
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  void Release() noexcept;

  void* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t mapped_ = 0;  // capacity_ plus the guard page
};

// The capacity to give an output that LiteRT reports at `reported_bytes`
// after the inputs grew by `input_growth` (new elements / old, >= 1): room
// for outputs that scale with the inputs even when the report is stale, with
// a floor so that small outputs of dynamic shape need no second mapping.
std::size_t DynamicOutputCapacity(std::size_t reported_bytes, double input_growth);

}  // namespace litetrain
