#include "batch_feeder.h"

#include <cstring>
#include <string>

#include "litetrain/errors.h"

namespace litetrain {

BatchFeeder::BatchFeeder(const Dataset& data, std::vector<std::size_t> columns, int64_t capacity)
    : data_(data), columns_(std::move(columns)) {
  std::size_t batch_bytes = 0;
  for (std::size_t column : columns_) {
    const ConstTensorView& array = data_.columns()[column].data;
    std::size_t per_sample = ItemSize(array.dtype);
    for (int d = 1; d < array.shape.rank(); ++d) per_sample *= static_cast<std::size_t>(array.shape[d]);
    std::size_t bytes = 0;
    if (capacity < 0 || __builtin_mul_overflow(per_sample, static_cast<std::size_t>(capacity), &bytes) ||
        __builtin_add_overflow(batch_bytes, bytes, &batch_bytes)) {
      throw InvalidArgument("a batch of " + std::to_string(capacity) + " samples of '" + data_.columns()[column].name +
                            "' is too large to allocate");
    }
    sample_bytes_.push_back(per_sample);
    for (auto& slot : buffers_) slot.emplace_back(bytes);
  }
  views_.resize(columns_.size());
  if (batch_bytes >= kPrefetchBytes) worker_ = std::thread([this] { WorkerLoop(); });
}

BatchFeeder::~BatchFeeder() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void BatchFeeder::Gather(const Job& job) {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const auto* source = static_cast<const uint8_t*>(data_.columns()[columns_[i]].data.data);
    auto* target = static_cast<uint8_t*>(buffers_[job.slot][i].data());
    const std::size_t bytes = sample_bytes_[i];
    for (int64_t r = 0; r < job.count; ++r) {
      std::memcpy(target + static_cast<std::size_t>(r) * bytes, source + static_cast<std::size_t>(job.rows[r]) * bytes,
                  bytes);
    }
  }
}

void BatchFeeder::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return quit_ || pending_; });
    if (quit_) return;
    const Job job = job_;
    lock.unlock();
    Gather(job);
    lock.lock();
    pending_ = false;
    cv_.notify_all();
  }
}

void BatchFeeder::Start(int slot, const int64_t* rows, int64_t count) {
  const Job job{slot, rows, count};
  if (!worker_.joinable()) {
    Gather(job);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = job;
    pending_ = true;
  }
  cv_.notify_all();
}

void BatchFeeder::Wait() {
  if (!worker_.joinable()) return;
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !pending_; });
}

const std::vector<ConstTensorView>& BatchFeeder::Views(int slot, int64_t count) {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const ConstTensorView& array = data_.columns()[columns_[i]].data;
    Shape shape = array.shape;
    shape[0] = count;
    views_[i] = ConstTensorView{array.dtype, shape, buffers_[slot][i].data()};
  }
  return views_;
}

}  // namespace litetrain
