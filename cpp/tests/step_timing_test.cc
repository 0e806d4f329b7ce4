#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "bench/step_timing.h"
#include "litetrain/errors.h"

namespace litetrain {
namespace {

TEST(Median, OfOddAndEvenCounts) {
  EXPECT_EQ(Median({3, 1, 2}), 2);
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_THROW(Median({}), InvalidArgument);
}

// Runners whose steps take a known time (they report it rather than sleep),
// so that the protocol's arithmetic can be checked exactly.
TEST(TimeInterleaved, CalibratesRoundsAndReportsTheMedianStep) {
  std::vector<std::vector<int64_t>> calls(2);
  int full_rounds = 0;
  const double per_step[2] = {2e-6, 5e-4};
  std::vector<StepRunner> runners;
  for (int i = 0; i < 2; ++i) {
    runners.push_back([&, i](int64_t steps) {
      calls[i].push_back(steps);
      // Two of the five timed rounds of the fast system are slow (noise):
      // the median ignores them. (Its first two full rounds are the warm-up.)
      const bool noisy = i == 0 && steps == 50000 && ++full_rounds > 2 && full_rounds % 3 == 0;
      return static_cast<double>(steps) * per_step[i] * (noisy ? 4 : 1);
    });
  }
  TimingProtocol protocol;
  protocol.rounds = 5;
  protocol.round_seconds = 0.1;
  protocol.warmup_seconds = 0.15;  // two rounds of 0.1 s
  const auto results = TimeInterleaved(runners, protocol);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].steps_per_round, 50000);  // 0.1 s / 2 us
  EXPECT_EQ(results[1].steps_per_round, 200);    // 0.1 s / 0.5 ms
  EXPECT_DOUBLE_EQ(results[0].median_us, 2.0);
  EXPECT_DOUBLE_EQ(results[1].median_us, 500.0);
  EXPECT_DOUBLE_EQ(results[0].max_us, 8.0);
  EXPECT_EQ(results[1].round_us.size(), 5u);
  // The first call of each runner is a single untimed step.
  EXPECT_EQ(calls[0].front(), 1);
  // The last five calls are the timed rounds, all of the calibrated length.
  for (std::size_t k = calls[1].size() - 5; k < calls[1].size(); ++k) EXPECT_EQ(calls[1][k], 200);
}

TEST(TimeInterleaved, InterleavesTheRoundsOfAllSystems) {
  std::vector<int> order;
  std::vector<StepRunner> runners;
  for (int i = 0; i < 3; ++i) {
    runners.push_back([&, i](int64_t steps) {
      order.push_back(i);
      return static_cast<double>(steps) * 1e-3;
    });
  }
  TimingProtocol protocol;
  protocol.rounds = 3;
  protocol.round_seconds = 0.01;
  protocol.warmup_seconds = 0;
  TimeInterleaved(runners, protocol);
  // The last nine calls are three rounds, each calling every system once,
  // starting with a different one each round.
  const std::vector<int> rounds(order.end() - 9, order.end());
  EXPECT_EQ(rounds, (std::vector<int>{0, 1, 2, 1, 2, 0, 2, 0, 1}));
}

TEST(TimeInterleaved, RefusesBadProtocolsAndPassesRunnerErrorsOn) {
  const std::vector<StepRunner> ok = {[](int64_t steps) { return static_cast<double>(steps) * 1e-3; }};
  TimingProtocol protocol;
  protocol.rounds = 0;
  EXPECT_THROW(TimeInterleaved(ok, protocol), InvalidArgument);
  protocol = TimingProtocol{};
  protocol.round_seconds = 0;
  EXPECT_THROW(TimeInterleaved(ok, protocol), InvalidArgument);
  const std::vector<StepRunner> failing = {[](int64_t) -> double { throw std::runtime_error("boom"); }};
  EXPECT_THROW(TimeInterleaved(failing, TimingProtocol{}), std::runtime_error);
}

}  // namespace
}  // namespace litetrain
