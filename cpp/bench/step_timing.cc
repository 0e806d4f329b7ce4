#include "bench/step_timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <thread>

#include "litetrain/errors.h"

namespace litetrain {
namespace {

// The steps that make a round, from a call of `steps` steps that took `seconds`.
int64_t StepsPerRound(int64_t steps, double seconds, const TimingProtocol& protocol) {
  // A clock too coarse to see the call at all: take the cap.
  const double per_step = std::max(seconds, 1e-9) / static_cast<double>(steps);
  const double wanted = std::round(protocol.round_seconds / per_step);
  return static_cast<int64_t>(std::clamp(wanted, 1.0, static_cast<double>(protocol.max_steps_per_round)));
}

// Steps per round for one runner: calibration, then warm-up rounds, each
// re-estimating the round's length. A first estimate from a few steps is
// dominated by per-call costs (or by a burst of machine load); rounds of the
// warm-up are long enough to correct it.
int64_t CalibrateAndWarmUp(const StepRunner& run, const TimingProtocol& protocol) {
  run(1);  // untimed: tracing, lazy allocation, first-touch page faults
  int64_t steps = 1;
  double seconds = run(steps);
  while (seconds < protocol.round_seconds / 10 && steps < protocol.max_steps_per_round) {
    steps = std::min(steps * 10, protocol.max_steps_per_round);
    seconds = run(steps);
  }
  int64_t per_round = StepsPerRound(steps, seconds, protocol);
  double warm = 0;
  do {
    seconds = run(per_round);
    warm += seconds;
    per_round = StepsPerRound(per_round, seconds, protocol);
  } while (warm < protocol.warmup_seconds);
  return per_round;
}

}  // namespace

double Median(std::vector<double> values) {
  if (values.empty()) throw InvalidArgument("the median of no values is undefined");
  const std::size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

std::vector<StepTiming> TimeInterleaved(const std::vector<StepRunner>& runners, const TimingProtocol& protocol) {
  if (protocol.rounds < 1) {
    throw InvalidArgument("rounds must be >= 1, got " + std::to_string(protocol.rounds));
  }
  if (!(protocol.round_seconds > 0) || !(protocol.warmup_seconds >= 0) || !(protocol.settle_seconds >= 0) ||
      protocol.max_steps_per_round < 1) {
    throw InvalidArgument(
        "round_seconds must be > 0, warmup_seconds and settle_seconds >= 0, and max_steps_per_round >= 1");
  }
  const std::size_t n = runners.size();
  std::vector<StepTiming> results(n);
  const auto settle = std::chrono::duration<double>(protocol.settle_seconds);
  for (std::size_t i = 0; i < n; ++i) {
    std::this_thread::sleep_for(settle);
    results[i].steps_per_round = CalibrateAndWarmUp(runners[i], protocol);
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 shuffler(20261206);  // fixed: the same orders in every run of one build
  for (int r = 0; r < protocol.rounds; ++r) {
    // A new order each round: no system always inherits the same one's
    // cache footprint or leftover threads.
    if (r > 0) std::shuffle(order.begin(), order.end(), shuffler);
    for (const std::size_t i : order) {
      std::this_thread::sleep_for(settle);
      const int64_t steps = results[i].steps_per_round;
      const double seconds = runners[i](steps);
      results[i].round_us.push_back(seconds * 1e6 / static_cast<double>(steps));
    }
  }
  for (StepTiming& t : results) {
    if (t.round_us.empty()) continue;
    t.median_us = Median(t.round_us);
    t.min_us = *std::min_element(t.round_us.begin(), t.round_us.end());
    t.max_us = *std::max_element(t.round_us.begin(), t.round_us.end());
  }
  return results;
}

}  // namespace litetrain
