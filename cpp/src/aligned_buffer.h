// Heap memory aligned to 64 bytes: LiteRT refuses host memory that is not
// (LiteRtCreateTensorBufferFromHostMemory returns status 3), and 64 bytes is
// a cache line on every target we build for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

namespace litetrain {

inline constexpr std::size_t kTensorAlignment = 64;

inline bool IsAligned(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p) % kTensorAlignment == 0; }

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t size) : size_(size) {
    // Round up: aligned_alloc wants a multiple of the alignment, and the
    // slack also absorbs kernels that read a little past a tensor's end.
    const std::size_t rounded = (size + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    data_ = std::aligned_alloc(kTensorAlignment, rounded == 0 ? kTensorAlignment : rounded);
    if (data_ == nullptr) throw std::bad_alloc();
  }
  AlignedBuffer(AlignedBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }

  void* data() noexcept { return data_; }
  const void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace litetrain
