#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
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

TEST(TimeInterleaved, InterleavesTheRoundsOfAllSystemsInChangingOrders) {
  std::vector<int> order;
  std::vector<StepRunner> runners;
  for (int i = 0; i < 4; ++i) {
    runners.push_back([&, i](int64_t steps) {
      order.push_back(i);
      return static_cast<double>(steps) * 1e-3;
    });
  }
  TimingProtocol protocol;
  protocol.rounds = 7;
  protocol.round_seconds = 0.01;
  protocol.warmup_seconds = 0;
  protocol.settle_seconds = 0;
  TimeInterleaved(runners, protocol);
  // The last 28 calls are seven rounds, each calling every system once; the
  // first round in the runners' order.
  const std::vector<int> timed(order.end() - 28, order.end());
  EXPECT_EQ(std::vector<int>(timed.begin(), timed.begin() + 4), (std::vector<int>{0, 1, 2, 3}));
  std::set<std::vector<int>> orders;
  std::map<int, std::set<int>> predecessors;  // within a round
  for (int r = 0; r < 7; ++r) {
    const std::vector<int> round(timed.begin() + 4 * r, timed.begin() + 4 * (r + 1));
    EXPECT_EQ(std::set<int>(round.begin(), round.end()).size(), 4u);
    orders.insert(round);
    for (int k = 1; k < 4; ++k) predecessors[round[k]].insert(round[k - 1]);
  }
  EXPECT_GE(orders.size(), 4u);
  // No system always follows the same one.
  for (const auto& [system, before] : predecessors) EXPECT_GE(before.size(), 2u) << "system " << system;
}

TEST(TimeInterleaved, PausesBeforeEachTimedCall) {
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> starts, ends;
  const std::vector<StepRunner> runners(2, [&](int64_t steps) {
    starts.push_back(Clock::now());
    ends.push_back(Clock::now());
    return static_cast<double>(steps) * 1e-3;
  });
  TimingProtocol protocol;
  protocol.rounds = 3;
  protocol.round_seconds = 0.01;
  protocol.warmup_seconds = 0;
  protocol.settle_seconds = 0.005;
  TimeInterleaved(runners, protocol);
  // The six timed calls: each starts at least settle_seconds after the one before ended.
  for (std::size_t k = starts.size() - 5; k < starts.size(); ++k) {
    EXPECT_GE(std::chrono::duration<double>(starts[k] - ends[k - 1]).count(), 0.005);
  }
}

TEST(TimeInterleaved, RefusesBadProtocolsAndPassesRunnerErrorsOn) {
  const std::vector<StepRunner> ok = {[](int64_t steps) { return static_cast<double>(steps) * 1e-3; }};
  TimingProtocol protocol;
  protocol.rounds = 0;
  EXPECT_THROW(TimeInterleaved(ok, protocol), InvalidArgument);
  protocol = TimingProtocol{};
  protocol.round_seconds = 0;
  EXPECT_THROW(TimeInterleaved(ok, protocol), InvalidArgument);
  protocol = TimingProtocol{};
  protocol.settle_seconds = -1;
  EXPECT_THROW(TimeInterleaved(ok, protocol), InvalidArgument);
  const std::vector<StepRunner> failing = {[](int64_t) -> double { throw std::runtime_error("boom"); }};
  EXPECT_THROW(TimeInterleaved(failing, TimingProtocol{}), std::runtime_error);
}

}  // namespace
}  // namespace litetrain
