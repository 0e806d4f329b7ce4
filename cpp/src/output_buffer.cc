#include "output_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <utility>

namespace litetrain {
namespace {

std::size_t PageSize() {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

std::size_t RoundUpToPages(std::size_t bytes) {
  const std::size_t page = PageSize();
  if (bytes > std::numeric_limits<std::size_t>::max() - 2 * page) throw std::bad_alloc();
  return std::max<std::size_t>(page, (bytes + page - 1) / page * page);
}

// 64 MiB: far beyond any output of a model meant for a device at the sizes
// it was converted for, and only address space until written.
constexpr std::size_t kDynamicFloor = std::size_t{64} << 20;
// Room for outputs that grow faster than the inputs (a [B, B] output when B
// doubles) on top of those that grow with them.
constexpr double kGrowthMargin = 4.0;

}  // namespace

OutputBuffer::OutputBuffer(std::size_t capacity) {
  const std::size_t writable = RoundUpToPages(capacity);
  const std::size_t mapped = writable + PageSize();
  void* memory = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  // The guard page: a write past the end faults here, before anything else.
  if (mprotect(static_cast<char*>(memory) + writable, PageSize(), PROT_NONE) != 0) {
    munmap(memory, mapped);
    throw std::bad_alloc();
  }
  data_ = memory;
  capacity_ = writable;
  mapped_ = mapped;
}

OutputBuffer OutputBuffer::Reserve(std::size_t wanted, std::size_t needed) {
  if (wanted > needed) {
    try {
      return OutputBuffer(wanted);
    } catch (const std::bad_alloc&) {
    }
  }
  return OutputBuffer(needed);
}

OutputBuffer::OutputBuffer(OutputBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      capacity_(std::exchange(other.capacity_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

OutputBuffer& OutputBuffer::operator=(OutputBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

OutputBuffer::~OutputBuffer() { Release(); }

void OutputBuffer::Release() noexcept {
  if (data_ != nullptr) munmap(data_, mapped_);
  data_ = nullptr;
  capacity_ = mapped_ = 0;
}

std::size_t DynamicOutputCapacity(std::size_t reported_bytes, double input_growth) {
  const double scaled = static_cast<double>(reported_bytes) * std::max(1.0, input_growth) * kGrowthMargin;
  const double limit = static_cast<double>(std::numeric_limits<std::size_t>::max() / 4);
  const std::size_t wanted = scaled >= limit ? static_cast<std::size_t>(limit) : static_cast<std::size_t>(scaled);
  return std::max(kDynamicFloor, wanted);
}

}  // namespace litetrain
