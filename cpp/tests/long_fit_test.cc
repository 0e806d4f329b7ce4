// A long fit keeps its memory flat: 10,000 steps of the 32-16-4 MLP, with a
// partial last batch every epoch (so the model is resized twice per epoch)
// and a new shuffle order per epoch. Memory is sampled from the fit's own
// callback every 1,000 steps, so that everything Fit holds for the run (its
// loss vector, reserved up front; the batch buffers) exists at every sample.
#include <gtest/gtest.h>

#include <malloc.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <vector>

#include "litetrain/trainer.h"
#include "test_models.h"

#if defined(__SANITIZE_ADDRESS__)
// From libasan (GCC ships no header for it): bytes allocated and not freed.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace litetrain {
namespace {

struct Memory {
  int64_t step = 0;
  int64_t resident = 0;  // bytes of the process in RAM
  int64_t heap = 0;      // bytes malloc has handed out and not got back
};

Memory Measure(int64_t step) {
  Memory m;
  m.step = step;
  std::ifstream statm("/proc/self/statm");
  int64_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  m.resident = resident_pages * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
#if defined(__SANITIZE_ADDRESS__)
  // ASan replaces malloc (LiteRT's calls included) and counts live bytes
  // itself; freed blocks wait in its quarantine, which is not live.
  m.heap = static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#else
  const struct mallinfo2 info = ::mallinfo2();
  m.heap = static_cast<int64_t>(info.uordblks + info.hblkhd);
#endif
  return m;
}

TEST(LongFit, TenThousandStepsKeepMemoryFlat) {
  constexpr int64_t kSamples = 796;  // 99 batches of 8 and one of 4 per epoch
  std::vector<float> x(kSamples * 32), y(kSamples * 4, 0.0f);
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  for (auto& v : x) v = normal(rng);
  for (int64_t i = 0; i < kSamples; ++i) y[static_cast<std::size_t>(i * 4 + static_cast<int64_t>(rng() % 4))] = 1.0f;
  const Dataset data({{"x", {DType::kFloat32, Shape{kSamples, 32}, x.data()}},
                      {"y", {DType::kFloat32, Shape{kSamples, 4}, y.data()}}});

  Trainer trainer(Model::FromFile(testing::ModelPath("mlp_dynamic.tflite")));
  std::vector<Memory> samples;
  samples.reserve(16);
  FitOptions options;
  options.batch_size = 8;
  options.epochs = 100;
  options.seed = 1;
  options.callback_every = 1000;
  options.callback = [&](const FitProgress& p) {
    if (p.step % 1000 == 0) samples.push_back(Measure(p.step));  // not at the other epoch ends
    return true;
  };
  const FitResult result = trainer.Fit(data, options);
  ASSERT_EQ(result.steps, 10000);
  ASSERT_EQ(samples.size(), 10u);
  for (const float loss : result.losses) ASSERT_TRUE(std::isfinite(loss));
  for (const Memory& m : samples) {
    std::printf("step %5lld: resident %8.1f KiB, heap %8.1f KiB\n", static_cast<long long>(m.step),
                static_cast<double>(m.resident) / 1024.0, static_cast<double>(m.heap) / 1024.0);
  }
  // What the fit may add between step 1,000 (10 epochs: warm) and 10,000 is
  // what it reports: 4 bytes of loss per step (FitResult::losses is reserved
  // up front; being large it is mmapped, so its pages become resident as the
  // losses are written) and per epoch one vector of metric means (a 32-byte
  // malloc chunk here, ASan counts its 8 bytes). The slack: 64 KiB resident
  // (16 pages: page rounding, a thread stack or allocator page touched late)
  // and 4 KiB heap. One leaked block per step, the smallest malloc makes
  // (32 bytes), would add 288 KB to both over these 9,000 steps.
  const Memory& warm = samples.front();
  const Memory& end = samples.back();
  const int64_t steps = end.step - warm.step;
  const int64_t epochs = steps / 100;
  const int64_t heap_growth = end.heap - warm.heap;
  const int64_t resident_growth = end.resident - warm.resident;
  std::printf("growth over %lld steps: heap %lld bytes, resident %lld bytes\n", static_cast<long long>(steps),
              static_cast<long long>(heap_growth), static_cast<long long>(resident_growth));
  EXPECT_LE(heap_growth, epochs * 32 + 4 * 1024);
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan resident memory measures ASan: LiteRT allocates and frees 31
  // blocks (780 bytes) per step (none of ours; measured with ASan's malloc
  // hooks), and ASan keeps freed blocks resident in its quarantine (256 MB by
  // default) and records metadata for each allocation: +25 MB over these
  // steps, still +160 KB with the quarantine and stack capture off. The live
  // heap above, ASan's exact count with LiteRT's blocks included, is the
  // check here; resident memory is checked in the plain build
  // (tools/run-tests runs this test there too).
  std::printf("resident memory not checked under AddressSanitizer (see the comment)\n");
#else
  EXPECT_LE(resident_growth, steps * static_cast<int64_t>(sizeof(float)) + 64 * 1024);
#endif
}

}  // namespace
}  // namespace litetrain
